"""Messages that failed for good (a 550, attempts exhausted), for the coordinators' weekly
digest: nobody is told otherwise. Each is reported once — in the first digest after it
failed — to the people of its case's region (an appointment's appointing region, a
service's host regions), or of every region when it has none. The address and the server's
answer are in it: the digest goes to the RHFs' coordinators, who may see both.

That a message was reported is a `ReminderLog` row (rule `mail.failed`, subject
`outbox`/its id, one per person told), written with the digest, so no column is needed."""

from __future__ import annotations

from sqlmodel import select

from appointer.models import Appointment, OutboxMessage, ReminderLog

RULE = "mail.failed"
SUBJECT = "outbox"
ALL_REGIONS = None  # the key of the messages every region's people are told about


def unreported(session, host_regions) -> dict[str | None, list[dict]]:
    """The failed messages not yet in any digest, by region code (`ALL_REGIONS` for those
    without a region), oldest first. `host_regions(service_id)`: a service's regions."""
    told = select(ReminderLog.subject_id).where(ReminderLog.rule == RULE,
                                                ReminderLog.subject_type == SUBJECT)
    rows = session.exec(select(OutboxMessage.id, OutboxMessage.to_addrs,
                               OutboxMessage.last_error, OutboxMessage.subject,
                               OutboxMessage.case_type, OutboxMessage.case_id)
                        .where(OutboxMessage.status == "failed", OutboxMessage.id.not_in(told))
                        .order_by(OutboxMessage.id)).all()
    if not rows:
        return {}
    cases = {r.case_id for r in rows if r.case_type == "appointment"}
    appointing = dict(session.exec(select(Appointment.id, Appointment.appointing_region)
                                   .where(Appointment.id.in_(cases))).all()) if cases else {}
    out: dict[str | None, list[dict]] = {}
    for r in rows:
        view = {"id": r.id, "to": ", ".join(r.to_addrs), "answer": r.last_error or "",
                "subject": r.subject}
        if r.case_type == "appointment" and r.case_id in appointing:
            regions = [appointing[r.case_id]]
        elif r.case_type == "service" and r.case_id is not None:
            regions = host_regions(r.case_id) or [ALL_REGIONS]
        else:
            regions = [ALL_REGIONS]
        for code in regions:
            out.setdefault(code, []).append(view)
    return out


def keys(views: list[dict], day) -> list[tuple]:
    """The ReminderLog keys (rule, subject type, subject id, due day) that mark these
    messages as reported."""
    return [(RULE, SUBJECT, v["id"], day) for v in views]
