"""The audit trail's tamper evidence: each row carries a SHA-256 of its own content and of
the previous row's hash, so a row changed or deleted afterwards breaks the chain from there
on (`appointer audit verify`). Standard library only: the migration that backfills the chain
uses it too."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

GENESIS = "appointer-audit-genesis-v1"  # what the first row's hash is chained to
FIELDS = ("id", "case_type", "case_id", "at", "recorded_at", "actor", "actor_kind", "trigger",
          "from_state", "to_state", "comment", "evidence")


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _moment(value):
    """A stored time as the database gives it back: naive UTC, ISO text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        if value.tzinfo is not dt.UTC:
            value = value.astimezone(dt.UTC)
        value = value.replace(tzinfo=None)
    return value.isoformat(sep=" ")


def content(row: dict) -> str:
    """The row's fields in one canonical text (times as naive UTC, evidence as sorted JSON)."""
    plain = {name: row.get(name) for name in FIELDS}
    plain["at"], plain["recorded_at"] = _moment(plain["at"]), _moment(plain["recorded_at"])
    evidence = plain["evidence"]
    plain["evidence"] = (json.loads(evidence) if isinstance(evidence, str) else evidence) or {}
    return _CANONICAL.encode(plain)


def chain_hash(previous: str | None, row: dict) -> str:
    return hashlib.sha256(((previous or GENESIS) + "\n" + content(row)).encode()).hexdigest()
