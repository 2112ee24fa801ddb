"""The transactional outbox: a transition renders its messages and stores them in the same
database transaction as the state change. `appointer mail send` delivers them after commit."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import and_, bindparam, insert, or_, select, update

from appointer import bulk, lookups
from appointer.db import Tx
from appointer.mail.render import render_for
from appointer.models import OutboxMessage
from appointer.stepsql import Statement

_INSERT = Statement(insert(OutboxMessage.__table__))
_INSERT_MANY = insert(OutboxMessage.__table__).returning(OutboxMessage.__table__.c.id,
                                                         sort_by_parameter_order=True)


@dataclass(frozen=True)
class Queued:
    """What was queued (the row itself is written by a `stepsql` statement: this runs for
    every message of every transition)."""

    id: int
    message_id: str
    template: str
    to_addrs: list[str]
    subject: str
    dedupe_key: str | None = None


@functools.lru_cache(maxsize=8)
def _domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].partition("@")[2] or "appointer.localhost"


def message_id(mail_from: str, at: dt.datetime) -> str:
    """A Message-ID unique to this message: the moment it was written (`at`, real time: its
    microseconds since 1970, fixed-width hex) then 64 random bits. Led by the time, a unit of
    work's new ids sort after every older one, so the index that keeps them unique grows at
    its end instead of being written at a random place for each message."""
    micros = (at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"<{micros:014x}.{secrets.token_hex(8)}@{_domain(mail_from)}>"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def enqueue(tx: Tx, workflow, ctx, template: str, recipient, link: str | None = None,
            dedupe_key: str | None = None, extra: dict | None = None,
            base_context: dict | None = None, case_state: str | None = None) -> Queued:
    """Render `template` for `recipient` about the case in `ctx` and queue it.
    `base_context`: the workflow's case context, when the caller already has it.
    `case_state`: the case's state the message is written for (cancelled when it leaves it)."""
    context = dict(base_context) if base_context is not None else (
        workflow.hooks.context(ctx) if workflow is not None else {})
    context.update(recipient=recipient, link=link, **(extra or {}))
    return enqueue_rendered(
        tx, template, recipient, context,
        case_type=workflow.case_type if workflow is not None else None,
        case_id=ctx.case.id if ctx is not None else None,
        reply_to=reply_to(tx, ctx), dedupe_key=dedupe_key, case_state=case_state,
    )


def enqueue_rendered(tx: Tx, template: str, recipient, context: dict, case_type=None,
                     case_id=None, reply_to=None, dedupe_key=None, case_state=None) -> Queued:
    """Render one message and queue it."""
    return insert_rows(tx, [render_row(tx, template, recipient, context, case_type=case_type,
                                       case_id=case_id, reply_to=reply_to,
                                       dedupe_key=dedupe_key, case_state=case_state)])[0]


def render_row(tx: Tx, template: str, recipient, context: dict, case_type=None, case_id=None,
               reply_to=None, dedupe_key=None, case_state=None) -> dict:
    """Render a message into the values of its outbox row (not stored yet)."""
    return render_rows(tx, template, [recipient], context, case_type=case_type,
                       case_id=case_id, reply_to=reply_to, dedupe_key=dedupe_key,
                       case_state=case_state)[0]


def render_rows(tx: Tx, template: str, recipients: list, context: dict, case_type=None,
                case_id=None, reply_to=None, dedupe_key=None, case_state=None,
                memo: dict | None = None) -> list[dict]:
    """The outbox rows (not stored yet) of one message to each of `recipients`, in their
    order, each in the recipient's language: rendered once for all who share a language
    where the template allows (`render_for`; `memo` as there)."""
    by_lang: dict[str, list] = {}
    for r in recipients:
        by_lang.setdefault(getattr(r, "lang", None) or tx.settings.lang, []).append(r)
    rendered = {}
    for lang, people in by_lang.items():
        for r, msg in zip(people, render_for(tx.settings.templates_dir, template, lang, context,
                                              people, memo), strict=True):
            rendered[id(r)] = (lang, msg)
    now, written = tx.clock.now(), tx.clock.real_now()
    rows = []
    for r in recipients:
        lang, msg = rendered[id(r)]
        rows.append(dict(
            message_id=message_id(tx.settings.mail_from, written),
            dedupe_key=dedupe_key,
            case_type=case_type,
            case_id=case_id,
            case_state=case_state,
            template=template,
            lang=lang,
            to_addrs=[r.email],
            reply_to=reply_to,
            subject=msg.subject,
            body_text=msg.text,
            body_html=msg.html,
            status="queued",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        ))
    return rows


def insert_rows(tx: Tx, rows: list[dict]) -> list[Queued]:
    """Store rendered rows; one statement for one row, one executemany for many — the
    reminder run queues thousands at once. On SQLite the many get their ids as SQLite would
    give them (`bulk.next_ids`: SQLAlchemy's insert returning ids in order runs one statement
    per row there); elsewhere one executemany returns the ids in order."""
    if not rows:
        return []
    conn = tx.connection
    if len(rows) == 1:
        ids = [_INSERT.insert(conn, rows[0])]
    elif bulk.is_sqlite(conn):
        ids = bulk.next_ids(conn, OutboxMessage.__table__, len(rows))
        _INSERT.insert_many(conn, [{"id": i, **r} for i, r in zip(ids, rows, strict=True)])
    else:
        ids = list(conn.execute(_INSERT_MANY, rows).scalars())
    return [Queued(i, r["message_id"], r["template"], r["to_addrs"], r["subject"],
                   r["dedupe_key"]) for i, r in zip(ids, rows, strict=True)]


_O = OutboxMessage.__table__
_UNSENT = and_(_O.c.case_type == bindparam("p_case_type"), _O.c.case_id == bindparam("p_case_id"),
               _O.c.status == "queued",
               or_(_O.c.lease_until.is_(None), _O.c.lease_until < bindparam("p_now")))
# The case's unsent mail written for the state it leaves (p_state). Most steps leave none
# behind: the engine asks whether there is some in the statement that reads the audit
# chain's head (`audit.read_before`), and runs the UPDATE below only when there is — an
# UPDATE matching no row costs several times that (bench/peers_bench.py, appointer-engine).
LEFT_BEHIND = and_(_UNSENT, _O.c.case_state == bindparam("p_state"))
_CANCEL = Statement(update(_O).where(LEFT_BEHIND)
                    .values(status="cancelled", last_error=bindparam("p_why"),
                            lease_until=None, claimed_by=None)
                    .returning(_O.c.id, _O.c.template))


def cancel_unsent(tx: Tx, case_type: str, case_id: int, state: str, why: str) -> list:
    """The case left `state`: its messages written for that state and not yet sent (queued,
    and not held by a sender right now: a message a sender claimed since the engine looked
    is left to it) are cancelled, never sent. The engine runs this when a case leaves a
    state that sends mail and some waits (`LEFT_BEHIND`). Returns (id, template) rows of
    what it cancelled."""
    return _CANCEL.rows(tx.connection, {"p_case_type": case_type, "p_case_id": case_id,
                                        "p_state": state, "p_now": tx.clock.now(), "p_why": why})


def unsent_to(tx: Tx, case_type: str, case_id: int, address: str) -> list:
    """The case's messages not yet sent (and not being sent) whose To is `address`:
    (id, template, case_state) rows."""
    rows = tx.connection.execute(
        select(_O.c.id, _O.c.template, _O.c.case_state, _O.c.to_addrs).where(_UNSENT),
        {"p_case_type": case_type, "p_case_id": case_id, "p_now": tx.clock.now()})
    return [r for r in rows if address in (r.to_addrs or [])]


def cancel_ids(tx: Tx, ids: list[int], why: str) -> None:
    """Cancel these unsent messages (a corrected address: they went to the old one)."""
    if ids:
        tx.connection.execute(
            update(_O).where(_O.c.id.in_(ids), _O.c.status == "queued")
            .values(status="cancelled", last_error=why, lease_until=None, claimed_by=None))


def reply_to(tx: Tx, ctx) -> str | None:
    """The acting region's contact: the acting coordinator's region, else the case's."""
    if ctx is None:
        return None
    region = ctx.actor.region or getattr(ctx.case, "appointing_region", None)
    if not region:
        return None
    row = lookups.region(tx, region)
    return row.contact_email if row is not None else None


# -- what `appointer mail list` and `mail retry` do --------------------------------------------
def queue_status(session, now, failed_only: bool = False, limit: int = 200,
                 everything: bool = False) -> dict:
    """Counts by status, the age of the oldest queued message (the figure that says mail is
    stuck), and the messages not yet sent (or only the failed ones; or, `everything`, also the
    sent and cancelled ones)."""
    from sqlalchemy import func
    from sqlmodel import select

    counts = {"queued": 0, "sent": 0, "failed": 0}
    counts.update(dict(session.exec(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()))
    oldest = session.exec(select(func.min(OutboxMessage.created_at))
                          .where(OutboxMessage.status == "queued")).one()
    wanted = ["failed"] if failed_only else ["queued", "failed"]
    if everything and not failed_only:
        wanted = sorted(counts)
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.status.in_(wanted))
                        .order_by(OutboxMessage.id).limit(limit)).all()
    age = None
    if oldest is not None:
        age = max(0, int((now - _aware(oldest)).total_seconds()))
    from appointer.db import db_now

    leases_now = db_now(session.connection())  # leases follow the database's clock
    return {
        "counts": counts,
        "oldest_queued_at": _aware(oldest) if oldest is not None else None,
        "oldest_queued_age_seconds": age,
        "messages": [message_dict(r, leases_now) for r in rows],
        "more": max(0, sum(counts[s] for s in wanted) - len(rows)),
    }


def message_dict(row: OutboxMessage, now) -> dict:
    """A message for `mail list`; `now` (the database's clock) tells a live lease."""
    leased = row.lease_until is not None and _aware(row.lease_until) > now
    return {
        "id": row.id, "status": row.status, "template": row.template, "to": list(row.to_addrs),
        "subject": row.subject, "case_type": row.case_type, "case_id": row.case_id,
        "attempts": row.attempts, "created_at": _aware(row.created_at),
        "next_attempt_at": _aware(row.next_attempt_at) if row.status == "queued" else None,
        "being_sent": leased and row.status == "queued",
        "last_error": row.last_error, "sent_at": _aware(row.sent_at) if row.sent_at else None,
        "message_id": row.message_id,
    }


def retry(tx: Tx, ids: list[int] | None = None, all_failed: bool = False,
          actor=None) -> list[OutboxMessage]:
    """Queue messages again, due now, with a fresh count of attempts: the failed ones a
    coordinator has fixed the cause of, or queued ones to try before their backoff ends.
    A coordinator's act: one audit row per message (case type "outbox")."""
    from appointer import audit
    from appointer.errors import Forbidden

    if actor is None or actor.kind != "coordinator":
        raise Forbidden("who is acting? Retrying mail is a coordinator's act: pass --as EMAIL")
    from sqlmodel import select

    from appointer.db import db_now
    from appointer.errors import InvalidInput, NotFound

    session, now = tx.session, tx.clock.now()
    leases_now = db_now(session.connection())  # leases follow the database's clock
    if all_failed:
        rows = list(session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")))
    else:
        rows = []
        for message_id in ids or []:
            row = session.get(OutboxMessage, message_id)
            if row is None:
                raise NotFound(f"no message {message_id} in the outbox; see `appointer mail list`")
            if row.status == "sent":
                when = _aware(row.sent_at).strftime("%Y-%m-%d %H:%M")
                raise InvalidInput(f"message {message_id} was sent at {when} UTC; there is "
                                   "nothing to retry")
            if row.status == "cancelled":
                raise InvalidInput(f"message {message_id} was cancelled ({row.last_error}); it "
                                   "no longer applies and is not sent")
            if row.lease_until is not None and _aware(row.lease_until) > leases_now:
                raise InvalidInput(f"message {message_id} is being sent right now by "
                                   f"{row.claimed_by}; look again in a moment")
            rows.append(row)
    for row in rows:
        before = (row.status, row.attempts)
        row.status, row.attempts, row.next_attempt_at = "queued", 0, now
        row.lease_until = row.claimed_by = None
        session.add(row)
        audit.record(tx, "outbox", row.id, "retry", before[0], "queued", actor,
                     f"message {row.id} ({row.template}) queued again",
                     changes={"attempts": (before[1], 0)})
    return rows


def _aware(moment):
    import datetime as dt

    if moment is not None and moment.tzinfo is None:  # some databases hand back naive UTC
        return moment.replace(tzinfo=dt.UTC)
    return moment
