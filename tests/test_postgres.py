"""PostgreSQL's own side (run with `--backend postgres`; skipped on SQLite): `db check` on a
server, backup and restore pointing to pg_dump, and the sender's claim that skips rows another
sender holds instead of waiting for them (SELECT … FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading
import time

import dbsql
import pytest
from test_mail_sender import queue, rows

from appointer import db
from appointer import settings as settings_mod
from appointer.mail.sender import send_outbox


@pytest.fixture(autouse=True)
def _postgres_only(backend):
    if backend != "postgres":
        pytest.skip("PostgreSQL only (run with --backend postgres)")


@pytest.fixture
def mailer(initialised, smtp_sink):
    return settings_mod.replace(initialised, smtp_port=smtp_sink.port)


def test_db_check_on_a_server_reports_connection_schema_and_outbox(initialised, cli, clock):
    """`db check` on PostgreSQL: connected, schema current, the outbox's counts; exit 0."""
    data = cli.json("db", "check")
    assert data["state"] == "ok" and data["id"] == initialised.db
    assert data["schema"]["revision"] == data["schema"]["expected"] == db.SCHEMA_REVISION
    assert data["outbox"] == {"queued": 0, "failed": 0, "sent": 0,
                              "oldest_queued_age_seconds": None}
    queue(initialised, clock, "a@x.example")  # written "on" --today, long ago: a warning
    data = cli.json("db", "check")
    assert data["outbox"]["queued"] == 1 and data["state"] == "warnings"
    assert "connected" in cli("db", "check").stdout


def test_db_check_on_an_empty_database_says_run_init(cli):
    """A database with no Appointer schema in it: exit 1 and the command that fixes it."""
    result = cli("db", "check", expect=1)
    assert "appointer init" in result.output and "Traceback" not in result.output


def test_db_check_hides_the_password_of_the_url(initialised):
    """The URL `db check` names never shows the login's password."""
    from appointer import dbserver

    server, name = initialised.db.rsplit("/", 1)
    url = server.replace("postgres@", "postgres:hemmelig-pw@") + "/" + name
    data = dbserver.check(settings_mod.replace(initialised, db=url))
    assert "hemmelig-pw" not in repr(data) and data["state"] == "ok"


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_backup_and_restore_point_to_pg_dump(initialised, cli, tmp_path, command):
    """`db backup` / `db restore` on PostgreSQL refuse in one line naming pg_dump and
    pg_restore, exit 1, and write nothing."""
    target = tmp_path / "copy.sqlite"
    result = cli("db", command, str(target), expect=1)
    assert result.output.startswith("Error: ") and "pg_dump" in result.output
    assert not target.exists()


def test_a_sender_skips_rows_another_one_holds_instead_of_waiting(mailer, clock, smtp_sink):
    """Rows locked by another sender's claim (FOR UPDATE) are skipped, not waited for: a
    second sender delivers the others at once, and the locked ones later, once each."""
    ids = queue(mailer, clock, *[f"m{i}@x.example" for i in range(6)])
    locked = ids[:2]
    con = dbsql.connect(mailer.db)
    con.execute(f"SELECT id FROM outboxmessage WHERE id IN ({locked[0]}, {locked[1]}) "
                "FOR UPDATE").fetchall()  # held until `con` ends its transaction
    try:
        started = time.perf_counter()
        report = send_outbox(mailer, clock)
        took = time.perf_counter() - started
    finally:
        con.commit()
        con.close()
    assert report.sent == 4 and took < db.BUSY_TIMEOUT_MS / 1000, (report, took)
    assert {i for i, r in rows(mailer, clock).items() if r.status == "queued"} == set(locked)
    assert send_outbox(mailer, clock).sent == 2
    assert len(smtp_sink.messages()) == 6


def test_four_senders_at_once_deliver_every_message_exactly_once(mailer, clock, smtp_sink):
    """Four senders in threads (as on four machines) drain one outbox together: every
    message arrives once, and no sender fails or waits out a lock."""
    n = 120
    queue(mailer, clock, *[f"m{i}@x.example" for i in range(n)])
    barrier, reports = threading.Barrier(4), []

    def sender():
        barrier.wait()
        try:
            reports.append(send_outbox(mailer, clock, connections=1))
        except Exception as exc:  # noqa: BLE001 — shown by the assertion below
            reports.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(reports) == 4 and not any(isinstance(r, Exception) or r.error
                                         for r in reports), reports
    assert sum(r.sent for r in reports) == n
    ids = [m["Message-ID"] for m in smtp_sink.messages()]
    assert len(ids) == len(set(ids)) == n
