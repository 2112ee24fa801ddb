"""Render a message from `mail_templates/<lang>/<template>.j2`.

A template file holds three blocks: `subject`, `text` and `html`. The text blocks are
rendered without autoescaping, the HTML block with it. A template missing in the asked
language falls back to Norwegian bokmål (nb), the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

DEFAULT_LANG = "nb"
SUFFIX = ".j2"


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


@lru_cache(maxsize=1024)
def template_path(templates_dir: str, name: str, lang: str) -> str:
    """The template file to use: the language's own, else the default language's."""
    for candidate in (lang, DEFAULT_LANG):
        rel = f"{candidate}/{name}{SUFFIX}"
        if (Path(templates_dir) / rel).exists():
            return rel
    raise TemplateMissing(f"no mail template {name!r} in {templates_dir} ({lang} or {DEFAULT_LANG})")


def macros(templates_dir: str, name: str, lang: str):
    """The macros of a template file, as (text, HTML) modules: for a caller that formats the
    same item for many messages once (the reminder digests)."""
    plain, html = _environments(str(templates_dir))
    rel = template_path(str(templates_dir), name, lang)
    return plain.get_template(rel).module, html.get_template(rel).module


def render(templates_dir: str, name: str, lang: str, context: dict) -> Rendered:
    plain, html = _environments(str(templates_dir))
    rel = template_path(str(templates_dir), name, lang)
    ctx = {"lang": lang, **context}
    t_plain = plain.get_template(rel)
    t_html = html.get_template(rel)

    def block(template, block_name):
        if block_name not in template.blocks:
            raise TemplateMissing(f"{rel} has no {{% block {block_name} %}}")
        return "".join(template.blocks[block_name](template.new_context(ctx))).strip()

    subject = " ".join(block(t_plain, "subject").split())
    return Rendered(subject=subject, text=block(t_plain, "text") + "\n",
                    html=block(t_html, "html") + "\n")
