"""Helpers the lifecycle tests share: act as a region's coordinator on a real database."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlmodel import func, select

from appointer import db, lifecycle, services
from appointer.appointments import resolve_actor
from appointer.clock import Clock
from appointer.models import AuditEvent, OutboxMessage, Service

TODAY = dt.date(2026, 3, 2)
OUS = "Oslo universitetssykehus HF"  # sor-ost
BERGEN = "Helse Bergen HF"  # vest
_numbers = itertools.count(1)


def coordinator(tx, region: str):
    return resolve_actor(tx.session, f"coord@{region}.example")


def register(settings, state="established", kind="national", hosts=(OUS,), name=None,
             today=TODAY, **fields) -> int:
    """A service registered in `state` with the fields given; returns its id."""
    with db.transaction(settings, Clock(today)) as tx:
        row, _ = services.register_service(
            tx, name=name or f"Nasjonal tjeneste nr. {next(_numbers)}",
            kind=kind, hosts=list(hosts), state=state, leader_name="Leder Tjeneste",
            leader_email="leder@tjeneste.example", **fields)
        return row.id


def apply(settings, region="sor-ost", hosts=(OUS,), today=TODAY, **kw) -> int:
    with db.transaction(settings, Clock(today)) as tx:
        kw.setdefault("name", "Nasjonal behandlingstjeneste for testing")
        kw.setdefault("kind", "national")
        fired = lifecycle.apply(tx, hosts=list(hosts), actor=coordinator(tx, region), **kw)
        return fired.case.id


DECISIONS = ("approve", "reject", "approve_change", "reject_change", "decide_reorganisation",
             "complete_phase_out")


def fire(settings, service_id, trigger, region="sor-ost", today=TODAY, **options):
    """Fire a trigger as the region's coordinator; returns (state, warnings). A decision of
    the deciding body is recorded with a reference."""
    if trigger in DECISIONS:
        options.setdefault("decision_ref", "HOD 26/1")
    with db.transaction(settings, Clock(today)) as tx:
        fired, warnings = lifecycle.advance(tx, service_id, trigger, coordinator(tx, region),
                                            **options)
        return fired.case.state, warnings


def get(settings, service_id) -> Service:
    with db.transaction(settings, Clock(TODAY)) as tx:
        return tx.session.get(Service, service_id)


def counts(settings, service_id) -> tuple[int, int]:
    """(audit rows, outbox rows) of a service: what a step leaves behind."""
    with db.transaction(settings, Clock(TODAY)) as tx:
        audits = tx.session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.case_type == "service", AuditEvent.case_id == service_id)).one()
        mails = tx.session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.case_type == "service", OutboxMessage.case_id == service_id)).one()
        return audits, mails


def outbox(settings, service_id) -> list[OutboxMessage]:
    with db.transaction(settings, Clock(TODAY)) as tx:
        return list(tx.session.exec(select(OutboxMessage).where(
            OutboxMessage.case_type == "service", OutboxMessage.case_id == service_id)
            .order_by(OutboxMessage.id)))
