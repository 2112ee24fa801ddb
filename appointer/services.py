"""Registering national services as they stand (running, or anywhere in their lifecycle),
reading them back with every computed date, and their yearly patient volume."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert
from sqlmodel import select

from appointer import records
from appointer.db import Tx
from appointer.errors import AppointerError, InvalidField, InvalidInput
from appointer.models import (
    FUNCTIONS,
    SERVICE_KIND_LABELS,
    SERVICE_KINDS,
    Service,
    ServiceHost,
    ServiceName,
    ServicePredecessor,
    ServiceVolume,
)
from appointer.records import Record
from appointer.reference import check_email, find_institution, services_named
from appointer.text import check_name, check_text


def parse_kind(text: str | None) -> str:
    """A kind as a register writes it: the code (`competence`) or its official Norwegian or
    English label ("Nasjonal kompetansetjeneste"), ignoring case and spaces."""
    want = " ".join((text or "").lower().split())
    for code, labels in SERVICE_KIND_LABELS.items():
        if want == code or want in labels:
            return code
    raise InvalidField("kind", f"kind {text!r} is not a kind of service; give one of "
                       + "; ".join(f"{c} ({labels[0]})" for c, labels in SERVICE_KIND_LABELS.items()))


def validate_shape(kind: str, function: str | None, host_refs: list[str], session):
    """Check kind, function and hosts together; return the host institutions. No hosts, or
    no function for a competence service, is allowed: the value is unknown (`missing`)."""
    if kind not in SERVICE_KINDS:
        kind = parse_kind(kind)
    if function is not None and function not in FUNCTIONS:
        raise InvalidField("function", f"function must be training (5-year term) or "
                           f"competence_building (10-year term), not {function!r}")
    if kind != "competence" and function is not None:
        raise InvalidField("function", f"a function applies only to competence services, not "
                           f"to {kind}")
    institutions = []
    for ref in host_refs:
        try:
            institutions.append(find_institution(session, ref))
        except AppointerError as exc:
            raise InvalidField("hf", str(exc)) from None
    if len({i.id for i in institutions}) != len(institutions):
        raise InvalidField("hf", "the same institution is given twice as host")
    if not institutions:
        return institutions
    if kind == "multiregional":
        if len(institutions) != 2:
            raise InvalidField("hf", "a multiregional treatment service is at exactly two "
                               f"institutions in two different regions (got {len(institutions)}"
                               " host; leave the hosts empty while they are unknown)")
        if institutions[0].region_code == institutions[1].region_code:
            raise InvalidField(
                "hf", f"a multiregional treatment service must be in two different regions; "
                f"{institutions[0].name} and {institutions[1].name} are both in "
                f"{institutions[0].region_code}")
    elif len(institutions) != 1:
        what = "a national treatment service is at exactly one institution in the country" \
            if kind == "national" else f"a {kind} service has one host institution"
        raise InvalidField("hf", f"{what} (got {len(institutions)} hosts)")
    return institutions


def missing(session, row) -> list[str]:
    """What a service's record does not know yet and its rules need: "hf" (no host
    recorded), "function" (a competence service's function, which sets its term). The one
    answer `service list --incomplete`, `service show` and the agenda give."""
    from appointer import lookups

    if row.state in CLOSED:  # its rules no longer need anything
        return []
    out = []
    if not lookups.hosts(session, row.id):
        out.append("hf")
    if row.kind == "competence" and not row.function:
        out.append("function")
    return out


CLOSED = ("rejected", "withdrawn", "phased_out")  # the lifecycle's final states
MISSING_HINTS = {"hf": ("host unknown", "--hf …"),
                 "function": ("function unknown", "--function training|competence_building")}


def missing_text(service_id: int, gaps: list[str]) -> str:
    """"host unknown — complete it with `appointer service edit 14 --hf …`"."""
    what = "; ".join(MISSING_HINTS[g][0] for g in gaps)
    options = " ".join(MISSING_HINTS[g][1] for g in gaps)
    return f"{what} — complete it with `appointer service edit {service_id} {options}`"


def _checked(field: str, check, value, what: str):
    """A text checked by `check` (appointer.text), its refusal naming the field."""
    try:
        return check(value, what)
    except InvalidInput as exc:
        raise InvalidField(field, str(exc)) from None


def new_service(tx: Tx, *, name: str, kind: str, hosts: list[str], state: str,
                function: str | None = None, name_en: str | None = None,
                leader_name: str | None = None, leader_email: str | None = None,
                lang: str | None = None, requested_by: str | None = None,
                **fields) -> Record:
    """A new service (its case record, stored) with its hosts, checked for shape and a
    unique name (no name history, no audit: `register_service` and `lifecycle.apply` add
    those)."""
    s = tx.session
    name = _checked("name", check_name, name or "", "the service's name")
    if not name:
        raise InvalidField("name", "a service needs a name")
    kind = parse_kind(kind)
    name_en = _checked("name_en", check_name, name_en, "the English name")
    leader_name = _checked("leader_name", check_name, leader_name, "the leader's name")
    requested_by = _checked("requested_by", check_name, requested_by, "requested by")
    if "note" in fields:
        fields["note"] = _checked("note", check_text, fields["note"], "the note")
    institutions = validate_shape(kind, function, hosts, s)
    if services_named(s, name):
        raise InvalidField("name", f"a service called {name!r} is already registered")
    if leader_email:
        try:
            leader_email = check_email(leader_email, "leader email")
        except InvalidInput as exc:
            raise InvalidField("leader_email", str(exc)) from None
    if lang not in (None, "nb", "en"):
        raise InvalidField("lang", f"lang must be nb or en, not {lang!r}")
    now = tx.clock.now()
    row = records.new(
        Service, name=name, name_en=(name_en or "").strip() or None, kind=kind,
        function=function, leader_name=(leader_name or "").strip() or None,
        leader_email=leader_email or None, state=state, lang=lang or tx.settings.lang,
        requested_by=(requested_by or "").strip() or None, created_at=now, state_since=now,
        **fields)
    records.write(s, row)
    set_hosts(s, row.id, institutions)
    return row


def set_hosts(session, service_id: int, institutions: list) -> None:
    """Store a service's hosts (position 1, 2) in place of those it had."""
    from sqlalchemy import delete

    from appointer import lookups

    session.connection().execute(delete(ServiceHost.__table__).where(
        ServiceHost.__table__.c.service_id == service_id))
    if institutions:
        session.connection().execute(insert(ServiceHost.__table__), [
            {"service_id": service_id, "position": position, "institution_id": inst.id}
            for position, inst in enumerate(institutions, start=1)])
    lookups.forget(session)


def register_service(tx: Tx, *, name: str, kind: str, hosts: list[str],
                     state: str = "established", actor=None, comment: str | None = None,
                     predecessors: list[int] = (), date_precision: dict | None = None,
                     previous_names: list[tuple[str, dt.date]] = (), note: str | None = None,
                     **values) -> tuple[Record, list[str]]:
    """Register a service as it stands (running, or anywhere in its lifecycle) with its
    historic dates (`date_precision`: {field: "year"|"month"} for those known only so far),
    its earlier names ((name, the date it changed), oldest first) and the services it
    continues. Audited as `register`; sends nothing. Returns the row and warnings."""
    from appointer import audit, lifecycle
    from appointer.engine import SYSTEM

    fields = {f: values.pop(f) for f in lifecycle.RECORDED if f in values}
    precision = {f: p for f, p in (date_precision or {}).items()
                 if p != "day" and fields.get(f) is not None}
    warnings = lifecycle.check_record(lifecycle.load_workflow(tx), state, fields,
                                      tx.clock.today(), precision)
    if fields.get("continuation") and parse_kind(kind) != "competence":
        raise InvalidField("continuation", "a continuation after a term applies to competence "
                           "services only")
    row = new_service(tx, name=name, kind=kind, hosts=hosts, state=state,
                      date_precision=precision, note=(note or "").strip() or None,
                      **{k: v for k, v in fields.items() if v not in (None, "")}, **values)
    since = row.approved_on or row.established_on
    if previous_names:
        if since is None:
            raise InvalidField("previous_names", "earlier names need the date the first one "
                               "was taken: give approved_on or established_on")
        for old, changed_on in previous_names:
            if changed_on < since:
                raise InvalidField("previous_names", f"{old!r} changed on {changed_on}, before "
                                   f"the service was approved or established ({since})")
    if "approved_on" in lifecycle.fields_that_fit(lifecycle.load_workflow(tx), state):
        valid_from = since or tx.clock.today()
        for old, changed_on in sorted(previous_names, key=lambda p: p[1]):
            tx.session.add(ServiceName(service_id=row.id, name=old, valid_from=valid_from))
            valid_from = changed_on
        tx.session.add(ServiceName(service_id=row.id, name=row.name, name_en=row.name_en,
                                   valid_from=valid_from))
    audit.record(tx, "service", row.id, "register", None, state, actor or SYSTEM, comment)
    if predecessors:
        link_predecessors(tx, row, list(predecessors), actor or SYSTEM, comment)
    return row, warnings


def add_service(tx: Tx, *, name: str, kind: str, hosts: list[str], leader_name: str | None,
                leader_email: str | None, **values) -> Record:
    """Register a service (running by default); see `register_service`."""
    row, _ = register_service(tx, name=name, kind=kind, hosts=hosts, leader_name=leader_name,
                              leader_email=leader_email, **values)
    return row


# -- predecessors and successors (a continuation, a merger) ---------------------------------
def predecessor_ids(session, service_id: int) -> list[int]:
    return list(session.exec(select(ServicePredecessor.predecessor_id)
                             .where(ServicePredecessor.service_id == service_id)
                             .order_by(ServicePredecessor.predecessor_id)))


def successor_ids(session, service_id: int) -> list[int]:
    return list(session.exec(select(ServicePredecessor.service_id)
                             .where(ServicePredecessor.predecessor_id == service_id)
                             .order_by(ServicePredecessor.service_id)))


def link_predecessors(tx: Tx, service, ids: list[int], actor,
                      comment: str | None = None) -> None:
    """Record that `service` continues the services `ids` (several: a merger), refusing a
    service that would continue itself, directly or through others. Audited as
    `link_predecessors` on the successor, with the links before and after."""
    from appointer import audit

    session = tx.session
    for pid in ids:
        before = session.get(Service, pid)
        if before is None:
            raise InvalidField("predecessors", f"no service {pid} to continue")
        if pid == service.id or service.id in ancestors(session, pid):
            raise InvalidField("predecessors", f"{before.name!r} already continues "
                               f"{service.name!r}: predecessors cannot run in a circle")
    before = predecessor_ids(session, service.id)
    new = [pid for pid in dict.fromkeys(ids) if pid not in before]
    for pid in new:
        session.add(ServicePredecessor(service_id=service.id, predecessor_id=pid))
    session.flush()
    if new:
        audit.record(tx, "service", service.id, "link_predecessors", service.state,
                     service.state, actor, comment or "continues service "
                     + ", ".join(str(p) for p in new),
                     changes={"predecessors": (before, before + new)})


def ancestors(session, service_id: int) -> set[int]:
    """Every service `service_id` continues, directly or through others."""
    seen: set[int] = set()
    todo = [service_id]
    while todo:
        for pid in predecessor_ids(session, todo.pop()):
            if pid not in seen:
                seen.add(pid)
                todo.append(pid)
    return seen


def list_services(session) -> list[Service]:
    return list(session.exec(select(Service).order_by(Service.id)))


# -- reading a service back -----------------------------------------------------------------
def summary(session, row: Service) -> dict:
    """The short form `service list` and `service add` print."""
    from appointer.seats import hosts

    return {
        "id": row.id, "state": row.state, "name": row.name, "name_en": row.name_en,
        "kind": row.kind, "function": row.function,
        "hosts": [{"position": h.position, "institution": h.institution.name,
                   "region": h.institution.region_code} for h in hosts(session, row)],
        "leader_name": row.leader_name, "leader_email": row.leader_email,
        "group_leader_id": row.group_leader_id,
        "missing": missing(session, row),
    }


def deadline_dict(d, today, known=None) -> dict:
    """A deadline for reading: `approximate` (computed from a date known only to the year or
    month) with `due_text` as it is known ("about 2016"); given the day Appointer knew of the
    service, `backlog` says whether it had passed before that (never reminded: backlog.py)."""
    from appointer.backlog import is_backlog
    from appointer.clock import format_partial

    out = {"rule": d.rule, "due_on": d.due_on, "label": d.label, "done": d.done,
           "approximate": d.approximate,
           "due_text": f"about {format_partial(d.due_on, d.precision)}" if d.approximate
           else d.due_on.isoformat(),
           "overdue": d.overdue(today), "days_left": d.days_left(today),
           "notify": list(d.notify), "remind_before_days": list(d.remind_before_days)}
    if known is not None:
        out["backlog"] = is_backlog(d, known, today)
    return out


def details(tx: Tx, row: Service) -> dict:
    """Everything `service show` prints: the recorded and every computed date."""
    from appointer import audit, backlog, deadlines, engine, lifecycle

    session, settings, today = tx.session, tx.settings, tx.clock.today()
    known = backlog.known_on(row, backlog.first_run_on(session, today))
    workflow = lifecycle.load_workflow(tx)
    limits, _ = deadlines.lifecycle_rules(settings)
    rnd = deadlines.application_round(row, settings, today)
    predecessors = [session.get(Service, i) for i in predecessor_ids(session, row.id)]
    successors = [session.get(Service, i) for i in successor_ids(session, row.id)]
    gaps = missing(session, row)
    names = session.exec(select(ServiceName).where(ServiceName.service_id == row.id)
                         .order_by(ServiceName.valid_from, ServiceName.id)).all()
    volumes = session.exec(select(ServiceVolume).where(ServiceVolume.service_id == row.id)
                           .order_by(ServiceVolume.year)).all()
    return {
        **summary(session, row),
        "requested_by": row.requested_by,
        "state_since": row.state_since,
        "reference_group": row.state in lifecycle.group_states(workflow),
        "dates": {f: getattr(row, f) for f in lifecycle.DATE_FIELDS},
        "date_precision": dict(row.date_precision or {}),
        "reorganisation_outcome": row.reorganisation_outcome,
        "continuation": row.continuation,
        "note": row.note,
        "missing_text": missing_text(row.id, gaps) if gaps else None,
        "term": deadlines.term_note(row, settings),
        "round": None if rnd is None else {
            "year": rnd.year, "internal_deadline": rnd.internal_deadline,
            "send_by": rnd.send_by, "feedback_by": rnd.feedback_by},
        "first_report_year": deadlines.first_report_year(row),
        "today": today,
        "known_on": known,
        "deadlines": [deadline_dict(d, today, known)
                      for d in deadlines.service_deadlines(row, settings, today)],
        "names": [{"name": n.name, "name_en": n.name_en, "valid_from": n.valid_from,
                   "approved": n.approved} for n in names],
        "volumes": [{"year": v.year, "patients": v.patients,
                     "flag": volume_flag(v.patients, limits)} for v in volumes],
        "predecessors": [{"id": p.id, "name": p.name, "kind": p.kind, "state": p.state}
                         for p in predecessors],
        "successors": [{"id": s.id, "name": s.name, "kind": s.kind, "state": s.state}
                       for s in successors],
        "deciding_body": settings.deciding_body,
        "allowed": engine.allowed_triggers(tx, workflow, row),
        "history": [{"at": e.at, "recorded_at": e.recorded_at, "actor": e.actor, "trigger": e.trigger, "from": e.from_state,
                     "to": e.to_state, "comment": e.comment, "evidence": e.evidence,
                     # a decision of the deciding body: its act, recorded by the coordinator
                     "decided_by": (e.evidence or {}).get("decided_by"),
                     "decision_ref": (e.evidence or {}).get("decision_ref")}
                    for e in audit.history(session, "service", row.id)],
    }


def find_services(tx: Tx, *, state: str | None = None, kind: str | None = None,
                  region: str | None = None, overdue: bool = False,
                  due_within: int | None = None) -> list[tuple[Service, list]]:
    """Services with their deadlines, filtered. `overdue` and `due_within` (days from today)
    keep a service with a deadline not yet met that is past / falls in the window; given
    both, either will do."""
    from appointer import deadlines
    from appointer.models import Institution
    from appointer.reference import find_region

    session, today = tx.session, tx.clock.today()
    q = select(Service).order_by(Service.id)
    if state:
        q = q.where(Service.state == state)
    if kind:
        q = q.where(Service.kind == kind)
    if region:
        code = find_region(session, region).code
        q = q.where(Service.id.in_(
            select(ServiceHost.service_id)
            .join(Institution, Institution.id == ServiceHost.institution_id)
            .where(Institution.region_code == code)))
    if due_within is not None and due_within < 0:
        raise InvalidInput("--due-within counts days from today: 0 or more")
    out = []
    for row in session.exec(q):
        dls = deadlines.service_deadlines(row, tx.settings, today)
        if overdue or due_within is not None:
            open_ = [d for d in dls if not d.done]
            late = overdue and any(d.due_on < today for d in open_)
            soon = due_within is not None and any(
                today <= d.due_on <= today + dt.timedelta(days=due_within) for d in open_)
            if not (late or soon):
                continue
        out.append((row, dls))
    return out


# -- patient volume (treatment services, `003`) ---------------------------------------------
def volume_flag(patients: int, limits: dict) -> str | None:
    if patients < limits["volume_low"]:
        return (f"below {limits['volume_low']} new patients a year: consider a supranational "
                "solution (003)")
    if patients > limits["volume_high"]:
        return f"above {limits['volume_high']} new patients a year: consider splitting the function (003)"
    return None


def record_volume(tx: Tx, service_ref, year: int, patients: int, actor) -> tuple[ServiceVolume, int | None, str | None]:
    """Record a treatment service's yearly number of new patients or procedures. Returns the
    row, the number it replaced (if any) and the flag the seeds ask for (< 20, > 200)."""
    from appointer import audit, lifecycle
    from appointer.deadlines import lifecycle_rules
    from appointer.models import TREATMENT_KINDS
    from appointer.reference import find_service

    service = find_service(tx.session, service_ref)
    if service.kind not in TREATMENT_KINDS:
        raise InvalidInput(f"patient volume is recorded for treatment services (national, "
                           f"multiregional); service {service.id} is {service.kind}")
    workflow = lifecycle.load_workflow(tx)
    if service.state not in lifecycle.group_states(workflow) and service.state != "phased_out":
        raise InvalidInput(f"service {service.id} is {service.state}: it has treated no patients "
                           "as a national service")
    today = tx.clock.today()
    if year > today.year:
        raise InvalidInput(f"--year {year} has not begun (today is {today})")
    if patients < 0:
        raise InvalidInput("--patients counts new patients or procedures: 0 or more")
    row = tx.session.exec(select(ServiceVolume).where(ServiceVolume.service_id == service.id,
                                                      ServiceVolume.year == year)).first()
    before = row.patients if row else None
    if row is None:
        row = ServiceVolume(service_id=service.id, year=year, patients=patients)
    row.patients = patients
    tx.session.add(row)
    tx.session.flush()
    comment = f"{year}: {patients} new patients" + (f" (was {before})" if before is not None else "")
    audit.record(tx, "service", service.id, "record_volume", service.state, service.state, actor,
                 comment)
    limits, _ = lifecycle_rules(tx.settings)
    return row, before, volume_flag(patients, limits)
