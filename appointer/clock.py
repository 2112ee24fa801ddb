"""The one clock. Every rule takes 'today' from here; tests and --today set it.

Dates are Europe/Oslo calendar dates. Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


def parse_date(text: str) -> dt.date:
    """Parse YYYY-MM-DD, with a message a person understands."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date: {text!r} (use YYYY-MM-DD, e.g. 2026-01-15)") from None


# How much of a date is known. A register taken over from spreadsheets often knows only the
# year ("approved 2011") or the month. Such a date is stored as the first day of its period,
# with its precision beside it (a `date_precision` map {field: "year" | "month"} on the row;
# a field not in the map is exact), and everything computed from it is approximate.
DAY, MONTH, YEAR = "day", "month", "year"
_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def parse_partial_date(text: str) -> tuple[dt.date, str]:
    """YYYY-MM-DD, YYYY-MM or YYYY: (the first day of that period, its precision)."""
    text = text.strip()
    m = _PARTIAL.fullmatch(text) if text.isascii() else None
    try:
        if m is None:
            raise ValueError
        year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
        value = dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"not a date: {text!r} (use YYYY-MM-DD, or YYYY-MM or YYYY where "
                         "only that is known)") from None
    return value, DAY if m[3] else MONTH if m[2] else YEAR


def format_partial(value: dt.date | None, precision: str | None = DAY) -> str:
    """A stored date as it is known: 2011-03-01 (day), 2011-03 (month), 2011 (year)."""
    if value is None:
        return ""
    if precision == YEAR:
        return f"{value.year}"
    if precision == MONTH:
        return f"{value.year}-{value.month:02d}"
    return value.isoformat()


@dataclass(frozen=True)
class Clock:
    """today() in Oslo; fixed when `today` is given (e.g. by --today or APPOINTER_TODAY)."""

    fixed_today: dt.date | None = None

    def today(self) -> dt.date:
        if self.fixed_today is not None:
            return self.fixed_today
        return dt.datetime.now(OSLO).date()

    def now(self) -> dt.datetime:
        """Aware UTC 'now'. With a fixed day: that Oslo day at the current Oslo time of day,
        so events keep their order and still fall on the day the user set."""
        real = dt.datetime.now(OSLO)
        if self.fixed_today is not None:
            real = dt.datetime.combine(self.fixed_today, real.timetz())
        return real.astimezone(dt.UTC)


def to_oslo(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # some databases hand back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(OSLO)
