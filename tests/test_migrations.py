"""A coordinator's database survives upgrades: migrations build exactly the models' schema,
and `init` brings an older database up to date."""

import dbsql
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import ADMIN, ADMIN_INIT
from sqlalchemy import inspect
from sqlmodel import SQLModel

import appointer.models  # noqa: F401
from appointer import db


def test_migrations_build_exactly_the_models(settings):
    """No model change ships without its migration (autogenerate finds no difference)."""
    db.migrate(settings)
    engine = db.get_engine(settings)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_schema_revision_constant_is_the_migration_head():
    """The code's expected revision is the newest migration script."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_heads() == [db.SCHEMA_REVISION]


def test_init_upgrades_an_older_database_and_keeps_its_data(cli, db_path):
    """An older database is refused by normal commands with the fix, and `init` upgrades it
    without losing a row."""
    cli("init", *ADMIN_INIT)
    cli("coordinator", "add", "--email", "c@nord.example", "--name", "C", "--region", "nord", actor=ADMIN)
    with dbsql.connect(db_path) as con:
        con.execute("UPDATE alembic_version SET version_num = '0000_older'")
    db.dispose_all()
    db._checked.clear()
    out = cli("coordinator", "list", expect=1).output
    assert "run `appointer init`" in out and "0000_older" in out
    with dbsql.connect(db_path) as con:  # back to a revision Alembic knows
        con.execute(f"UPDATE alembic_version SET version_num = '{db.SCHEMA_REVISION}'")
    result = cli.json("init")
    assert result["schema"] == "up to date"
    assert [c["email"] for c in cli.json("coordinator", "list")] == ["c@nord.example", ADMIN]


def test_upgrade_keeps_a_services_predecessor_as_a_link(settings, db_path):
    """A successor recorded before mergers existed still names its predecessor after the
    upgrade (the old column's value moves to the link table)."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    engine = db.get_engine(settings)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    with dbsql.connect(db_path) as con:
        for sid, pred in ((1, None), (2, 1)):
            con.execute("INSERT INTO service (id, name, kind, state, version_id, lang, "
                        "predecessor_id, created_at, state_since) VALUES (?, ?, 'competence', "
                        "'established', 1, 'nb', ?, '2020-01-01', '2020-01-01')",
                        (sid, f"S{sid}", pred))
    db.migrate(settings)
    with dbsql.connect(db_path) as con:
        assert con.execute("SELECT service_id, predecessor_id FROM servicepredecessor"
                           ).fetchall() == [(2, 1)]
    db.dispose_all()
    columns = [c["name"] for c in inspect(db.get_engine(settings)).get_columns("service")]
    assert "predecessor_id" not in columns and "continued_on" in columns
