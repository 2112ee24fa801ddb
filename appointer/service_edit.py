"""`appointer service edit`: correct what was registered wrong (or is now known), audited.

A correction is not a lifecycle change: a new approved name is `request_change` and
`approve_change`; a new date of a step is the step. An edit fixes the record as it should
have been: names as approved (spelling), hosts, function, leader, language, note, and any
recorded date (partial where only the year or month is known). The same rules as
registering are checked on the corrected record (kind, hosts and function together; the
dates its state needs, in order, none after today); a refused edit stores nothing. One
audit row `edit` keeps every old → new value.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from appointer import records
from appointer.clock import DAY, format_partial
from appointer.db import Tx
from appointer.errors import InvalidField, InvalidInput
from appointer.models import ServiceName

TEXT_FIELDS = ("name", "name_en", "leader_name", "leader_email", "lang", "note", "function")


def edit_service(tx: Tx, service_ref, actor, *, hosts: list[str] | None = None,
                 dates: dict[str, tuple[dt.date, str]] | None = None,
                 comment: str | None = None, **text) -> tuple[records.Record, dict, list[str]]:
    """Correct a service. `text`: any of TEXT_FIELDS (an empty string clears an optional
    one); `hosts`: the host institutions in place of the recorded ones; `dates`: {field:
    (date, precision)}. Returns the record, the changes {field: (old, new)} (empty: the
    record already said so, nothing stored) and warnings: what the group's members break
    once the hosts moved (`after_hosts_moved`)."""
    from appointer import audit, lifecycle
    from appointer.reference import check_email, service_record, services_named
    from appointer.seats import hosts as hosts_of
    from appointer.services import set_hosts, validate_shape

    unknown = set(text) - set(TEXT_FIELDS)
    if unknown:
        raise InvalidInput(f"cannot correct {', '.join(sorted(unknown))}")
    session = tx.session
    row = service_record(session, service_ref)
    dates = dates or {}
    if not text and hosts is None and not dates:
        raise InvalidInput("say what to correct (see `appointer service edit --help`)")
    new = {k: ((v or "").strip() or None) for k, v in text.items()}
    if "name" in new:
        if not new["name"]:
            raise InvalidField("name", "a service needs a name")
        if any(s.id != row.id for s in services_named(session, new["name"])):
            raise InvalidField("name", f"a service called {new['name']!r} is already registered")
    if new.get("leader_email"):
        new["leader_email"] = check_email(new["leader_email"], "leader email")
    if "lang" in new and new["lang"] not in ("nb", "en"):
        raise InvalidField("lang", f"lang must be nb or en, not {new['lang']!r}")
    function = new.get("function", row.function)
    old_hosts = [h.institution for h in hosts_of(session, row)]
    institutions = validate_shape(row.kind, function,
                                  [i.name for i in old_hosts] if hosts is None else hosts,
                                  session)

    precision = dict(row.date_precision or {})
    recorded = {f: getattr(row, f) for f in lifecycle.RECORDED}
    for field, (day, known) in dates.items():
        if field not in lifecycle.DATE_FIELDS:
            raise InvalidInput(f"{field} is not a recorded date")
        recorded[field] = day
        precision.pop(field, None)
        if known != DAY:
            precision[field] = known
    lifecycle.check_record(lifecycle.load_workflow(tx), row.state, recorded, tx.clock.today(),
                           precision)

    changes: dict[str, tuple] = {}
    for field, value in new.items():
        if getattr(row, field) != value:
            changes[field] = (getattr(row, field), value)
            setattr(row, field, value)
    old_precision = row.date_precision or {}
    for field in dates:
        before = format_partial(getattr(row, field), old_precision.get(field, DAY)) or None
        after = format_partial(recorded[field], precision.get(field, DAY))
        if before != after:
            changes[field] = (before, after)
            setattr(row, field, recorded[field])
    if precision != old_precision:
        row.date_precision = precision
    if [i.id for i in institutions] != [i.id for i in old_hosts]:
        changes["hf"] = ([i.name for i in old_hosts], [i.name for i in institutions])
        set_hosts(session, row.id, institutions)
    if not changes:
        return row, changes, []
    records.write(session, row)
    if "name" in changes or "name_en" in changes:
        _correct_name_history(session, row.id, changes)
    audit.record(tx, "service", row.id, "edit", row.state, row.state, actor,
                 comment or "corrected " + ", ".join(changes), changes=changes)
    return row, changes, after_hosts_moved(tx, row) if "hf" in changes else []


def after_hosts_moved(tx: Tx, service) -> list[str]:
    """What the group's open cases break once a correction moved the service's hosts: a
    member for the host's own region who works at the new host, a service seat held from
    another location, a seat appointed by a region that no longer appoints it, a group
    leader from a region where the service now is. Said, not mended: a correction of the
    service moves no member; the coordinators decide (`group show`; `member edit` corrects a
    member's institution, and a case whose seat another region now appoints is withdrawn
    and proposed again). The group is read once, as its health check reads it
    (`groups.Register`)."""
    from appointer import appointments, groups, lookups
    from appointer.models import Service
    from appointer.seats import check_candidate_for_seat, seat_of

    session = tx.session
    lookups.forget(session)  # the hosts were just replaced
    workflow = appointments.load_workflow(tx)
    reg = groups.Register(session, workflow.seat_states(), tx.clock.today(),
                          services=[session.get(Service, service.id)])
    out = []
    for facts in reg.facts.values():
        for case in facts.cases:
            seat = seat_of(session, service, case.seat)
            what = f"case {case.id} ({case.seat}, {case.state})"
            if seat.appointing_region != case.appointing_region:
                out.append(f"{what} is appointed by {reg.region_name(case.appointing_region)}; "
                           f"the seat now belongs to {reg.region_name(seat.appointing_region)}")
            institution = reg.institutions.get(case.institution_id)
            if institution is not None:
                try:
                    check_candidate_for_seat(session, service, seat, institution)
                except InvalidInput as exc:
                    out.append(f"{what}: {exc}")
        out += [p.message for p in groups.problems(reg, facts, None)
                if p.rule == "leader_in_host_region"]
    return out


def _correct_name_history(session, service_id: int, changes: dict) -> None:
    """The name in use is corrected where the name history holds it (a misspelt approved
    name is the same name, not an earlier one)."""
    old_name = changes.get("name", (None,))[0]
    current = session.exec(select(ServiceName).where(ServiceName.service_id == service_id,
                                                     ServiceName.approved == True)  # noqa: E712
                           .order_by(ServiceName.valid_from.desc(), ServiceName.id.desc())
                           ).first()
    if current is None or (old_name is not None and current.name != old_name):
        return
    if "name" in changes:
        current.name = changes["name"][1]
    if "name_en" in changes:
        current.name_en = changes["name_en"][1]
    session.add(current)
