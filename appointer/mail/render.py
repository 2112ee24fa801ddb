"""Render a message from `mail_templates/<lang>/<template>.j2`.

A template file holds a `subject` block and either
- one `body` block, written once with the helpers of `appointer.mail.formats` (`para`,
  `bullets`, `facts`, …): rendered twice, as plain text (no autoescaping) and as HTML
  (autoescaped, inside `_layout.j2`), so the two parts of a message cannot say different
  things; or
- a `text` and an `html` block, rendered as they are.
A template missing in the asked language falls back to Norwegian bokmål (nb), the default;
`lang` in the template is the language of the file actually used. Phrases a family of
templates shares (`appointment.*`) live in `<lang>/_appointment.j2`, a list of `{% set %}`
worked out once per message and read as `words.NAME`.

Templates are read and compiled once per process (no reload check on each render).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from appointer import terms
from appointer.mail import formats

DEFAULT_LANG = "nb"
SUFFIX = ".j2"
LAYOUT = "_layout.j2"


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
    # auto_reload off: no stat() of every template file on every render; edited templates
    # take effect when the process restarts.
    common = dict(loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                  trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    plain = jinja2.Environment(autoescape=False, **common)
    html = jinja2.Environment(autoescape=True, **common)
    for env, helpers in ((plain, formats.TEXT), (html, formats.HTML)):
        env.filters["date"] = format_date
        env.globals["word"] = _term
        for name in ("seat", "role", "represents"):
            env.filters[name] = _term_filter(getattr(terms, name))
        env.filters["state"] = _state
        env.globals["greeting"] = _greeting
        env.filters.update(helpers["filters"])
        env.globals.update(helpers["globals"])
    return plain, html


def format_date(value, lang: str = DEFAULT_LANG) -> str:
    if value is None:
        return ""
    if lang == "en":
        return value.strftime("%-d %B %Y")
    months = ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
              "september", "oktober", "november", "desember"]
    return f"{value.day}. {months[value.month - 1]} {value.year}"


def _lang_of(context, lang: str | None) -> str:
    return lang or context.get("lang") or DEFAULT_LANG


@jinja2.pass_context
def _term(context, key: str, lang: str | None = None, **values) -> str:
    """`{{ word("kind." ~ service.kind ~ ".indefinite") }}`: a word from terms.toml in the
    message's language (a macro outside a message passes `lang=`)."""
    return terms.term(_lang_of(context, lang), key, **values)


def _term_filter(fn):
    @jinja2.pass_context
    def apply(context, code: str, lang: str | None = None) -> str:
        return fn(_lang_of(context, lang), code)
    return apply


class PerRecipient(Exception):
    """A template read something of its recipient other than the greeting: it is rendered
    for each recipient on its own (`render_for`)."""


class _Anyone:
    """The recipient while a message is rendered once for many (`render_for`): its greeting
    is a slot filled in per recipient afterwards; reading anything else of it stops that
    render (`PerRecipient`)."""

    __slots__ = ()

    def __getattr__(self, name):
        raise PerRecipient(name)

    def __getitem__(self, name):
        raise PerRecipient(name)


_ANYONE = _Anyone()
_GREETING_SLOT = "\x00greeting\x00"


def greeting_for(recipient, lang: str) -> str:
    """"Hei Kari," to a person, "Til Helse Vest RHF," to an organisation's address, "Hei,"
    where no name is known."""
    name = " ".join((getattr(recipient, "name", None) or "").split())  # as a paragraph prints it
    if not name:
        return terms.term(lang, "word.hello_anon") + ","
    to = "word.to" if getattr(recipient, "role", "") == "contact" else "word.hello"
    return f"{terms.term(lang, to)} {name},"


@jinja2.pass_context
def _greeting(context, recipient, lang: str | None = None) -> str:
    """`{{ greeting(recipient) }}`: the greeting (`greeting_for`) in the message's language."""
    if recipient is _ANYONE:
        return _GREETING_SLOT
    return greeting_for(recipient, _lang_of(context, lang))


@jinja2.pass_context
def _state(context, code: str, workflow: str = "appointment", lang: str | None = None) -> str:
    """`{{ case.state | state }}`: a state as people read it (terms.toml)."""
    return terms.state(_lang_of(context, lang), workflow, code)


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


def template_names(templates_dir: str, lang: str = DEFAULT_LANG) -> list[str]:
    """The message templates of a language (partials, whose names start with `_`, left out)."""
    folder = Path(templates_dir) / lang
    return sorted(p.name.removesuffix(SUFFIX) for p in folder.glob(f"*{SUFFIX}")
                  if not p.name.startswith("_"))


def _tidy_text(text: str) -> str:
    """Plain text: no trailing blanks, at most one empty line between paragraphs."""
    lines, blank = [], False
    for line in text.strip().split("\n"):
        line = line.rstrip(" \t")
        if line or not blank:
            lines.append(line)
        blank = not line
    return "\n".join(lines) + "\n"


def render(templates_dir: str, name: str, lang: str, context: dict,
           memo: dict | None = None) -> Rendered:
    plain, html = _environments(str(templates_dir))
    rel = template_path(str(templates_dir), name, lang)
    file_lang = rel.partition("/")[0]
    ctx = {**context, "lang": file_lang}
    t_plain = plain.get_template(rel)
    t_html = html.get_template(rel)
    ctx["words"] = _words(plain, str(templates_dir), file_lang, name, ctx, memo)

    contexts: dict = {}  # one context per template, shared by its blocks (as a full render)

    def block(template, block_name):
        if block_name not in template.blocks:
            raise TemplateMissing(f"{rel} has no {{% block {block_name} %}}")
        if template not in contexts:
            contexts[template] = template.new_context(ctx)
        return "".join(template.blocks[block_name](contexts[template])).strip()

    subject = " ".join(block(t_plain, "subject").split())
    if "body" in t_plain.blocks:
        text = block(t_plain, "body")
        inner = block(t_html, "body")
        page = html.get_template(LAYOUT).render(subject=subject, lang=file_lang,
                                                content=Markup(inner))
        return Rendered(subject=subject, text=_tidy_text(text), html=page.strip() + "\n")
    return Rendered(subject=subject, text=block(t_plain, "text") + "\n",
                    html=block(t_html, "html") + "\n")


# Templates found to read more of their recipient than the greeting (a name, a role, an
# address): rendered for each recipient from then on, without trying to share.
_READS_RECIPIENT: set[tuple[str, str, str]] = set()


def render_for(templates_dir: str, name: str, lang: str, context: dict, recipients: list,
               memo: dict | None = None) -> list[Rendered]:
    """The message for each of `recipients` (all in `lang`), as `render` would give it with
    `recipient` set in the context: rendered once, with the greeting filled in for each,
    when the template reads nothing else of its recipient; else once per recipient.
    `memo`: a dict kept for the messages of one context (a transition's), in which the
    phrases of a template family are worked out once."""
    key = (str(templates_dir), name, lang)
    if key not in _READS_RECIPIENT and (len(recipients) > 1 or memo is not None):
        shared = _shared(templates_dir, name, lang, context, memo)
        if shared is not None:
            file_lang = template_path(str(templates_dir), name, lang).partition("/")[0]
            return [_filled(shared, greeting_for(r, file_lang)) for r in recipients]
        _READS_RECIPIENT.add(key)
    return [render(templates_dir, name, lang, {**context, "recipient": r}) for r in recipients]


def _shared(templates_dir, name, lang, context, memo) -> Rendered | None:
    """The message rendered for `_ANYONE`, or None where it cannot be shared."""
    try:
        shared = render(templates_dir, name, lang, {**context, "recipient": _ANYONE}, memo)
    except PerRecipient:
        return None
    rest = (shared.subject + shared.text + shared.html).replace(_GREETING_SLOT, "")
    return None if "\x00" in rest else shared  # (a filter changed the slot: not fillable)


def _filled(shared: Rendered, words: str) -> Rendered:
    return Rendered(subject=shared.subject.replace(_GREETING_SLOT, words),
                    text=shared.text.replace(_GREETING_SLOT, words),
                    html=shared.html.replace(_GREETING_SLOT, str(escape(words))))


@lru_cache(maxsize=256)
def _prelude_path(templates_dir: str, lang: str, family: str) -> str | None:
    rel = f"{lang}/_{family}{SUFFIX}"
    return rel if (Path(templates_dir) / rel).exists() else None


def _words(plain: jinja2.Environment, templates_dir: str, lang: str, name: str, ctx: dict,
           memo: dict | None = None):
    """The phrases of the template's family (`<lang>/_<family>.j2`, family = the name up to
    its first dot), worked out once per message, or once per `memo` (one context; the link
    is part of the key); `None` if the family has none. Plain text: the HTML part escapes
    them where it prints them."""
    rel = _prelude_path(templates_dir, lang, name.partition(".")[0])
    if rel is None:
        return None
    if memo is None:
        return plain.get_template(rel).make_module(vars=ctx)
    key = ("words", templates_dir, rel, ctx.get("link"))
    if key not in memo:
        memo[key] = plain.get_template(rel).make_module(vars=ctx)
    return memo[key]
