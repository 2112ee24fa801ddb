"""Confirmation-link tokens: 144 random bits (`secrets.token_urlsafe(24)`, injected through
`Tx.token_factory`), stored only as SHA-256, bound to one case, one recipient, the triggers
that recipient may fire and the state they answer; single use; expiring; revoked as soon as
the case moves on by any path."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import bindparam, insert, update

from appointer.db import Tx
from appointer.models import Token
from appointer.stepsql import Statement

_INSERT = Statement(insert(Token.__table__))


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue(tx: Tx, case_type: str, case_id: int, recipient, triggers, case_state: str) -> str:
    """Store a new token for `recipient` and return the link URL that carries it."""
    row, url = prepare(tx, case_type, case_id, recipient, triggers, case_state)
    store(tx, [row])
    return url


def prepare(tx: Tx, case_type: str, case_id: int, recipient, triggers,
            case_state: str) -> tuple[dict, str]:
    """A new token's row (not stored yet: see `store`) and the link URL that carries it."""
    raw = tx.token_factory()
    now = tx.clock.now()
    # a link lives token_days of REAL time, whatever day --today says (clock.py): one issued
    # with --today in the past is not already dead, one with --today ahead does not live on
    row = dict(
        token_hash=digest(raw),
        case_type=case_type,
        case_id=case_id,
        role=recipient.role,
        recipient_email=recipient.email,
        recipient_name=recipient.name,
        triggers=list(triggers),
        case_state=case_state,
        created_at=now,
        expires_at=tx.clock.real_now() + dt.timedelta(days=tx.settings.token_days),
    )
    return row, link_url(tx.settings.base_url, raw)


def store(tx: Tx, rows: list[dict]) -> None:
    """Store prepared tokens, in order: one executemany for many (the reminder run issues a
    link for every case reminder)."""
    _INSERT.insert_many(tx.connection, rows)


def link_url(base_url: str, raw: str) -> str:
    """Links come from the configured base URL only, never from a request's Host header."""
    return f"{base_url.rstrip('/')}/t/{raw}"


_t = Token.__table__
_REVOKE = Statement(
    update(_t)
    .where(_t.c.case_type == bindparam("p_case_type"), _t.c.case_id == bindparam("p_case_id"),
           _t.c.used_at.is_(None), _t.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("p_now"))
)


def revoke_open(tx: Tx, case_type: str, case_id: int) -> None:
    """The case moved on: every link still open on it is dead."""
    _REVOKE.rowcount(tx.connection, {"p_case_type": case_type, "p_case_id": case_id,
                                     "p_now": tx.clock.now()})


def revoke_to(tx: Tx, case_type: str, case_id: int, email: str) -> int:
    """Kill the case's open links sent to `email` (an address corrected): how many."""
    result = tx.connection.execute(
        update(_t).where(_t.c.case_type == case_type, _t.c.case_id == case_id,
                         _t.c.recipient_email == email, _t.c.used_at.is_(None),
                         _t.c.revoked_at.is_(None))
        .values(revoked_at=tx.clock.now()))
    return result.rowcount
