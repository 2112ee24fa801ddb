"""Plain SQL on a test's database, whichever the backend: `connect(db)` takes a SQLite file
path or a postgresql URL and gives the part of sqlite3's connection the tests use
(`execute(sql, params)` with `?` placeholders, `commit`, `close`, and `with` committing on
success). Tests read and plant rows with it where no command shows what they check."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3


def is_postgres(db) -> bool:
    return str(db).startswith("postgresql")


def _as_sqlite_stores(value):
    """A value as SQLAlchemy stores it in SQLite (what the tests' SQL was written against):
    JSON as its text, dates and times as ISO text, booleans as 0/1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sqlite_like_rows(cursor):
    return lambda values: tuple(_as_sqlite_stores(v) for v in values)


class _Pg:
    def __init__(self, url: str):
        import psycopg

        self._con = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1),
                                    row_factory=_sqlite_like_rows,
                                    options="-c timezone=UTC")

    def execute(self, query: str, params=()):
        return self._con.execute(query.replace("%", "%%").replace("?", "%s"), tuple(params))

    def executemany(self, query: str, rows):
        with self._con.cursor() as cur:
            cur.executemany(query.replace("%", "%%").replace("?", "%s"), [tuple(r) for r in rows])

    def commit(self):
        self._con.commit()

    def close(self):
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, *_):
        if kind is None:
            self._con.commit()
        else:
            self._con.rollback()
        self._con.close()


def connect(db: str):
    """A connection to the test's database (a file path or a URL)."""
    if is_postgres(db):
        return _Pg(db)
    return sqlite3.connect(str(db).removeprefix("sqlite:///"))


def sibling(db: str, name: str) -> str:
    """A second database next to the test's: `name`.sqlite in its folder, or on PostgreSQL a
    database named after the test's with `_name` added (not created yet)."""
    if is_postgres(db):
        return f"{db}_{name}"
    from pathlib import Path

    return str(Path(db.removeprefix("sqlite:///")).with_name(f"{name}.sqlite"))


def clone(src: str, dst: str) -> None:
    """Copy a database whole: SQLite's online backup, or PostgreSQL's CREATE DATABASE …
    TEMPLATE (nobody may be connected to `src`: dispose the engines first)."""
    if not is_postgres(src):
        with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
            a.backup(b)
        return
    import psycopg

    server, source = src.rsplit("/", 1)
    target = dst.rsplit("/", 1)[1]
    admin = server.replace("postgresql+psycopg://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {target}")
        con.execute(f"CREATE DATABASE {target} TEMPLATE {source}")


def refuse_inserts(db: str, table: str, message: str) -> None:
    """A trigger that makes every INSERT into `table` fail with `message` (a database error
    the code did not expect)."""
    with connect(db) as con:
        if not is_postgres(db):
            con.execute(f"CREATE TRIGGER no_more BEFORE INSERT ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
            return
        con.execute(f"CREATE FUNCTION no_more() RETURNS trigger LANGUAGE plpgsql AS "
                    f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$")
        con.execute(f"CREATE TRIGGER no_more BEFORE INSERT ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION no_more()")


@contextlib.contextmanager
def statements_run(tx):
    """The SQL statements a unit of work runs while inside: every one, whether through
    SQLAlchemy or straight on the driver's connection (appointer.stepsql) — on SQLite the
    driver's own trace; elsewhere (where stepsql goes through Core) SQLAlchemy's event."""
    from sqlalchemy import event

    seen: list[str] = []
    conn = tx.connection
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        driver.set_trace_callback(seen.append)
        try:
            yield seen
        finally:
            driver.set_trace_callback(None)
        return

    def before(_conn, _cursor, statement, *args):
        seen.append(statement)

    event.listen(conn.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(conn.engine, "before_cursor_execute", before)
