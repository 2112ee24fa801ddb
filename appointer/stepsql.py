"""The statements every step of a case runs — load the case, its version-checked update, the
audit row, link revocation and issue, the outbox rows — run on the database driver's own
connection, from SQL that SQLAlchemy compiled once from the Core statement.

A Core `execute` rebuilds the statement's parameters, looks it up in the compiled cache and
sets up an execution context and a result object each time; for the handful of small
statements a step runs, that costs several times what SQLite itself does with them
(`bench/peers_bench.py` shows the step as a whole). A `Statement` keeps the Core statement
as its one definition and compiles it for SQLite the first time it runs there: its SQL text,
the order of its parameters, and each value's bind processor and each result column's result
processor taken from the column types — so the text stored and the values read back are
exactly what SQLAlchemy's own execution gives. On any other database the same statement runs
through Core unchanged (PostgreSQL's driver is not where its time goes).

The connection is the unit of work's (`Tx.connection`): the statements run inside its
transaction, and commit or roll back with everything else in it.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Connection


class _Compiled:
    """A statement compiled for one dialect: SQL text, parameter order and processors (kept
    as (position, processor) for the values that have one)."""

    __slots__ = ("sql", "names", "binds", "fixed", "results")

    def __init__(self, stmt, dialect, column_keys: Sequence[str] | None):
        compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
        self.sql = str(compiled)
        # (a column SQLAlchemy would fill in itself, from a Python-side default, is named
        # here too: a call that does not give it fails on its name, never stores a gap)
        self.names = list(compiled.positiontup or ())
        binds = [compiled.binds[n] for n in self.names]
        self.binds = _processed(b.type.dialect_impl(dialect).bind_processor(dialect)
                                for b in binds)
        # the statement's own values (a LIMIT, a literal compared against)
        self.fixed = {n: b.value for n, b in zip(self.names, binds, strict=True)
                      if not b.required and b.callable is None}
        self.results = _processed(c.type.dialect_impl(dialect).result_processor(dialect, None)
                                  for c in getattr(stmt, "exported_columns", ()) or ())

    def args(self, params: dict) -> list:
        if self.fixed:
            params = {**self.fixed, **params}
        values = [params[n] for n in self.names]
        for i, process in self.binds:
            values[i] = process(values[i])
        return values

    def row(self, raw: tuple) -> tuple:
        if not self.results:
            return raw
        values = list(raw)
        for i, process in self.results:
            values[i] = process(values[i])
        return tuple(values)


def _processed(processors) -> list[tuple[int, Callable]]:
    return [(i, p) for i, p in enumerate(processors) if p is not None]


class Statement:
    """One Core statement of the step path, named where it is defined. `rows`, `first`,
    `rowcount`, `insert` and `insert_many` run it on the unit of work's connection.
    `column_keys` (INSERT and UPDATE): the columns given, when they vary from call to call;
    each set is compiled once."""

    def __init__(self, core):
        self.core = core
        self._compiled: dict[tuple[str, tuple | None], _Compiled] = {}

    def compiled(self, conn: Connection, column_keys: Sequence[str] | None = None
                 ) -> _Compiled | None:
        """Its SQLite compilation (SQL text, `names` in parameter order, `binds`: (position,
        bind processor) pairs), for a caller that feeds the driver itself (`bulk`); None on
        other databases."""
        return self._for(conn, tuple(column_keys) if column_keys is not None else None)

    def _for(self, conn: Connection, keys: tuple | None) -> _Compiled | None:
        dialect = conn.dialect
        if dialect.name != "sqlite":
            return None
        compiled = self._compiled.get((dialect.name, keys))
        if compiled is None:
            compiled = self._compiled[(dialect.name, keys)] = _Compiled(self.core, dialect, keys)
        return compiled

    def _run(self, conn: Connection, params: dict, keys: tuple | None = None):
        """(compiled, driver cursor) on SQLite; (None, Core result) elsewhere."""
        compiled = self._for(conn, keys)
        if compiled is None:
            return None, conn.execute(self.core, params)
        return compiled, conn.connection.driver_connection.execute(compiled.sql,
                                                                   compiled.args(params))

    def rows(self, conn: Connection, params: dict) -> list[tuple]:
        compiled, cursor = self._run(conn, params)
        if compiled is None:
            return [tuple(r) for r in cursor]
        return [compiled.row(r) for r in cursor.fetchall()]

    def first(self, conn: Connection, params: dict) -> tuple | None:
        compiled, cursor = self._run(conn, params)
        row = cursor.fetchone()
        if row is None or compiled is None:
            return tuple(row) if row is not None else None
        return compiled.row(row)

    def first_stored(self, conn: Connection, params: dict) -> tuple[dict, dict] | None:
        """The first row as (values, stored) by column key, for a reader that decodes a value
        only when it reads it (`records.Record`): `stored` holds the values that need
        decoding, as (result processor, value as stored); `values` the rest."""
        compiled, cursor = self._run(conn, params)
        row = cursor.fetchone()
        if row is None:
            return None
        keys = self.columns
        values = dict(zip(keys, row, strict=True))
        if compiled is None:
            return values, {}
        return values, {keys[i]: (process, values.pop(keys[i])) for i, process in compiled.results}

    def named(self, conn: Connection, params: dict | None = None) -> list:
        """The rows as named tuples: attribute access by column key, like Core's rows."""
        return [self._row_type(*r) for r in self.rows(conn, params or {})]

    def named_first(self, conn: Connection, params: dict | None = None):
        row = self.first(conn, params or {})
        return self._row_type(*row) if row is not None else None

    @functools.cached_property
    def columns(self) -> list[str]:
        """The keys of its result columns, in order."""
        return [c.key for c in self.core.exported_columns]

    @functools.cached_property
    def _row_type(self):
        return collections.namedtuple("Row", self.columns)

    def rowcount(self, conn: Connection, params: dict, column_keys: Sequence[str] | None = None
                 ) -> int:
        """Run a DML statement; how many rows it matched. `column_keys`: the columns an
        UPDATE sets, when they vary from call to call (each set is compiled once)."""
        keys = tuple(column_keys) if column_keys is not None else None
        return self._run(conn, params, keys)[1].rowcount

    def insert(self, conn: Connection, params: dict) -> int:
        """Insert one row (the columns `params` gives); its new primary key."""
        compiled, result = self._run(conn, params, tuple(params))
        return result.inserted_primary_key[0] if compiled is None else result.lastrowid

    def insert_many(self, conn: Connection, rows: list[dict]) -> None:
        """Insert rows that all give the same columns (ids included where wanted): one
        executemany."""
        if not rows:
            return
        compiled = self._for(conn, tuple(rows[0]))
        if compiled is None:
            conn.execute(self.core, rows[0] if len(rows) == 1 else rows)
            return
        conn.connection.driver_connection.executemany(compiled.sql,
                                                      [compiled.args(r) for r in rows])
