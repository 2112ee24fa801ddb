"""Deadlines computed from a service's lifecycle dates (`002` §4.1, `003`).

`service_deadlines` is the one place lifecycle dates are computed, with one `today` (the
clock's): `service show`, `service list --overdue`, the lifecycle emails, `agenda`, `calendar
export`, the weekly digest and the reminder run all read it. The time limits, the
labels, who is told and when to remind live in `workflows/lifecycle.toml` ([settings],
[deadlines.RULE]); the yearly dates of the application round are settings
(`APPOINTER_ROUND_*`, `APPOINTER_ANNUAL_REPORT_DEADLINE`).

The rules
- application round: an application sent on or before 15 January of year Y belongs to round
  Y, later to round Y+1; the region's internal deadline of round Y is 31 August of Y-1; the
  deciding body's feedback is due 1 December of Y.
- establishment at the latest one year after approval (overdue is flagged);
- first annual report: for the year after establishment, with the RHFs by 15 March after it;
- next evaluation about every 5 years (from the last evaluation, else from establishment);
- competence services: the term ends 5 years (training) or 10 years (competence building)
  after it began: at establishment, at 2020-01-01 for a service established before 2020
  (`terms_counted_from`, 002 §4.1), or at the decision on a new term (`continue --outcome
  new_term`); phase-out or continuation initiated at least 18 months before. After a
  decision to continue as a centre, network or other form the term rules no longer apply;
- a deadline computed from a date known only to the year or month is approximate (its
  precision is the coarsest of the dates it comes from);
- phase-out: decision on the new organisation about 6 months after the initiative, the new
  organisation working at least 18 months after it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from appointer.clock import to_oslo


@dataclass(frozen=True)
class Deadline:
    rule: str  # a stable name, e.g. "establishment_due"; part of the reminder's idempotency key
    service_id: int
    due_on: dt.date
    label: str  # short English text for the terminal and the calendar
    notify: tuple[str, ...] = ("service",)  # recipient groups (service, service_region, all_rhfs)
    remind_before_days: tuple[int, ...] = (30, 0)  # remind this many days before due (0 = on/after)
    done: bool = False  # met already (kept for display; never reminded)
    label_nb: str = ""  # the same in Norwegian bokmål, for the emails (falls back to `label`)
    approximate: bool = False  # computed from a date known only to the year or month
    precision: str = "day"  # how much of due_on is known: day | month | year (clock.py)

    def overdue(self, today: dt.date) -> bool:
        return not self.done and self.due_on < today

    def days_left(self, today: dt.date) -> int:
        return (self.due_on - today).days


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic, safe at month ends and leap days:
    31 August + 18 months = 28/29 February; 29 February + 12 months = 28 February."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


# -- the application round ------------------------------------------------------------------
@dataclass(frozen=True)
class Round:
    year: int
    internal_deadline: dt.date  # the region's application to the service environment (Y-1)
    send_by: dt.date  # the RHFs' joint application to the deciding body
    feedback_by: dt.date  # the deciding body's feedback


def _settings(settings):
    if settings is None:
        from appointer.settings import Settings

        return Settings()
    return settings


def _on(year: int, month_day: str) -> dt.date:
    from appointer.settings import month_day as parse

    month, day = parse(month_day)
    return dt.date(year, month, day)


def round_of(year: int, settings=None) -> Round:
    s = _settings(settings)
    return Round(year, _on(year - 1, s.round_internal_deadline), _on(year, s.round_send_deadline),
                 _on(year, s.round_feedback_deadline))


def round_sent_on(day: dt.date, settings=None) -> Round:
    """Sent on or before the deadline of its year: that year's round; later: the next."""
    s = _settings(settings)
    year = day.year if day <= _on(day.year, s.round_send_deadline) else day.year + 1
    return round_of(year, s)


def round_submitted_on(day: dt.date, settings=None) -> Round:
    """The first round whose internal deadline (in the year before it) is on or after `day`."""
    s = _settings(settings)
    year = day.year + 1 if day <= _on(day.year, s.round_internal_deadline) else day.year + 2
    return round_of(year, s)


def application_round(service, settings, today: dt.date) -> Round | None:
    """The round an application belongs to (sent), or is heading for (draft, submitted,
    prioritised); None for a service with no application on record."""
    s = _settings(settings)
    # A change's own round, from the date of its last step (change_step_on; the service's
    # submitted_on … are the original application's)
    if service.state == "change_requested":
        return round_submitted_on(today, s)
    if service.state == "change_submitted":
        return round_submitted_on(_change_step(service, today), s)
    if service.state in ("change_prioritised", "change_sent"):
        return round_sent_on(_change_step(service, today), s)
    if service.sent_on is not None:
        return round_sent_on(service.sent_on, s)
    if service.state == "prioritised":
        return round_sent_on(service.prioritised_on or today, s)
    if service.state == "submitted" and service.submitted_on is not None:
        return round_submitted_on(service.submitted_on, s)
    if service.state == "draft":
        return round_submitted_on(today, s)
    return None


def _change_step(service, today: dt.date) -> dt.date:
    """The date of the change's last step; for a change recorded before Appointer kept it,
    the (Oslo) day the service entered its state."""
    if service.change_step_on is not None:
        return service.change_step_on
    return to_oslo(service.state_since).date() if service.state_since else today


def first_report_year(service) -> int | None:
    """Annual reports from the year after establishment (`002` §4.1)."""
    return service.established_on.year + 1 if service.established_on else None


# -- the rules ------------------------------------------------------------------------------
def _workflow(settings):
    from appointer import workflow

    return workflow.load("lifecycle", _settings(settings).workflows_dir)


def lifecycle_rules(settings=None) -> tuple[dict, dict]:
    """([settings], [deadlines]) of workflows/lifecycle.toml."""
    w = _workflow(settings)
    return w.settings, w.raw.get("deadlines", {})


ACTIVE = ("established", "change_requested", "change_submitted", "change_prioritised",
          "change_sent")
FUNCTION_NB = {"training": "opplæring", "competence building": "kompetanseoppbygging"}
PHASE_OUT = ("phase_out_initiated", "reorganisation_decided")


def service_deadlines(service, settings, today: dt.date) -> list[Deadline]:
    """Every deadline of a service in its current state, from its recorded dates, sorted by
    date, as of `today` (the clock's: every caller passes the same day, so `service show`,
    `service list --overdue`, `agenda`, `calendar export`, the digest and the reminders agree).
    The first annual report is listed until its date has passed; after that its delivery is
    followed by the annual-report cycle, not here."""
    s = _settings(settings)
    if service.state in _workflow(s).final_states():
        return []
    limits, specs = lifecycle_rules(s)
    out: list[Deadline] = []

    known = service.date_precision or {}

    def add(rule: str, due: dt.date, done: bool = False, basis: tuple[str, ...] = (),
            **fmt) -> None:
        spec = specs[rule]
        nb = dict(fmt, function=FUNCTION_NB.get(fmt.get("function"), fmt.get("function")))
        precision = _coarsest(known.get(f, "day") for f in basis)
        out.append(Deadline(rule, service.id, due, spec["label"].format(**fmt),
                            tuple(spec.get("notify", ("service",))),
                            tuple(spec.get("remind_before_days", (30, 0))), done,
                            spec.get("label_nb", spec["label"]).format(**nb),
                            precision != "day", precision))

    state = service.state
    rnd = application_round(service, s, today)
    round_basis = (("change_step_on",) if state.startswith("change_") else
                   ("submitted_on", "prioritised_on", "sent_on"))
    if rnd is not None:  # (a change goes through the round like an application)
        if state in ("draft", "change_requested"):
            add("application_internal", rnd.internal_deadline, basis=round_basis,
                round=rnd.year)
        elif state in ("submitted", "prioritised", "change_submitted", "change_prioritised"):
            add("application_send", rnd.send_by, basis=round_basis, round=rnd.year)
        elif state == "change_sent":
            add("decision_feedback", rnd.feedback_by, basis=round_basis, round=rnd.year)
        elif service.sent_on is not None:
            add("decision_feedback", rnd.feedback_by, done=state != "sent", basis=round_basis,
                round=rnd.year)

    if service.approved_on and state in ("approved", *ACTIVE, *PHASE_OUT):
        add("establishment_due", add_months(service.approved_on, limits["establish_within_months"]),
            done=service.established_on is not None, basis=("approved_on",))

    regulated = service.kind in limits["regulated_kinds"]
    if service.established_on and state in ACTIVE and regulated:
        year = first_report_year(service)
        due = _on(year + 1, s.annual_report_deadline)
        if today <= due:
            add("first_annual_report", due, year=year)
        years = limits["evaluate_every_years"]
        since, field = max((d, f) for f in ("established_on", "last_evaluated_on")
                           if (d := getattr(service, f)))
        add("next_evaluation", add_years(since, years), basis=(field,), years=years)

    term = competence_term(service, s)
    if term is not None and state in (*ACTIVE, *PHASE_OUT):
        _, ends, field = term
        basis = (field,) if field else ()
        years = limits["term_years"][service.function]
        months = limits["initiate_before_term_end_months"]
        add("continuation_initiative", add_months(ends, -months),
            done=service.phase_out_initiated_on is not None, basis=basis, months=months)
        add("competence_term_end", ends, basis=basis,
            function=service.function.replace("_", " "), years=years)

    if service.phase_out_initiated_on and state in PHASE_OUT:
        start = service.phase_out_initiated_on
        months = limits["reorganisation_decision_months"]
        add("reorganisation_decision", add_months(start, months),
            done=service.reorganisation_decided_on is not None,
            basis=("phase_out_initiated_on",), months=months)
        months = limits["new_organisation_months"]
        add("new_organisation_working", add_months(start, months),
            basis=("phase_out_initiated_on",), months=months)

    return sorted(out, key=lambda d: (d.due_on, d.rule))


_PRECISION_ORDER = ("day", "month", "year")


def _coarsest(precisions) -> str:
    return max(precisions, key=_PRECISION_ORDER.index, default="day")


def competence_term(service, settings=None) -> tuple[dt.date, dt.date, str | None] | None:
    """(start, end, the field the start comes from or None) of a competence service's
    current term; None where no term can be computed (not a competence service, function or
    establishment unknown) or where the term rules no longer apply (a decision to continue
    as a centre, network or other form). The one home of the term rule (002 §4.1)."""
    if (service.kind != "competence" or not service.function or not service.established_on
            or service.continuation not in (None, "new_term")):
        return None
    limits, _ = lifecycle_rules(settings)
    counted_from = limits["terms_counted_from"]
    start, field = service.established_on, "established_on"
    if start < counted_from:
        start, field = counted_from, None
    if service.continuation == "new_term" and service.continued_on:
        start, field = max(start, service.continued_on), "continued_on"
    return start, add_years(start, limits["term_years"][service.function]), field


def term_note(service, settings=None) -> str | None:
    """What `service show` says about a competence service's term when it is not a plain
    date: why it cannot be computed, where it was counted from, or that it no longer
    applies."""
    if service.kind != "competence":
        return None
    if service.continuation and service.continuation != "new_term":
        return (f"term rules no longer apply: continued as {service.continuation} "
                f"from {service.continued_on}")
    if not service.function:
        return "term end: cannot be computed until the function is known"
    if not service.established_on:
        return "term end: cannot be computed until the establishment date is known"
    start, ends, field = competence_term(service, settings)
    why = {None: "established before then: terms count from it, 002 §4.1",
           "continued_on": "a new term decided that day",
           "established_on": "establishment"}[field]
    return f"term from {start} ({why}) to {ends}"


def next_due(deadlines: list[Deadline]) -> Deadline | None:
    """The earliest deadline not yet met."""
    return next((d for d in deadlines if not d.done), None)
