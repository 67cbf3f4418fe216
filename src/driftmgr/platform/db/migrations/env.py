"""Alembic environment: runs on the connection `migrate.upgrade` hands in (never an ini URL)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from driftmgr.platform.db import models, models_access  # noqa: F401  (register every table)

config = context.config
target_metadata = models.Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic revision --autogenerate` during development
        engine = config.attributes.get("engine")
        if engine is None:
            from sqlalchemy import create_engine

            engine = create_engine(os.environ["DRIFTMGR_MIGRATE_URL"])
        with engine.begin() as conn:
            _configure(conn)
        return
    _configure(connection)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
