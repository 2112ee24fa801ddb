"""The agenda: everything that is due, late or coming, as `Item`s with their reminder steps.

- cases of a workflow waiting in a state that declares `remind_after_days` /
  `escalate_after_days` (workflows/*.toml): reminders to `waiting_for`, then an escalation;
- group problems (groups.py): vacant seats, the leader, one member per region, long absence —
  reminded `group_remind_after_days` after they arose, then every `group_remind_every_days`;
- the yearly meeting: a group with no meeting recorded this year by `meeting_due`;
- lifecycle deadlines from `deadlines.service_deadlines` (with the agenda's `today`), whatever
  rules it returns;
- services whose register entry is incomplete (`services.missing`: host or function unknown),
  for the host region's coordinators (all four when the host is unknown), never mailed.

A quiet start (backlog.py): a lifecycle deadline that had passed before Appointer knew of its
service is a *backlog* item (no reminder steps; `select(backlog=True)`, `agenda --backlog`,
once in the digest), and a group problem counts from that day at the earliest.

`appointer agenda`, `appointer calendar export`, the weekly digest and the reminder run all read
this one list. Everything is loaded with a handful of set-based queries.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from appointer import groups, terms
from appointer.backlog import first_run_on, is_backlog, known_on
from appointer.clock import to_oslo
from appointer.errors import InvalidInput
from appointer.models import Appointment, ReportCase, Service
from appointer.report_agenda import report_items
from appointer.seats import REGION_ORDER
from appointer.settings import Settings, meeting_due_on

# Recipient groups of service-level items: who gets an email of their own, and who reads it in
# their region's weekly digest.
PERSONAL_GROUPS = ("service", "group_leader")
REGION_GROUPS = ("region", "service_region", "all_rhfs")


@dataclass(frozen=True)
class Step:
    """One reminder of an item: due on a day, to recipient groups."""

    rule: str  # with the subject and the day, the reminder's idempotency key
    on: dt.date
    to: tuple[str, ...]
    n: int = 1  # the first, second, … reminder of its rule
    escalation: bool = False


@dataclass
class Item:
    kind: str  # appointment.proposed | group.vacant_seat | group.no_meeting | lifecycle.<rule>
    #            | service.incomplete
    key: str  # stable identity (with the subject): calendar UIDs
    subject_type: str  # appointment | group | service
    subject_id: int
    service_id: int
    service_name: str
    regions: tuple[str, ...]  # whose digest lists it; what --region matches
    due_on: dt.date
    label: str  # English, for the terminal and the calendar
    since: dt.date | None = None
    steps: tuple[Step, ...] = ()
    detail: dict = field(default_factory=dict)
    case: Any = None  # the row of a case item (its workflow's recipient groups read it)
    workflow: Any = None
    backlog: bool = False  # passed before Appointer knew of it: never reminded (backlog.py)

    def due_steps(self, today: dt.date) -> list[Step]:
        """The latest due step of each rule: a run after a long gap sends one per rule."""
        latest: dict[str, Step] = {}
        for s in self.steps:
            if s.on <= today and (s.rule not in latest or s.on > latest[s.rule].on):
                latest[s.rule] = s
        return sorted(latest.values(), key=lambda s: s.on)

    def active(self, today: dt.date) -> bool:
        return any(s.on <= today for s in self.steps)

    def next_step(self, today: dt.date) -> Step | None:
        coming = [s for s in self.steps if s.on > today]
        return min(coming, key=lambda s: s.on) if coming else None

    def status(self, today: dt.date) -> str:
        if self.due_on < today:
            return "overdue"
        return "due" if self.due_on == today else "coming"

    def as_dict(self, today: dt.date) -> dict:
        nxt = self.next_step(today)
        return {
            "id": f"{self.key}/{self.subject_type}/{self.subject_id}",
            "state": self.status(today),
            "kind": self.kind, "subject_type": self.subject_type, "subject_id": self.subject_id,
            "service_id": self.service_id, "service": self.service_name,
            "regions": list(self.regions), "due_on": self.due_on, "since": self.since,
            "label": self.label, "detail": self.detail, "backlog": self.backlog,
            "reminded": [{"rule": s.rule, "on": s.on, "to": list(s.to)}
                         for s in self.due_steps(today)],
            "next_reminder": {"rule": nxt.rule, "on": nxt.on, "to": list(nxt.to)} if nxt else None,
        }


@dataclass
class Agenda:
    today: dt.date
    items: list[Item]
    register: groups.Register
    services: dict[int, Service]

    def select(self, region: str | None = None, within_days: int | None = None,
               backlog: bool = False) -> list[Item]:
        """Items for a region (all, if None) that are active, or due within the given days;
        with `backlog`, the backlog items instead (whatever their date)."""
        horizon = self.today + dt.timedelta(days=within_days) if within_days is not None else None
        out = [i for i in self.items
               if (region is None or region in i.regions) and i.backlog == backlog
               and (backlog or horizon is None or i.due_on <= horizon or i.active(self.today))]
        return sorted(out, key=lambda i: (i.due_on, i.service_id, i.kind, i.subject_id))


def _waiting(lang: str, workflow: str, spec) -> str:
    """A waiting state in words: the state's own ("waiting for the candidate's answer"), else
    its name and whom it waits for."""
    words = terms.term(lang, f"state.{workflow}.{spec.name}", default="")
    return words or (f"{spec.name.replace('_', ' ')}, waiting for "
                     + terms.term(lang, f"waiting.{spec.waiting_for}", default="an answer"))


def build(session: Session, settings: Settings, today: dt.date) -> Agenda:
    from appointer import appointments

    services = {s.id: s for s in session.exec(select(Service).order_by(Service.id))}
    seat_states = appointments.load_workflow(settings).seat_states()
    reg = groups.Register(session, seat_states, today,
                          services=[s for s in services.values() if groups.has_group(s, settings)],
                          load_all=True)
    first_run = first_run_on(session, today)
    items: list[Item] = []
    items += _case_items(session, settings, reg, services, today)
    for facts in reg.facts.values():
        known = known_on(facts.service, first_run)
        items += _group_items(reg, facts, settings, today, known)
        items += _meeting_items(reg, facts, settings, today, known)
    final = _final_states(settings)
    for service in services.values():
        known = known_on(service, first_run)
        items += _lifecycle_items(reg, service, settings, today, known)
        if service.state not in final:
            items += _incomplete_items(session, reg, service, known)
    items += report_items(session, settings, reg, services, today)
    return Agenda(today, items, reg, services)


def _final_states(settings: Settings) -> frozenset[str]:
    from appointer import lifecycle

    return frozenset(lifecycle.load_workflow(settings).final_states())


def _hosts_or_all(regions) -> tuple[str, ...]:
    """A service's host regions; all four when its host is unknown (nobody else would see
    what the host region should)."""
    return tuple(regions) or REGION_ORDER


# -- cases waiting in a workflow state ----------------------------------------------------------
def _case_models(reg: groups.Register) -> dict:
    """case_type -> (table, the regions concerned, the service id)."""
    return {
        "appointment": (Appointment, lambda c: (c.appointing_region,), lambda c: c.service_id),
        "service": (Service, lambda c: _hosts_or_all(reg.host_regions(c.id)), lambda c: c.id),
        "annual_report": (ReportCase, lambda c: _hosts_or_all(reg.host_regions(c.service_id)),
                          lambda c: c.service_id),
    }


def _case_items(session, settings, reg, services, today) -> list[Item]:
    from appointer import workflow as wf

    out: list[Item] = []
    models = _case_models(reg)
    for name in wf.names(settings.workflows_dir):
        flow = wf.load(name, settings.workflows_dir)
        waiting = {s.name: s for s in flow.states.values()
                   if s.remind_after_days or s.escalate_after_days}
        if not waiting or flow.case_type not in models:
            continue
        table, regions_of, service_of = models[flow.case_type]
        for case in session.exec(select(table).where(table.state.in_(list(waiting)))
                                 .order_by(table.id)):
            spec = waiting[case.state]
            since = to_oslo(case.state_since).date()
            base = f"{flow.name}.{spec.name}"
            steps = [Step(f"{base}.remind", since + dt.timedelta(days=d), (spec.waiting_for,), n)
                     for n, d in enumerate(spec.remind_after_days, start=1)]
            if spec.escalate_after_days:
                steps.append(Step(f"{base}.escalate",
                                  since + dt.timedelta(days=spec.escalate_after_days),
                                  (spec.escalate_to,), 1, escalation=True))
            service = services.get(service_of(case))
            seat = getattr(case, "seat", None)
            what = f"{flow.case_type} {case.id}" + (f", {terms.seat('en', seat)}" if seat else "")
            out.append(Item(
                kind=base, key=base, subject_type=flow.case_type, subject_id=case.id,
                service_id=service_of(case), service_name=service.name if service else "?",
                regions=regions_of(case), due_on=min(s.on for s in steps),
                label=f"{what}: {_waiting('en', flow.name, spec)} since {since.isoformat()}",
                since=since, steps=tuple(steps),
                detail={"case_id": case.id, "seat": seat, "state": spec.name,
                        "waiting_for": spec.waiting_for, "escalate_to": spec.escalate_to,
                        "region": regions_of(case)[0] if regions_of(case) else None},
                case=case, workflow=flow,
            ))
    return out


# -- group problems and the yearly meeting ------------------------------------------------------
def _regions_for(groups_: tuple[str, ...], own: str | None, hosts: list[str]) -> tuple[str, ...]:
    return _regions_of(groups_, own, tuple(hosts))


@functools.lru_cache(maxsize=1024)
def _regions_of(groups_: tuple[str, ...], own: str | None, hosts: tuple[str, ...]
                ) -> tuple[str, ...]:
    """`_regions_for`, remembered: a pure function of a few region codes, asked the same
    question for most of the run's 7,000 items."""
    out: list[str] = []
    for g in groups_:
        if g == "region" and own:
            out.append(own)
        elif g == "service_region":  # host unknown: every region hears of it
            out += hosts or REGION_ORDER
        elif g == "all_rhfs":
            out += REGION_ORDER
    return tuple(r for r in REGION_ORDER if r in out) + tuple(
        sorted({r for r in out if r not in REGION_ORDER}))


def _periodic(rule: str, first: dt.date, every: int, to: tuple[str, ...], today: dt.date,
              until: dt.date | None = None) -> tuple[Step, ...]:
    """Steps on `first`, then every `every` days: all up to today, and the next one."""
    steps, n, on = [], 1, first
    while until is None or on <= until:
        steps.append(Step(rule, on, to, n))
        if on > today:
            break
        n, on = n + 1, on + dt.timedelta(days=every)
    return tuple(steps)


def _group_items(reg, facts: groups.GroupFacts, settings: Settings, today,
                 known: dt.date) -> list[Item]:
    """A group's problems; each counts from the day it arose, or from the day Appointer knew
    of the service if that is later (a quiet start: see backlog.py)."""
    out = []
    hosts = _hosts_or_all(facts.host_regions)
    for p in groups.problems(reg, facts, settings):
        if not p.remind or p.since is None or p.rule == "no_meeting":  # meeting: see below
            continue
        base = p.rule.partition(":")[0]
        to = ("service", "service_region") if base.startswith("leader") or base == "no_leader" \
            else ("service", "region")
        rule = "group." + p.rule + (f":{p.seat}" if p.seat and base == "vacant_seat" else "")
        since = max(p.since, known)
        first = since + dt.timedelta(days=settings.group_remind_after_days)
        member = base == "long_absence"
        out.append(Item(
            kind=f"group.{base}", key=rule,
            subject_type="appointment" if member else "group",
            subject_id=p.member_id if member else facts.service.id,
            service_id=facts.service.id, service_name=facts.service.name,
            regions=_regions_for(to, p.region, hosts), due_on=first, label=p.message,
            since=since,
            steps=_periodic(rule, first, settings.group_remind_every_days, to, today),
            detail={"rule": p.rule, "seat": p.seat, "member_id": p.member_id,
                    "region": p.region, "region_name": reg.region_name(p.region)},
        ))
    return out


def _meeting_items(reg, facts: groups.GroupFacts, settings: Settings, today,
                   known: dt.date) -> list[Item]:
    """The year's meeting, reminded from its due day; if that had passed before Appointer knew
    of the service, from `group_remind_after_days` after that day, as any group problem."""
    year = today.year
    if not groups.meeting_expected(facts, settings, year) or groups.met_in(facts, year, year):
        return []
    due = meeting_due_on(settings, year)
    first = due if due >= known else known + dt.timedelta(days=settings.group_remind_after_days)
    to = ("group_leader", "service", "service_region")
    rule = f"group.no_meeting.{year}"
    return [Item(
        kind="group.no_meeting", key=rule, subject_type="group", subject_id=facts.service.id,
        service_id=facts.service.id, service_name=facts.service.name,
        regions=_regions_for(to, None, _hosts_or_all(facts.host_regions)), due_on=due,
        label=f"no group meeting recorded in {year} (due by {due.isoformat()}; last: "
              f"{facts.last_meeting.isoformat() if facts.last_meeting else 'none recorded'})",
        since=due,
        steps=_periodic(rule, first, settings.group_remind_every_days, to, today,
                        until=dt.date(year, 12, 31)),
        detail={"year": year, "last_meeting": facts.last_meeting},
    )]


# -- lifecycle deadlines ------------------------------------------------------------------------
KNOWN_GROUPS = PERSONAL_GROUPS + REGION_GROUPS


def _lifecycle_items(reg, service: Service, settings: Settings, today: dt.date,
                     known: dt.date) -> list[Item]:
    """The open deadlines of `service_deadlines(service, settings, today)`; those that had
    passed before Appointer knew of the service (or approximate and past) as backlog: no
    reminder steps, for the host region (all four when the host is unknown). Of the others,
    only the reminder steps after that day."""
    from appointer import deadlines

    out = []
    service_id, service_name = service.id, service.name  # ORM attributes: read them once
    hosts = None
    for d in deadlines.service_deadlines(service, settings, today):
        if d.done:
            continue
        unknown = [g for g in d.notify if g not in KNOWN_GROUPS]
        if unknown:
            raise InvalidInput(f"deadline rule {d.rule!r} names unknown recipient group(s) "
                               f"{', '.join(unknown)} (known: {', '.join(KNOWN_GROUPS)})")
        rule = f"lifecycle.{d.rule}"
        notify = tuple(d.notify)
        if hosts is None:
            hosts = _hosts_or_all(reg.host_regions(service_id))
        backlog = is_backlog(d, known, today)
        if backlog:
            steps, regions = (), hosts
        else:
            # a step that fell due on or before the day Appointer knew of the service is not
            # sent: the first run after taking a register over is quiet, the next step is not
            offsets = sorted(set(d.remind_before_days), reverse=True)
            steps = tuple(Step(rule, on, notify, n)
                          for n, o in enumerate(offsets, start=1)
                          if (on := d.due_on - dt.timedelta(days=o)) > known)
            regions = _regions_for(notify, None, hosts)
        out.append(Item(
            kind=rule, key=f"{rule}.{d.due_on.year}", subject_type="service",
            subject_id=service_id, service_id=service_id, service_name=service_name,
            regions=regions, due_on=d.due_on, label=d.label, steps=steps, backlog=backlog,
            detail={"rule": d.rule, "label_nb": d.label_nb or d.label,
                    "approximate": d.approximate},
        ))
    return out


# -- incomplete register entries ----------------------------------------------------------------
def _incomplete_items(session, reg, service: Service, known: dt.date) -> list[Item]:
    """One item per value `services.missing` names, for the host region's coordinators (all
    four when the host is unknown), from the day Appointer knew of the service; only the
    digest and the agenda show it (its one step goes to `service_region`: no email of its
    own)."""
    from appointer.services import MISSING_HINTS, missing

    if service.id in reg.hosts and not (service.kind == "competence" and not service.function):
        return []  # complete (the common case, decided without a query per service)
    out = []
    for what in missing(session, service):
        label, option = MISSING_HINTS[what]
        command = f"appointer service edit {service.id} {option}"
        rule = f"service.incomplete.{what}"
        out.append(Item(
            kind="service.incomplete", key=rule, subject_type="service", subject_id=service.id,
            service_id=service.id, service_name=service.name,
            regions=_hosts_or_all(reg.host_regions(service.id)), due_on=known,
            label=f"{label} — `{command}`", since=known,
            steps=(Step(rule, known, ("service_region",)),),
            detail={"missing": what, "command": command},
        ))
    return out


def parse_within(text: str) -> int:
    """'60d', '8w', '3m' (30-day months) or '60' to a number of days."""
    raw = text.strip().lower()
    unit = {"d": 1, "w": 7, "m": 30}.get(raw[-1:], None)
    number = raw[:-1] if unit else raw
    if not (number.isascii() and number.isdigit() and len(number) <= 5):
        raise InvalidInput(f"{text[:20]!r}: give days like 60d (or 8w, 3m)")
    days = int(number) * (unit or 1)
    if days > 36500:
        raise InvalidInput(f"{text!r}: at most 100 years ahead")
    return days
