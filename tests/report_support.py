"""Helpers the annual-report tests share: a register with services of every kind, a full
reference group, and the report year opened — all through the real service layer."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from appointer import db, report_steps, reports
from appointer.appointments import resolve_actor
from appointer.clock import Clock
from appointer.models import OutboxMessage, ReportCase, ReportPart

YEAR = 2026
OPEN_DAY = dt.date(2027, 1, 11)  # the reference groups hear in January (`001`)
OUS = "Oslo universitetssykehus HF"  # sor-ost
BERGEN = "Helse Bergen HF"  # vest
REGION_EMAIL = {code: f"region-{code}@medlem.example" for code in ("sor-ost", "vest", "midt", "nord")}


def run(settings, fn, today=OPEN_DAY, region="sor-ost"):
    with db.transaction(settings, Clock(today)) as tx:
        return fn(tx, resolve_actor(tx.session, f"coord@{region}.example"))


def register(settings, name, kind="national", hosts=(OUS,), state="established",
             today=OPEN_DAY, **fields) -> int:
    from appointer import services

    def add(tx, actor):
        row, _ = services.register_service(
            tx, name=name, kind=kind, hosts=list(hosts), state=state,
            leader_name=f"Leder {name}", leader_email=f"leder-{name.split()[-1].lower()}@hf.example",
            **fields)
        return row.id
    return run(settings, add, today)


def full_group(steps, service_id, regions=("sor-ost", "vest", "midt", "nord"),
               leader="vest") -> dict[str, int]:
    """Appoint the regional members (each region appoints its own) and designate the leader."""
    from appointer import appointments

    steps = type(steps)(steps.settings, Clock(OPEN_DAY))  # after the services' registration
    ids = {}
    for code in regions:
        case = steps.propose(service_id, f"region:{code}", email=REGION_EMAIL[code],
                             name=f"Medlem {code}")
        steps.appoint(case, code)
        ids[code] = case
    if leader:
        steps.run("sor-ost", lambda tx, actor: appointments.designate_leader(
            tx, service_id, ids[leader], actor))
    return ids


def open_year(settings, year=YEAR, today=OPEN_DAY, service=None) -> dict:
    return run(settings, lambda tx, actor: report_steps.open_year(tx, year, actor, service), today)


def report_of(settings, service_id, year=YEAR) -> ReportCase:
    with db.transaction(settings, Clock(OPEN_DAY)) as tx:
        return tx.session.exec(select(ReportCase).where(ReportCase.service_id == service_id,
                                                        ReportCase.year == year)).one()


def parts(settings, report_id) -> dict[str, ReportPart]:
    with db.transaction(settings, Clock(OPEN_DAY)) as tx:
        return {p.part: p for p in reports.parts_of(tx.session, report_id)}


def mails(settings, template_prefix="annual_report") -> list[OutboxMessage]:
    with db.transaction(settings, Clock(OPEN_DAY)) as tx:
        return list(tx.session.exec(select(OutboxMessage).where(
            OutboxMessage.template.startswith(template_prefix)).order_by(OutboxMessage.id)))


def author_link(settings, email) -> str:
    """The report link in the newest annual-report email to `email`."""
    import re

    for m in reversed(mails(settings)):
        if email in m.to_addrs:
            found = re.search(r"https?://\S+/r/[A-Za-z0-9_-]+", m.body_text)
            if found:
                return found.group(0)
    raise AssertionError(f"no report link to {email}")
