"""The one clock. Every rule takes 'today' from here; tests and --today set it.

Dates are Europe/Oslo calendar dates. Timestamps are timezone-aware UTC.

One clock, two readings:
- the *effective* time, `today()` / `now()`: the day a step counts as done on. `--today`
  sets it (a coordinator records on Monday what was agreed on Friday); every deadline rule
  and the audit row's `at` use it.
- the *real* time, `real_now()`: when it actually happened. The audit row keeps it beside
  the effective time (`recorded_at`), and links expire from it, so a `--today` in the past
  or the future can neither backdate the evidence nor hand out a link that is already dead
  (or one that lives for years).

Dates that can be typed in are held to a plausible window (`EARLIEST`..`LATEST`; `--today`
within `TODAY_WINDOW`; dates of what is planned at most `date_horizon_years` ahead): a year
0001 or 9999 is a typing error, and would overflow the date arithmetic of every rule.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


# The register's floor: national services (and the "landsfunksjoner" before them) date from
# the 1990s; the service environment itself from 2022. A date before 1990 is a typing error.
EARLIEST = dt.date(1990, 1, 1)
# The ceiling of any date typed in; far enough for every plan, and far from the year 9999
# where adding a reminder interval overflows.
LATEST = dt.date(2100, 12, 31)
# --today: the day a coordinator acts on. Appointer did not exist before 2000.
TODAY_WINDOW = (dt.date(2000, 1, 1), LATEST)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str, earliest: dt.date = EARLIEST, latest: dt.date = LATEST) -> dt.date:
    """Parse YYYY-MM-DD (ASCII digits only), with a message a person understands; a date
    outside earliest..latest is refused."""
    text = text.strip()
    try:
        if not (text.isascii() and _DAY.fullmatch(text)):
            raise ValueError
        value = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date: {_shown(text)} (use YYYY-MM-DD, e.g. 2026-01-15)") from None
    return in_window(value, earliest, latest)


def in_window(value: dt.date, earliest: dt.date = EARLIEST, latest: dt.date = LATEST,
              what: str = "") -> dt.date:
    """`value`, or a ValueError saying the window it must fall in."""
    if not earliest <= value <= latest:
        label = f"{what} " if what else ""
        raise ValueError(f"{label}{value.isoformat()} is outside the dates Appointer accepts "
                         f"({earliest.isoformat()} to {latest.isoformat()})")
    return value


def horizon(today: dt.date, years: int) -> dt.date:
    """The last day a planned date may fall on: `years` after today (at most LATEST)."""
    try:
        return min(today.replace(year=today.year + years), LATEST)
    except ValueError:  # 29 February, or past the year 9999
        return LATEST if today.year + years > LATEST.year else dt.date(today.year + years, 2, 28)


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


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
        raise ValueError(f"not a date: {_shown(text)} (use YYYY-MM-DD, or YYYY-MM or YYYY "
                         "where only that is known)") from None
    return in_window(value), DAY if m[3] else MONTH if m[2] else YEAR


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
    """today() in Oslo; fixed when `today` is given (e.g. by --today or APPOINTER_TODAY).
    `fixed_real` sets the real reading (tests: a link's expiry without waiting 30 days)."""

    fixed_today: dt.date | None = None
    fixed_real: dt.datetime | None = None

    def today(self) -> dt.date:
        if self.fixed_today is not None:
            return self.fixed_today
        return self.real_now().astimezone(OSLO).date()

    def real_now(self) -> dt.datetime:
        """Aware UTC: when it really is, whatever day --today says (see the module's text)."""
        if self.fixed_real is not None:
            return self.fixed_real.astimezone(dt.UTC)
        return dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        """Aware UTC effective 'now'. With a fixed day: that Oslo day at the current Oslo time
        of day, so events keep their order and still fall on the day the user set."""
        return self._effective(self.real_now())

    def _effective(self, real: dt.datetime) -> dt.datetime:
        if self.fixed_today is None:
            return real
        oslo = real.astimezone(OSLO)
        return dt.datetime.combine(self.fixed_today, oslo.timetz()).astimezone(dt.UTC)

    def moment(self) -> Clock:
        """This clock read once: a unit of work's clock (db.transaction), every reading of
        which is the moment the unit began, so that all a transition writes (the case's
        state_since, its audit row, its messages and links) carries one time."""
        real = self.real_now()
        return _Moment(self.fixed_today, self.fixed_real, real, self._effective(real))


@dataclass(frozen=True)
class _Moment(Clock):
    """A clock stopped at one moment (`Clock.moment`)."""

    at_real: dt.datetime | None = None
    at: dt.datetime | None = None

    def real_now(self) -> dt.datetime:
        return self.at_real

    def now(self) -> dt.datetime:
        return self.at

    def today(self) -> dt.date:
        return self.fixed_today if self.fixed_today is not None else self.at_real.astimezone(
            OSLO).date()

    def moment(self) -> Clock:
        return self


def to_oslo(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # some databases hand back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(OSLO)
