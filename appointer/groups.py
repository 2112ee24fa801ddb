"""A reference group's seats, who holds them, its leader, and what is missing (`000` §3):
vacant seats, a leader missing or from a region where the service is located, more than one
member from a region, long absence, and the yearly meeting.

Everything is computed from a `Register`: the facts of many groups loaded with a handful of
set-based queries (never one query per service), so `group show`, `groups --gaps`, the agenda
and the reminder run share one set of rules and the reminder run scales.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from appointer.errors import InvalidInput
from appointer.models import Appointment, Institution, Meeting, Region, Service, ServiceHost
from appointer.seats import Host, Seat, seats_for
from appointer.settings import Settings, meeting_due_on

# institution kinds whose members represent a region's specialist health service
SPECIALIST_KINDS = ("hf", "private_nonprofit")


# What the rules read of a seat-holding case: plain rows, not ORM objects (thousands of them
# are loaded at once, and nothing here changes them).
CASE_COLUMNS = (Appointment.id, Appointment.service_id, Appointment.seat, Appointment.state,
                Appointment.appointing_region, Appointment.institution_id,
                Appointment.candidate_name, Appointment.candidate_email, Appointment.lang,
                Appointment.appointed_on, Appointment.absent_since, Appointment.state_since)


@dataclass(frozen=True)
class Problem:
    """One broken rule of a group."""

    rule: str  # vacant_seat | pending_seat | duplicate_cases | no_leader | leader_in_host_region
    #            | region_twice | long_absence | no_meeting | no_meeting_last_year
    message: str
    region: str | None  # the region that must act (its coordinators see it)
    since: dt.date | None  # when it arose: the reminder cadence counts from here
    seat: str | None = None
    member_id: int | None = None
    remind: bool = True  # False: covered elsewhere (a pending seat has its case's reminders)


@dataclass
class GroupFacts:
    """What the rules need to know about one service's group."""

    service: Service
    hosts: list[Host]
    cases: list  # seat-holding cases (pending or appointed), by id: rows of CASE_COLUMNS
    closed_on: dict[str, dt.date]  # seat -> the day its last case closed
    first_appointed_on: dt.date | None  # the group exists from its first appointment
    last_meeting: dt.date | None
    last_meeting_before_this_year: dt.date | None

    @property
    def seats(self) -> list[Seat]:
        return seats_for(self.service, self.hosts)

    @property
    def host_regions(self) -> list[str]:
        return sorted({h.institution.region_code for h in self.hosts})

    @property
    def home_region(self) -> str | None:
        return self.hosts[0].institution.region_code if self.hosts else None

    @property
    def start(self) -> dt.date:
        """Since when the service should have a group: its approval, else its establishment,
        else its registration."""
        s = self.service
        return s.approved_on or s.established_on or _oslo_date(s.created_at)

    def leader_case(self) -> Appointment | None:
        lid = self.service.group_leader_id
        return next((c for c in self.cases if c.id == lid and c.state == "appointed"), None)


def has_group(service: Service, settings: Settings) -> bool:
    """Whether the service has a reference group now: the lifecycle states marked
    `reference_group` in workflows/lifecycle.toml (from approval on, until phased out)."""
    from appointer import lifecycle

    return service.state in lifecycle.group_states(lifecycle.load_workflow(settings))


class Register:
    """The facts of many groups (every service that has one, or the given services), loaded
    with a few queries. `today` decides which meetings count as this year's. `load_all`:
    read every service's rows even for a short list (the agenda also needs the hosts of
    services without a group)."""

    def __init__(self, session: Session, seat_states: set[str], today: dt.date,
                 services: list[Service] | None = None, load_all: bool = False,
                 settings: Settings | None = None):
        self.session = session
        self.today = today
        if services is None:
            services = [s for s in session.exec(select(Service).order_by(Service.id))
                        if has_group(s, settings)]
        self.services = services
        ids = [s.id for s in self.services]
        only = _only(ids, everything=load_all)
        self.regions = {r.code: r for r in session.exec(select(Region))}
        self.institutions = {i.id: i for i in session.exec(select(Institution))}
        self.hosts: dict[int, list[Host]] = {}
        for h in session.exec(only(select(ServiceHost.service_id, ServiceHost.position,
                                          ServiceHost.institution_id), ServiceHost.service_id)
                              .order_by(ServiceHost.service_id, ServiceHost.position)):
            self.hosts.setdefault(h.service_id, []).append(
                Host(h.position, self.institutions[h.institution_id]))
        cases: dict[int, list] = {}
        for c in session.exec(only(select(*CASE_COLUMNS), Appointment.service_id)
                              .where(Appointment.state.in_(seat_states))
                              .order_by(Appointment.id)):
            cases.setdefault(c.service_id, []).append(c)
        closed: dict[int, dict[str, dt.date]] = {}
        q = only(select(Appointment.service_id, Appointment.seat, func.max(Appointment.state_since)),
                 Appointment.service_id)
        for sid, seat, at in session.exec(q.where(Appointment.state.not_in(seat_states))
                                          .group_by(Appointment.service_id, Appointment.seat)):
            closed.setdefault(sid, {})[seat] = _oslo_date(at)
        first = dict(session.exec(
            only(select(Appointment.service_id, func.min(Appointment.appointed_on)),
                 Appointment.service_id)
            .where(Appointment.appointed_on.is_not(None)).group_by(Appointment.service_id)).all())
        last = dict(session.exec(only(select(Meeting.service_id, func.max(Meeting.held_on)),
                                      Meeting.service_id).group_by(Meeting.service_id)).all())
        before = dict(session.exec(
            only(select(Meeting.service_id, func.max(Meeting.held_on)), Meeting.service_id)
            .where(Meeting.held_on < dt.date(today.year, 1, 1))
            .group_by(Meeting.service_id)).all())
        self.facts = {
            s.id: GroupFacts(s, self.hosts.get(s.id, []), cases.get(s.id, []), closed.get(s.id, {}),
                             first.get(s.id), last.get(s.id), before.get(s.id))
            for s in self.services
        }

    def host_regions(self, service_id: int) -> list[str]:
        return sorted({h.institution.region_code for h in self.hosts.get(service_id, [])})

    def region_name(self, code: str | None) -> str:
        region = self.regions.get(code) if code else None
        return region.name if region else (code or "?")


def _only(ids: list[int], everything: bool = False):
    """Restrict a query to these services when there are few (a single `group show`); for
    many, reading every row is cheaper than a long IN list."""

    def apply(query, column):
        return query.where(column.in_(ids)) if len(ids) <= 50 and not everything else query

    return apply


def _oslo_date(moment: dt.datetime) -> dt.date:
    from appointer.clock import to_oslo

    return to_oslo(moment).date()


# -- the rules ----------------------------------------------------------------------------------
def problems(reg: Register, facts: GroupFacts, settings: Settings | None) -> list[Problem]:
    """Every rule the group breaks today. Without settings only the composition is checked
    (absence and meetings need the limits from the settings)."""
    out: list[Problem] = []
    out += _seat_problems(reg, facts)
    out += _leader_problems(reg, facts)
    out += _region_twice(reg, facts)
    if settings is not None:
        out += _absences(reg, facts, settings)
        out += _meetings(reg, facts, settings)
    return out


def _by_seat(facts: GroupFacts) -> dict[str, list[Appointment]]:
    held: dict[str, list[Appointment]] = {}
    for c in facts.cases:
        held.setdefault(c.seat, []).append(c)
    return held


def _seat_problems(reg: Register, facts: GroupFacts) -> list[Problem]:
    out = []
    held = _by_seat(facts)
    for seat in facts.seats:
        if not seat.required:
            continue
        cases = held.get(seat.code, [])
        if any(c.state == "appointed" for c in cases):
            continue
        what = {"region": f"no member for {reg.region_name(seat.appointing_region)}",
                "service": "the service itself is not represented"
                + (f" ({seat.host.institution.name})" if seat.host else ""),
                "user": "no user representative"}[seat.kind]
        if cases:
            c = cases[0]
            out.append(Problem("pending_seat", f"{what} (case {c.id} is {c.state})",
                               c.appointing_region, _oslo_date(c.state_since), seat.code,
                               remind=False))
        else:
            since = max([facts.start, *([facts.closed_on[seat.code]]
                                        if seat.code in facts.closed_on else [])])
            out.append(Problem("vacant_seat", what, seat.appointing_region, since, seat.code))
    for code, cases in held.items():
        if len(cases) > 1:
            out.append(Problem("duplicate_cases", f"seat {code} has {len(cases)} open cases: "
                               + ", ".join(str(c.id) for c in cases), cases[0].appointing_region,
                               None, code, remind=False))
    return out


def _leader_problems(reg: Register, facts: GroupFacts) -> list[Problem]:
    located = set(facts.host_regions)
    lc = facts.leader_case()
    if lc is not None:
        if lc.appointing_region in located:
            return [Problem("leader_in_host_region",
                            "the group leader belongs to a region where the service is located",
                            facts.home_region, lc.appointed_on or facts.start,
                            member_id=lc.id)]
        return []
    eligible = [c.appointed_on or facts.start for c in facts.cases
                if c.state == "appointed" and c.seat.startswith("region:")
                and c.appointing_region not in located]
    # A leader can be designated once a member from another region is appointed; before that
    # the vacant seats are what is reminded.
    return [Problem("no_leader", "no group leader designated", facts.home_region,
                    min(eligible) if eligible else None, remind=bool(eligible))]


def _member_region(reg: Register, c: Appointment) -> str | None:
    """The region whose specialist health service a member represents, if any."""
    if c.seat.startswith("region:"):
        return c.appointing_region
    if c.seat.startswith("other:") and c.institution_id:
        inst = reg.institutions.get(c.institution_id)
        if inst is not None and inst.kind in SPECIALIST_KINDS:
            return inst.region_code
    return None


def _region_twice(reg: Register, facts: GroupFacts) -> list[Problem]:
    members: dict[str, list[Appointment]] = {}
    for c in facts.cases:
        region = _member_region(reg, c) if c.state == "appointed" else None
        if region:
            members.setdefault(region, []).append(c)
    out = []
    for region, cs in sorted(members.items()):
        if len(cs) > 1:
            ids = ", ".join(str(c.id) for c in cs)
            out.append(Problem(f"region_twice:{region}",
                               f"{len(cs)} members represent {reg.region_name(region)} "
                               f"(members {ids}); only one member per region",
                               region, max(c.appointed_on or facts.start for c in cs)))
    return out


def _absences(reg: Register, facts: GroupFacts, settings: Settings) -> list[Problem]:
    out = []
    limit = dt.timedelta(days=settings.long_absence_days)
    for c in facts.cases:
        if c.state == "appointed" and c.absent_since and reg.today - c.absent_since >= limit:
            out.append(Problem("long_absence",
                               f"member {c.id} ({c.seat}) has been absent since "
                               f"{c.absent_since.isoformat()}; replace the member or record "
                               "their return", c.appointing_region, c.absent_since + limit,
                               c.seat, c.id))
    return out


def group_since(facts: GroupFacts) -> dt.date | None:
    """The day the group got its first member (None: it never had one)."""
    if facts.first_appointed_on is not None:
        return facts.first_appointed_on
    if any(c.state == "appointed" for c in facts.cases):
        return facts.start
    return None


def meeting_expected(facts: GroupFacts, settings: Settings, year: int) -> bool:
    """A group that existed by the year's meeting date must meet that year (`000` §2)."""
    since = group_since(facts)
    return since is not None and since <= meeting_due_on(settings, year)


def met_in(facts: GroupFacts, year: int, this_year: int) -> bool:
    """Whether a meeting is recorded in `year` (this year or the one before)."""
    last = facts.last_meeting if year == this_year else facts.last_meeting_before_this_year
    return last is not None and last.year == year


def _meetings(reg: Register, facts: GroupFacts, settings: Settings) -> list[Problem]:
    out = []
    year = reg.today.year
    due = meeting_due_on(settings, year)
    if reg.today >= due and meeting_expected(facts, settings, year) and not met_in(facts, year, year):
        out.append(Problem("no_meeting", f"no meeting recorded in {year} by {due.isoformat()} "
                           "(the mandate asks for at least one a year)", facts.home_region, due))
    last = year - 1
    if meeting_expected(facts, settings, last) and not met_in(facts, last, year):
        out.append(Problem("no_meeting_last_year", f"no meeting recorded in {last}",
                           facts.home_region, dt.date(last, 12, 31), remind=False))
    return out


# -- what `group show` prints -------------------------------------------------------------------
def group_status(session: Session, service: Service, seat_states: set[str],
                 today: dt.date | None = None, settings: Settings | None = None) -> dict:
    """Everything `appointer group show` prints, as data. Give `today` and `settings` to check
    absences and meetings too."""
    reg = Register(session, seat_states, today or dt.date.min, services=[service])
    facts = reg.facts.get(service.id) or GroupFacts(service, [], [], {}, None, None, None)
    if today is None:
        settings = None
    return status(reg, facts, problems(reg, facts, settings), settings)


def status(reg: Register, facts: GroupFacts, found: list[Problem],
           settings: Settings | None) -> dict:
    service = facts.service

    def holder(c: Appointment | None) -> dict | None:
        if c is None:
            return None
        inst = reg.institutions.get(c.institution_id)
        return {"id": c.id, "state": c.state, "name": c.candidate_name,
                "institution": inst.name if inst else None,
                "appointed_on": c.appointed_on.isoformat() if c.appointed_on else None,
                "absent_since": c.absent_since.isoformat() if c.absent_since else None}

    held = _by_seat(facts)
    required = facts.seats
    codes = [s.code for s in required] + sorted(
        code for code in held if code not in {s.code for s in required})
    seats = []
    for code in codes:
        seat = next((s for s in required if s.code == code), None)
        case = held[code][0] if code in held else None
        seats.append({
            "seat": code,
            "required": seat.required if seat else False,
            "appointing_region": seat.appointing_region if seat else case.appointing_region,
            "status": "vacant" if case is None else (
                "appointed" if case.state == "appointed" else "pending"),
            "member": holder(case),
        })
    lc = facts.leader_case()
    return {
        "service": {"id": service.id, "name": service.name, "kind": service.kind,
                    "state": service.state,
                    "hosts": [h.institution.name for h in facts.hosts],
                    "regions": facts.host_regions},
        "id": service.id,
        "state": "complete" if not found else "incomplete",
        "seats": seats,
        "leader": holder(lc) | {"region": lc.appointing_region} if lc else None,
        "last_meeting": facts.last_meeting.isoformat() if facts.last_meeting else None,
        "absent": [holder(c) for c in facts.cases if c.absent_since and c.state == "appointed"],
        "problems": [p.message for p in found],
        "issues": [asdict(p) for p in found],
        "checked_on": reg.today.isoformat() if settings is not None else None,
    }


def overview(session: Session, seat_states: set[str], today: dt.date, settings: Settings,
             region: str | None = None, only_gaps: bool = False) -> list[dict]:
    """Every group's status. With `region`: the groups hosted there or with a problem for it
    (and only the problems for it); with `only_gaps`: only groups that break a rule."""
    reg = Register(session, seat_states, today, settings=settings)
    out = []
    for facts in reg.facts.values():
        found = problems(reg, facts, settings)
        if region is not None:
            found = [p for p in found if p.region == region]
            if not found and (only_gaps or region not in facts.host_regions):
                continue
        if found or not only_gaps:
            out.append(status(reg, facts, found, settings))
    return out


# -- recording meetings and absences ------------------------------------------------------------
def record_meeting(tx, service_ref, held_on: dt.date, note: str | None, actor) -> Meeting:
    """A meeting of the group was held (the mandate asks for at least one a year)."""
    from appointer import audit
    from appointer.reference import find_service
    from appointer.text import check_text

    note = check_text(note, "the note")
    service = find_service(tx.session, service_ref)
    if not has_group(service, tx.settings):
        raise InvalidInput(f"service {service.id} ({service.name}) is {service.state}: it has no "
                           "reference group whose meetings could be recorded")
    if held_on > tx.clock.today():
        raise InvalidInput(f"{held_on.isoformat()} is in the future; record a meeting once it "
                           "has been held")
    if tx.session.exec(select(Meeting).where(Meeting.service_id == service.id,
                                             Meeting.held_on == held_on)).first():
        raise InvalidInput(f"a meeting of service {service.id}'s group on {held_on.isoformat()} "
                           "is already recorded")
    row = Meeting(service_id=service.id, held_on=held_on, note=(note or "").strip() or None,
                  created_at=tx.clock.now())
    tx.session.add(row)
    tx.session.flush()
    audit.record(tx, "service", service.id, "meeting", service.state, service.state, actor,
                 f"group meeting held {held_on.isoformat()}" + (f": {row.note}" if row.note else ""))
    return row


def set_absence(tx, case_id, since: dt.date | None, actor):
    """Record that an appointed member is absent since a day, or (since=None) back. Not a
    transition (the state stays appointed), but a change of the case row: through its record,
    version-checked, with an audit row."""
    from appointer import audit, records
    from appointer.appointments import get_case

    case = get_case(tx.session, case_id)
    if case.state != "appointed":
        raise InvalidInput(f"member {case.id} is {case.state}; absence is recorded for "
                           "appointed members only")
    if since is None:
        if case.absent_since is None:
            raise InvalidInput(f"member {case.id} has no absence recorded")
        comment = f"back (absent since {case.absent_since.isoformat()})"
    else:
        if since > tx.clock.today():
            raise InvalidInput(f"{since.isoformat()} is in the future; record an absence from "
                               "the day it began")
        if case.appointed_on and since < case.appointed_on:
            raise InvalidInput(f"member {case.id} was appointed on {case.appointed_on.isoformat()}"
                               f"; an absence cannot begin before that ({since.isoformat()})")
        comment = f"absent since {since.isoformat()}"
    case.absent_since = since
    records.write(tx.session, case)
    audit.record(tx, "appointment", case.id, "absence", case.state, case.state, actor, comment)
    return case
