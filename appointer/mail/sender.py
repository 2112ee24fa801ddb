"""Drain the outbox over SMTP: `send_outbox(settings, clock)`, behind `appointer mail send`
and the cron tick.

- **Claims.** A run claims a batch of due rows with one conditional UPDATE (queued, due, and
  not leased — or leased by a sender whose lease has run out), stamping its own claim id and
  a lease; on PostgreSQL it first locks the batch with `SELECT … FOR UPDATE SKIP LOCKED`, so
  senders on several machines share the work without waiting for each other. Two
  overlapping runs never hold the same row; a row claimed by a sender that crashed is picked
  up again when the lease runs out. A long batch renews its lease.
- **The database's clock.** Leases and retry times are set and compared in the database's
  own time (`db.db_now`, in the claim's transaction), never the sender's clock or `--today`:
  two senders whose clocks differ still never hold the same row. A message never tried is
  due at once, whatever day it was written for.
- **Delivery.** `smtp_connections` aiosmtplib connections, each reused for many messages,
  send the batch concurrently.
- **Addresses** go out with their domain in IDNA form; a message to a non-ASCII local part
  (`øystein@unn.no`) is sent with SMTPUTF8 where the server offers it, and otherwise fails
  alone, saying so; one whose Reply-To alone needs it goes without that header, saying so.
  An address that cannot be sent drops that connection, never the run.
- **Outcomes**, written as soon as the server has answered (the answers that arrive together
  are written together), each row only if this run still holds its claim; a connection sends
  its next message only once the last one's outcome is stored. So a crash (kill -9) resends
  at most one message per connection: those in flight.
  sent (with any partially refused recipients noted); temporary failure (connection lost,
  timeout, 4xx) → queued again with backoff, until it gives up after MAX_ATTEMPTS; permanent
  failure (5xx, all recipients refused, a message that cannot be built) → failed, with the
  server's answer. One bad message never holds up the others.
- **A server that cannot be reached**, refuses the login or refuses our sender address is not
  the messages' fault: the rows not yet tried go back to the queue untouched (no attempt
  counted) and the run stops, saying why. A later run delivers them. A connection refused on
  its own (a relay's connection limit) leaves its share to the other connections.
- **At least once.** A crash between the server's "250" and the outcome being written means
  the message is sent again after the lease; it keeps its Message-ID and Date.

The password is passed to aiosmtplib only: never printed, logged or put in an error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import socket
import sqlite3
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field

import aiosmtplib
from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError

from appointer.db import (
    db_now,
    describe_problem,
    ensure_current,
    first_line,
    get_engine,
    writing,
)
from appointer.errors import DatabaseProblem
from appointer.mail.message import envelope, envelope_sender, message_bytes
from appointer.models import OutboxMessage

# Wait after the 1st, 2nd, … temporary failure; after the last one the message is failed.
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=15),
           dt.timedelta(hours=1), dt.timedelta(hours=4), dt.timedelta(hours=12),
           dt.timedelta(hours=24))
MAX_ATTEMPTS = len(BACKOFF) + 1  # about two days of trying
LEASE = dt.timedelta(minutes=5)
PER_CONNECTION = 32  # rows claimed per connection per batch

T = OutboxMessage.__table__
_COLUMNS = (T.c.id, T.c.message_id, T.c.template, T.c.to_addrs, T.c.reply_to, T.c.subject,
            T.c.body_text, T.c.body_html, T.c.lang, T.c.created_at, T.c.attempts,
            T.c.next_attempt_at)


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0  # temporary failures, queued again with backoff
    failed: int = 0  # permanent failures (and messages that ran out of attempts)
    partial: int = 0  # sent, with a note on the row (some recipients refused; no Reply-To)
    not_attempted: int = 0  # claimed, but the server could not be reached: back in the queue
    lost_claims: int = 0  # outcomes not written: another sender took the row after our lease
    error: str | None = None  # why the run stopped early
    seconds: float = 0.0
    problems: list[dict] = field(default_factory=list)  # id, outcome, reason

    @property
    def attempted(self) -> int:
        return self.sent + self.retry + self.failed

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Row:
    """A claimed row, detached from any session."""

    id: int
    message_id: str
    template: str
    to_addrs: list
    reply_to: str | None
    subject: str
    body_text: str
    body_html: str
    lang: str
    created_at: dt.datetime
    attempts: int
    next_attempt_at: dt.datetime
    claim: str


@dataclass
class _Outcome:
    row: _Row
    kind: str  # sent | retry | failed | untried
    detail: str | None = None


def send_outbox(settings, clock=None, limit: int | None = None, *,
                connections: int | None = None, lease: dt.timedelta = LEASE) -> SendReport:
    """Deliver what is due; at most `limit` messages. Blocking; runs its own event loop.
    (`clock` is not used: leases and due times follow the database's clock.)"""
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    try:
        return asyncio.run(_drain(settings, clock, limit,
                                  connections or settings.smtp_connections, lease))
    except (DBAPIError, sqlite3.Error) as exc:  # named, without the statement's parameters
        raise (describe_problem(exc, settings) or DatabaseProblem(
            f"the outbox could not be read or written: {first_line(exc)}")) from exc


async def _drain(settings, clock, limit, connections, lease) -> SendReport:
    engine = get_engine(settings)
    ensure_current(engine, settings)
    report = SendReport()
    started = time.perf_counter()
    run_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    recorder = _Recorder(engine, report)
    pool = _Connections(settings, connections, recorder)
    try:
        batch = 0
        while limit is None or report.attempted + report.not_attempted < limit:
            size = connections * PER_CONNECTION
            if limit is not None:
                size = min(size, limit - report.attempted - report.not_attempted)
            batch += 1
            claim = f"{run_id}/{batch}"
            rows = _claim(engine, claim, size, lease)
            if not rows:
                break
            try:
                await _deliver(pool, rows, engine, claim, lease)
            finally:  # also on Ctrl-C: keep what happened, hand back the rest
                recorder.flush()
                rest = [_Outcome(r, "untried", pool.error) for r in rows
                        if r.id not in recorder.done]
                if rest:
                    _record(engine, rest, report)
            if pool.error and report.not_attempted:
                report.error = pool.error
                break
    finally:
        await pool.close()
        report.seconds = round(time.perf_counter() - started, 3)
    return report


async def _deliver(pool, rows, engine, claim, lease) -> None:
    """Send a batch; renew its lease while it takes long (a slow server, timeouts)."""
    task = asyncio.ensure_future(pool.deliver(rows))
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=lease.total_seconds() / 3)
            if done:
                task.result()
                return
            _renew(engine, claim, lease)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


# -- the database side ------------------------------------------------------------------------
def _due(now):
    """Queued, never tried or its retry time come, and not leased (or the lease ran out)."""
    return and_(T.c.status == "queued",
                or_(T.c.attempts == 0, T.c.next_attempt_at <= now),
                or_(T.c.lease_until.is_(None), T.c.lease_until < now))


def _claim(engine, claim: str, size: int, lease: dt.timedelta) -> list[_Row]:
    """One UPDATE takes the rows (the same conditions are checked again on each row, so a
    row another sender took meanwhile is skipped), then reads back what this claim holds.
    "Now" is the database's, read in the same transaction, which holds the write lock."""
    with writing(engine) as conn:
        now = db_now(conn)
        pick = select(T.c.id).where(_due(now)).order_by(T.c.next_attempt_at, T.c.id).limit(size)
        if conn.dialect.name == "sqlite":  # one writer: the UPDATE alone is the claim
            taken = conn.execute(
                update(T).where(T.c.id.in_(pick.scalar_subquery()), _due(now))
                .values(claimed_by=claim, lease_until=now + lease)
            ).rowcount
        else:  # several senders at once: each locks due rows no other one holds, skipping
            # the locked ones instead of waiting (SELECT … FOR UPDATE SKIP LOCKED), then
            # stamps them. (A locking subquery inside the UPDATE may take more than `size`.)
            ids = conn.execute(pick.with_for_update(skip_locked=True)).scalars().all()
            taken = ids and conn.execute(
                update(T).where(T.c.id.in_(ids), _due(now))
                .values(claimed_by=claim, lease_until=now + lease)
            ).rowcount
        if not taken:
            return []
        rows = conn.execute(
            select(*_COLUMNS).where(T.c.claimed_by == claim, T.c.status == "queued")
            .order_by(T.c.next_attempt_at, T.c.id)
        ).all()
    return [_Row(*r, claim=claim) for r in rows]


def _renew(engine, claim: str, lease: dt.timedelta) -> None:
    with writing(engine) as conn:
        now = db_now(conn)
        conn.execute(update(T).where(T.c.claimed_by == claim, T.c.status == "queued")
                     .values(lease_until=now + lease))


_FINISH = (
    update(T)
    .where(T.c.id == bindparam("oid"), T.c.claimed_by == bindparam("claim"))
    .values(status=bindparam("new_status"), attempts=bindparam("new_attempts"),
            next_attempt_at=bindparam("new_next"), last_error=bindparam("new_error"),
            sent_at=bindparam("new_sent_at"), lease_until=None, claimed_by=None)
)
_RELEASE = (
    update(T)
    .where(T.c.id == bindparam("oid"), T.c.claimed_by == bindparam("claim"))
    .values(last_error=bindparam("new_error"), lease_until=None, claimed_by=None)
)


class _Recorder:
    """Writes outcomes as they arrive. `put` returns once the outcome is stored; the outcomes
    of the answers that arrived together (one event-loop turn) share one transaction."""

    def __init__(self, engine, report: SendReport):
        self.engine, self.report = engine, report
        self.pending: list[tuple[_Outcome, asyncio.Future]] = []
        self.done: set[int] = set()  # ids whose outcome is stored
        self.scheduled = False

    async def put(self, outcome: _Outcome) -> None:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((outcome, future))
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)
        await future

    def flush(self) -> None:
        self.scheduled = False
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            _record(self.engine, [o for o, _ in batch], self.report)
        except Exception as exc:  # the senders waiting for it raise it: the run stops
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for outcome, future in batch:
            self.done.add(outcome.row.id)
            if not future.done():
                future.set_result(None)


def _record(engine, outcomes: list[_Outcome], report: SendReport) -> None:
    """Write outcomes in one transaction, timed by the database's clock."""
    finish, release = [], []
    for o in outcomes:
        row = o.row
        if o.kind == "untried":
            report.not_attempted += 1
            release.append({"oid": row.id, "claim": row.claim,
                            "new_error": f"not tried yet: {o.detail}" if o.detail else None})
            continue
        attempts = row.attempts + 1
        values = {"oid": row.id, "claim": row.claim, "new_attempts": attempts,
                  "new_next": row.next_attempt_at, "new_error": o.detail, "new_sent_at": None}
        kind = o.kind
        if kind == "retry" and attempts >= MAX_ATTEMPTS:
            kind, values["new_error"] = "failed", f"gave up after {attempts} attempts: {o.detail}"
        if kind == "sent":
            values.update(new_status="sent")
            report.sent += 1
            report.partial += bool(o.detail)
        elif kind == "retry":
            values.update(new_status="queued", backoff=BACKOFF[attempts - 1])
            report.retry += 1
        else:
            values["new_status"] = "failed"
            report.failed += 1
        if o.detail:
            report.problems.append({"id": row.id, "outcome": kind, "reason": values["new_error"]})
        finish.append(values)
    with writing(engine) as conn:
        now = db_now(conn)
        for values in finish:
            if values["new_status"] == "sent":
                values["new_sent_at"] = now
            elif values["new_status"] == "queued":
                values["new_next"] = now + values.pop("backoff")
        written = 0
        for stmt, params in ((_FINISH, finish), (_RELEASE, release)):
            if params:
                written += conn.execute(stmt, params).rowcount
    if written >= 0:  # drivers that cannot count executemany report -1
        report.lost_claims += len(finish) + len(release) - written


# -- the SMTP side ----------------------------------------------------------------------------
NO_SMTPUTF8 = "the server does not accept non-ASCII addresses (SMTPUTF8)"


class _Connections:
    """`n` SMTP connections, opened when first needed and reused across batches."""

    def __init__(self, settings, n: int, recorder: _Recorder):
        self.settings = settings
        self.recorder = recorder
        self.clients: list[aiosmtplib.SMTP | None] = [None] * max(1, n)
        self.sender = envelope_sender(settings.mail_from)
        self.local_hostname = socket.gethostname() or "localhost"
        self.error: str | None = None

    async def deliver(self, rows: list[_Row]) -> None:
        """Build every message of the batch first, then send: building is CPU work, and
        done between sends it delays every other connection's replies."""
        self.error = None
        queue: deque[tuple[_Row, bytes]] = deque()
        for row in rows:
            try:
                queue.append((row, message_bytes(row, self.settings.mail_from)))
            except Exception as exc:  # a message that cannot be built never will be
                await self.recorder.put(
                    _Outcome(row, "failed", f"cannot build the message: {exc}"))
        workers = [self._work(i, queue)
                   for i in range(min(len(self.clients), len(queue)))]
        await asyncio.gather(*workers)

    async def _work(self, i: int, queue: deque) -> None:
        while queue:
            client = await self._connected(i)
            if client is None or not queue:
                return  # cannot connect: the other connections take the rest, if any can
            row, data = queue.popleft()
            outcome = await self._send(i, client, row, data)
            if outcome is None:  # the session was refused, not the message: this connection
                queue.appendleft((row, data))  # stops, the others carry on if they can
                return
            await self.recorder.put(outcome)  # stored before this connection sends again

    async def _connected(self, i: int) -> aiosmtplib.SMTP | None:
        client = self.clients[i]
        if client is not None and client.is_connected:
            return client
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout,
            local_hostname=self.local_hostname, use_tls=s.smtp_tls == "tls",
            start_tls=s.smtp_tls == "starttls",
            username=s.smtp_user or None, password=(s.smtp_password or None) if s.smtp_user else None,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            self.error = (f"the SMTP server {s.smtp_host}:{s.smtp_port} refused the login of "
                          f"{s.smtp_user!r}: {exc.code} {exc.message}")
            return None
        except (aiosmtplib.SMTPException, OSError) as exc:
            self.error = f"cannot reach the SMTP server {s.smtp_host}:{s.smtp_port}: {_describe(exc)}"
            return None
        self.clients[i] = client
        return client

    def _drop(self, i: int) -> None:
        client, self.clients[i] = self.clients[i], None
        if client is not None:
            client.close()

    async def _send(self, i: int, client: aiosmtplib.SMTP, row: _Row,
                    data: bytes) -> _Outcome | None:
        """The outcome for the message; None when the server refused the sender, which is
        about this connection or the setup (Exchange Online: "432 4.3.2 Concurrent
        connections limit exceeded"; "550 5.7.60" not allowed to send as this address)."""
        try:
            recipients, utf8 = envelope(row)
            refused, _answer = await client.sendmail(self.sender, recipients, data,
                                                     mail_options=["SMTPUTF8"] if utf8 else None)
        except aiosmtplib.SMTPNotSupported:  # raised before MAIL FROM: the session is clean
            return await self._without_reply_to(i, client, row)
        except aiosmtplib.SMTPSenderRefused as exc:
            self._drop(i)
            self.error = (f"the SMTP server refused the sender {self.sender} "
                          f"(APPOINTER_MAIL_FROM): {exc.code} {exc.message}")
            return None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            answers = [(r.recipient, r.code, r.message) for r in exc.recipients]
            kind = "retry" if any(400 <= code < 500 for _, code, _ in answers) else "failed"
            return _Outcome(row, kind, "all recipients refused: " + _answers(answers))
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421 or exc.code < 400:  # the server is closing the connection
                self._drop(i)
            kind = "retry" if exc.code < 500 else "failed"
            return _Outcome(row, kind, f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError) as exc:  # disconnected, timeout, reset
            self._drop(i)
            return _Outcome(row, "retry", _describe(exc))
        except ValueError as exc:  # an address that cannot be put on the wire: raised maybe
            self._drop(i)  # half-way through the envelope, so the next message gets a fresh
            return _Outcome(row, "failed", str(exc))  # session, not "503 nested MAIL"
        if refused:
            answers = [(addr, r.code, r.message) for addr, r in refused.items()]
            return _Outcome(row, "sent", "sent, but refused for: " + _answers(answers))
        return _Outcome(row, "sent")

    async def _without_reply_to(self, i: int, client: aiosmtplib.SMTP,
                                row: _Row) -> _Outcome | None:
        """The server does not offer SMTPUTF8. When only the Reply-To (a region's contact
        such as `servicemiljø@…`) needs it, the message goes without that header, saying so
        (replies then go to the From address; the message itself names the region): a
        missing Reply-To costs less than a message never delivered. A recipient that needs
        it fails that message alone."""
        plain = dataclasses.replace(row, reply_to=None)
        if not row.reply_to or envelope(plain)[1]:
            return _Outcome(row, "failed", NO_SMTPUTF8)
        outcome = await self._send(i, client, plain, message_bytes(plain, self.settings.mail_from))
        if outcome is None:
            return None
        if outcome.kind == "sent":
            note = f"sent without its Reply-To {row.reply_to}: {NO_SMTPUTF8}"
            outcome.detail = f"{note}; {outcome.detail}" if outcome.detail else note
        outcome.row = row
        return outcome

    async def close(self) -> None:
        for i, client in enumerate(self.clients):
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    pass
            self._drop(i)


def _answers(answers) -> str:
    return "; ".join(f"{addr}: {code} {message}" for addr, code, message in answers)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
