"""The gcs backend against a real fake-gcs-server: layout and `.tflock` locking as Terraform's."""

from __future__ import annotations

import json
import socket
import uuid

import pytest

from driftmgr.errors import BackendError, LockError, StateNotFoundError, UsageError
from driftmgr.state.backends.base import get_backend, new_lock_info
from driftmgr.state.backends.gcs import GCSBackend

pytestmark = pytest.mark.emulator

STATE = b'{"version": 4, "terraform_version": "1.7.0", "serial": 1, "lineage": "x", "resources": []}'


@pytest.fixture
def client(fake_gcs_env: str):  # type: ignore[no-untyped-def]
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="test", credentials=AnonymousCredentials())


@pytest.fixture
def bucket(client) -> str:  # type: ignore[no-untyped-def]
    """A fresh bucket per test, with object versioning on."""
    b = client.bucket(f"tf-{uuid.uuid4().hex[:16]}")
    b.versioning_enabled = True
    client.create_bucket(b)
    return str(b.name)


def backend(url: str) -> GCSBackend:
    b = get_backend(url)
    assert isinstance(b, GCSBackend)
    return b


def test_push_then_pull_round_trips_and_streams_a_multi_chunk_state(bucket: str, client) -> None:  # type: ignore[no-untyped-def]
    b = backend(f"gs://{bucket}/envs/prod")
    b.write(STATE)
    assert b.read() == STATE
    big = b'{"pad": "' + b"x" * (9 * 1024 * 1024) + b'"}'  # spans three 4 MiB download ranges
    b.write(big)
    with b.open() as fh:
        head = fh.read(10)
        rest = fh.read()
    assert head + rest == big
    assert b.exists()
    blob = client.bucket(bucket).get_blob("envs/prod/default.tfstate")
    assert blob.content_type == "application/json"


def test_objects_follow_terraforms_gcs_layout(bucket: str, client) -> None:  # type: ignore[no-untyped-def]
    backend(f"gs://{bucket}/envs/prod").write(STATE)
    backend(f"gs://{bucket}/envs/prod?workspace=dev").write(b'{"ws": "dev"}')
    backend(f"gcs://{bucket}/envs/prod/?workspace=stage").write(b'{"ws": "stage"}')
    client.bucket(bucket).blob("envs/prod/nested/deeper.tfstate").upload_from_string(b"{}")
    names = sorted(b.name for b in client.list_blobs(bucket))
    assert names == [
        "envs/prod/default.tfstate",
        "envs/prod/dev.tfstate",
        "envs/prod/nested/deeper.tfstate",
        "envs/prod/stage.tfstate",
    ]
    # Workspaces are the direct children only, as Terraform lists them (delimiter "/").
    assert backend(f"gs://{bucket}/envs/prod").workspaces() == ["default", "dev", "stage"]
    assert backend(f"gs://{bucket}/envs/prod?workspace=dev").read() == b'{"ws": "dev"}'
    # An exact .tfstate object is the same state as its prefix + workspace form.
    assert backend(f"gs://{bucket}/envs/prod/dev.tfstate").read() == b'{"ws": "dev"}'
    assert backend(f"gs://{bucket}/envs/prod/dev.tfstate").workspaces() == ["default"]
    # An empty prefix puts the states at the bucket root.
    backend(f"gs://{bucket}").write(STATE)
    assert client.bucket(bucket).get_blob("default.tfstate") is not None


def test_lock_object_is_terraforms_and_a_second_locker_is_refused_with_the_holder(
    bucket: str, client
) -> None:  # type: ignore[no-untyped-def]
    first = backend(f"gs://{bucket}/envs/prod?workspace=dev")
    first.write(STATE)
    info = new_lock_info("OperationTypeApply", "")
    written_id = info.id
    lock_id = first.lock(info)
    lock_blob = client.bucket(bucket).get_blob("envs/prod/dev.tflock")
    assert lock_id == str(lock_blob.generation) == info.id  # Terraform's lock id: the generation
    doc = json.loads(lock_blob.download_as_bytes())
    assert doc["ID"] == written_id and doc["Path"] == f"gs://{bucket}/envs/prod/dev.tflock"
    assert doc["Operation"] == "OperationTypeApply"

    second = backend(f"gs://{bucket}/envs/prod?workspace=dev")
    with pytest.raises(LockError) as err:
        second.lock(new_lock_info("OperationTypePlan", ""))
    assert err.value.lock_info["ID"] == lock_id
    assert err.value.lock_info["Who"] == info.who
    assert info.who in str(err.value)
    # The emulator itself refused the second .tflock (ifGenerationMatch=0), it was not overwritten.
    assert (
        json.loads(client.bucket(bucket).blob("envs/prod/dev.tflock").download_as_bytes())["ID"] == written_id
    )
    # Another workspace has its own lock.
    other = backend(f"gs://{bucket}/envs/prod")
    other.unlock(other.lock(new_lock_info("OperationTypePlan", "")))

    first.unlock(lock_id)
    assert client.bucket(bucket).get_blob("envs/prod/dev.tflock") is None
    second.unlock(second.lock(new_lock_info("OperationTypePlan", "")))


def test_the_emulator_enforces_if_generation_match_zero(bucket: str, client) -> None:  # type: ignore[no-untyped-def]
    from google.api_core.exceptions import PreconditionFailed

    blob = client.bucket(bucket).blob("x.tflock")
    blob.upload_from_string(b"1", if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        client.bucket(bucket).blob("x.tflock").upload_from_string(b"2", if_generation_match=0)


def test_a_lock_taken_by_terraform_is_honoured_and_unlocked_by_its_generation(bucket: str, client) -> None:  # type: ignore[no-untyped-def]
    backend(f"gs://{bucket}/p").write(STATE)
    doc = {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Who": "ci@runner", "Version": "1.7.0"}
    blob = client.bucket(bucket).blob("p/default.tflock")
    blob.upload_from_string(json.dumps(doc), if_generation_match=0)
    b = backend(f"gs://{bucket}/p")
    with pytest.raises(LockError, match="ci@runner") as err:
        b.lock(new_lock_info("OperationTypePlan", ""))
    assert err.value.lock_info["ID"] == str(blob.generation)
    with pytest.raises(LockError, match="ci@runner"):  # a write without the lock id is refused
        b.write(b"{}")
    assert b.read() == STATE
    b.unlock(str(blob.generation))
    assert client.bucket(bucket).get_blob("p/default.tflock") is None


def test_unlock_with_a_wrong_id_is_refused_and_the_lock_stays(bucket: str, client) -> None:  # type: ignore[no-untyped-def]
    b = backend(f"gs://{bucket}/p/state.tfstate")
    lock_id = b.lock(new_lock_info("OperationTypeApply", ""))
    with pytest.raises(LockError, match="does not match") as err:
        backend(f"gs://{bucket}/p/state.tfstate").unlock("12345")
    assert err.value.lock_info["ID"] == lock_id
    assert client.bucket(bucket).get_blob("p/state.tflock") is not None
    backend(f"gs://{bucket}/p/state.tfstate").unlock(lock_id)  # any process that knows the id
    with pytest.raises(LockError, match="not locked"):
        b.unlock(lock_id)


def test_the_holder_writes_and_others_are_refused_while_locked(bucket: str) -> None:
    b = backend(f"gs://{bucket}/p")
    b.write(STATE)
    info = new_lock_info("OperationTypeApply", "")
    uuid_id = info.id
    lock_id = b.lock(info)
    with pytest.raises(LockError, match="already locked"):
        b.lock(new_lock_info("OperationTypeApply", ""))
    with pytest.raises(LockError, match="pass the lock id"):
        b.write(b'{"serial": 2}')
    b.write(b'{"serial": 2}', lock_id=lock_id)
    backend(f"gs://{bucket}/p").write(b'{"serial": 3}', lock_id=uuid_id)  # the id the locker wrote works too
    with pytest.raises(LockError) as err:
        backend(f"gs://{bucket}/p").write(b'{"serial": 4}')
    assert err.value.lock_info["ID"] == lock_id
    with pytest.raises(LockError):
        backend(f"gs://{bucket}/p").write(b'{"serial": 4}', lock_id="999")
    b.unlock(lock_id)
    assert b.read() == b'{"serial": 3}'
    with pytest.raises(LockError, match="not held"):  # a stale lock id after unlock
        backend(f"gs://{bucket}/p").write(b'{"serial": 5}', lock_id=lock_id)


def test_generations_are_the_versions_newest_first(bucket: str) -> None:
    b = backend(f"gs://{bucket}/p")
    for serial in (1, 2, 3):
        b.write(b'{"serial": %d}' % serial)
    versions = b.versions()
    assert [v.current for v in versions] == [True, False, False]
    assert [int(v.id) for v in versions] == sorted((int(v.id) for v in versions), reverse=True)
    assert [b.read_version(v.id) for v in versions] == [b'{"serial": 3}', b'{"serial": 2}', b'{"serial": 1}']
    assert versions[0].size == len(b'{"serial": 3}')
    with pytest.raises(StateNotFoundError):
        b.read_version("1")
    with pytest.raises(UsageError, match="generation"):
        b.read_version("abc")
    with pytest.raises(StateNotFoundError):
        backend(f"gs://{bucket}/nothing-here").versions()


def test_without_bucket_versioning_only_the_live_generation_is_listed(client) -> None:  # type: ignore[no-untyped-def]
    name = f"tf-{uuid.uuid4().hex[:16]}"
    client.create_bucket(name)
    b = backend(f"gs://{name}/x.tfstate")
    b.write(b"1")
    b.write(b"2")
    versions = b.versions()
    assert len(versions) == 1 and versions[0].current
    assert b.read_version(versions[0].id) == b"2"


def test_list_states_finds_tfstate_objects_under_a_prefix(bucket: str, client) -> None:  # type: ignore[no-untyped-def]
    bk = client.bucket(bucket)
    for name in (
        "envs/a/default.tfstate",
        "envs/a/dev.tfstate",
        "envs/b.tfstate",
        "envs/a/default.tflock",
        "envs/notes.txt",
        "other/c.tfstate",
    ):
        bk.blob(name).upload_from_string(STATE)
    assert backend(f"gs://{bucket}/envs/?project=p1").list_states() == [
        f"gs://{bucket}/envs/a/default.tfstate?project=p1",
        f"gs://{bucket}/envs/a/dev.tfstate?project=p1",
        f"gs://{bucket}/envs/b.tfstate?project=p1",
    ]
    assert len(backend(f"gcs://{bucket}").list_states()) == 4
    assert backend(backend(f"gs://{bucket}/envs").list_states()[1]).read() == STATE


def test_missing_bucket_and_object_are_clean_not_found(bucket: str) -> None:
    with pytest.raises(StateNotFoundError, match="bucket 'no-such-bucket-x' does not exist") as err:
        backend("gs://no-such-bucket-x/p").read()
    assert str(err.value).startswith("gs://no-such-bucket-x/p: ")
    with pytest.raises(StateNotFoundError, match="bucket 'no-such-bucket-x' does not exist"):
        backend("gs://no-such-bucket-x/p").write(STATE)
    with pytest.raises(StateNotFoundError, match="bucket 'no-such-bucket-x' does not exist"):
        backend("gs://no-such-bucket-x/p").lock(new_lock_info("x", ""))
    with pytest.raises(StateNotFoundError, match="bucket 'no-such-bucket-x' does not exist"):
        backend("gs://no-such-bucket-x/p").list_states()
    with pytest.raises(StateNotFoundError, match=f"no object 'p/default.tfstate' in bucket '{bucket}'"):
        backend(f"gs://{bucket}/p").read()
    assert not backend(f"gs://{bucket}/p").exists()


def test_an_unreachable_endpoint_is_one_clean_error_naming_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    with pytest.raises(BackendError) as err:
        backend("gs://bkt/envs/prod").read()
    msg = str(err.value)
    assert msg == f"gs://bkt/envs/prod: cannot reach http://127.0.0.1:{port}: connection refused"
    with pytest.raises(BackendError, match="connection refused"):
        backend("gs://bkt/envs/prod").lock(new_lock_info("x", ""))


def test_malformed_urls_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="gs://BUCKET"):
        get_backend("gs://")
    with pytest.raises(UsageError, match="workspace"):
        get_backend("gs://b/x/prod.tfstate?workspace=dev")


def test_without_credentials_or_emulator_the_error_says_how_to_sign_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    from driftmgr.errors import AccessDeniedError

    with pytest.raises(AccessDeniedError, match="no Google credentials found"):
        backend("gs://bkt/p").read()


def test_the_endpoint_option_overrides_the_emulator_variable(
    bucket: str, fake_gcs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend(f"gs://{bucket}/p").write(STATE)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    assert backend(f"gs://{bucket}/p?storage_custom_endpoint={fake_gcs}/storage/v1/").read() == STATE
    with pytest.raises(BackendError, match=f"cannot reach http://127.0.0.1:{port}: connection refused"):
        backend(f"gs://{bucket}/p").read()


def _sdk_errors():  # type: ignore[no-untyped-def]
    import google.auth.exceptions as auth_exc
    import requests
    from google.api_core import exceptions as api_exc

    refused = requests.exceptions.ConnectionError("Max retries: [Errno 111] Connection refused token=SECRET")
    return [
        (api_exc.Forbidden("token=SECRET"), "AccessDeniedError", "read: permission denied \\(HTTP 403\\)"),
        (api_exc.Unauthorized("token=SECRET"), "AccessDeniedError", "permission denied \\(HTTP 401\\)"),
        (api_exc.InternalServerError("token=SECRET"), "BackendError", "read failed: HTTP 500"),
        (api_exc.PreconditionFailed("token=SECRET"), "BackendError", "changed meanwhile"),
        (api_exc.RetryError("Deadline token=SECRET", cause=TimeoutError("timed out")), "BackendError",
         "cannot reach .*: timed out"),
        (auth_exc.RefreshError("token=SECRET"), "AccessDeniedError", "could not be refreshed"),
        (auth_exc.TransportError("token=SECRET"), "BackendError", "cannot reach .*: TransportError"),
        (refused, "BackendError", "cannot reach .*: connection refused"),
        (ValueError("bad endpoint\ntoken=SECRET"), "UsageError", "read: bad endpoint"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(9))
def test_every_sdk_error_maps_to_one_clean_line_without_secrets(case: int) -> None:
    from driftmgr import errors

    exc, expected, pattern = _sdk_errors()[case]
    b = backend("gs://bkt/p")
    with pytest.raises(getattr(errors, expected), match=pattern) as err, b._errors("read"):
        raise exc
    assert type(err.value) is getattr(errors, expected)
    assert "SECRET" not in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("gs://bkt/p: ")
