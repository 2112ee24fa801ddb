"""Rendering the pages: Jinja2 templates in this package (autoescaped), the text catalogue,
the one stylesheet inlined in a <style> element that the Content-Security-Policy allows by
its hash (no other style, no script, no external resource)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import tomllib
from functools import cache
from importlib import resources

import jinja2
from markupsafe import Markup

from appointer.clock import to_oslo
from appointer.mail.render import format_date as _calendar_date
from appointer.web.texts import text

_HERE = resources.files("appointer.web")


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("appointer.web", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    return env


@cache
def css() -> str:
    return _HERE.joinpath("templates/style.css").read_text(encoding="utf-8").strip()


@cache
def style_hash() -> str:
    """The CSP source for the inline stylesheet: 'sha256-<base64 of the digest>'."""
    digest = hashlib.sha256(css().encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@cache
def mandate() -> dict:
    with _HERE.joinpath("mandate.toml").open("rb") as fh:
        return tomllib.load(fh)


def format_date(value: dt.date | dt.datetime | None, lang: str) -> str:
    """A date as people write it, on the Oslo calendar ('2. april 2026' / '2 April 2026');
    the same format the emails use."""
    if isinstance(value, dt.datetime):
        value = to_oslo(value).date()
    return _calendar_date(value, lang)


def render(name: str, lang: str, **context) -> str:
    def t(key: str, **values) -> str:
        return text(lang, key, **values)

    context.setdefault("contacts", None)
    return _env().get_template(name).render(lang=lang, t=t, css=Markup(css()), **context)
