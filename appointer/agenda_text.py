"""The agenda's items in words of a language (nb or en): the same wording the reminder emails
use (`mail_templates/<lang>/macros/reminder.j2`), for `appointer agenda --lang` and the
calendar export, so an item reads alike in an email, on the terminal and in a calendar."""

from __future__ import annotations

import datetime as dt

from appointer import terms
from appointer.mail.render import format_date, macros


def item_view(item, today: dt.date, n: int = 0, escalated: bool = False) -> dict:
    """What the reminder macros read of an agenda item (the reminder run adds its text)."""
    return {"kind": item.kind, "label": item.label, "due_on": item.due_on,
            "since": item.since, "status": item.status(today), "detail": item.detail,
            "subject_type": item.subject_type, "subject_id": item.subject_id,
            "n": n, "escalated": escalated, "new": False}


def describe(items, settings, today: dt.date, lang: str) -> list[str]:
    """Each item as one line in `lang`: what is due, in plain words."""
    text, _ = macros(settings.templates_dir, "macros/reminder", lang)
    return [" ".join(str(text.describe(item_view(i, today))).split()) for i in items]


def status(lang: str, code: str) -> str:
    return terms.term(lang, f"status.{code}", default=code)


def day(lang: str, value: dt.date | None) -> str:
    return format_date(value, lang) if value else "–"


def duration(lang: str, days: int) -> str:
    """A span of days as people say it: "3 år", "5 måneder", "12 dager" / "3 years" …"""
    days = abs(days)
    if days >= 730:  # two years and more in years; under that in months
        n, unit = round(days / 365.25), "year"
    elif days >= 60:
        n, unit = round(days / 30.44), "month"
    else:
        n, unit = days, "day"
    return terms.term(lang, f"unit.{unit}.{'one' if n == 1 else 'many'}", n=n)
