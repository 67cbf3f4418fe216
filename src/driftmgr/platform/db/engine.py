"""One Database object per process: engine, session factory, migrations to head."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from driftmgr.config import Settings
from driftmgr.errors import BackendError, UsageError

# the newest migration; tests/platform/test_migrations.py checks it against the scripts
HEAD = "0004"


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL: DRIFTMGR_DATABASE_URL, else SQLite in the data dir.

    `postgresql://` and `postgres://` URLs use psycopg 3 (the driver we ship).
    """
    url = settings.database_url
    if not url:
        return f"sqlite:///{Path(settings.data_dir) / 'driftmgr.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Database:
    """Engine + session factory. `session()` is one transaction: commit on success, rollback on error."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise UsageError("not a database URL", source=_redacted(url)) from None
        self.url = url
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            db_path = parsed.database
            if db_path and db_path != ":memory:":
                Path(db_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine: Engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def redacted_url(self) -> str:
        return _redacted(self.url)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        s = self._factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to `revision` (head by default).

        A database already at HEAD is recognised with one query, without loading Alembic (a CLI scan
        opens the database on every run; importing Alembic alone costs a third of a second)."""
        try:
            if revision == "head" and self._at_head():
                return
            from driftmgr.platform.db.migrate import upgrade

            upgrade(self, revision)
        except OperationalError as exc:
            raise BackendError(
                f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}",
                source=self.redacted_url,
            ) from None

    def _at_head(self) -> bool:
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        try:
            with self.engine.connect() as conn:
                rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except DBAPIError as exc:
            if "alembic_version" in str(exc.orig):  # a new database: no version table yet
                return False
            raise
        return rows == [HEAD]

    def dispose(self) -> None:
        self.engine.dispose()


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """The database of these settings, migrated to head unless told otherwise."""
    db = Database(database_url(settings))
    if migrate:
        db.migrate()
    return db
