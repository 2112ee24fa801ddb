"""The audit trail: one row per transition, in the transaction that made it."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import select

from appointer.db import Tx
from appointer.models import AuditEvent
from appointer.text import TEXT_MAX, check_text

# Parameters passed apart from the statement: the compiled statement is cached.
_INSERT = insert(AuditEvent.__table__)


def record(tx: Tx, case_type: str, case_id: int, trigger: str, from_state: str | None,
           to_state: str, actor, comment: str | None = None,
           changes: dict | None = None) -> int:
    """Append the audit row; returns its id. A Core insert: audit rows are append-only and
    this runs on every transition (an ORM object + flush costs ~5× more).

    `changes` ({field: [old, new]}) is what a correction changed; it is kept in the row's
    evidence under "changes" (dates as ISO text)."""
    comment = check_text(comment, "the comment", TEXT_MAX + 500)  # (+ what a step adds)
    evidence = dict(actor.evidence)
    if changes:
        evidence["changes"] = {k: [_plain(old), _plain(new)] for k, (old, new) in changes.items()}
    values = dict(
        case_type=case_type,
        case_id=case_id,
        at=tx.clock.now(),
        actor=actor.email if actor.kind == "coordinator" else (actor.email or actor.kind),
        actor_kind=actor.kind,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        evidence=evidence,
    )
    result = tx.session.connection().execute(_INSERT, values)
    return result.inserted_primary_key[0]


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def history(session, case_type: str, case_id: int) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.case_type == case_type, AuditEvent.case_id == case_id)
            .order_by(AuditEvent.id)
        )
    )
