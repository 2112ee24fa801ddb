"""Deadlines computed from a service's lifecycle dates (`002` §4.1, `003`).

`service_deadlines` is the one place lifecycle dates are computed: `service show`, the
agenda, the calendar export and the reminder run all read it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    rule: str  # a stable name, e.g. "establishment_due"; part of the reminder's idempotency key
    service_id: int
    due_on: dt.date
    label: str  # short English text for the terminal and the calendar
    notify: tuple[str, ...] = ("service",)  # recipient groups (service, service_region, all_rhfs)
    remind_before_days: tuple[int, ...] = (30, 0)  # remind this many days before due (0 = on/after)
    done: bool = False  # met already (kept for display; never reminded)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic, safe at month ends and leap days:
    31 August + 18 months = 28/29 February; 29 February + 12 months = 28 February."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


def service_deadlines(service, settings=None) -> list[Deadline]:
    """Every coming or passed deadline of a service, from its recorded dates."""
    out: list[Deadline] = []
    if service.approved_on and service.state == "approved":
        out.append(Deadline("establishment_due", service.id, add_years(service.approved_on, 1),
                            "establishment due (one year after approval)",
                            notify=("service", "service_region")))
    return out
