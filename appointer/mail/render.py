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

Templates are read once per process (no reload check on each render). Their compiled code is
also kept between processes (`_BytecodeCache`), checked against the template's source.
"""

from __future__ import annotations

import hashlib
import re
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


# What a plain dict answers as an attribute (its methods): any other name is only a key.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """Jinja2's `{{ d.name }}` tries `getattr(d, "name")` first and reads the key only after
    catching the AttributeError; the reminder contexts are mostly plain dicts (item views,
    details, digest entries), so a run raised and caught ~0.6 million of them. A plain dict
    has no attribute but its methods, so for any other name reading the key straight away is
    the same lookup, with the same result (undefined when the key is missing)."""

    def getattr(self, obj, attribute):
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between processes, in Jinja2's per-user folder in the temp
    directory (created 0700 and checked to be the user's own). Compiling the templates a
    reminder run uses costs 50-90 ms, every cron run; loading them ~4 ms.

    It cannot serve stale code: Jinja2 checks each entry against a checksum of the template's
    source, and the file names carry a fingerprint of what else the compiled code depends on
    (Jinja2's version, the environment's syntax and escaping options, its filter and test
    names), so the text and the HTML environment, which compile the same file differently,
    never share an entry. A folder that cannot be used only means compiling as before."""

    def dump_bytecode(self, bucket):
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass  # read-only or full: the template was compiled anyway


def _bytecode_cache(env: jinja2.Environment) -> jinja2.BytecodeCache | None:
    options = (jinja2.__version__, env.autoescape, env.trim_blocks, env.lstrip_blocks,
               env.keep_trailing_newline, env.newline_sequence, env.block_start_string,
               env.block_end_string, env.variable_start_string, env.variable_end_string,
               env.comment_start_string, env.comment_end_string, env.line_statement_prefix,
               env.line_comment_prefix, env.optimized, env.is_async, sorted(env.extensions),
               sorted(env.filters), sorted(env.tests))
    fingerprint = hashlib.sha256(repr(options).encode()).hexdigest()[:16]
    try:
        return _BytecodeCache(pattern=f"__appointer_{fingerprint}_%s.cache")
    except (OSError, RuntimeError):  # no usable temp directory
        return None


@lru_cache(maxsize=8)
def _environments(templates_dir: str) -> tuple[jinja2.Environment, jinja2.Environment]:
    loader = jinja2.FileSystemLoader(templates_dir)
    # auto_reload off: no stat() of every template file on every render; edited templates
    # take effect when the process restarts.
    common = dict(loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                  trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    plain = _Environment(autoescape=False, **common)
    html = _Environment(autoescape=True, **common)
    for env, helpers in ((plain, formats.TEXT), (html, formats.HTML)):
        env.filters["date"] = format_date
        env.globals["word"] = _term
        for name in ("seat", "role", "represents"):
            env.filters[name] = _term_filter(getattr(terms, name))
        env.filters["state"] = _state
        env.globals["greeting"] = _greeting
        env.filters.update(helpers["filters"])
        env.globals.update(helpers["globals"])
        env.bytecode_cache = _bytecode_cache(env)
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


_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_TRAILING = re.compile(r"[ \t]+\n")


def _tidy_text(text: str) -> str:
    """Plain text: no trailing blanks, at most one empty line between paragraphs."""
    text = _TRAILING.sub("\n", text.strip() + "\n")
    return _BLANK_RUNS.sub("\n\n", text)


def render(templates_dir: str, name: str, lang: str, context: dict) -> Rendered:
    plain, html = _environments(str(templates_dir))
    rel = template_path(str(templates_dir), name, lang)
    file_lang = rel.partition("/")[0]
    ctx = {**context, "lang": file_lang}
    t_plain = plain.get_template(rel)
    t_html = html.get_template(rel)
    ctx["words"] = _words(plain, str(templates_dir), file_lang, name, ctx)

    flat = {}  # template -> its globals as one dict

    def block(template, block_name):
        if block_name not in template.blocks:
            raise TemplateMissing(f"{rel} has no {{% block {block_name} %}}")
        if template not in flat:
            flat[template] = _globals(template)
        context = template.environment.context_class(
            template.environment, {**flat[template], **ctx}, template.name, template.blocks,
            globals=flat[template])
        return "".join(template.blocks[block_name](context)).strip()

    subject = " ".join(block(t_plain, "subject").split())
    if "body" in t_plain.blocks:
        text = block(t_plain, "body")
        inner = block(t_html, "body")
        page = html.get_template(LAYOUT).render(subject=subject, lang=file_lang,
                                                content=Markup(inner))
        return Rendered(subject=subject, text=_tidy_text(text), html=page.strip() + "\n")
    return Rendered(subject=subject, text=block(t_plain, "text") + "\n",
                    html=block(t_html, "html") + "\n")


def render_for(templates_dir: str, name: str, lang: str, context: dict,
               recipients: list) -> list[Rendered]:
    """The message for each of `recipients` (all in `lang`), as `render` would give it with
    `recipient` set in the context: rendered once, with the greeting filled in for each,
    when the template reads nothing else of its recipient; else once per recipient."""
    if len(recipients) < 2:
        return [render(templates_dir, name, lang, {**context, "recipient": r})
                for r in recipients]
    try:
        shared = render(templates_dir, name, lang, {**context, "recipient": _ANYONE})
    except PerRecipient:
        shared = None
    if shared is None or "\x00" in (shared.subject + shared.text + shared.html).replace(
            _GREETING_SLOT, ""):  # (a filter changed the slot: not fillable)
        return [render(templates_dir, name, lang, {**context, "recipient": r})
                for r in recipients]
    file_lang = template_path(str(templates_dir), name, lang).partition("/")[0]
    out = []
    for r in recipients:
        words = greeting_for(r, file_lang)
        html_words = str(escape(words))
        out.append(Rendered(subject=shared.subject.replace(_GREETING_SLOT, words),
                            text=shared.text.replace(_GREETING_SLOT, words),
                            html=shared.html.replace(_GREETING_SLOT, html_words)))
    return out


def _globals(template: jinja2.Template) -> dict:
    """The template's globals (a ChainMap) as one dict, for a block's context: what
    `template.new_context(ctx)` does, `dict(globals, **ctx)`, reads a ChainMap with a lookup
    per key, and again to list its keys, for every block of every message: half the time of
    rendering a service reminder. Merging its maps, last first as a ChainMap reads them,
    gives the same dict."""
    merged: dict = {}
    for scope in reversed(getattr(template.globals, "maps", [template.globals])):
        merged.update(scope)
    return merged


@lru_cache(maxsize=256)
def _prelude_path(templates_dir: str, lang: str, family: str) -> str | None:
    rel = f"{lang}/_{family}{SUFFIX}"
    return rel if (Path(templates_dir) / rel).exists() else None


def _words(plain: jinja2.Environment, templates_dir: str, lang: str, name: str, ctx: dict):
    """The phrases of the template's family (`<lang>/_<family>.j2`, family = the name up to
    its first dot), worked out once per message; `None` if the family has none. Plain text:
    the HTML part escapes them where it prints them."""
    rel = _prelude_path(templates_dir, lang, name.partition(".")[0])
    return plain.get_template(rel).make_module(vars=ctx) if rel else None
