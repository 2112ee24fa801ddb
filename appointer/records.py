"""Case rows as the engine reads and writes them: plain records over Core, not ORM objects.

A case (an appointment, a service's lifecycle) is read with one Core SELECT into a `Record`
— attribute access like the model, every column, nothing else — and written back only by
`write`: its INSERT, or one UPDATE of the columns that changed, which checks and bumps
`version_id` (the optimistic lock). Everything that changes a case row goes through here.

Why not the ORM objects: on the path every transition takes, loading the row into the
session, tracking it and flushing it cost more than the statements themselves. The three
statements are `stepsql.Statement`s (run on the driver's connection on SQLite). Other code
keeps using the models and the ORM to read, and for rows that are not cases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from appointer.stepsql import Statement


class Record:
    """One case row. Reading a column is an attribute; setting one that is not a column is
    an error (a typo must not pass silently); `write` stores what changed. A value that needs
    decoding as read back (a date, a JSON column) is decoded the first time it is read: a
    step reads a handful of a row's columns."""

    __slots__ = ("_model", "_values", "_changed", "_stored")

    def __init__(self, model: type, values: dict[str, Any], stored: dict | None = None):
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_changed", set())
        object.__setattr__(self, "_stored", stored or {})  # {column: (decode, as stored)}

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            pass
        try:
            decode, stored = self._stored.pop(name)
        except KeyError:
            raise AttributeError(f"{self._model.__name__} has no column {name!r}") from None
        value = self._values[name] = decode(stored)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._values and self._stored.pop(name, None) is None:
            raise AttributeError(f"{self._model.__name__} has no column {name!r}")
        self._values[name] = value
        self._changed.add(name)

    @property
    def model(self) -> type:
        return self._model

    def __repr__(self) -> str:
        return f"<{self._model.__name__} record {self._values.get('id')} {self._values.get('state')}>"


class _Statements:
    """A table's SELECT by id, INSERT and version-checked UPDATE, built once."""

    def __init__(self, table):
        self.columns = [c.key for c in table.columns]
        self.defaults = {c.key: c.default.arg for c in table.columns
                         if c.default is not None and c.default.is_scalar}
        self.select = Statement(select(table).where(table.c.id == bindparam("id")))
        self.insert = Statement(insert(table))
        self.update = Statement(update(table).where(table.c.id == bindparam("_id"),
                                                    table.c.version_id == bindparam("_version")))


_statements: dict[type, _Statements] = {}


def _for(model: type) -> _Statements:
    if model not in _statements:
        _statements[model] = _Statements(model.__table__)
    return _statements[model]


def new(model: type, **values: Any) -> Record:
    """A case not yet stored: every column, with its default where it has one."""
    st = _for(model)
    row = {key: st.defaults.get(key) for key in st.columns}
    unknown = set(values) - set(row)
    if unknown:
        raise AttributeError(f"{model.__name__} has no column {', '.join(map(repr, sorted(unknown)))}")
    row.update(values)
    return Record(model, row)


def from_row(model: type, row) -> Record:
    """The record of a row already read with all the table's columns (`select(table)`)."""
    return Record(model, dict(row._mapping))


def load(conn, model: type, case_id: int) -> Record | None:
    """The case with this id, or None. `conn`: the unit of work's connection (`tx.connection`;
    a session's, `session.connection()`, reads in its transaction too)."""
    row = _for(model).select.first_stored(_connection(conn), {"id": case_id})
    return Record(model, *row) if row is not None else None


def _connection(conn_or_session):
    """The Core connection (a unit of work's, or a session's in its transaction)."""
    return conn_or_session.connection() if isinstance(conn_or_session, Session) else conn_or_session


def write(conn, record: Record) -> None:
    """Store the record: INSERT a new one (its id is set), or UPDATE the columns that changed
    where the version is still the one read, bumping it. No row matched means another writer
    changed it first: `StaleDataError`, which the transaction reports as a conflict."""
    st = _for(record.model)
    values, changed = record._values, record._changed
    conn = _connection(conn)
    if values["id"] is None:
        values["id"] = st.insert.insert(conn, {k: v for k, v in values.items() if k != "id"})
    elif changed - {"id", "version_id"}:
        version = values["version_id"]
        params = {k: values[k] for k in sorted(changed) if k not in ("id", "version_id")}
        params["version_id"] = version + 1
        matched = st.update.rowcount(conn, {**params, "_id": values["id"], "_version": version},
                                     column_keys=params)
        if matched != 1:
            raise StaleDataError(f"{record.model.__table__.name} {values['id']} was changed by "
                                 "another writer")
        values["version_id"] = version + 1
    changed.clear()
