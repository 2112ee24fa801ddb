"""A sender killed mid-drain (kill -9) sends again at most the messages that were on the
wire; two senders whose --today differ never send a message twice; a permanent failure is
not silent (exit 3, listed); a From address with a line break is refused at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dbsql
import pytest

from appointer.mail.sink import Sink

BIN = Path(sys.executable).parent
CONNECTIONS = 4


def fill(db: str, n: int) -> set[str]:
    """`n` queued messages, as transitions write them; returns their Message-IDs."""
    with dbsql.connect(db) as con:
        con.executemany(
            "INSERT INTO outboxmessage (message_id, template, lang, to_addrs, subject, "
            "body_text, body_html, status, attempts, created_at, next_attempt_at) VALUES "
            "(?, 'test.note', 'nb', ?, ?, 'Hei\n', '<p>Hei</p>\n', 'queued', 0, "
            "'2026-03-02 08:00:00.000000', '2026-03-02 08:00:00.000000')",
            [(f"<m{i}@rhf.example>", f'["m{i}@x.example"]', f"Melding {i}") for i in range(n)])
    return {f"<m{i}@rhf.example>" for i in range(n)}


def leases_run_out(db: str) -> None:
    """As if the 5-minute lease of a killed sender had passed (the database's clock cannot be
    set): its claimed rows become free for the next run."""
    with dbsql.connect(db) as con:
        con.execute("UPDATE outboxmessage SET lease_until = '2000-01-01 00:00:00.000000' "
                    "WHERE status = 'queued' AND lease_until IS NOT NULL")


def sender(db: str, port: int, today: str = "2026-03-02", *extra) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("APPOINTER_")},
           "APPOINTER_SMTP_PORT": str(port), "APPOINTER_SMTP_CONNECTIONS": str(CONNECTIONS)}
    return subprocess.Popen([str(BIN / "appointer"), "--db", db, "--today", today, "mail",
                             "send", *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def kill_9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)


def ids(sink: Sink) -> list[str]:
    with sink.lock:
        received = list(sink.received)
    return [r.message["Message-ID"] for r in received]


def arrived(sink: Sink) -> int:
    """How many messages the server took so far. (Polled every few ms: parsing them all here,
    under the lock the server records each message with, would slow the server down.)"""
    with sink.lock:
        return len(sink.received)


@pytest.mark.slow
def test_kill_9_mid_drain_resends_at_most_what_was_in_flight(initialised):
    """Five `mail send` processes killed with SIGKILL while delivering, then a full drain:
    every message arrives, none more than twice, and the duplicates are at most one per
    connection per kill (the outcomes are stored as the server answers)."""
    wanted = fill(initialised.db, 160)
    kills = 0
    with Sink(delay=0.003) as sink:
        for _ in range(5):
            before = arrived(sink)
            proc = sender(initialised.db, sink.port)
            deadline = time.monotonic() + 10
            while arrived(sink) < before + 20 and time.monotonic() < deadline:
                time.sleep(0.002)
            kill_9(proc)
            kills += 1
            leases_run_out(initialised.db)
        final = sender(initialised.db, sink.port)
        out, err = final.communicate(timeout=60)
        got = Counter(ids(sink))
    assert final.returncode == 0, err
    assert set(got) == wanted  # nothing lost
    duplicates = sum(n - 1 for n in got.values())
    assert duplicates <= kills * CONNECTIONS, (duplicates, got.most_common(5))
    assert max(got.values()) <= 2
    with dbsql.connect(initialised.db) as con:
        assert con.execute("SELECT DISTINCT status FROM outboxmessage").fetchall() == [("sent",)]


@pytest.mark.slow
def test_two_senders_a_day_apart_never_send_a_message_twice(initialised):
    """Two senders at once, one run with --today a day later than the other (a wrong clock,
    a cron job with a pinned date): leases follow the database's clock, so each message
    arrives exactly once."""
    wanted = fill(initialised.db, 300)
    with Sink(delay=0.02) as slow:
        first = sender(initialised.db, slow.port, "2026-03-02")
        deadline = time.monotonic() + 20
        while arrived(slow) < 8 and time.monotonic() < deadline:
            time.sleep(0.005)  # the first holds its claim when the second, "a day later", starts
        procs = [first, sender(initialised.db, slow.port, "2026-03-03")]
        outs = [p.communicate(timeout=60) for p in procs]
        got = Counter(ids(slow))
    assert [p.returncode for p in procs] == [0, 0], outs
    assert set(got) == wanted and max(got.values()) == 1


def test_a_permanent_failure_exits_3_and_is_listed(initialised, cli, smtp_sink):
    """A 550 fails that message for good: `mail send` says how many failed and exits 3 (cron
    mails it), `mail list --failed` shows it with the server's answer; `tick` exits 3 too."""
    fill(initialised.db, 3)
    smtp_sink.refuse["m1@x.example"] = "550 5.1.1 No such user here"
    env = {"APPOINTER_SMTP_PORT": str(smtp_sink.port)}
    result = cli("mail", "send", expect=3, env=env)
    assert "sent 2, to retry later 0, failed 1" in result.stdout
    assert "1 message(s) failed permanently" in result.stderr
    listed = cli.json("mail", "list", "--failed")
    assert [(m["to"], m["last_error"]) for m in listed["messages"]] == [
        (["m1@x.example"], "all recipients refused: m1@x.example: 550 5.1.1 No such user here")]
    cli("mail", "send", env=env)  # nothing failed in this run: 0
    fill_more = dbsql.connect(initialised.db)
    with fill_more:
        fill_more.execute("UPDATE outboxmessage SET status = 'queued', attempts = 0 "
                          "WHERE status = 'failed'")
    fill_more.close()
    tick = cli("tick", expect=3, env=env)
    assert "failed 1" in tick.stderr


def test_a_line_break_in_the_from_address_is_refused_at_start(initialised, cli):
    """APPOINTER_MAIL_FROM with a newline would fail every message: the settings refuse it
    with one clear line and exit 1, before anything is tried."""
    fill(initialised.db, 1)
    result = cli("mail", "send", expect=1,
                 env={"APPOINTER_MAIL_FROM": "Appointer <a@rhf.example>\nBcc: x@evil.example"})
    assert "APPOINTER_MAIL_FROM must be one line" in result.output
    with dbsql.connect(initialised.db) as con:
        assert con.execute("SELECT status, attempts FROM outboxmessage").fetchall() == [
            ("queued", 0)]


def _bodies_to(db: str, address: str) -> list[str]:
    with dbsql.connect(db) as con:
        rows = con.execute("SELECT to_addrs, body_text FROM outboxmessage WHERE template = "
                           "'reminder.digest' ORDER BY id").fetchall()
    return [body for to, body in rows if address in to]


def test_a_failed_message_is_in_the_next_digest_of_its_region_once(steps, cli, smtp_sink):
    """A candidate's address refused with 550: the next weekly digest of the case's region
    (Helse Vest) names the address and the server's answer; other regions' digests do not,
    and the digest a week later does not repeat it."""
    sid = steps.service()
    steps.propose(sid, "region:vest", email="gone@helse-bergen.example")
    smtp_sink.refuse["gone@helse-bergen.example"] = "550 5.1.1 No such user here"
    env = {"APPOINTER_SMTP_PORT": str(smtp_sink.port)}
    cli("mail", "send", expect=3, env=env)
    cli("remind")  # 2026-03-02 is a Monday: digest day
    [vest] = _bodies_to(cli.db_path, "coord@vest.example")
    assert "gone@helse-bergen.example" in vest and "550 5.1.1 No such user here" in vest
    assert all("gone@helse-bergen.example" not in body
               for body in _bodies_to(cli.db_path, "coord@nord.example"))
    cli.today = "2026-03-09"
    cli("remind")
    later = _bodies_to(cli.db_path, "coord@vest.example")[1:]
    assert all("gone@helse-bergen.example" not in body for body in later)


def test_a_failed_message_without_a_region_goes_to_every_region_once(initialised, cli,
                                                                     smtp_sink):
    """A failed message with no case (so no region) is reported to every region's people,
    in one digest each, even in a week with nothing else to say."""
    fill(initialised.db, 1)
    smtp_sink.refuse["m0@x.example"] = "550 5.1.1 No such user here"
    cli("mail", "send", expect=3, env={"APPOINTER_SMTP_PORT": str(smtp_sink.port)})
    cli("remind")
    for code in ("sor-ost", "vest", "midt", "nord"):
        [body] = _bodies_to(initialised.db, f"coord@{code}.example")
        assert "m0@x.example" in body and "550 5.1.1" in body
    cli("remind")
    cli.today = "2026-03-09"
    cli("remind")
    assert len(_bodies_to(initialised.db, "coord@vest.example")) == 1
