"""Many rows into one table on SQLite, straight to the driver's executemany.

SQLAlchemy's Core executemany builds and processes every row's parameters (compiled
parameter dicts, the date, UTC-datetime and JSON bind processors), and an insert that must
hand back the new ids in order runs one statement per row on SQLite (it cannot promise
RETURNING order for a multi-row insert). For the thousands of rows a reminder run writes
that was most of the time of writing them, against the database's own work
(bench/remind_bench.py).

Here each value still goes through its column type's own bind processor, so the stored text
is exactly what SQLAlchemy writes; the statement is SQLAlchemy's own, compiled once
(`stepsql.Statement.compiled`). Callers keep their Core path for other databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection

from appointer.stepsql import Statement


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def insert_many(conn: Connection, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence], repeated: Iterable[str] = ()) -> None:
    """Insert `rows` (values in `columns` order). `repeated`: columns whose values repeat a
    lot and are hashable (a run's timestamp, due dates): each distinct value is processed
    once."""
    if table.name not in _INSERT:
        _INSERT[table.name] = Statement(insert(table))
    compiled = _INSERT[table.name].compiled(conn, columns)
    if compiled.names != list(columns):  # a default SQLAlchemy would add
        raise ValueError(f"{table.name}: give every column the insert needs "
                         f"({compiled.names}, not {list(columns)})")
    columns_values = [list(c) for c in zip(*rows, strict=True)]  # a list per column
    if not columns_values:  # no rows
        return
    for i, process in compiled.binds:
        if columns[i] in repeated:
            processed = {value: process(value) for value in set(columns_values[i])}
            columns_values[i] = [processed[value] for value in columns_values[i]]
        else:
            columns_values[i] = [process(value) for value in columns_values[i]]
    conn.connection.driver_connection.executemany(compiled.sql,
                                                  list(zip(*columns_values, strict=True)))


_INSERT: dict[str, Statement] = {}  # table name -> its INSERT
_LAST_ID: dict[str, Statement] = {}  # table name -> its SELECT max(id)


def next_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """The ids SQLite would give the next `count` rows of a table whose INTEGER PRIMARY KEY
    has no AUTOINCREMENT: max(id) + 1 onwards. Safe to insert with them in the same
    transaction: SQLite has one writer, and a transaction that read before another one
    committed a write fails on its own first write (SQLITE_BUSY_SNAPSHOT, a Conflict)."""
    if table.dialect_options["sqlite"]["autoincrement"]:
        raise ValueError(f"{table.name}: AUTOINCREMENT ids are not max(id) + 1")
    if table.name not in _LAST_ID:
        _LAST_ID[table.name] = Statement(select(func.max(table.primary_key.columns.values()[0])))
    last = _LAST_ID[table.name].first(conn, {})[0]
    first = (last or 0) + 1
    return list(range(first, first + count))
