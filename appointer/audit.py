"""The audit trail: one row per transition, in the transaction that made it.

Each row keeps two times (clock.py): `at`, the effective moment the step counts as done on
(`--today`), and `recorded_at`, the real moment it was written. A case's steps run forward:
a step dated before the case's last one is refused."""

from __future__ import annotations

import datetime as dt
import functools
from typing import NamedTuple

from sqlalchemy import bindparam, exists, func, insert, text
from sqlmodel import select

from appointer import audit_chain
from appointer.clock import to_oslo
from appointer.db import Tx
from appointer.errors import InvalidInput
from appointer.models import AuditEvent
from appointer.stepsql import Statement
from appointer.text import TEXT_MAX, check_text

_A = AuditEvent.__table__
_INSERT = Statement(insert(_A))
# What a new row needs of the rows before it, in one statement that always gives one row: the
# case's last step (the order check; max() of a DateTime column keeps its type, and its
# result processor) and the chain's newest row, by its primary key (one index step each).
_CASE = _A.alias("of_the_case")
_LAST_AT = (select(func.max(_CASE.c.at, type_=_CASE.c.at.type))
            .where(_CASE.c.case_id == bindparam("case_id"),
                   _CASE.c.case_type == bindparam("case_type")).scalar_subquery())
_HEAD = _A.alias("head")
_HEAD_ID = select(func.max(_HEAD.c.id)).scalar_subquery()
_HEAD_HASH = select(_A.c.hash).where(_A.c.id == _HEAD_ID).scalar_subquery()
_BEFORE_COLUMNS = (_LAST_AT.label("last_at"), func.coalesce(_HEAD_ID, 0).label("last_id"),
                   _HEAD_HASH.label("last_hash"))
_BEFORE = Statement(select(*_BEFORE_COLUMNS))


class Before(NamedTuple):
    """What the trail holds before a case's new row: its last step's time (None: none yet),
    the chain's newest id (0: the trail is empty) and hash, and — when asked — whether the
    case has unsent mail written for the state it leaves (`outbox.LEFT_BEHIND`)."""

    last_at: dt.datetime | None
    last_id: int
    last_hash: str | None
    mail_waiting: bool = False


@functools.cache
def _before_and_mail() -> Statement:
    """`_BEFORE` and the case's unsent mail in one statement: the engine asks both when a
    case leaves a state that sends mail. (outbox is imported here, not at start-up: it
    brings the mail templates' Jinja2.)"""
    from appointer.outbox import LEFT_BEHIND

    return Statement(select(*_BEFORE_COLUMNS, exists().where(LEFT_BEHIND).label("mail_waiting")))


# PostgreSQL: a transaction-scoped advisory lock, held until commit (its key names the chain)
_CHAIN_LOCK = text("SELECT pg_advisory_xact_lock(7411)")


def record(tx: Tx, case_type: str, case_id: int, trigger: str, from_state: str | None,
           to_state: str, actor, comment: str | None = None,
           changes: dict | None = None, extra: dict | None = None,
           before: Before | None = None) -> int:
    """Append the audit row; returns its id (a `stepsql` statement: this runs on every
    transition).

    `changes` ({field: [old, new]}) is what a correction changed; it is kept in the row's
    evidence under "changes" (dates as ISO text). `extra`: more evidence (e.g. the mail a
    step cancelled). `before`: what `read_before()` read in this unit of work, when the
    caller read it already (the engine, with the case's unsent mail); else it is read here."""
    comment = check_text(comment, "the comment", TEXT_MAX + 500)  # (+ what a step adds)
    evidence = dict(actor.evidence)
    if extra:
        evidence.update(extra)
    if changes:
        evidence["changes"] = {k: [_plain(old), _plain(new)] for k, (old, new) in changes.items()}
    at = tx.clock.now()
    last_at, last_id, last_hash, _ = before or read_before(tx, case_type, case_id)
    check_order(case_type, case_id, last_at, at)
    values = dict(
        case_type=case_type,
        case_id=case_id,
        at=at,
        recorded_at=tx.clock.real_now(),
        actor=actor.email if actor.kind == "coordinator" else (actor.email or actor.kind),
        actor_kind=actor.kind,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        evidence=evidence,
    )
    # Chained to the newest row, read inside this write transaction: on SQLite it holds the
    # write lock from its start (BEGIN IMMEDIATE, db.py), so no other row can come between.
    # The id is given, not left to the database, because the hash covers it.
    values["id"] = last_id + 1
    values["hash"] = audit_chain.chain_hash(last_hash, values)
    _INSERT.insert(tx.connection, values)
    return values["id"]


def read_before(tx: Tx, case_type: str, case_id: int, mail_left_in: str | None = None
                ) -> Before:
    """What the trail holds before the case's next row (`Before`). `mail_left_in`: the state
    the case leaves; whether it has unsent mail written for it is read in the same
    statement. Read in the write transaction that then appends the row (`record`)."""
    conn = tx.connection
    if conn.dialect.name != "sqlite":
        # one writer of the chain at a time: a row lock on the newest row would, once granted
        # after another writer's commit, hand back a row that is no longer the newest
        conn.execute(_CHAIN_LOCK)
    params = {"case_id": case_id, "case_type": case_type}
    if mail_left_in is None:
        return Before(*_BEFORE.first(conn, params))
    params.update(p_case_type=case_type, p_case_id=case_id, p_state=mail_left_in,
                  p_now=tx.clock.now())
    return Before(*_before_and_mail().first(conn, params))


def check_order(case_type: str, case_id: int, last, at) -> None:
    """Refuse a step dated (Oslo day) before the case's last step (`last`): `--today` may
    record what happened a while ago, but not put a step before one already in the history."""
    if last is None or at >= last:  # (a later moment is never on an earlier day)
        return
    last_day, day = to_oslo(last).date(), to_oslo(at).date()
    if day < last_day:
        noun = "case" if case_type == "appointment" else case_type
        raise InvalidInput(f"{noun} {case_id}'s last step was on {last_day.isoformat()}; a step "
                           f"dated {day.isoformat()} would come before it")


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


def verify(session) -> dict:
    """Recompute the chain from the first row. Returns {"rows": n, "ok": bool, "problem":
    text or None, "row": the id named or None}: the first row changed (its hash no longer
    matches its content and its predecessor) or deleted (a gap in the ids). A deletion of the
    newest rows leaves no trace in the chain itself; compare the count with a backup."""
    previous_hash, previous_id, n = None, 0, 0
    result = session.connection().execution_options(yield_per=1000).execute(
        select(_A).order_by(_A.c.id))
    for row in result.mappings():
        n += 1
        row = dict(row)
        if row["id"] != previous_id + 1:
            first, last = previous_id + 1, row["id"] - 1
            gone = f"row {first}" if first == last else f"rows {first}–{last}"
            return _broken(n, row["id"], f"{gone} deleted (the chain jumps from row "
                                         f"{previous_id} to row {row['id']})", first)
        if row["hash"] is None:
            return _broken(n, row["id"], f"row {row['id']} has no hash: written outside the "
                                         "audit trail's one path", row["id"])
        if audit_chain.chain_hash(previous_hash, row) != row["hash"]:
            return _broken(n, row["id"], f"row {row['id']} was changed after it was written "
                                         "(its hash does not match its content)", row["id"])
        previous_hash, previous_id = row["hash"], row["id"]
    return {"rows": n, "ok": True, "problem": None, "row": None}


def _broken(n: int, _at: int, problem: str, row_id: int) -> dict:
    return {"rows": n, "ok": False, "problem": problem, "row": row_id}


def listing(session, case: tuple[str, int] | None = None, actor: str | None = None,
            since: dt.datetime | None = None, limit: int | None = None) -> list[AuditEvent]:
    """Audit rows, oldest first, filtered by case, actor (email or kind) and effective time."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if case is not None:
        query = query.where(AuditEvent.case_type == case[0], AuditEvent.case_id == case[1])
    if actor:
        query = query.where(func.lower(AuditEvent.actor) == actor.lower())
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    rows = list(session.exec(query))
    return rows[-limit:] if limit else rows
