"""The SQLite database file: check it, back it up, restore it (`appointer db …`).

- **check**: SQLite's `PRAGMA integrity_check` (or the faster `quick_check`), the schema
  revision against the one this code expects, and the outbox's health (how long the oldest
  queued message has waited, how many failed).
- **backup**: SQLite's online backup API copies the database in one step, from one read
  snapshot: a writer may go on meanwhile, and the copy holds every transaction committed
  before the backup began (and none half). The copy is written beside the target, switched
  out of WAL into a single self-contained file, checked with `integrity_check`, and only
  then renamed into place.
- **restore**: the file must be an Appointer database that passes the check. It refuses
  while any other process has the database open (leaving WAL mode needs the only
  connection, so SQLite itself tells), keeps the replaced database as
  `<db>.replaced-<UTC time>`, and copies the backup in through the same backup API.

Only SQLite files: a PostgreSQL install uses `pg_dump` / `pg_restore` (backup and restore
refuse, saying so), and its check is `dbserver.check`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
from pathlib import Path

from appointer.errors import AppointerError, DatabaseProblem, InvalidInput

HEADER = b"SQLite format 3\x00"


def path_of(settings) -> Path:
    from appointer.db import sqlite_path

    path = sqlite_path(settings)
    if path is None:
        raise InvalidInput("`appointer db` works on a SQLite file; for another database use "
                           "its own tools (PostgreSQL: pg_dump and pg_restore)")
    return Path(path)


def header_problem(path: Path) -> str | None:
    """What is visibly wrong with a database file's header, without reading the rest: not a
    SQLite file, or shorter than its header says (truncated). None when it looks whole. (A
    checkpoint that was cut short may leave the header ahead of the file; the WAL beside it
    then completes it, so the size is compared only when there is no WAL to replay.)"""
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    if not head:
        return None  # an empty file: SQLite makes a new database of it
    if len(head) < 100 or not head.startswith(HEADER):
        return "not a SQLite database file"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]  # the in-header size is valid for this change
    wal = Path(f"{path}-wal")
    if valid and pages and not (wal.exists() and wal.stat().st_size > 0):
        if size < pages * page_size:
            return f"truncated: {size} bytes, its header says {pages * page_size}"
    return None


def _connect(path: Path, readonly: bool = True, timeout: float = 5.0) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    con = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    return con


def integrity(con: sqlite3.Connection, quick: bool = False) -> list[str]:
    """SQLite's own check: [] when the file is sound, else what it found (at most 20)."""
    pragma = "quick_check" if quick else "integrity_check"
    try:
        found = [line for r in con.execute(f"PRAGMA {pragma}(20)")
                 for line in r[0].splitlines() if not line.startswith("***")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if found == ["ok"] else found


def _revision(con: sqlite3.Connection) -> str | None:
    try:
        return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except (sqlite3.DatabaseError, TypeError):
        return None


def check(settings, quick: bool = False) -> dict:
    """The state of the database file: {"id", "state", "problems", "integrity", "schema",
    "outbox"}. `state`: ok | damaged | missing | not_appointer | behind | warnings (and on a
    database server, unreachable)."""
    from appointer.db import SCHEMA_REVISION, sqlite_path

    if sqlite_path(settings) is None:
        from appointer import dbserver

        return dbserver.check(settings)
    path = path_of(settings)
    out: dict = {"id": str(path), "state": "ok", "problems": [], "warnings": [],
                 "integrity": None, "schema": {"revision": None, "expected": SCHEMA_REVISION},
                 "outbox": None, "bytes": None}
    if not path.exists() or path.stat().st_size == 0:
        out.update(state="missing", problems=[f"no database file at {path}; run "
                                              "`appointer init`"])
        return out
    out["bytes"] = path.stat().st_size
    head = header_problem(path)
    if head:
        out.update(state="damaged", integrity=[head], problems=[f"the file is {head}"])
        return out
    try:
        con = _connect(path)
    except sqlite3.Error as exc:
        out.update(state="damaged", problems=[f"cannot open it: {exc}"])
        return out
    with contextlib.closing(con):
        found = integrity(con, quick)
        out["integrity"] = found or ["ok"]
        if found:
            out.update(state="damaged", problems=[f"SQLite's {'quick' if quick else 'integrity'}"
                                                  f"_check found: {'; '.join(found[:5])}"])
            return out
        rev = _revision(con)
        out["schema"]["revision"] = rev
        if rev is None:
            out.update(state="not_appointer",
                       problems=["no Appointer schema in it (no alembic_version)"])
            return out
        if rev != SCHEMA_REVISION:
            out["state"] = "behind"
            out["problems"].append(f"schema revision {rev}, this version expects "
                                   f"{SCHEMA_REVISION}: run `appointer init`")
        out["outbox"] = _outbox(con)
    return finish(out)


def finish(out: dict) -> dict:
    """The outbox's warnings, and the state they give a sound database."""
    box = out["outbox"]
    if box and box["failed"]:
        out["warnings"].append(f"{box['failed']} message(s) failed: `appointer mail list "
                               "--failed`")
    if box and (box["oldest_queued_age_seconds"] or 0) > 3600:
        out["warnings"].append("the oldest queued message has waited more than an hour: is "
                               "`appointer mail send` (or `tick`) running from cron?")
    if out["state"] == "ok" and out["warnings"]:
        out["state"] = "warnings"
    return out


def _outbox(con: sqlite3.Connection) -> dict:
    counts = dict(con.execute("SELECT status, count(*) FROM outboxmessage GROUP BY status"))
    oldest = con.execute("SELECT min(created_at), strftime('%Y-%m-%d %H:%M:%f', 'now') FROM "
                         "outboxmessage WHERE status = 'queued'").fetchone()
    age = None
    if oldest[0] is not None:
        then = dt.datetime.fromisoformat(oldest[0])
        age = max(0, int((dt.datetime.fromisoformat(oldest[1]) - then).total_seconds()))
    return {"queued": counts.get("queued", 0), "failed": counts.get("failed", 0),
            "sent": counts.get("sent", 0), "oldest_queued_age_seconds": age}


def backup(settings, target: str, force: bool = False) -> dict:
    """Copy the database to `target`, consistently under concurrent writers, and verify the
    copy. Refuses an existing `target` unless `force`."""
    source = path_of(settings)
    dest = Path(target).expanduser().resolve()
    if dest == source:
        raise InvalidInput("the backup cannot be the database itself")
    if dest.exists() and not force:
        raise InvalidInput(f"{dest} exists; give another name, or --force to overwrite it")
    if not dest.parent.is_dir():
        raise InvalidInput(f"no folder {dest.parent}")
    _must_be_sound(source, quick=True)
    started = time.perf_counter()
    tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        src = _connect(source, readonly=False)
        try:
            out = sqlite3.connect(tmp, isolation_level=None)
            try:
                src.backup(out)  # all pages in one step: one snapshot
                out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                found = integrity(out)
                revision = _revision(out)
            finally:
                out.close()
        finally:
            src.close()
        if found:
            raise DatabaseProblem(f"the copy failed SQLite's integrity_check ({found[0]}); "
                                  f"nothing was written to {dest}")
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        raise DatabaseProblem(f"the backup failed: {exc}; nothing was written to {dest}"
                              ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return {"id": str(dest), "state": "verified", "source": str(source), "revision": revision,
            "bytes": dest.stat().st_size, "seconds": round(time.perf_counter() - started, 3)}


def _must_be_sound(path: Path, quick: bool) -> None:
    head = header_problem(path)
    if head:
        raise DatabaseProblem(f"the database file {path} is damaged ({head}); see `appointer "
                              "db check`, and restore it from a backup")
    try:
        with contextlib.closing(_connect(path)) as con:
            found = integrity(con, quick)
    except sqlite3.Error as exc:
        found = [str(exc)]
    if found:
        raise DatabaseProblem(f"the database file {path} is damaged ({found[0]}); see "
                              "`appointer db check`, and restore it from a backup")


def restore(settings, source: str, now: dt.datetime) -> dict:
    """Put the backup `source` in place of the database, keeping the database it replaces
    as `<db>.replaced-<UTC time>`. Refuses while another process has the database open."""
    from appointer.db import SCHEMA_REVISION, dispose_all

    src_path = Path(source).expanduser().resolve()
    target = path_of(settings)
    if not src_path.is_file():
        raise InvalidInput(f"no file {src_path}")
    if src_path == target:
        raise InvalidInput("the backup to restore is the database itself")
    head = header_problem(src_path)
    if head:
        raise InvalidInput(f"{src_path} is not a usable backup: {head}")
    try:
        with contextlib.closing(_connect(src_path)) as con:
            found = integrity(con)
            revision = _revision(con)
    except sqlite3.Error as exc:
        raise InvalidInput(f"{src_path} is not a usable backup: {exc}") from exc
    if found:
        raise InvalidInput(f"{src_path} is not a usable backup: it fails SQLite's "
                           f"integrity_check ({found[0]})")
    if revision is None:
        raise InvalidInput(f"{src_path} is not an Appointer database (no alembic_version)")
    dispose_all()  # this process's own pooled connections
    kept = None
    con = sqlite3.connect(target, timeout=1.0, isolation_level=None)
    try:
        try:
            mode = con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError as exc:
            mode = str(exc)
        if mode != "delete":
            raise InUse(f"another process is using {target} ({mode}); stop `appointer "
                                "serve` and any cron run (`tick`, `remind`, `mail send`) first")
        if target.stat().st_size > 0:
            kept = target.with_name(f"{target.name}.replaced-{now:%Y%m%dT%H%M%SZ}")
            with contextlib.closing(sqlite3.connect(kept)) as copy:
                con.backup(copy)
        with contextlib.closing(_connect(src_path)) as backup_con:
            backup_con.backup(con)
        con.execute("PRAGMA journal_mode=WAL")
        found = integrity(con)
    except sqlite3.Error as exc:
        raise DatabaseProblem(f"the restore failed: {exc}"
                              + (f"; the database before it is kept as {kept}" if kept else "")
                              ) from exc
    finally:
        con.close()
    if found:
        raise DatabaseProblem(f"the restored database fails SQLite's integrity_check "
                              f"({found[0]}); the one before it is kept as {kept}")
    note = None
    if revision != SCHEMA_REVISION:
        note = (f"the backup is at schema revision {revision}, this version expects "
                f"{SCHEMA_REVISION}: run `appointer init` to bring it up to date")
    return {"id": str(target), "state": "restored", "source": str(src_path),
            "replaced_kept_as": str(kept) if kept else None, "revision": revision,
            "note": note}


class InUse(AppointerError):
    """Another process has the database open."""


__all__ = ["check", "backup", "restore", "header_problem", "integrity", "InUse"]
