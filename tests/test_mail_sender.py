"""Delivery over real SMTP (aiosmtpd on an ephemeral port): nothing lost, nothing doubled,
one bad message never holds up the rest, an outage leaves everything queued."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from appointer import db
from appointer import settings as settings_mod
from appointer.clock import Clock
from appointer.mail import sender
from appointer.mail.sender import MAX_ATTEMPTS, send_outbox
from appointer.models import OutboxMessage
from appointer.outbox import message_id

BIN = Path(sys.executable).parent


def queue(settings, clock, *recipients, **fields) -> list[int]:
    """Outbox rows as a transition writes them; a recipient may be a list (several To)."""
    with db.transaction(settings, clock) as tx:
        now = clock.now()
        rows = [OutboxMessage(
            message_id=message_id(settings.mail_from, clock.real_now()), template="test.note",
            to_addrs=r if isinstance(r, list) else [r],
            subject=f"Melding {i}", body_text=f"Hei, melding {i}\n",
            body_html=f"<p>Hei, melding {i}</p>\n", created_at=now, next_attempt_at=now,
            **{"reply_to": "contact@vest.example", **fields}) for i, r in enumerate(recipients)]
        tx.session.add_all(rows)
        tx.session.flush()
        return [r.id for r in rows]


def rows(settings, clock) -> dict[int, OutboxMessage]:
    with db.transaction(settings, clock) as tx:
        return {r.id: r for r in tx.session.exec(select(OutboxMessage))}


def free_port() -> int:
    """A port nothing listens on (a server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mailer(initialised, smtp_sink):
    return settings_mod.replace(initialised, smtp_port=smtp_sink.port,
                                mail_from="Appointer <appointer@rhf.example>")


def test_everything_due_is_delivered_once_with_its_own_headers(mailer, clock, smtp_sink, steps):
    """Real messages from real transitions arrive once each, as multipart/alternative with the
    row's Message-ID, Date, From, To and Reply-To; a second run has nothing to send."""
    sid = steps.service()
    for seat in ("region:vest", "region:midt", "user:1"):
        steps.propose(sid, seat)
    report = send_outbox(mailer, clock)
    assert (report.sent, report.retry, report.failed, report.error) == (3, 0, 0, None)
    stored = rows(mailer, clock)
    assert all(r.status == "sent" and r.sent_at and r.attempts == 1 for r in stored.values())
    got = {m["Message-ID"]: m for m in smtp_sink.messages()}
    assert set(got) == {r.message_id for r in stored.values()}
    for row in stored.values():
        msg = got[row.message_id]
        assert msg["From"] == "Appointer <appointer@rhf.example>"
        assert msg["To"] == row.to_addrs[0] and msg["Reply-To"] == row.reply_to
        assert email.utils.parsedate_to_datetime(msg["Date"]) == row.created_at.replace(
            microsecond=0)
        assert msg.get_content_type() == "multipart/alternative"
        assert msg.get_body(("html",)).get_content().startswith("<!DOCTYPE html>")
    assert [r.mail_from for r in smtp_sink.received] == ["appointer@rhf.example"] * 3
    assert send_outbox(mailer, clock).sent == 0
    assert len(smtp_sink.received) == 3


def test_a_server_that_is_down_leaves_every_message_queued_for_a_later_run(mailer, clock,
                                                                           smtp_sink):
    """Nothing is lost and no attempt is used up while the server is down; the next run
    delivers every message once."""
    ids = queue(mailer, clock, *[f"m{i}@x.example" for i in range(5)])
    down = settings_mod.replace(mailer, smtp_port=free_port())
    report = send_outbox(down, clock)
    assert report.sent == report.retry == report.failed == 0
    assert report.not_attempted == 5 and "cannot reach the SMTP server" in report.error
    for row in rows(mailer, clock).values():
        assert (row.status, row.attempts, row.claimed_by, row.lease_until) == ("queued", 0, None,
                                                                              None)
        assert row.last_error.startswith("not tried yet: cannot reach")
    report = send_outbox(mailer, clock)
    assert (report.sent, report.error) == (5, None)
    received = [m["Message-ID"] for m in smtp_sink.messages()]
    assert sorted(received) == sorted(rows(mailer, clock)[i].message_id for i in ids)


def test_a_permanent_refusal_fails_that_message_and_the_others_go(mailer, clock, smtp_sink):
    """A 5xx marks that row failed with the server's answer; the queue keeps moving."""
    smtp_sink.refuse["nobody@x.example"] = "550 5.1.1 No such user here"
    ids = queue(mailer, clock, "a@x.example", "nobody@x.example", "b@x.example", "c@x.example")
    report = send_outbox(mailer, clock)
    assert (report.sent, report.failed, report.retry) == (3, 1, 0)
    stored = rows(mailer, clock)
    bad = stored[ids[1]]
    assert bad.status == "failed"
    assert bad.last_error == "all recipients refused: nobody@x.example: 550 5.1.1 No such user here"
    assert [stored[i].status for i in (ids[0], ids[2], ids[3])] == ["sent"] * 3
    assert sorted(to for r in smtp_sink.received for to in r.rcpt_tos) == [
        "a@x.example", "b@x.example", "c@x.example"]
    assert report.problems == [{"id": bad.id, "outcome": "failed", "reason": bad.last_error}]


def test_a_temporary_refusal_is_tried_again_after_a_backoff(mailer, clock, smtp_sink):
    """A 4xx puts the row back with one attempt counted and a later time (by the database's
    clock, whatever --today says); it is not tried again before then, and is delivered once
    the server takes it."""
    smtp_sink.refuse["busy@x.example"] = "450 4.2.1 Mailbox busy, try later"
    [busy, ok] = queue(mailer, clock, "busy@x.example", "ok@x.example")
    before = dt.datetime.now(dt.UTC)
    report = send_outbox(mailer, clock)
    assert (report.sent, report.retry) == (1, 1)
    row = rows(mailer, clock)[busy]
    assert (row.status, row.attempts) == ("queued", 1)
    assert "450 4.2.1 Mailbox busy" in row.last_error
    assert sender.BACKOFF[0] <= row.next_attempt_at - before < sender.BACKOFF[0] + dt.timedelta(
        seconds=30)
    later = Clock(clock.today() + dt.timedelta(days=1))
    assert send_outbox(mailer, later).retry == 0  # not due yet, even with a later --today
    del smtp_sink.refuse["busy@x.example"]
    _age(mailer, "next_attempt_at", minutes=2)  # the backoff has passed
    assert send_outbox(mailer, clock).sent == 1
    assert rows(mailer, clock)[busy].status == "sent"
    assert rows(mailer, clock)[ok].attempts == 1


def _age(settings, column: str, minutes: int) -> None:
    """As if `minutes` had passed: move a time column of every row back (the database's
    clock cannot be set, and it is the one leases and retries follow)."""
    import dbsql

    with dbsql.connect(settings.db) as con:
        moved = (f"{column} - interval '{minutes} minutes'" if dbsql.is_postgres(settings.db)
                 else f"strftime('%Y-%m-%d %H:%M:%f', {column}, '-{minutes} minutes')")
        con.execute(f"UPDATE outboxmessage SET {column} = {moved} WHERE {column} IS NOT NULL")


@pytest.mark.parametrize("answer, outcome", [("451 4.3.0 Queue full", "queued"),
                                             ("554 5.6.0 Message rejected", "failed")])
def test_a_refused_message_body_is_retried_or_failed_by_the_answer(mailer, clock, smtp_sink,
                                                                   answer, outcome):
    """DATA refused: 4xx is temporary, 5xx permanent, and the server's words are kept."""
    smtp_sink.fail_data = answer
    queue(mailer, clock, "a@x.example", "b@x.example")
    send_outbox(mailer, clock)
    for row in rows(mailer, clock).values():
        assert (row.status, row.last_error, row.attempts) == (outcome, answer, 1)


@pytest.mark.parametrize("answer", ["432 4.3.2 Concurrent connections limit exceeded",
                                    "550 5.7.60 Client does not have permissions to send as "
                                    "this sender"])
def test_a_refused_sender_stops_the_run_and_fails_no_message(mailer, clock, smtp_sink, answer):
    """A relay refusing our From address (a setup error) or the connection (its connection
    limit) is not the messages' fault: nothing is failed or counted, the run says why."""
    smtp_sink.refuse_mail = answer
    queue(mailer, clock, "a@x.example", "b@x.example", "c@x.example")
    report = send_outbox(mailer, clock)
    assert (report.sent, report.retry, report.failed, report.not_attempted) == (0, 0, 0, 3)
    assert report.error == ("the SMTP server refused the sender appointer@rhf.example "
                            f"(APPOINTER_MAIL_FROM): {answer}")
    assert {(r.status, r.attempts) for r in rows(mailer, clock).values()} == {("queued", 0)}
    smtp_sink.refuse_mail = None
    assert send_outbox(mailer, clock).sent == 3


def test_a_message_gives_up_after_the_last_attempt(mailer, clock, smtp_sink):
    """Temporary failures do not go on for ever: the last allowed attempt marks it failed."""
    smtp_sink.refuse["busy@x.example"] = "452 4.2.2 Over quota"
    [busy] = queue(mailer, clock, "busy@x.example", attempts=MAX_ATTEMPTS - 1)
    report = send_outbox(mailer, clock)
    assert report.failed == 1
    row = rows(mailer, clock)[busy]
    assert row.status == "failed"
    assert row.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts: all recipients")


def test_one_unsendable_message_does_not_hold_up_the_queue(mailer, clock, smtp_sink):
    """An address no server will take fails at once, first in line or not."""
    ids = queue(mailer, clock, "not an address <@>", "a@x.example", "b@x.example")
    report = send_outbox(mailer, clock)
    stored = rows(mailer, clock)
    assert stored[ids[0]].status == "failed" and stored[ids[0]].last_error
    assert report.sent == 2 and len(smtp_sink.received) == 2


def test_a_partial_refusal_is_sent_and_the_refused_address_noted(mailer, clock, smtp_sink):
    """A message to several people is sent to those the server takes; who was refused is on
    the row for a coordinator to see."""
    smtp_sink.refuse["gone@x.example"] = "550 5.1.1 Gone"
    [row_id] = queue(mailer, clock, ["here@x.example", "gone@x.example"])
    report = send_outbox(mailer, clock)
    assert (report.sent, report.partial) == (1, 1)
    row = rows(mailer, clock)[row_id]
    assert row.status == "sent"
    assert row.last_error == "sent, but refused for: gone@x.example: 550 5.1.1 Gone"
    assert smtp_sink.received[0].rcpt_tos == ["here@x.example"]


def test_a_leased_row_is_left_to_its_sender_and_taken_over_when_the_lease_runs_out(
        mailer, clock, smtp_sink):
    """A row another sender holds is not touched; a row whose sender crashed (its lease ran
    out) is sent by the next run, with the Message-ID it always had."""
    now = dt.datetime.now(dt.UTC)  # leases are in the database's (real) time
    [held] = queue(mailer, clock, "held@x.example", claimed_by="other:1/1",
                   lease_until=now + dt.timedelta(minutes=4))
    [crashed] = queue(mailer, clock, "crashed@x.example", claimed_by="dead:2/1",
                      lease_until=now - dt.timedelta(seconds=1))
    report = send_outbox(mailer, clock)
    assert report.sent == 1
    stored = rows(mailer, clock)
    assert (stored[held].status, stored[held].claimed_by) == ("queued", "other:1/1")
    assert (stored[crashed].status, stored[crashed].claimed_by) == ("sent", None)
    assert [m["Message-ID"] for m in smtp_sink.messages()] == [stored[crashed].message_id]


def test_a_resend_after_a_crash_is_the_same_message(mailer, clock, smtp_sink):
    """At least once: if the outcome was never written (a crash after the server's 250), the
    message goes again with the same Message-ID and Date, so mail clients fold the two."""
    [row_id] = queue(mailer, clock, "a@x.example")
    send_outbox(mailer, clock)
    with db.transaction(mailer, clock) as tx:  # as if the sender died before writing "sent"
        row = tx.session.get(OutboxMessage, row_id)
        row.status, row.sent_at, row.claimed_by = "queued", None, "dead:1/1"
        row.lease_until = clock.now() - dt.timedelta(seconds=1)
    send_outbox(mailer, clock)
    first, second = smtp_sink.messages()
    assert first["Message-ID"] == second["Message-ID"] == rows(mailer, clock)[row_id].message_id
    assert first["Date"] == second["Date"]


def test_claims_and_lease_renewal_follow_the_database_clock(mailer, clock):
    """A claim holds its rows for the lease, measured by the database's clock; renewing
    extends it; after it has run out another sender may take them."""
    queue(mailer, clock, "a@x.example", "b@x.example", "c@x.example")
    engine = db.get_engine(mailer)
    lease = dt.timedelta(minutes=5)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=1)  # SQLite keeps ms
    mine = sender._claim(engine, "me/1", 2, lease)
    assert [r.to_addrs for r in mine] == [["a@x.example"], ["b@x.example"]]
    assert [r.to_addrs for r in sender._claim(engine, "you/1", 10, lease)] == [["c@x.example"]]
    assert sender._claim(engine, "you/2", 10, lease) == []  # all held
    leases = {r.claimed_by: r.lease_until for r in rows(mailer, clock).values()}
    assert start + lease <= leases["me/1"] < start + lease + dt.timedelta(seconds=30)
    _age(mailer, "lease_until", minutes=4)
    assert sender._claim(engine, "you/3", 10, lease) == []  # a minute left on each
    sender._renew(engine, "me/1", lease)  # back to a full lease
    _age(mailer, "lease_until", minutes=2)
    # the unrenewed claim on c has run out, the renewed one on a and b has not
    taken = sender._claim(engine, "you/4", 10, lease)
    assert [r.to_addrs for r in taken] == [["c@x.example"]]
    _age(mailer, "lease_until", minutes=10)
    taken = sender._claim(engine, "you/5", 10, lease)
    assert [r.to_addrs for r in taken] == [["a@x.example"], ["b@x.example"], ["c@x.example"]]


def test_limit_sends_at_most_that_many(mailer, clock, smtp_sink):
    """`--limit N` sends N and leaves the rest queued, oldest first."""
    ids = queue(mailer, clock, *[f"m{i}@x.example" for i in range(5)])
    assert send_outbox(mailer, clock, limit=2).sent == 2
    assert [rows(mailer, clock)[i].status for i in ids] == ["sent"] * 2 + ["queued"] * 3


def test_the_password_is_never_shown(mailer, clock, cli, db_path):
    """A login the server refuses (this one offers no AUTH) stops the run with a message that
    names the server and user, never the password; the settings' repr hides it too."""
    queue(mailer, clock, "a@x.example")
    secret = "s3cr3t-Pa55word"
    env = {"APPOINTER_SMTP_PORT": str(mailer.smtp_port), "APPOINTER_SMTP_USER": "appointer",
           "APPOINTER_SMTP_PASSWORD": secret}
    result = cli("mail", "send", expect=1, env=env)
    assert "127.0.0.1" in result.output and secret not in result.output
    report = send_outbox(settings_mod.replace(mailer, smtp_user="appointer",
                                              smtp_password=secret), clock)
    assert report.error and secret not in json.dumps(report.as_dict())
    assert secret not in repr(settings_mod.replace(mailer, smtp_password=secret))
    assert rows(mailer, clock)[1].status == "queued"


@pytest.mark.slow
def test_two_overlapping_send_runs_deliver_each_message_exactly_once(mailer, clock, db_path):
    """Two `appointer mail send` processes at once (cron overlapping a coordinator), each with
    its own connections, against a server slow enough that they overlap: every message
    arrives exactly once, and both runs did part of the work."""
    from appointer.mail.sink import Sink

    n = 300
    queue(mailer, clock, *[f"m{i}@x.example" for i in range(n)])
    with Sink(delay=0.004) as slow:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("APPOINTER_")},
               "APPOINTER_SMTP_PORT": str(slow.port), "APPOINTER_SMTP_CONNECTIONS": "2"}
        argv = [str(BIN / "appointer"), "--db", db_path, "--today", clock.today().isoformat(),
                "mail", "send", "--json"]
        procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        outs = [p.communicate(timeout=60) for p in procs]
        received = slow.messages()
    assert [p.returncode for p in procs] == [0, 0], outs
    reports = [json.loads(out) for out, _ in outs]
    assert all(r["sent"] > 0 for r in reports), reports  # they really overlapped
    assert sum(r["sent"] for r in reports) == n
    ids = [m["Message-ID"] for m in received]
    assert len(ids) == len(set(ids)) == n
    assert set(ids) == {r.message_id for r in rows(mailer, clock).values()}
    assert {r.status for r in rows(mailer, clock).values()} == {"sent"}
