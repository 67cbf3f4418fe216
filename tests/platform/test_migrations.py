"""Alembic migrations: from empty and from each earlier revision to head, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from driftmgr.platform.db import migrate
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Base
from tests.fixtures.db import pg_sqlalchemy_url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    else:
        db = Database(
            pg_sqlalchemy_url(request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema"))
        )
    request.addfinalizer(db.dispose)
    return db


def _schema_diff(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def test_upgrade_from_empty_matches_the_models(empty_db: Database) -> None:
    empty_db.migrate()
    assert migrate.current(empty_db) == migrate.revisions()[-1]
    assert _schema_diff(empty_db) == []


@pytest.mark.parametrize("start", migrate.revisions()[:-1])
def test_upgrade_from_each_earlier_revision_keeps_data(empty_db: Database, start: str) -> None:
    empty_db.migrate(start)
    with empty_db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO state_sources (id, name, url, provider, labels, created_at) "
                "VALUES ('a1', 'prod', 's3://b/k', 'aws', '{}', CURRENT_TIMESTAMP)"
            )
        )
    empty_db.migrate()
    assert _schema_diff(empty_db) == []
    with empty_db.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM state_sources")).scalars().all() == ["prod"]


def test_downgrade_to_base_removes_every_table(empty_db: Database) -> None:
    empty_db.migrate()
    migrate.downgrade(empty_db, "base")
    tables = set(inspect(empty_db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()


def test_migrating_twice_is_a_no_op(empty_db: Database) -> None:
    empty_db.migrate()
    empty_db.migrate()
    assert _schema_diff(empty_db) == []


def test_sqlite_runs_in_wal_mode(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_the_head_constant_names_the_newest_migration() -> None:
    from driftmgr.platform.db.engine import HEAD

    assert migrate.revisions()[-1] == HEAD
