"""Engine, sessions and the one transaction every change goes through.

SQLite (the embedded default) runs in WAL mode with foreign keys on. A unit of work that may
write begins IMMEDIATE: it takes the write lock up front (waiting up to BUSY_TIMEOUT for
another writer to finish), so it never works on a snapshot another writer changes under it,
and two coordinators acting on DIFFERENT cases at the same instant simply take turns. A
read-only unit (`write=False`) begins DEFERRED and never waits. A write based on a stale read
(a case read in an earlier transaction, or on other databases a concurrent commit) still fails
on the version_id check and becomes `Conflict` ("changed meanwhile, try again"): only a real
conflict on the same case says so, and a lost update cannot happen.

PostgreSQL (the shared install) has no database-wide write lock to take up front, and needs
none: each statement reads committed data, a case's UPDATE waits for a concurrent one on the
same row and then fails its version check (`Conflict`), the outbox claim locks rows with
SKIP LOCKED, a report part's save locks its row, and the reminder run starts over on a
duplicate reminder key. A lock held by another writer is waited for BUSY_TIMEOUT
(`lock_timeout`), then the step fails as busy. Sessions run in UTC.

A database file that SQLite finds damaged, or cannot write (read-only file or filesystem),
gives `DatabaseProblem` with a specific message, never "no database, run init".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, create_engine

from appointer.clock import Clock
from appointer.errors import (
    DB_CANNOT_OPEN,
    DB_DAMAGED,
    DB_READ_ONLY,
    Conflict,
    DatabaseProblem,
    NotInitialised,
)
from appointer.settings import Settings

# The Alembic head this code expects; a test keeps it equal to the migration scripts' head.
SCHEMA_REVISION = "0013"
BUSY_TIMEOUT_MS = 5000  # how long a writer waits for another one before giving up

_engines: dict[tuple[str, str], Engine] = {}


def get_engine(settings: Settings) -> Engine:
    key = (settings.db_url, settings.sqlite_synchronous)
    if key not in _engines:
        _engines[key] = _make_engine(settings.db_url, settings.sqlite_synchronous)
    return _engines[key]


def _make_engine(url: str, synchronous: str) -> Engine:
    if url.startswith("postgresql"):
        # The session's time zone is UTC: timestamps are stored as UTC wall time (naive
        # columns), and a server or login set to Europe/Oslo must not shift leases and
        # retry times by an hour or two. A lock held by another writer is waited for as long
        # as SQLite's busy timeout, then the step fails as a Conflict (55P03).
        return create_engine(url, pool_pre_ping=True, connect_args={
            "options": f"-c timezone=UTC -c lock_timeout={BUSY_TIMEOUT_MS}"})
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        # Take transaction control from the sqlite3 module (SQLAlchemy's documented recipe).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.close()

    return engine


def dispose_all() -> None:
    for conn in _idle.values():
        conn.close()
    _idle.clear()
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


# SQLite: the connection the last unit of work used, kept for the next one (one per engine,
# in the process that opened it). The CLI, cron and an import run thousands of units of work
# one after another; taking a connection out of SQLAlchemy's pool and handing it back costs
# its checkout and reset every time. One slot, not one per thread: the link pages' worker
# threads cannot hold the pool's connections between requests. A unit of work that fails
# closes its connection. Other databases use the pool (a server may close an idle one).
_idle: dict[Engine, Connection] = {}
_idle_pid = os.getpid()


def _connection_for(engine: Engine) -> Connection:
    conn = _idle.pop(engine, None) if _idle_pid == os.getpid() else None
    if conn is None or conn.closed or conn.invalidated:
        return engine.connect()
    return conn


def _done_with(engine: Engine, conn: Connection, keep: bool) -> None:
    global _idle_pid
    if keep and engine.dialect.name == "sqlite":
        if _idle_pid != os.getpid():  # a forked child: never the parent's connections
            _idle.clear()
            _idle_pid = os.getpid()
        if _idle.setdefault(engine, conn) is conn:  # (atomic: one thread fills the slot)
            return
    conn.close()


def begin(conn: Connection, write: bool) -> None:
    """Begin the connection's transaction. On SQLite, SQLAlchemy's documented recipe: the
    driver's own transaction handling is off (`isolation_level = None` at connect), and the
    BEGIN is ours — IMMEDIATE for a unit that may write (it takes the write lock up front and
    waits for it, busy_timeout), plain (deferred) for one that only reads. Issued here, by
    every unit of work (`transaction`, `writing`, `migrate`), rather than from a `begin`
    event: an engine with a connection event listener dispatches events on every statement."""
    conn.begin()
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")


class Tx:
    """What a unit of work needs: its connection (in its transaction), the clock, the
    settings, and the token factory (injected so that nothing deep inside a rule calls
    `secrets` or `datetime.now()`). `session`: an ORM session on the same connection and
    transaction, made the first time something asks for it — the step path (`engine.fire`,
    `records`, `audit`, `stepsql`) works on the connection and never needs one."""

    def __init__(self, connection: Connection, clock: Clock, settings: Settings,
                 token_factory: Callable[[], str] | None = None):
        self.connection = connection
        self.clock = clock
        self.settings = settings
        self.token_factory = token_factory or _new_token
        self.after_commit: list[Callable[[], None]] = []
        self.memo: dict = {}  # read-only look-ups kept for the unit of work (lookups.py)
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            # joins the connection's transaction: the unit of work commits or rolls it back
            self._session = Session(bind=self.connection, expire_on_commit=False,
                                    join_transaction_mode="rollback_only")
            self._session.info["appointer.lookups"] = self.memo
        return self._session

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _new_token() -> str:
    return secrets.token_urlsafe(24)


# PostgreSQL's "try again" answers: serialization failure, deadlock, lock not available.
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}


def is_conflict(exc: BaseException) -> bool:
    if isinstance(exc, StaleDataError):
        return True
    if getattr(getattr(exc, "orig", None), "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    if isinstance(exc, OperationalError | sqlite3.OperationalError):
        orig = getattr(exc, "orig", None)  # SQLAlchemy's wraps the driver's; raw ones do not
        msg = str(orig if orig is not None else exc).lower()
        return "locked" in msg or "busy" in msg
    return False


@contextlib.contextmanager
def transaction(
    settings: Settings,
    clock: Clock | None = None,
    token_factory: Callable[[], str] | None = None,
    check_schema: bool = True,
    exclusive: bool = False,
    write: bool = True,
) -> Iterator[Tx]:
    """One unit of work: commit on success, roll back on any error. Conflicts (a stale read,
    a concurrent writer got there first) surface as `Conflict`; a damaged or read-only
    database as `DatabaseProblem`; a broken database rule as `DatabaseProblem` too, named,
    without the statement's parameters. `write` (the default): on SQLite, take the write lock
    at the start (BEGIN IMMEDIATE), so a second writer waits for the first instead of failing
    half-way; `write=False` for a unit that only reads. (`exclusive` is the older name of
    `write=True`.)"""
    engine = get_engine(settings)
    if check_schema:
        ensure_current(engine, settings)
    immediate = (write or exclusive) and engine.dialect.name == "sqlite"
    conn = _connection_for(engine)
    committed = False
    try:
        tx = Tx(conn, (clock or Clock()).moment(), settings, token_factory)
        try:
            begin(conn, write=write or exclusive)
            yield tx
            tx.flush()
            conn.commit()
            committed = True
        except Exception as exc:
            conn.rollback()
            if isinstance(exc, DBAPIError | sqlite3.Error):
                _raise_specific(exc, settings)
            if immediate and is_conflict(exc) and not isinstance(exc, StaleDataError):
                raise Conflict(
                    f"the database is busy: another process held the write lock for more than "
                    f"{BUSY_TIMEOUT_MS // 1000} s; nothing was saved — try again") from exc
            if is_conflict(exc):
                raise Conflict(
                    "the case changed meanwhile (someone else acted on it at the same time); "
                    "nothing was saved — look at it again and retry"
                ) from exc
            raise
        finally:
            tx.close()
    finally:
        _done_with(engine, conn, keep=committed)
    for callback in tx.after_commit:
        callback()


def first_line(exc: BaseException) -> str:
    """What the database said, without the statement and its parameters (which may hold
    names and addresses)."""
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


_CANNOT_OPEN = (*DB_CANNOT_OPEN, "disk i/o error", "disk is full")


def _raise_specific(exc: BaseException, settings: Settings) -> None:
    """Raise `DatabaseProblem` for a damaged, read-only or unopenable database file, or a
    broken database rule; return for anything else."""
    problem = describe_problem(exc, settings)
    if problem is not None:
        raise problem from exc


def describe_problem(exc: BaseException, settings: Settings) -> DatabaseProblem | None:
    reason = first_line(exc)
    low = reason.lower()
    where = _where(settings)
    if isinstance(exc, IntegrityError | sqlite3.IntegrityError):
        return DatabaseProblem(f"the change broke a rule of the database ({reason}); nothing "
                               "was saved (run again with --debug to see where)")
    if any(word in low for word in DB_DAMAGED):
        return DatabaseProblem(f"the database file {where} is damaged ({reason}); see "
                               "`appointer db check`, and restore it from a backup "
                               "(`appointer db restore`)")
    if any(word in low for word in DB_READ_ONLY):
        return DatabaseProblem(f"cannot write {where}: read-only ({reason}); check the file's "
                               "and its folder's permissions and that the filesystem is "
                               "mounted read-write")
    if any(word in low for word in _CANNOT_OPEN):
        return DatabaseProblem(f"cannot open or write {where} ({reason}); check that the "
                               "folder exists and is writable, and the free disk space")
    return None


def db_now(conn) -> dt.datetime:
    """The database server's clock, aware UTC: what leases and retry times are measured
    against, so that two processes whose own clocks (or `--today`) differ agree on them."""
    if conn.dialect.name == "sqlite":
        text_now = conn.exec_driver_sql("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").scalar()
        return dt.datetime.fromisoformat(text_now).replace(tzinfo=dt.UTC)
    moment = conn.execute(text("SELECT CURRENT_TIMESTAMP")).scalar()
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


@contextlib.contextmanager
def writing(engine: Engine) -> Iterator:
    """A Core connection in a transaction that holds the write lock from its start (SQLite:
    BEGIN IMMEDIATE), for a read-then-write that must not work on a stale snapshot."""
    with engine.connect() as conn:
        begin(conn, write=True)
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise


_checked: set[str] = set()


def ensure_current(engine: Engine, settings: Settings) -> None:
    """Refuse to work on a missing or older database, with the command that fixes it."""
    if settings.db_url in _checked:
        return
    path = sqlite_path(settings)
    if path is not None:
        from pathlib import Path

        from appointer.dbfile import header_problem

        found = header_problem(Path(path)) if Path(path).exists() else None
        if found:
            raise DatabaseProblem(f"the database file {path} is damaged ({found}); see "
                                  "`appointer db check`, and restore it from a backup "
                                  "(`appointer db restore`)")
    try:
        with engine.connect() as conn:
            rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if engine.dialect.name == "sqlite":
                _must_pass_quick_check(conn, settings)
    except (DBAPIError, sqlite3.Error) as exc:
        problem = describe_problem(exc, settings)
        if problem is not None:
            raise problem from exc
        undefined_table = getattr(getattr(exc, "orig", None), "sqlstate", None) == "42P01"
        if "no such table" not in first_line(exc).lower() and not undefined_table:
            raise DatabaseProblem(f"cannot read the database {_where(settings)}: "
                                  f"{first_line(exc)}") from exc
        rev = None
    if rev is None:
        raise NotInitialised(
            f"no Appointer database at {_where(settings)}; run `appointer init` first "
            "(or point --db / APPOINTER_DB at an existing one)"
        )
    if rev != SCHEMA_REVISION:
        raise NotInitialised(
            f"the database at {_where(settings)} is at schema revision {rev}, this version "
            f"expects {SCHEMA_REVISION}; run `appointer init` to bring it up to date"
        )
    _checked.add(settings.db_url)


def _must_pass_quick_check(conn, settings: Settings) -> None:
    """SQLite's quick_check, once per process and database (`ensure_current` remembers): a
    file damaged where this command would not look still refuses every command, instead of
    letting writes pile up on it. It reads every page, once per process (a real register
    of a few hundred services is a few megabytes)."""
    found = [line for r in conn.exec_driver_sql("PRAGMA quick_check(5)")
             for line in r[0].splitlines() if not line.startswith("***")]
    if found != ["ok"]:
        raise DatabaseProblem(f"the database file {_where(settings)} is damaged "
                              f"({'; '.join(found[:2]) or 'quick_check failed'}); see "
                              "`appointer db check`, and restore it from a backup "
                              "(`appointer db restore`)")


def sqlite_path(settings: Settings) -> str | None:
    """The file of a SQLite database (None for other databases or a URI path)."""
    url = settings.db_url
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    return url.removeprefix("sqlite:///")


def _where(settings: Settings) -> str:
    url = settings.db_url
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else "the configured URL"


def migrate(settings: Settings) -> tuple[str | None, str]:
    """Bring the database to the newest schema (Alembic upgrade head). Returns (before, after)."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    engine = get_engine(settings)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":  # never build on a damaged file
                _must_pass_quick_check(conn, settings)
        before = None
        if inspect(engine).has_table("alembic_version"):
            with engine.connect() as conn:
                before = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        sqlite = engine.dialect.name == "sqlite"
        with engine.connect() as conn:
            if sqlite:  # SQLite's own recipe for altering a table that others refer to:
                # foreign keys off (only possible outside a transaction), alter, check, on again
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            try:
                begin(conn, write=True)
                try:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise RuntimeError("the migration left a broken reference; nothing "
                                           "changed")
                    # a database that cannot be written is not ready, even with nothing to do
                    conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
            finally:
                if sqlite:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    except (DBAPIError, sqlite3.Error) as exc:
        problem = describe_problem(exc, settings)
        if problem is not None:
            raise problem from exc
        raise
    _checked.discard(settings.db_url)
    return before, SCHEMA_REVISION
