"""`appointer db check` on a database server (PostgreSQL): can we connect, is the schema the
one this code expects, and how is the outbox. PostgreSQL checks its own pages (and has
`pg_amcheck` for a deeper look); backups are `pg_dump`'s job (docs/deployment-postgresql.md).
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError


def check(settings) -> dict:
    """The same answer as `dbfile.check`, for a server: `state` ok | unreachable |
    not_appointer | behind | warnings. The id is the URL without its password."""
    from appointer import dbfile
    from appointer.db import SCHEMA_REVISION, db_now, first_line, get_engine

    where = make_url(settings.db_url).render_as_string(hide_password=True)
    out: dict = {"id": where, "state": "ok", "problems": [], "warnings": [],
                 "integrity": None, "schema": {"revision": None, "expected": SCHEMA_REVISION},
                 "outbox": None, "bytes": None}
    try:
        with get_engine(settings).connect() as conn:
            out["bytes"] = conn.execute(text("SELECT pg_database_size(current_database())")
                                        ).scalar() if conn.dialect.name == "postgresql" else None
            out["integrity"] = ["connected (the server checks its own pages; pg_amcheck "
                                "looks deeper)"]
            if not inspect(conn).has_table("alembic_version"):
                out.update(state="not_appointer",
                           problems=["no Appointer schema in it (no alembic_version): run "
                                     "`appointer init`"])
                return out
            rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            out["schema"]["revision"] = rev
            if rev != SCHEMA_REVISION:
                out["state"] = "behind"
                out["problems"].append(f"schema revision {rev}, this version expects "
                                       f"{SCHEMA_REVISION}: run `appointer init`")
            counts = dict(conn.execute(text(
                "SELECT status, count(*) FROM outboxmessage GROUP BY status")).all())
            oldest = conn.execute(text("SELECT min(created_at) FROM outboxmessage "
                                       "WHERE status = 'queued'")).scalar()
            age = None
            if oldest is not None:
                now = db_now(conn).replace(tzinfo=None)
                age = max(0, int((now - oldest.replace(tzinfo=None)).total_seconds()))
            out["outbox"] = {"queued": counts.get("queued", 0),
                             "failed": counts.get("failed", 0),
                             "sent": counts.get("sent", 0), "oldest_queued_age_seconds": age}
    except DBAPIError as exc:  # named, without the statement's parameters
        out.update(state="unreachable",
                   problems=[f"cannot connect to or read {where}: {first_line(exc)}"])
        return out
    return dbfile.finish(out)
