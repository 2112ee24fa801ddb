"""The annual report cycle's steps (the CLI and the link pages call these): opening a year,
closing the approval, submitting, the assessments and the feedback, who submits. Every
change of the case's state goes through `engine.fire`; the workflow's hooks and the rules of
who owes a report are in `reports.py`, the parts in `report_parts.py`."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlmodel import select

from appointer import engine, records
from appointer.db import Tx
from appointer.engine import Actor, CaseContext, Recipient
from appointer.errors import InvalidInput
from appointer.models import ReportCase, ReportPart, Service
from appointer.reports import (
    CASE_TYPE,
    PARTS,
    check_year,
    get_report,
    load_workflow,
    owes_report,
    part_page,
    parts_of,
)


def _submitter_of(service) -> tuple[str | None, str | None]:
    if service.report_submitter_email:
        return service.report_submitter_name, service.report_submitter_email
    return service.leader_name, service.leader_email


def _authors(session, service) -> dict[str, tuple]:
    """part -> (name, email, member id) as the group stands: the service's leader, each
    region's appointed member, the group leader."""
    from appointer.models import Appointment

    out: dict[str, tuple] = {"service": (service.leader_name, service.leader_email, None)}
    rows = session.exec(select(Appointment).where(Appointment.service_id == service.id,
                                                  Appointment.state == "appointed")
                        .order_by(Appointment.id))
    for m in rows:
        if m.seat.startswith("region:"):
            out[m.seat] = (m.candidate_name, m.candidate_email, m.id)
        if m.id == service.group_leader_id:
            out["group"] = (m.candidate_name, m.candidate_email, m.id)
    return out


def open_year(tx: Tx, year: int, actor: Actor, service_ref=None) -> dict:
    """A report case for every service that owes one for `year` (or the one named), with its
    parts and their authors; the information mailing goes out with the `open` transition, so
    a second run finds the cases and sends nothing."""
    from appointer.reference import read_service

    check_year(year, tx.clock.today())
    workflow = load_workflow(tx)
    session = tx.session
    if service_ref is not None:
        one = read_service(session, service_ref)
        why = owes_report(one, year, tx.settings)
        if why:
            raise InvalidInput(f"service {one.id} ({one.name}) owes no report for {year}: {why}")
        candidates = [session.get(Service, one.id)]
    else:
        candidates = list(session.exec(select(Service).order_by(Service.id)))
    existing = {r.service_id: r.id for r in session.exec(
        select(ReportCase).where(ReportCase.year == year))}
    opened, already, skipped = [], [], []
    for service in candidates:
        why = owes_report(service, year, tx.settings)
        if why:
            skipped.append({"service_id": service.id, "service": service.name, "reason": why})
            continue
        if service.id in existing:
            assigned = _refresh_authors(tx, workflow, existing[service.id], service, actor)
            already.append({"id": existing[service.id], "service_id": service.id,
                            "service": service.name, "authors_added": assigned})
            continue
        fired = _open_one(tx, workflow, service, year, actor)
        opened.append({"id": fired.case.id, "state": fired.to_state, "service_id": service.id,
                       "service": service.name, "messages": len(fired.outbox_ids)})
    return {"id": year, "state": "open", "year": year, "opened": opened, "existing": already,
            "not_owed": skipped}


def _open_one(tx: Tx, workflow, service, year: int, actor: Actor) -> engine.Fired:
    now = tx.clock.now()
    name, email = _submitter_of(service)
    case = records.new(ReportCase, service_id=service.id, year=year, state=workflow.initial,
                       lang=service.lang or tx.settings.lang, submitter_name=name,
                       submitter_email=email, missing_parts={}, created_at=now, state_since=now)
    records.write(tx.session, case)  # the parts refer to it; `open` then notifies their authors
    authors = _authors(tx.session, service)
    for position, code in enumerate(PARTS, start=1):
        a_name, a_email, member_id = authors.get(code, (None, None, None))
        tx.session.add(ReportPart(report_id=case.id, part=code, position=position,
                                  author_name=a_name, author_email=a_email, member_id=member_id,
                                  updated_at=now))
    tx.session.flush()
    return engine.fire(tx, workflow, case, "open", actor, f"report year {year}")


_INFORMATION = {"service": "annual_report.service.information",
                "group": "annual_report.group_leader.information"}


def _refresh_authors(tx: Tx, workflow, report_id: int, service, actor: Actor) -> list[str]:
    """Parts still without an author (a seat vacant when the year opened, no group leader
    yet) get the member appointed since, who gets the information mailing for that part
    (once: the outbox's dedupe key). Returns the parts given an author."""
    from appointer import audit, outbox

    report = get_report(tx.session, report_id)
    if report.state not in ("writing", "approval", "approved"):
        return []
    authors = _authors(tx.session, service)
    added = []
    for row in parts_of(tx.session, report.id):
        name, email, member_id = authors.get(row.part, (None, None, None))
        if row.author_email or row.state != "invited" or not email:
            continue
        row.author_name, row.author_email, row.member_id = name, email, member_id
        tx.session.add(row)
        tx.session.flush()
        audit.record(tx, CASE_TYPE, report.id, "assign_author", report.state, report.state,
                     actor, f"part {row.part}: author appointed since the year opened")
        ctx = CaseContext(report, tx, workflow, actor, {})
        recipient = Recipient(email, name, "report_author", report.lang or tx.settings.lang)
        outbox.enqueue(tx, workflow, ctx, _INFORMATION.get(row.part,
                                                           "annual_report.member.information"),
                       recipient, link=part_page(ctx, recipient),
                       dedupe_key=f"annual_report:{report.id}:information:{row.part}:{email}")
        added.append(row.part)
    return added


def approve(tx: Tx, report_id, actor: Actor, date: dt.date | None = None,
            note: str | None = None) -> engine.Fired:
    """Close the group's approval (the group leader, or a coordinator recording the meeting's
    decision with its date)."""
    report = get_report(tx.session, report_id)
    if report.state == "writing":
        raise InvalidInput(f"report {report.id}: the group's part is not done yet; the members "
                           "approve the report once it is")
    actor = dataclasses.replace(actor, evidence={**actor.evidence, "date": str(date)})
    return engine.fire(tx, load_workflow(tx), report, "approve", actor, note,
                       inputs={"date": date or tx.clock.today(), "note": note})


def submit(tx: Tx, report_id, actor: Actor, without: dict[str, str] | None = None
           ) -> engine.Fired:
    report = get_report(tx.session, report_id)
    if report.state in ("writing", "approval"):
        raise InvalidInput(f"report {report.id} cannot be submitted: the reference group has "
                           "not approved it yet")
    if report.submitted_on is not None:
        raise InvalidInput(f"report {report.id} was submitted on {report.submitted_on} by "
                           f"{report.submitted_by}; it is submitted once")
    without = dict(without or {})
    actor = dataclasses.replace(actor, evidence={**actor.evidence, "without": without})
    comment = "; ".join(f"without {k}: {v}" for k, v in without.items()) or None
    return engine.fire(tx, load_workflow(tx), report, "submit", actor, comment,
                       inputs={"without": without})


def assess(tx: Tx, report_id, actor: Actor, level: str, text: str) -> engine.Fired:
    report = get_report(tx.session, report_id)
    trigger = {"regional": "assess_regionally", "national": "assess_nationally"}[level]
    return engine.fire(tx, load_workflow(tx), report, trigger, actor, None,
                       inputs={"text": text})


def give_feedback(tx: Tx, report_id, actor: Actor, text: str,
                  follow_up: str | None = None) -> engine.Fired:
    report = get_report(tx.session, report_id)
    return engine.fire(tx, load_workflow(tx), report, "give_feedback", actor, None,
                       inputs={"text": text, "follow_up": follow_up})


def set_submitter(tx: Tx, service_ref, name: str, email: str, actor: Actor) -> dict:
    """Who submits the service's reports from now on: stored on the service and on its
    reports not yet submitted."""
    from appointer import audit
    from appointer.reference import check_email, service_record

    email = check_email(email, "submitter email")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("the submitter needs a name (--name)")
    service = service_record(tx.session, service_ref)
    service.report_submitter_name, service.report_submitter_email = name, email
    records.write(tx.session, service)
    changed = []
    for row in tx.session.exec(select(ReportCase.id).where(
            ReportCase.service_id == service.id, ReportCase.submitted_on.is_(None))):
        report = get_report(tx.session, row)
        old = report.submitter_email
        report.submitter_name, report.submitter_email = name, email
        records.write(tx.session, report)
        audit.record(tx, CASE_TYPE, report.id, "set_submitter", report.state, report.state,
                     actor, "submitter changed", changes={"submitter_email": (old, email)})
        changed.append(report.id)
    return {"id": service.id, "state": service.state, "submitter_name": name,
            "submitter_email": email, "reports": changed}
