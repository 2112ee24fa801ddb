"""Alembic environment: migrations run on the connection `appointer.db.migrate` hands over
(or, for `alembic revision --autogenerate` during development, on APPOINTER_DB)."""

from alembic import context
from sqlmodel import SQLModel

import appointer.models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from appointer import settings as _settings
        from appointer.db import get_engine

        engine = get_engine(_settings.load())
        with engine.begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    context.run_migrations()


run_migrations_online()
