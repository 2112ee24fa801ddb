"""Render a message from `mail_templates/<lang>/<template>.j2`.

A template file holds a `subject` block and either
- one `body` block, written once with the format macros `fmt.para`, `fmt.ul`, `fmt.facts`,
  `fmt.h`, `fmt.button` (from `_text.j2` and `_html.j2`): rendered twice, as plain text
  (no autoescaping) and as HTML (autoescaped, inside `_layout.j2`), so the two parts of a
  message can never say different things; or
- a `text` and an `html` block, rendered as they are.
A template missing in the asked language falls back to Norwegian bokmål (nb), the default;
`lang` in the template is the language of the file actually used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

DEFAULT_LANG = "nb"
SUFFIX = ".j2"
LAYOUT = "_layout.j2"
FORMATS = {"text": "_text.j2", "html": "_html.j2"}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class TemplateMissing(LookupError):
    pass


@lru_cache(maxsize=8)
def _environments(templates_dir: str) -> tuple[jinja2.Environment, jinja2.Environment]:
    loader = jinja2.FileSystemLoader(templates_dir)
    common = dict(loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                  trim_blocks=True, lstrip_blocks=True)
    plain = jinja2.Environment(autoescape=False, **common)
    html = jinja2.Environment(autoescape=True, **common)
    for env in (plain, html):
        env.filters["date"] = _format_date
    return plain, html


def _format_date(value, lang: str = DEFAULT_LANG) -> str:
    if value is None:
        return ""
    if lang == "en":
        return value.strftime("%-d %B %Y")
    months = ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
              "september", "oktober", "november", "desember"]
    return f"{value.day}. {months[value.month - 1]} {value.year}"


def template_path(templates_dir: str, name: str, lang: str) -> str:
    """The template file to use: the language's own, else the default language's."""
    for candidate in (lang, DEFAULT_LANG):
        rel = f"{candidate}/{name}{SUFFIX}"
        if (Path(templates_dir) / rel).exists():
            return rel
    raise TemplateMissing(f"no mail template {name!r} in {templates_dir} ({lang} or {DEFAULT_LANG})")


def template_names(templates_dir: str, lang: str = DEFAULT_LANG) -> list[str]:
    """The message templates of a language (partials, whose names start with `_`, left out)."""
    folder = Path(templates_dir) / lang
    return sorted(p.name.removesuffix(SUFFIX) for p in folder.glob(f"*{SUFFIX}")
                  if not p.name.startswith("_"))


_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_TRAILING = re.compile(r"[ \t]+\n")


def _tidy_text(text: str) -> str:
    """Plain text: no trailing blanks, at most one empty line between paragraphs."""
    text = _TRAILING.sub("\n", text.strip() + "\n")
    return _BLANK_RUNS.sub("\n\n", text)


def render(templates_dir: str, name: str, lang: str, context: dict) -> Rendered:
    plain, html = _environments(str(templates_dir))
    rel = template_path(str(templates_dir), name, lang)
    ctx = {**context, "lang": rel.partition("/")[0]}
    t_plain = plain.get_template(rel)
    t_html = html.get_template(rel)

    def block(template, block_name, extra=None):
        if block_name not in template.blocks:
            raise TemplateMissing(f"{rel} has no {{% block {block_name} %}}")
        values = ctx if extra is None else {**ctx, **extra}
        return "".join(template.blocks[block_name](template.new_context(values))).strip()

    subject = " ".join(block(t_plain, "subject").split())
    if "body" in t_plain.blocks:
        text = block(t_plain, "body", {"fmt": _format(plain, "text"), "html": False})
        inner = block(t_html, "body", {"fmt": _format(html, "html"), "html": True})
        page = html.get_template(LAYOUT).render(subject=subject, lang=ctx["lang"],
                                                content=Markup(inner))
        return Rendered(subject=subject, text=_tidy_text(text), html=page.strip() + "\n")
    return Rendered(subject=subject, text=block(t_plain, "text") + "\n",
                    html=block(t_html, "html") + "\n")


def _format(env: jinja2.Environment, kind: str):
    """The format macros as a module; built once per environment (Jinja caches it)."""
    return env.get_template(FORMATS[kind]).module
