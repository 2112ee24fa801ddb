"""The audit trail: one row per transition, in the transaction that made it."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import select

from appointer.db import Tx
from appointer.models import AuditEvent

# Parameters passed apart from the statement: the compiled statement is cached.
_INSERT = insert(AuditEvent.__table__)


def record(tx: Tx, case_type: str, case_id: int, trigger: str, from_state: str | None,
           to_state: str, actor, comment: str | None = None,
           changes: dict | None = None, extra: dict | None = None) -> int:
    """Append the audit row; returns its id. A Core insert: audit rows are append-only and
    this runs on every transition (an ORM object + flush costs ~5× more).

    `changes` ({field: [old, new]}) is what a correction changed; it is kept in the row's
    evidence under "changes" (dates as ISO text). `extra`: more evidence (e.g. the mail a
    step cancelled)."""
    evidence = dict(actor.evidence)
    if extra:
        evidence.update(extra)
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


def describe(evidence: dict | None) -> str:
    """What a row's evidence adds to its comment, in words: a correction's old → new values,
    the mail a step cancelled or re-sent."""
    evidence = evidence or {}
    parts = [f"{field}: {_shown(old)} → {_shown(new)}"
             for field, (old, new) in (evidence.get("changes") or {}).items()]
    if evidence.get("cancelled_mail"):
        parts.append("cancelled unsent mail: " + ", ".join(
            f"#{i} {template}" for i, template in evidence["cancelled_mail"]))
    if evidence.get("resent_mail"):
        parts.append("sent again to the new address: " + ", ".join(
            f"#{i} {template}" for i, template in evidence["resent_mail"]))
    return "; ".join(parts)


def _shown(value) -> str:
    return "(none)" if value in (None, "") else str(value)


def history(session, case_type: str, case_id: int) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.case_type == case_type, AuditEvent.case_id == case_id)
            .order_by(AuditEvent.id)
        )
    )
