"""Engine, sessions and the one transaction every change goes through.

SQLite (the embedded default) runs in WAL mode with foreign keys on. Transactions begin
DEFERRED: a write based on a snapshot another writer has meanwhile changed fails at once
(SQLITE_BUSY_SNAPSHOT), and a write on other databases fails on the version_id check; both
become `Conflict` ("changed meanwhile, try again"), so a lost update cannot happen.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, create_engine

from appointer.clock import Clock
from appointer.errors import Conflict, NotInitialised
from appointer.settings import Settings

# The Alembic head this code expects; a test keeps it equal to the migration scripts' head.
SCHEMA_REVISION = "0009"

_engines: dict[tuple[str, str], Engine] = {}


def get_engine(settings: Settings) -> Engine:
    key = (settings.db_url, settings.sqlite_synchronous)
    if key not in _engines:
        _engines[key] = _make_engine(settings.db_url, settings.sqlite_synchronous)
    return _engines[key]


def _make_engine(url: str, synchronous: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 10})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        # Take transaction control from the sqlite3 module (SQLAlchemy's documented recipe).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # A run that must not interleave with another (the reminder run) takes the write lock
        # up front and waits for it (busy_timeout); everything else begins DEFERRED.
        # Straight to the driver: this runs once per transaction, and `exec_driver_sql`
        # costs ~20 µs of statement handling for a statement with no result.
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@dataclass
class Tx:
    """What a unit of work needs: the session, the clock, the settings, and the token factory
    (injected so that nothing deep inside a rule calls `secrets` or `datetime.now()`)."""

    session: Session
    clock: Clock
    settings: Settings
    token_factory: Callable[[], str] = field(default=lambda: secrets.token_urlsafe(24))
    after_commit: list[Callable[[], None]] = field(default_factory=list)


def is_conflict(exc: BaseException) -> bool:
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, OperationalError):
        msg = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
        return "locked" in msg or "busy" in msg
    return False


@contextlib.contextmanager
def transaction(
    settings: Settings,
    clock: Clock | None = None,
    token_factory: Callable[[], str] | None = None,
    check_schema: bool = True,
    exclusive: bool = False,
) -> Iterator[Tx]:
    """One unit of work: commit on success, roll back on any error. Conflicts (a concurrent
    writer got there first) surface as `Conflict`. `exclusive`: on SQLite, take the write
    lock at the start (BEGIN IMMEDIATE), so a second such unit waits for the first instead of
    failing half-way."""
    engine = get_engine(settings)
    if check_schema:
        ensure_current(engine, settings)
    with Session(engine, expire_on_commit=False) as session:
        if exclusive:
            session.connection(execution_options={"sqlite_immediate": True})
        tx = Tx(session=session, clock=clock or Clock(), settings=settings)
        if token_factory is not None:
            tx.token_factory = token_factory
        try:
            yield tx
            session.commit()
        except Exception as exc:
            session.rollback()
            if is_conflict(exc):
                raise Conflict(
                    "the case changed meanwhile (someone else acted on it at the same time); "
                    "nothing was saved — look at it again and retry"
                ) from exc
            raise
    for callback in tx.after_commit:
        callback()


_checked: set[str] = set()


def ensure_current(engine: Engine, settings: Settings) -> None:
    """Refuse to work on a missing or older database, with the command that fixes it."""
    if settings.db_url in _checked:
        return
    try:
        with engine.connect() as conn:
            rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError:
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


def _where(settings: Settings) -> str:
    url = settings.db_url
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else "the configured URL"


def migrate(settings: Settings) -> tuple[str | None, str]:
    """Bring the database to the newest schema (Alembic upgrade head). Returns (before, after)."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    engine = get_engine(settings)
    before = None
    if inspect(engine).has_table("alembic_version"):
        with engine.connect() as conn:
            before = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    _checked.discard(settings.db_url)
    return before, SCHEMA_REVISION
