"""PostgreSQL state, in the table Terraform's `pg` backend uses.

URL: `pg://USER[:PASS]@HOST:PORT/DB?schema_name=S&workspace=W&sslmode=disable`. Query options other
than the backend's own (`schema_name`, `workspace`, `skip_schema_creation`, `skip_table_creation`,
`skip_index_creation`) are libpq connection parameters (`sslmode`, `sslrootcert`, ...). A `pg://`
URL without a host takes the connection string from `PG_CONN_STR`, as Terraform does; likewise
`PG_SCHEMA_NAME` and `PG_SKIP_*_CREATION` fill options the URL leaves out.

Layout (Terraform's): schema `terraform_remote_state`, table `states(id bigint primary key default
nextval('public.global_states_id_seq'), name text unique, data text)`, one row per workspace
(`name = 'default'` for the default one). Schema, sequence, table and index are created when
missing — but only before a write or a lock: reading never changes the database.

Locking is Terraform's: a session-level `pg_try_advisory_lock` on the row id, plus the advisory
lock `-1` while a workspace's row does not exist yet. The connection that took the lock holds it,
so it stays open until `unlock`. PostgreSQL stores no lock document; DriftMgr names its lock in
the session's `application_name`, and a refused locker reports the holder from `pg_locks`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from driftmgr.errors import (
    AccessDeniedError,
    BackendError,
    DriftMgrError,
    LockError,
    StateFormatError,
    StateNotFoundError,
    UsageError,
)
from driftmgr.models import LockInfo
from driftmgr.state.backends.base import Backend, redact_url, register

if TYPE_CHECKING:
    import psycopg

DEFAULT_SCHEMA = "terraform_remote_state"
TABLE = "states"
INDEX = "states_by_name"
SEQUENCE = "public.global_states_id_seq"
CREATE_LOCK_KEY = -1  # Terraform's advisory lock for "a workspace is being created"
APP_NAME = "driftmgr"
LOCK_APP_PREFIX = "driftmgr lock "
_BACKEND_OPTIONS = frozenset(
    {"schema_name", "workspace", "skip_schema_creation", "skip_table_creation", "skip_index_creation"}
)
_DENIED_HINTS = ("password authentication failed", "no pg_hba.conf entry", "role ", "permission denied")
# The creation lock is held only for moments by other lockers: retry it briefly before refusing.
CREATE_LOCK_RETRY_S = 3.0


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@register("pg")
class PgBackend(Backend):
    kind = "pg"
    supports_lock = True
    supports_workspaces = True

    def __init__(self, url: str) -> None:
        super().__init__(url)
        opts = self.options
        self.schema_name = opts.get("schema_name") or os.environ.get("PG_SCHEMA_NAME") or DEFAULT_SCHEMA
        env = os.environ.get
        self.skip_schema_creation = _truthy(opts.get("skip_schema_creation", env("PG_SKIP_SCHEMA_CREATION")))
        self.skip_table_creation = _truthy(opts.get("skip_table_creation", env("PG_SKIP_TABLE_CREATION")))
        self.skip_index_creation = _truthy(opts.get("skip_index_creation", env("PG_SKIP_INDEX_CREATION")))
        self._conninfo, self._secret, self._where = self._build_conninfo()
        self._conn: psycopg.Connection[Any] | None = None
        self._prepared = False
        self._lock_key: int | None = None
        self._lock_info: LockInfo | None = None

    @property
    def display_url(self) -> str:
        return getattr(self, "_where", None) or redact_url(self.url)

    def _build_conninfo(self) -> tuple[str, str, str]:
        """Return (libpq conninfo, password to scrub from messages, display form without secrets)."""
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        parts = urlsplit(self.url)
        shown = redact_url(self.url)
        extra = {k: v for k, v in self.options.items() if k not in _BACKEND_OPTIONS}
        try:
            make_conninfo("", **extra)  # the URL's own libpq options, checked alone for a clear message
        except psycopg.ProgrammingError as exc:
            detail = " ".join(str(exc).split())
            raise UsageError(f"invalid connection parameters: {detail}", source=shown) from None
        if parts.netloc:
            try:
                port = parts.port
            except ValueError as exc:
                raise UsageError(f"invalid PostgreSQL URL: {exc}", source=shown) from None
            params = {
                "host": unquote(parts.hostname or ""),
                "port": str(port) if port else "",
                "user": unquote(parts.username or ""),
                "password": unquote(parts.password or ""),
                "dbname": unquote(parts.path.lstrip("/")),
            }
            given = {k: v for k, v in params.items() if v}
            return make_conninfo("", **given, **extra), params["password"], shown
        env = os.environ.get("PG_CONN_STR", "")
        if not env:
            raise UsageError("no database: use pg://USER@HOST:PORT/DB or set PG_CONN_STR", source=shown)
        try:
            conninfo = make_conninfo(env, **extra)
            found = conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError:  # libpq's message may quote the string, password included
            raise UsageError(
                "PG_CONN_STR is not a valid PostgreSQL connection string", source=shown
            ) from None
        host = f"{found.get('host') or 'localhost'}:{found.get('port') or 5432}"
        query = f"?{parts.query}" if parts.query else ""
        where = redact_url(f"pg://{host}/{found.get('dbname') or ''}{query}") + " (PG_CONN_STR)"
        return conninfo, str(found.get("password") or ""), where

    # --- the one error mapper and the connections ------------------------------------------
    def _clean(self, exc: BaseException) -> str:
        text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        text = text.removeprefix("connection failed: ")
        if self._secret:
            text = text.replace(self._secret, "***")
        return text or type(exc).__name__

    @contextlib.contextmanager
    def _pg(self, doing: str) -> Iterator[None]:
        """Map every psycopg error raised inside to a DriftMgr error; never show the password."""
        import psycopg
        from psycopg import errors

        src = self.display_url
        try:
            yield
        except DriftMgrError:
            raise
        except (
            errors.InsufficientPrivilege,
            errors.InvalidAuthorizationSpecification,
            errors.InvalidPassword,
        ) as exc:
            raise AccessDeniedError(f"access denied {doing}: {self._clean(exc)}", source=src) from None
        except errors.UndefinedTable:
            raise StateNotFoundError(f"table {self._table_name} does not exist", source=src) from None
        except errors.InvalidSchemaName:
            raise StateNotFoundError(f"schema {self.schema_name!r} does not exist", source=src) from None
        except psycopg.OperationalError as exc:
            msg = self._clean(exc)
            if exc.sqlstate is None and any(h in msg for h in _DENIED_HINTS):
                raise AccessDeniedError(f"access denied {doing}: {msg}", source=src) from None
            raise BackendError(f"PostgreSQL failed {doing}: {msg}", source=src) from None
        except psycopg.ProgrammingError as exc:
            if exc.sqlstate is None:  # libpq refused the connection parameters
                raise UsageError(f"invalid connection parameters: {self._clean(exc)}", source=src) from None
            raise BackendError(f"PostgreSQL failed {doing}: {self._clean(exc)}", source=src) from None
        except psycopg.Error as exc:
            raise BackendError(f"PostgreSQL failed {doing}: {self._clean(exc)}", source=src) from None

    @property
    def _table_name(self) -> str:
        return f"{self.schema_name}.{TABLE}"

    def _table(self) -> Any:
        from psycopg import sql

        return sql.Identifier(self.schema_name, TABLE)

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        given = conninfo_to_dict(self._conninfo)
        kwargs: dict[str, Any] = {}
        if "connect_timeout" not in given:
            kwargs["connect_timeout"] = 10
        if "application_name" not in given:
            kwargs["application_name"] = APP_NAME
        with self._pg("connecting to the database"):
            return psycopg.connect(self._conninfo, autocommit=True, **kwargs)

    @property
    def conn(self) -> psycopg.Connection[Any]:
        """The session that runs queries and holds the advisory lock."""
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        """Close the session (which releases any advisory lock it holds)."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None
        self._lock_key = None
        self._lock_info = None

    def _prepare(self) -> None:
        """Create schema, sequence, table and index like Terraform, unless told to skip."""
        if self._prepared:
            return
        from psycopg import sql

        schema = sql.Identifier(self.schema_name)
        with self._pg(f"creating {self._table_name}"):
            if not self.skip_schema_creation:
                # Like Terraform: look first, so a user without CREATE on the database can still work.
                row = self.conn.execute(
                    "SELECT count(1) FROM information_schema.schemata WHERE schema_name = %s",
                    [self.schema_name],
                ).fetchone()
                if not row or row[0] < 1:
                    self._ddl(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            if not self.skip_table_creation:
                self._ddl(sql.SQL(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} AS bigint"))
                self._ddl(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} (id bigint NOT NULL DEFAULT nextval({}) PRIMARY KEY,"
                        " name text UNIQUE, data text)"
                    ).format(self._table(), sql.Literal(SEQUENCE))
                )
            if not self.skip_index_creation:
                self._ddl(
                    sql.SQL("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (name)").format(
                        sql.Identifier(INDEX), self._table()
                    )
                )
        self._prepared = True

    def _ddl(self, statement: Any) -> None:
        from psycopg import errors

        # A concurrent creator can win the IF NOT EXISTS race: the object exists, which is all we need.
        with contextlib.suppress(
            errors.UniqueViolation, errors.DuplicateObject, errors.DuplicateTable, errors.DuplicateSchema
        ):
            self.conn.execute(statement)

    # --- reading and writing ---------------------------------------------------------------
    def open(self) -> IO[bytes]:
        """PostgreSQL returns a row whole, so this holds one copy of the state (as bytes, not str)."""
        from psycopg import sql

        query = sql.SQL("SELECT convert_to(data, 'UTF8') FROM {} WHERE name = %s").format(self._table())
        with self._pg("reading the state"), self.conn.cursor(binary=True) as cur:
            row = cur.execute(query, [self.workspace]).fetchone()
        if row is None or not row[0]:
            raise StateNotFoundError(
                f"no state for workspace {self.workspace!r} in {self._table_name}", source=self.display_url
            )
        return io.BytesIO(row[0])

    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        from psycopg import sql

        if self._lock_info is not None and lock_id != self._lock_info.id:
            raise LockError("the state is locked; pass the lock id to write", source=self.display_url)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StateFormatError(
                f"state is not UTF-8 text ({exc.reason})", source=self.display_url
            ) from None
        self._prepare()
        query = sql.SQL(
            "INSERT INTO {} (name, data) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data"
        ).format(self._table())
        with self._pg("writing the state"):
            self.conn.execute(query, [self.workspace, text])

    # --- locking ---------------------------------------------------------------------------
    def lock(self, info: LockInfo) -> str:
        if self._lock_key is not None:
            raise LockError("already locked by this backend", source=self.display_url)
        self._prepare()
        deadline = time.monotonic() + CREATE_LOCK_RETRY_S
        while True:
            key, blocked_by = self._try_lock()
            if key is not None:
                break
            if blocked_by != CREATE_LOCK_KEY or time.monotonic() >= deadline:
                raise self._locked(blocked_by)
            time.sleep(0.1)
        info.path = str(key)
        self._lock_key = key
        self._lock_info = info
        with self._pg("naming the lock"):
            self.conn.execute("SELECT set_config('application_name', %s, false)", [LOCK_APP_PREFIX + info.id])
        return info.id

    def _try_lock(self) -> tuple[int | None, int]:
        """One attempt of Terraform's lock dance: (locked key, None) or (None, key held by someone)."""
        from psycopg import sql

        conn = self.conn
        query = sql.SQL(
            "SELECT id, pg_try_advisory_lock(id), pg_try_advisory_lock(%s) FROM {} WHERE name = %s"
        ).format(self._table())
        with self._pg("taking the advisory lock"):
            row = conn.execute(query, [CREATE_LOCK_KEY, self.workspace]).fetchone()
            if row is None:  # the workspace does not exist yet: take the creation lock
                got = conn.execute("SELECT pg_try_advisory_lock(%s)", [CREATE_LOCK_KEY]).fetchone()
                return (CREATE_LOCK_KEY, 0) if got and got[0] else (None, CREATE_LOCK_KEY)
            row_id, got_row, got_create = int(row[0]), bool(row[1]), bool(row[2])
            if got_row and got_create:
                conn.execute("SELECT pg_advisory_unlock(%s)", [CREATE_LOCK_KEY])
                return row_id, 0
            if got_row:
                conn.execute("SELECT pg_advisory_unlock(%s)", [row_id])
                return None, CREATE_LOCK_KEY
            if got_create:
                conn.execute("SELECT pg_advisory_unlock(%s)", [CREATE_LOCK_KEY])
            return None, row_id

    def _locked(self, key: int) -> LockError:
        holder = self._holder(key)
        what = "being created" if key == CREATE_LOCK_KEY else "locked"
        who = holder.get("Who") or "another session"
        lock_id = f", lock ID {holder['ID']}" if holder.get("ID") else ""
        return LockError(
            f"workspace {self.workspace!r} is {what} by {who} (advisory lock {key}{lock_id})",
            source=self.display_url,
            lock_info=holder,
        )

    def _holder(self, key: int) -> dict[str, object]:
        """Who holds advisory lock `key` in this database, from pg_locks and pg_stat_activity."""
        query = (
            "SELECT l.pid, a.usename, a.application_name, host(a.client_addr), a.backend_start"
            " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.pid <> pg_backend_pid() LIMIT 1"
        )
        try:
            with self._pg("looking up the lock holder"):
                row = self.conn.execute(query, [(key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF]).fetchone()
        except DriftMgrError:
            row = None
        if row is None:
            return {"ID": "", "Path": str(key), "Info": "PostgreSQL advisory lock"}
        pid, user, app, addr, started = row
        app = app or ""
        match = re.fullmatch(re.escape(LOCK_APP_PREFIX) + r"(\S+)", app)
        who = f"{user or 'unknown'}@{addr or 'local socket'}"
        return {
            "ID": match.group(1) if match else "",
            "Operation": "",
            "Info": f"PostgreSQL backend pid {pid}" + (f", application {app!r}" if app else ""),
            "Who": who,
            "Version": "",
            "Created": started.isoformat() if started else "",
            "Path": str(key),
        }

    def unlock(self, lock_id: str) -> None:
        if self._lock_key is None or self._lock_info is None:
            raise LockError(
                "not locked by this backend (a PostgreSQL advisory lock belongs to the session that took it)",
                source=self.display_url,
            )
        if lock_id != self._lock_info.id:
            raise LockError(
                f"lock id {lock_id!r} does not match the held lock",
                source=self.display_url,
                lock_info=dict(self._lock_info.to_json()),
            )
        with self._pg("releasing the advisory lock"):
            self.conn.execute("SELECT pg_advisory_unlock(%s)", [self._lock_key])
            self.conn.execute("SELECT set_config('application_name', %s, false)", [APP_NAME])
        self._lock_key = None
        self._lock_info = None

    # --- workspaces ------------------------------------------------------------------------
    def workspaces(self) -> list[str]:
        """Terraform's listing: "default" first, then every other row by name."""
        from psycopg import sql

        query = sql.SQL("SELECT name FROM {} WHERE name <> 'default' ORDER BY name").format(self._table())
        try:
            with self._pg("listing workspaces"):
                rows = self.conn.execute(query).fetchall()
        except StateNotFoundError:  # no table yet: Terraform would create it and list only "default"
            return ["default"]
        return ["default", *(str(r[0]) for r in rows)]
