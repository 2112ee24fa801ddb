"""Corrections, audited: what was entered wrong about a member, fixed without losing what it
was. (Coordinators and regions are corrected in reference.py.)

`member edit` changes a case's details, not its state: one audit row (trigger "edit", the
state both before and after) keeps every field's old and new value and who changed it. The
rules a proposal meets are checked again for what changes; an edit that would break a
*shall* is refused and nothing is stored. A corrected address is where the case's mail goes
from now on: its unsent messages to the old address are cancelled, its open links to it die,
and the message that carries them goes again, with a fresh link, to the new address.
"""

from __future__ import annotations

from appointer import appointments, audit, engine, outbox, records, tokens
from appointer.db import Tx
from appointer.errors import InvalidInput
from appointer.reference import find_institution, read_service
from appointer.seats import check_candidate_for_seat, seat_of

# option -> the case's column
COLUMNS = {"name": "candidate_name", "email": "candidate_email", "institution": "institution_id",
           "leader_name": "leader_name", "leader_email": "leader_email", "share": "share",
           "lang": "lang", "note": "note"}
# states waiting for the leader's clearance, or about to: a leader must stay on record
_CLEARING = ("proposed", "awaiting_consent", "ready")
# the recipient group each corrected address is reached through (workflows/appointment.toml)
_GROUP = {"candidate_email": "candidate", "leader_email": "leader"}
_ADDRESSES = set(_GROUP)


def edit_member(tx: Tx, case_id, actor, **given) -> tuple[records.Record, dict, list[str]]:
    """Correct a case's details (`given`: option -> new value; None = unchanged, "" = clear
    where the field may be empty). Returns (the case, {field: (old, new)}, warnings)."""
    session = tx.session
    workflow = appointments.load_workflow(tx)
    case = appointments.get_case(session, case_id)
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        raise InvalidInput("nothing to correct: give at least one of "
                           + ", ".join(f"--{k.replace('_', '-')}" for k in COLUMNS))
    _check_state(workflow, case, given)
    service = read_service(session, case.service_id)
    seat = seat_of(session, service, case.seat)
    new = _new_values(session, case, given)
    changed = {col for col, value in new.items() if value != getattr(case, col)}
    if not changed:
        raise InvalidInput(f"case {case.id} already has these details; nothing changed")
    fields = {col: opt for opt, col in COLUMNS.items()}
    person, problems = appointments.person_problems(
        seat, name=new["candidate_name"], email=new["candidate_email"],
        leader_name=new["leader_name"], leader_email=new["leader_email"],
        others=appointments.open_cases(session, case.service_id, workflow),
        leader_required=case.state in _CLEARING, case_id=case.id)
    checked = changed | (_ADDRESSES if changed & _ADDRESSES else set())  # leader ≠ member
    problems = [p for field, p in problems if COLUMNS[field] in checked]
    if problems:
        raise InvalidInput(problems[0])
    (new["candidate_name"], new["candidate_email"], new["leader_name"],
     new["leader_email"]) = person
    if "institution_id" in changed:
        check_candidate_for_seat(session, service, seat, find_institution(
            session, given["institution"].strip()) if new["institution_id"] else None)
    warnings = []
    if "share" in changed and not new["share"]:
        warnings.append("the appointment should state the expected share of a full position "
                        "(--share, e.g. '5 %')")
    changes = {}
    old_addresses = {}
    for col in sorted(changed, key=list(COLUMNS.values()).index):
        changes[fields[col]] = (_shown(session, col, getattr(case, col)),
                                _shown(session, col, new[col]))
        if col in _GROUP and getattr(case, col):
            old_addresses[col] = getattr(case, col)
        setattr(case, col, new[col])
    records.write(session, case)
    mail = _readdress(tx, workflow, case, old_addresses, actor)
    audit.record(tx, "appointment", case.id, "edit", case.state, case.state, actor,
                 "corrected " + ", ".join(changes), changes=changes, extra=mail)
    return case, changes, warnings


def _check_state(workflow, case, given: dict) -> None:
    if case.state in workflow.final_states():
        wrong = sorted(set(given) - {"name", "email"})
        if wrong:
            raise InvalidInput(
                f"case {case.id} is {case.state}: it is closed, and only a typo in the member's "
                f"name or email can be corrected (not {', '.join(wrong)})")
    elif case.state == "requested" and set(given) - {"note"}:
        raise InvalidInput(f"case {case.id} is requested: there is no candidate yet; propose "
                           f"one with `appointer member propose {case.service_id} --seat "
                           f"{case.seat} …`")


def _new_values(session, case, given: dict) -> dict:
    new = {col: getattr(case, col) for col in COLUMNS.values()}
    for opt, value in given.items():
        value = value.strip()
        if opt == "institution":
            new["institution_id"] = find_institution(session, value).id if value else None
        elif opt == "lang":
            if value not in ("nb", "en"):
                raise InvalidInput(f"--lang {value!r}: use nb or en")
            new["lang"] = value
        else:
            new[COLUMNS[opt]] = value or None
    return new


def _shown(session, col: str, value):
    """A value as the history shows it: an institution by name."""
    if col == "institution_id" and value is not None:
        from appointer import lookups

        return lookups.institution(session, value).name
    return value


def _readdress(tx: Tx, workflow, case, old: dict[str, str], actor) -> dict | None:
    """Mail for a corrected address: the unsent messages to the old one are cancelled and its
    open links revoked; if there were any, the message of the case's current state for that
    person goes again, with a fresh link, to the new address. What happened is returned as
    audit evidence."""
    cancelled, resent = [], []
    for col, address in old.items():
        waiting = outbox.unsent_to(tx, workflow.case_type, case.id, address)
        outbox.cancel_ids(tx, [m.id for m in waiting],
                          "cancelled: the address was corrected (member edit); the message "
                          "goes to the new address")
        revoked = tokens.revoke_to(tx, workflow.case_type, case.id, address)
        cancelled += [[m.id, m.template] for m in waiting]
        if not (waiting or revoked):
            continue
        notes = {n for t in workflow.transitions if t.dest == case.state for n in t.notify
                 if n.to == _GROUP[col]}
        ctx = engine.CaseContext(case, tx, workflow, actor, {})
        for note in sorted(notes, key=lambda n: n.template):
            resent += [[i, note.template]
                       for i in engine.queue_notes(tx, workflow, ctx, [note], case.state)]
    evidence = {}
    if cancelled:
        evidence["cancelled_mail"] = cancelled
    if resent:
        evidence["resent_mail"] = resent
    return evidence or None
