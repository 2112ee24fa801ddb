"""Builders shared by the oversight and reminder tests: services and groups made through the
same service layer the CLI uses, on a given day, and readers of what the reminder run queued."""

from __future__ import annotations

import datetime as dt

import dbsql

from appointer import appointments, db, services
from appointer.clock import Clock
from appointer.models import Service
from appointer.seats import host_regions, seat_of

HOST = "Oslo universitetssykehus HF"  # sor-ost
MEMBERS = {  # seat -> (institution, candidate's leader needed)
    "region:sor-ost": "Akershus universitetssykehus HF",
    "region:vest": "Helse Bergen HF",
    "region:midt": "St. Olavs hospital HF",
    "region:nord": "Universitetssykehuset Nord-Norge HF",
    "service": HOST,
    "user:1": None,
}


def coord(region: str) -> str:
    return f"coord@{region}.example"


def start_reminding(settings, day: dt.date) -> None:
    """The database's first reminder run, on `day`: from then on Appointer knows of what
    happens (a deadline that had passed before it is backlog, not reminded: backlog.py)."""
    from appointer import remind

    remind.run_once(settings, Clock(day))


def add_service(settings, day: dt.date, name: str, hosts=(HOST,), kind="national", **dates) -> int:
    with db.transaction(settings, Clock(day)) as tx:
        slug = name.lower().replace(" ", "-")
        return services.add_service(tx, name=name, kind=kind, hosts=list(hosts),
                                    leader_name=f"Leader {name}",
                                    leader_email=f"leader@{slug}.example", **dates).id


def act(settings, day: dt.date, region: str, fn):
    with db.transaction(settings, Clock(day)) as tx:
        return fn(tx, appointments.resolve_actor(tx.session, coord(region)))


def propose(settings, day, service_id, seat, who: str, institution=None) -> int:
    institution = institution or MEMBERS[seat]

    def go(tx, actor):
        fired, _ = appointments.propose_member(
            tx, service_id, seat, name=who.title(), email=f"{who}@member.example",
            institution=institution,
            leader_name=None if seat.startswith("user") else f"Boss of {who}",
            leader_email=None if seat.startswith("user") else f"boss.{who}@member.example",
            share="5 %", represents=None, actor=actor)
        return fired.case.id

    with db.transaction(settings, Clock(day)) as tx:  # by the region that appoints the seat
        region = seat_of(tx.session, tx.session.get(Service, service_id), seat).appointing_region
    return act(settings, day, region, go)


def advance(settings, day, case_id, trigger, reason=None):
    """As a coordinator of the region that appoints the seat; an answer on the person's
    behalf, with evidence."""
    with db.transaction(settings, Clock(day)) as tx:
        region = appointments.get_case(tx.session, case_id).appointing_region
    evidence = "by phone" if trigger in appointments.ON_BEHALF else None
    return act(settings, day, region, lambda tx, actor: appointments.advance(
        tx, case_id, trigger, actor, reason=reason, evidence=evidence))


def appoint(settings, day, service_id, seat, who, institution=None) -> int:
    """A member proposed, accepted, cleared and appointed on `day`."""
    cid = propose(settings, day, service_id, seat, who, institution)
    steps = ["accept"] + ([] if seat.startswith("user") else ["consent"]) + ["appoint"]
    for trigger in steps:
        advance(settings, day, cid, trigger)
    return cid


def full_group(settings, day, service_id, leader_seat="region:nord", skip=(),
               institutions=None) -> dict[str, int]:
    """Every required seat appointed on `day` (but `skip`), the leader designated."""
    inst = institutions or {}
    ids = {seat: appoint(settings, day, service_id, seat, seat.replace(":", "-") + f"-{service_id}",
                         inst.get(seat))
           for seat in MEMBERS if seat not in skip}
    if leader_seat:  # by the host region, on behalf of the host HF
        with db.transaction(settings, Clock(day)) as tx:
            host = sorted(host_regions(tx.session, tx.session.get(Service, service_id)))[0]
        act(settings, day, host, lambda tx, actor: appointments.designate_leader(
            tx, service_id, ids[leader_seat], actor))
    return ids


def queued(settings, after_id: int = 0) -> list[dict]:
    """Reminder messages in the outbox (newer than after_id), with the rules they carry."""
    con = dbsql.connect(settings.db)
    try:
        rows = con.execute(
            "SELECT id, template, to_addrs, subject, body_text FROM outboxmessage "
            "WHERE template LIKE 'reminder.%' AND id > ? ORDER BY id", (after_id,)).fetchall()
        out = []
        for mid, template, to, subject, body in rows:
            rules = sorted(r for (r,) in con.execute(
                "SELECT rule FROM reminderlog WHERE outbox_id = ?", (mid,)))
            out.append({"id": mid, "template": template, "to": to.strip('[]"'),
                        "subject": subject, "body": body, "rules": rules})
        return out
    finally:
        con.close()


def last_outbox_id(settings) -> int:
    con = dbsql.connect(settings.db)
    try:
        return con.execute("SELECT COALESCE(MAX(id), 0) FROM outboxmessage").fetchone()[0]
    finally:
        con.close()


def count(settings, table: str) -> int:
    con = dbsql.connect(settings.db)
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        con.close()
