"""The database file: `db check` tells a sound file from a damaged one; every command on a
damaged or read-only file says so (never a traceback, never "run init", never success);
`db backup` copies a consistent, verified snapshot under a running writer; `db restore`
puts a backup back, keeps what it replaced and refuses while another process uses it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading

import pytest
from conftest import ADMIN

from appointer import db, reference
from appointer.appointments import resolve_actor

# Every test here damages, copies or locks the SQLite file itself (on PostgreSQL, `db check`
# and the refusal of backup/restore are tested in test_postgres.py).
pytestmark = pytest.mark.sqlite_only("the SQLite file itself: its pages, WAL, file "
                                     "permissions, the backup API")

COMMANDS = [("service", "list"), ("agenda",), ("remind",), ("mail", "send"), ("mail", "list"),
            ("coordinator", "add", "--email", "ny@vest.example", "--name", "Ny", "--region",
             "vest"), ("init",)]


def damage(path: str, how: str) -> None:
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:
        if how == "truncated":
            fh.truncate(size // 2)
        elif how == "pages":  # some pages in the middle overwritten (a bad disk, a bad copy)
            fh.seek(4096 * 5)
            fh.write(b"\xde\xad" * 4096 * 3)
        else:  # "garbage": not a database at all
            fh.seek(0)
            fh.write(os.urandom(size))


@pytest.fixture
def closed(initialised):
    """The initialised database, with this process's connections closed (as between two
    commands), so that the file on disk is all there is."""
    db.dispose_all()
    return initialised


def test_check_of_a_sound_database(closed, cli):
    """`db check` on a sound, current database: exit 0, its state, schema and outbox."""
    data = cli.json("db", "check")
    assert (data["id"], data["state"], data["integrity"]) == (closed.db, "ok", ["ok"])
    assert data["schema"]["revision"] == data["schema"]["expected"] == db.SCHEMA_REVISION
    assert data["outbox"] == {"queued": 0, "failed": 0, "sent": 0,
                              "oldest_queued_age_seconds": None}
    assert "integrity: ok" in cli("db", "check", "--quick").stdout


@pytest.mark.parametrize("how", ["truncated", "pages", "garbage"])
def test_every_command_on_a_damaged_file_says_it_is_damaged(closed, cli, how):
    """A damaged file (cut short, pages overwritten, not a database at all): every command
    exits 1 with one line naming the damage and `db check`; none reports success, none
    prints a traceback or suggests `init`; `db check` exits 1 too."""
    damage(closed.db, how)
    for args in COMMANDS:
        result = cli(*args, expect=1)
        assert "is damaged" in result.output and "appointer db check" in result.output, (
            args, result.output)
        assert "Traceback" not in result.output and "run `appointer init`" not in result.output
        db.dispose_all()
    check = cli("db", "check", expect=1)
    assert "damaged" in check.output


def _immutable(path: str, on: bool) -> bool:
    """chattr +i: even root (the tests run as root, and root ignores file permissions)
    cannot write the file, as on a read-only mount."""
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", "+i" if on else "-i", path],
                          capture_output=True).returncode == 0


def test_a_read_only_file_says_read_only_on_every_write(closed, cli):
    """The database file cannot be written (made immutable with chattr +i, which root cannot
    write either: the nearest to a read-only filesystem a test can make): writing commands
    and `init` exit 1 with "read-only"; reading ones still work; never "no database"."""
    if not _immutable(closed.db, True):
        pytest.skip("chattr +i is not available here")
    try:
        for args in [a for a in COMMANDS if a[0] in ("coordinator", "init")]:
            result = cli(*args, expect=1, actor=ADMIN)
            assert "read-only" in result.output and "no Appointer database" not in result.output
            db.dispose_all()
        assert cli("service", "list").stdout.strip() == "(none)"
    finally:
        _immutable(closed.db, False)


def test_a_database_opened_read_only_by_sqlite_says_read_only(closed, cli):
    """SQLite's own read-only open (a `mode=ro` URI, as a read-only mount gives): a write is
    refused with "read-only", not a traceback, and `init` does not report success."""
    ro = cli.__class__(f"sqlite:///file:{closed.db}?mode=ro&uri=true")
    result = ro("coordinator", "add", "--email", "ny@vest.example", "--name", "Ny",
                "--region", "vest", expect=1, actor=ADMIN)
    assert "read-only" in result.output and "Traceback" not in result.output
    db.dispose_all()
    assert "read-only" in ro("init", expect=1).output


def test_backup_under_a_stream_of_changes_holds_every_step_before_it(closed, cli, clock,
                                                                     tmp_path):
    """While a writer commits one change after another, `db backup` makes a copy that
    passes `db check` and holds every change committed before the backup began."""
    stop, committed = threading.Event(), []

    def writer():
        n = 0
        while not stop.is_set():
            with db.transaction(closed, clock) as tx:
                reference.add_coordinator(tx, f"w{n}@vest.example", f"Writer {n}", "vest", actor=resolve_actor(tx.session, ADMIN))
            committed.append(f"w{n}@vest.example")
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(committed) < 20:
            threading.Event().wait(0.01)
        before = list(committed)
        out = cli.json("db", "backup", str(tmp_path / "copy.sqlite"))
    finally:
        stop.set()
        thread.join(30)
    assert out["state"] == "verified" and len(committed) > len(before)
    with sqlite3.connect(tmp_path / "copy.sqlite") as con:
        emails = {r[0] for r in con.execute("SELECT email FROM coordinator")}
    assert set(before) <= emails
    copy = cli.__class__(str(tmp_path / "copy.sqlite"))
    assert copy.json("db", "check")["state"] == "ok"


def test_backup_refuses_to_overwrite_unless_forced(closed, cli, tmp_path):
    """An existing file at the backup's path is kept unless --force is given."""
    target = tmp_path / "copy.sqlite"
    target.write_bytes(b"yesterday's backup")
    assert "exists" in cli("db", "backup", str(target), expect=1).output
    assert target.read_bytes() == b"yesterday's backup"
    cli("db", "backup", str(target), "--force")
    assert target.read_bytes().startswith(b"SQLite format 3\x00")


HOLD = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1])
con.execute("SELECT * FROM alembic_version").fetchall()
print("open", flush=True)
time.sleep(60)
"""


def test_restore_refuses_while_in_use_then_restores_and_keeps_the_old(closed, cli, clock,
                                                                      tmp_path):
    """`db restore` refuses while another process has the database open; once it is closed,
    the backup's content is back and the replaced database is kept beside it."""
    backup = tmp_path / "backup.sqlite"
    cli("db", "backup", str(backup))
    cli("coordinator", "add", "--email", "later@vest.example", "--name", "Later",
        "--region", "vest", actor=ADMIN)
    db.dispose_all()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, closed.db], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        refused = cli("db", "restore", str(backup), expect=1)
        assert "another process is using" in refused.output
    finally:
        holder.kill()
        holder.communicate()
    done = cli.json("db", "restore", str(backup))
    assert done["state"] == "restored" and done["replaced_kept_as"]
    with sqlite3.connect(done["replaced_kept_as"]) as old, sqlite3.connect(closed.db) as new:
        query = "SELECT count(*) FROM coordinator WHERE email = 'later@vest.example'"
        assert (old.execute(query).fetchone(), new.execute(query).fetchone()) == ((1,), (0,))
    assert cli.json("db", "check")["state"] == "ok"


def test_restore_refuses_a_file_that_is_no_good_backup(closed, cli, tmp_path):
    """A damaged file, or a SQLite file that is not an Appointer database, is refused and
    the database is left as it was."""
    damaged = tmp_path / "damaged.sqlite"
    cli("db", "backup", str(damaged))
    damage(str(damaged), "pages")
    assert "not a usable backup" in cli("db", "restore", str(damaged), expect=1).output
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (x)")
    assert "not an Appointer database" in cli("db", "restore", str(other), expect=1).output
    assert cli.json("db", "check")["state"] == "ok"
