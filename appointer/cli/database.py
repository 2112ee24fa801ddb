"""appointer db …: check the database file, back it up, restore it."""

from __future__ import annotations

import click

from appointer.cli._common import emit, output_options, pass_app, warn


@click.group()
def db():
    """Check, back up and restore the SQLite database file (on PostgreSQL: check only;
    back up with pg_dump).

    \b
    Example (nightly, from cron; keeps 14 days):
      appointer db check && appointer db backup /srv/backup/appointer-$(date +%F).sqlite
      find /srv/backup -name 'appointer-*.sqlite' -mtime +14 -delete
    """


@db.command("check")
@click.option("--quick", is_flag=True,
              help="SQLite's quick_check instead of the full integrity_check (faster; does "
                   "not check that indexes match their tables).")
@output_options
@pass_app
def db_check(app, quick, as_json):
    """Check the database file: SQLite's integrity check, the schema revision, the outbox.
    (On PostgreSQL: the connection, the schema revision, the outbox.)

    Exit 0 when the file is sound and its schema current (warnings, such as failed messages
    or mail waiting for more than an hour, are printed but do not fail it); 1 when it is
    damaged, missing, not an Appointer database or at an older schema revision.

    \b
    Example:
      appointer db check
      appointer db check --json
    """
    from appointer import dbfile

    data = dbfile.check(app.settings, quick=quick)
    box = data["outbox"]
    lines = [f"Database {data['id']}: {data['state']}",
             f"  integrity: {'; '.join(data['integrity'] or ['not checked'])}",
             f"  schema revision: {data['schema']['revision'] or '-'} "
             f"(expected {data['schema']['expected']})"]
    if box is not None:
        age = box["oldest_queued_age_seconds"]
        lines.append(f"  outbox: {box['queued']} queued"
                     + (f" (oldest {age // 60} min old)" if age is not None else "")
                     + f", {box['failed']} failed, {box['sent']} sent")
    emit(as_json, data, "\n".join(lines))
    if not as_json:
        for w in data["warnings"]:
            warn(w)
    if data["problems"]:
        raise click.ClickException("; ".join(data["problems"]))


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@output_options
@pass_app
def db_backup(app, path, force, as_json):
    """Copy the database to PATH while it is in use, and verify the copy.

    SQLite's online backup copies one consistent snapshot: writers (a coordinator, the cron
    run, the link pages) go on meanwhile, and the copy holds everything committed before the
    backup began. The copy is one self-contained file, checked with SQLite's integrity check
    before it is put at PATH; an existing PATH is refused unless --force.

    \b
    Example:
      appointer db backup /srv/backup/appointer-$(date +%F).sqlite
    """
    from appointer import dbfile

    data = dbfile.backup(app.settings, path, force=force)
    emit(as_json, data, f"backed up {data['source']} to {data['id']} ({data['bytes']} bytes, "
                        f"schema revision {data['revision']}, verified) in {data['seconds']:.1f} s")


@db.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@output_options
@pass_app
def db_restore(app, path, as_json):
    """Replace the database with the backup at PATH, keeping the one it replaces.

    PATH must be an Appointer database that passes SQLite's integrity check. Stop `appointer
    serve` and the cron jobs first: the restore refuses while any other process has the
    database open. The replaced database is kept beside it as <db>.replaced-<UTC time>.

    \b
    Example:
      appointer db restore /srv/backup/appointer-2026-03-01.sqlite
    """
    import datetime as dt

    from appointer import dbfile

    data = dbfile.restore(app.settings, path, dt.datetime.now(dt.UTC))
    text = f"restored {data['id']} from {data['source']} (schema revision {data['revision']})"
    if data["replaced_kept_as"]:
        text += f"; the database it replaced is kept as {data['replaced_kept_as']}"
    emit(as_json, data, text)
    if data["note"] and not as_json:
        warn(data["note"])


@db.command("roles")
@click.option("--apply", "apply_", is_flag=True,
              help="Run the statements (as a login that may create roles and grant on the "
                   "tables, e.g. the schema's owner) instead of printing them.")
@output_options
@pass_app
def db_roles(app, apply_, as_json):
    """The PostgreSQL roles of a shared install: one login per coordinator, one for the link
    pages (appointer_web) and one for cron (appointer_cron), with grants that let none of
    them change or delete an audit row (INSERT and SELECT only). Prints the SQL, or runs it
    with --apply. Idempotent: run it again after adding coordinators or upgrading.

    With APPOINTER_IDENTITY=database each coordinator acts as their own login; --as is
    refused. Set each login's password (or certificate) yourself.

    \b
    Example:
      appointer db roles > roles.sql
      appointer --db postgresql+psycopg://appointer_owner@db.example/appointer db roles --apply
    """
    from sqlmodel import select

    from appointer import dbroles
    from appointer.errors import InvalidInput
    from appointer.models import Coordinator

    if not app.settings.db_url.startswith("postgresql"):
        raise InvalidInput("`appointer db roles` is for a PostgreSQL database; a SQLite file "
                           "has no logins (protect the file with the system's permissions)")
    with app.transaction() as tx:
        rows = [(c.email, c.active) for c in tx.session.exec(
            select(Coordinator).order_by(Coordinator.region_code, Coordinator.email))]
        sql = dbroles.statements(rows)
        if apply_:
            for statement in sql:
                if not statement.startswith("--"):
                    tx.connection.exec_driver_sql(statement)
    roles = [{"id": dbroles.role_for(email), "state": "login" if active else "nologin",
              "coordinator": email} for email, active in rows]
    data = {"applied": apply_, "roles": roles, "sql": sql}
    if as_json:
        emit(True, data, "")
    elif apply_:
        click.echo(f"created or updated {len(roles)} coordinator role(s), "
                   f"{dbroles.WEB} and {dbroles.CRON}; audit rows: INSERT and SELECT only")
    else:
        click.echo("\n".join(s if s.startswith("--") else s + ";" for s in sql))
