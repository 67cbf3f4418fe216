"""Persistence: SQLAlchemy 2 models, the engine/session factory and Alembic migrations.

SQLite in the data dir by default (WAL mode); PostgreSQL when DRIFTMGR_DATABASE_URL says so.
"""

from driftmgr.platform.db.engine import Database, database_url, open_database

__all__ = ["Database", "database_url", "open_database"]
