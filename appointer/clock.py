"""The one clock. Every rule takes 'today' from here; tests and --today set it.

Dates are Europe/Oslo calendar dates. Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


def parse_date(text: str) -> dt.date:
    """Parse YYYY-MM-DD, with a message a person understands."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date: {text!r} (use YYYY-MM-DD, e.g. 2026-01-15)") from None


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
