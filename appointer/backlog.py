"""A quiet start: what Appointer learnt of only after it had happened is not reminded.

A register taken over on day one is full of dates in the past. Mailing the services and the
members about each of them on the first run would be noise about things no one can change any
more. So every rule asks one question, `known_on(service)`: since when has Appointer known of
this service? The later of the day the service was registered (`Service.created_at`, in Oslo)
and the day of the database's first reminder run (the earliest `ReminderLog` row; the run
writes a `first_run` marker row when it finds none, so the day is kept even if that run had
nothing to send).

- A lifecycle deadline that had already passed on that day, or an approximate one (computed
  from a date known only to the year or month) that lies in the past, is *backlog*: never
  reminded to anyone; listed once in the coordinators' next weekly digest (a section of its
  own, for the host region's coordinators, or all four when the host is unknown) and always
  by `appointer agenda --backlog`.
- A group problem arises, for its reminders, at the earliest on that day: the first reminder
  goes out `group_remind_after_days` later, as for any new problem.
- A deadline that passes after that day is reminded as usual.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from appointer.clock import to_oslo
from appointer.models import ReminderLog

# The marker the reminder run writes when it is the database's first (ReminderLog key parts).
FIRST_RUN = ("first_run", "run", 0)


def first_run_on(session: Session, today: dt.date) -> dt.date:
    """The day of the database's first reminder run; today if there has been none. (The
    row with the lowest id is the earliest: one index look-up, not a scan of the log.)"""
    first = session.exec(select(ReminderLog.created_at).order_by(ReminderLog.id).limit(1)).first()
    return to_oslo(first).date() if first is not None else today


def known_on(service, first_run: dt.date) -> dt.date:
    """The day Appointer first knew of a service (see the module's docstring)."""
    return max(to_oslo(service.created_at).date(), first_run)


def is_backlog(deadline, known: dt.date, today: dt.date) -> bool:
    """A deadline not met that had passed before Appointer knew of its service, or an
    approximate one that lies in the past: never reminded, listed as backlog."""
    if deadline.done:
        return False
    return deadline.due_on < known or (deadline.approximate and deadline.due_on < today)
