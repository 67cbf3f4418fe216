"""The pg backend on the real PostgreSQL: Terraform's table, workspaces, advisory locks, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest
from psycopg import sql

from driftmgr.errors import AccessDeniedError, BackendError, LockError, StateNotFoundError, UsageError
from driftmgr.state.backends import pg as pg_module
from driftmgr.state.backends.base import Backend, get_backend, new_lock_info
from driftmgr.state.backends.pg import PgBackend
from tests.fixtures.moto_server import free_port
from tests.fixtures.postgres import pg_state_url

pytestmark = pytest.mark.emulator


def state(serial: int) -> bytes:
    return orjson.dumps({"version": 4, "serial": serial, "lineage": "l-1", "resources": [], "outputs": {}})


@pytest.fixture
def backends() -> Iterator[list[Backend]]:
    """Backends made by a test; closed afterwards so no session (or advisory lock) outlives it."""
    made: list[Backend] = []
    yield made
    for b in made:
        if isinstance(b, PgBackend):
            b.close()


@pytest.fixture
def make(pg_url: str, pg_schema: str, backends: list[Backend]) -> Any:
    def _make(**options: str) -> PgBackend:
        options.setdefault("schema_name", pg_schema)
        backend = get_backend(pg_state_url(pg_url, **options))
        assert isinstance(backend, PgBackend)
        backends.append(backend)
        return backend

    return _make


def rows(pg_url: str, schema: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(pg_url) as conn:
        query = sql.SQL("SELECT id, name, data FROM {} ORDER BY name").format(
            sql.Identifier(schema, "states")
        )
        return conn.execute(query).fetchall()


def test_push_then_pull_round_trips(make: Any, pg_url: str, pg_schema: str) -> None:
    backend = make()
    assert not backend.exists()
    backend.write(state(1))
    backend.write(state(2))
    assert backend.read() == state(2)
    with make().open() as fh:  # a second session sees it
        assert fh.read() == state(2)
    [(row_id, name, data)] = rows(pg_url, pg_schema)
    assert name == "default"
    assert data == state(2).decode()
    assert isinstance(row_id, int)


def test_table_is_created_like_terraforms(make: Any, pg_url: str, pg_schema: str) -> None:
    new_schema = f"{pg_schema}_auto"
    backend = make(schema_name=new_schema, workspace="dev")
    # Reading never creates anything.
    with pytest.raises(StateNotFoundError):
        backend.read()
    assert backend.workspaces() == ["default"]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [new_schema]).fetchone() is None

    backend.write(state(1))
    with psycopg.connect(pg_url) as conn:
        cols = conn.execute(
            "SELECT column_name, data_type, column_default FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = 'states' ORDER BY ordinal_position",
            [new_schema],
        ).fetchall()
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexname = 'states_by_name'",
            [new_schema],
        ).fetchone()
    assert [(c[0], c[1]) for c in cols] == [("id", "bigint"), ("name", "text"), ("data", "text")]
    assert "global_states_id_seq" in cols[0][2]
    assert index is not None and "UNIQUE" in index[0]
    assert [r[1] for r in rows(pg_url, new_schema)] == ["dev"]


def test_skip_table_creation_fails_cleanly_when_the_table_is_missing(make: Any) -> None:
    backend = make(skip_table_creation="true", skip_index_creation="true")
    with pytest.raises(BackendError, match="states does not exist"):
        backend.write(state(1))


def test_workspaces_are_rows(make: Any, pg_url: str, pg_schema: str) -> None:
    make(workspace="prod").write(state(3))
    make().write(state(1))
    make(workspace="dev").write(state(2))
    assert make().workspaces() == ["default", "dev", "prod"]
    assert make(workspace="dev").read() == state(2)
    assert [r[1] for r in rows(pg_url, pg_schema)] == ["default", "dev", "prod"]


def test_second_locker_from_another_connection_is_refused(make: Any, pg_url: str, pg_schema: str) -> None:
    first, second = make(), make()
    first.write(state(1))
    [(row_id, _, _)] = rows(pg_url, pg_schema)
    info = new_lock_info("OperationTypeApply", "")
    lock_id = first.lock(info)
    assert info.path == str(row_id)

    with pytest.raises(LockError) as exc:
        second.lock(new_lock_info("OperationTypeApply", ""))
    assert exc.value.lock_info["ID"] == lock_id  # named through the holder's application_name
    assert str(exc.value.lock_info["Who"]).startswith("postgres@")
    assert f"advisory lock {row_id}" in str(exc.value)

    # Terraform, on its own connection, would be refused too.
    with psycopg.connect(pg_url, autocommit=True) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", [row_id]).fetchone() == (False,)
        first.write(state(2), lock_id=lock_id)
        first.unlock(lock_id)
        assert other.execute("SELECT pg_try_advisory_lock(%s)", [row_id]).fetchone() == (True,)
        # Now Terraform holds it: DriftMgr is refused and says which session holds it.
        with pytest.raises(LockError) as exc:
            second.lock(new_lock_info("OperationTypeApply", ""))
        assert exc.value.lock_info["ID"] == ""
        assert "PostgreSQL backend pid" in str(exc.value.lock_info["Info"])
    # The Terraform session ended: the lock is free.
    second.unlock(second.lock(new_lock_info("OperationTypeApply", "")))
    assert second.read() == state(2)


def test_unlock_rules(make: Any) -> None:
    backend, other = make(), make()
    backend.write(state(1))
    lock_id = backend.lock(new_lock_info("OperationTypeApply", ""))
    with pytest.raises(LockError, match="does not match"):
        backend.unlock("wrong")
    with pytest.raises(LockError, match="not locked by this backend"):
        other.unlock(lock_id)
    with pytest.raises(LockError):
        backend.write(state(2))
    with pytest.raises(LockError, match="already locked"):
        backend.lock(new_lock_info("OperationTypeApply", ""))
    backend.unlock(lock_id)
    other.unlock(other.lock(new_lock_info("OperationTypeApply", "")))


def test_new_workspace_takes_terraforms_creation_lock(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_module, "CREATE_LOCK_RETRY_S", 0.3)
    creator = make(workspace="fresh")
    info = new_lock_info("OperationTypeApply", "")
    lock_id = creator.lock(info)
    assert info.path == "-1"
    with pytest.raises(LockError, match="being created"):
        make(workspace="other-new").lock(new_lock_info("OperationTypeApply", ""))
    creator.write(state(1), lock_id=lock_id)
    creator.unlock(lock_id)
    later = make(workspace="fresh")
    info2 = new_lock_info("OperationTypeApply", "")
    later.unlock(later.lock(info2))
    assert info2.path not in ("", "-1")


def test_closing_the_session_releases_the_lock(make: Any) -> None:
    holder = make()
    holder.write(state(1))
    holder.lock(new_lock_info("OperationTypeApply", ""))
    holder.close()
    other = make()
    other.unlock(other.lock(new_lock_info("OperationTypeApply", "")))


def test_wrong_host_is_a_clean_error_without_the_password(pg_schema: str) -> None:
    secret = "Sup3rS3cretPw"
    url = f"pg://postgres:{secret}@127.0.0.1:{free_port()}/test?schema_name={pg_schema}"
    with pytest.raises(BackendError) as exc:
        get_backend(url).read()
    message = str(exc.value)
    assert secret not in message
    assert "\n" not in message
    assert "127.0.0.1" in message
    assert type(exc.value) is BackendError

    with pytest.raises(BackendError) as exc:
        get_backend(f"pg://postgres:{secret}@no-such-host.invalid/test").read()
    assert secret not in str(exc.value)


def test_unknown_role_is_access_denied(pg_url: str, pg_schema: str) -> None:
    host = pg_url.split("@", 1)[1].split("/", 1)[0]
    url = f"pg://no_such_role_x:pw123secret@{host}/test?schema_name={pg_schema}"
    with pytest.raises(AccessDeniedError) as exc:
        get_backend(url).read()
    assert "pw123secret" not in str(exc.value)


def test_bad_url_parts_are_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PG_CONN_STR", raising=False)
    with pytest.raises(UsageError, match="PG_CONN_STR"):
        get_backend("pg://?workspace=dev")
    with pytest.raises(UsageError):
        get_backend("pg://u:pw@host:notaport/db")
    with pytest.raises(UsageError, match="invalid connection"):
        get_backend("pg://postgres@127.0.0.1/test?bogus_option=1").read()


def test_pg_conn_str_is_the_fallback(
    pg_url: str, pg_schema: str, monkeypatch: pytest.MonkeyPatch, backends: list[Backend]
) -> None:
    monkeypatch.setenv("PG_CONN_STR", pg_url)
    backend = get_backend(f"pg://?schema_name={pg_schema}&workspace=ci")
    backends.append(backend)
    backend.write(state(7))
    assert backend.read() == state(7)
    assert "PG_CONN_STR" in backend.display_url
    assert backend.workspaces() == ["default", "ci"]


def test_malformed_pg_conn_str_does_not_echo_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_CONN_STR", "host=db password=Hunter2Secret 'broken")
    with pytest.raises(UsageError) as exc:
        get_backend("pg://")
    assert "Hunter2Secret" not in str(exc.value)
