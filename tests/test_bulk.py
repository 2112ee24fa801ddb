"""appointer.bulk: the SQLite path of the reminder run's bulk inserts stores what SQLAlchemy's
Core insert stores, with the ids SQLite would have given."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, insert, text

from appointer import bulk, db
from appointer.models import OutboxMessage, ReminderLog

# appointer.bulk is SQLite's fast path; other databases take the Core path (insert … returning
# ids in order, executemany), which every reminder test runs on PostgreSQL.
pytestmark = pytest.mark.sqlite_only("appointer.bulk is the SQLite-only fast path")

NOW = dt.datetime(2026, 3, 2, 8, 30, 15, 123456, tzinfo=dt.UTC)


def _outbox_row(n: int, **extra) -> dict:
    return dict(message_id=f"<m{n}@x>", dedupe_key=f"d{n}", case_type="appointment", case_id=n,
                template="reminder.case", lang="nb", to_addrs=[f"p{n}@x.example"],
                reply_to=None, subject="S", body_text="T", body_html="<p>H</p>",
                status="queued", attempts=0, created_at=NOW + dt.timedelta(seconds=n),
                next_attempt_at=NOW, **extra)


def _raw(conn, table: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


def test_bulk_rows_are_stored_as_the_core_insert_stores_them(initialised):
    engine = db.get_engine(initialised)
    log = ReminderLog.__table__
    columns = ("rule", "subject_type", "subject_id", "due_on", "recipient", "outbox_id",
               "created_at")
    logs = [("r", "appointment", i, dt.date(2026, 1, i), f"p{i}@x.example", None, NOW)
            for i in range(1, 4)]
    with engine.begin() as conn:
        conn.execute(insert(log), [dict(zip(columns, row, strict=True)) for row in logs])
        conn.execute(insert(OutboxMessage.__table__), [_outbox_row(1), _outbox_row(2)])
        core = _raw(conn, "reminderlog"), _raw(conn, "outboxmessage")
        conn.execute(delete(log))
        conn.execute(delete(OutboxMessage.__table__))
        bulk.insert_many(conn, log, columns, logs, repeated=("due_on", "created_at"))
        ids = bulk.next_ids(conn, OutboxMessage.__table__, 2)
        rows = [_outbox_row(1), _outbox_row(2)]
        names = ["id", *rows[0]]
        bulk.insert_many(conn, OutboxMessage.__table__, names,
                         [[i, *(r[c] for c in names[1:])] for i, r in zip(ids, rows, strict=True)])
        assert (_raw(conn, "reminderlog"), _raw(conn, "outboxmessage")) == core
        conn.rollback()


def test_next_ids_are_the_ids_sqlite_gives(initialised):
    table = OutboxMessage.__table__
    with db.get_engine(initialised).begin() as conn:
        assert bulk.next_ids(conn, table, 2) == [1, 2]
        conn.execute(insert(table), [_outbox_row(n) for n in range(1, 4)])
        conn.execute(delete(table).where(table.c.id == 3))  # SQLite reuses the highest id
        expected = bulk.next_ids(conn, table, 2)
        got = [conn.execute(insert(table), _outbox_row(n)).inserted_primary_key[0]
               for n in (4, 5)]
        assert got == expected == [3, 4]
        conn.rollback()


def test_a_column_the_insert_would_default_must_be_given(initialised):
    row = _outbox_row(1)
    del row["status"]  # a column with a default SQLAlchemy would fill in
    with db.get_engine(initialised).begin() as conn, pytest.raises(ValueError, match="status"):
        bulk.insert_many(conn, OutboxMessage.__table__, list(row), [list(row.values())])
