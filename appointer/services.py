"""Registering national services as they stand (running, or anywhere in their lifecycle),
reading them back with every computed date, and their yearly patient volume."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import select

from appointer import records
from appointer.db import Tx
from appointer.errors import InvalidInput
from appointer.models import (
    FUNCTIONS,
    SERVICE_KINDS,
    Service,
    ServiceHost,
    ServiceName,
    ServiceVolume,
)
from appointer.records import Record
from appointer.reference import check_email, find_institution, services_named
from appointer.text import check_name, check_text


def validate_shape(kind: str, function: str | None, host_refs: list[str], session):
    """Check kind, function and hosts together; return the host institutions."""
    if kind not in SERVICE_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(SERVICE_KINDS)}, not {kind!r}")
    if kind == "competence":
        if function not in FUNCTIONS:
            raise InvalidInput(
                "a national competence service is time-limited by its function: give "
                "--function training (5 years) or --function competence_building (10 years)"
            )
    elif function is not None:
        raise InvalidInput(f"--function applies only to competence services, not to {kind}")
    institutions = [find_institution(session, ref) for ref in host_refs]
    if len({i.id for i in institutions}) != len(institutions):
        raise InvalidInput("the same institution is given twice as host")
    if kind == "multiregional":
        if len(institutions) != 2:
            raise InvalidInput("a multiregional treatment service is at exactly two institutions "
                               f"in two different regions (give --hf twice; got {len(institutions)})")
        if institutions[0].region_code == institutions[1].region_code:
            raise InvalidInput(
                f"a multiregional treatment service must be in two different regions; "
                f"{institutions[0].name} and {institutions[1].name} are both in "
                f"{institutions[0].region_code}"
            )
    elif len(institutions) != 1:
        what = "a national treatment service is at exactly one institution in the country" \
            if kind == "national" else f"a {kind} service has one host institution"
        raise InvalidInput(f"{what} (got {len(institutions)} --hf)")
    return institutions


def new_service(tx: Tx, *, name: str, kind: str, hosts: list[str], state: str,
                function: str | None = None, name_en: str | None = None,
                leader_name: str | None = None, leader_email: str | None = None,
                lang: str | None = None, requested_by: str | None = None,
                **fields) -> Record:
    """A new service (its case record, stored) with its hosts, checked for shape and a
    unique name (no name history, no audit: `register_service` and `lifecycle.apply` add
    those)."""
    s = tx.session
    name = check_name(name or "", "the service's name")
    if not name:
        raise InvalidInput("a service needs a name")
    name_en = check_name(name_en, "the English name")
    leader_name = check_name(leader_name, "the leader's name")
    requested_by = check_name(requested_by, "requested by")
    if "note" in fields:
        fields["note"] = check_text(fields["note"], "the note")
    institutions = validate_shape(kind, function, hosts, s)
    if services_named(s, name):
        raise InvalidInput(f"a service called {name!r} is already registered")
    if leader_email:
        leader_email = check_email(leader_email, "leader email")
    if lang not in (None, "nb", "en"):
        raise InvalidInput(f"lang must be nb or en, not {lang!r}")
    now = tx.clock.now()
    row = records.new(
        Service, name=name, name_en=(name_en or "").strip() or None, kind=kind,
        function=function, leader_name=(leader_name or "").strip() or None,
        leader_email=leader_email or None, state=state, lang=lang or tx.settings.lang,
        requested_by=(requested_by or "").strip() or None, created_at=now, state_since=now,
        **fields)
    records.write(s, row)
    s.connection().execute(insert(ServiceHost.__table__), [
        {"service_id": row.id, "position": position, "institution_id": inst.id}
        for position, inst in enumerate(institutions, start=1)])
    return row


def register_service(tx: Tx, *, name: str, kind: str, hosts: list[str],
                     state: str = "established", actor=None, comment: str | None = None,
                     predecessor_id: int | None = None, **values) -> tuple[Record, list[str]]:
    """Register a service as it stands (running, or anywhere in its lifecycle) with its
    historic dates. Audited as `register`; sends nothing. Returns the row and warnings."""
    from appointer import audit, lifecycle
    from appointer.engine import SYSTEM

    fields = {f: values.pop(f) for f in lifecycle.RECORDED if f in values}
    warnings = lifecycle.check_record(lifecycle.load_workflow(tx), state, fields,
                                      tx.clock.today())
    if predecessor_id is not None and tx.session.get(Service, predecessor_id) is None:
        raise InvalidInput(f"no service {predecessor_id} to continue")
    row = new_service(tx, name=name, kind=kind, hosts=hosts, state=state,
                      predecessor_id=predecessor_id,
                      **{k: v for k, v in fields.items() if v not in (None, "")}, **values)
    if "approved_on" in lifecycle.fields_that_fit(lifecycle.load_workflow(tx), state):
        since = row.approved_on or row.established_on or tx.clock.today()
        tx.session.add(ServiceName(service_id=row.id, name=row.name, name_en=row.name_en,
                                   valid_from=since))
    audit.record(tx, "service", row.id, "register", None, state, actor or SYSTEM, comment)
    return row, warnings


def add_service(tx: Tx, *, name: str, kind: str, hosts: list[str], leader_name: str | None,
                leader_email: str | None, **values) -> Record:
    """Register a service (running by default); see `register_service`."""
    row, _ = register_service(tx, name=name, kind=kind, hosts=hosts, leader_name=leader_name,
                              leader_email=leader_email, **values)
    return row


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
    }


def deadline_dict(d, today) -> dict:
    return {"rule": d.rule, "due_on": d.due_on, "label": d.label, "done": d.done,
            "overdue": d.overdue(today), "days_left": d.days_left(today),
            "notify": list(d.notify), "remind_before_days": list(d.remind_before_days)}


def details(tx: Tx, row: Service) -> dict:
    """Everything `service show` prints: the recorded and every computed date."""
    from appointer import audit, deadlines, engine, lifecycle

    session, settings, today = tx.session, tx.settings, tx.clock.today()
    workflow = lifecycle.load_workflow(tx)
    limits, _ = deadlines.lifecycle_rules(settings)
    rnd = deadlines.application_round(row, settings, today)
    predecessor = session.get(Service, row.predecessor_id) if row.predecessor_id else None
    successors = session.exec(select(Service).where(Service.predecessor_id == row.id)
                              .order_by(Service.id)).all()
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
        "reorganisation_outcome": row.reorganisation_outcome,
        "round": None if rnd is None else {
            "year": rnd.year, "internal_deadline": rnd.internal_deadline,
            "send_by": rnd.send_by, "feedback_by": rnd.feedback_by},
        "first_report_year": deadlines.first_report_year(row),
        "today": today,
        "deadlines": [deadline_dict(d, today)
                      for d in deadlines.service_deadlines(row, settings, today)],
        "names": [{"name": n.name, "name_en": n.name_en, "valid_from": n.valid_from,
                   "approved": n.approved} for n in names],
        "volumes": [{"year": v.year, "patients": v.patients,
                     "flag": volume_flag(v.patients, limits)} for v in volumes],
        "predecessor": None if predecessor is None else {
            "id": predecessor.id, "name": predecessor.name, "kind": predecessor.kind,
            "state": predecessor.state},
        "successors": [{"id": s.id, "name": s.name, "kind": s.kind, "state": s.state}
                       for s in successors],
        "deciding_body": settings.deciding_body,
        "allowed": engine.allowed_triggers(tx, workflow, row),
        "history": [{"at": e.at, "recorded_at": e.recorded_at, "actor": e.actor, "trigger": e.trigger, "from": e.from_state,
                     "to": e.to_state, "comment": e.comment, "evidence": e.evidence}
                    for e in audit.history(session, "service", row.id)],
    }


def find_services(tx: Tx, *, state: str | None = None, kind: str | None = None,
                  region: str | None = None, overdue: bool = False,
                  due_within: int | None = None) -> list[tuple[Service, list]]:
    """Services with their deadlines, filtered. `overdue` and `due_within` (days from today)
    keep a service with a deadline not yet met that is past / falls in the window; given
    both, either will do."""
    import datetime as dt

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
