"""The azurerm backend against a real Azurite: layout, leases and metadata exactly as Terraform's."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from driftmgr.errors import AccessDeniedError, BackendError, LockError, StateNotFoundError, UsageError
from driftmgr.models import LockInfo
from driftmgr.state.backends.azurerm import LOCK_META_KEY, AzureBlobBackend
from driftmgr.state.backends.base import get_backend, new_lock_info
from tests.fixtures.azurite import ACCOUNT, DEV_KEY, azurite_blob_endpoint

pytestmark = pytest.mark.emulator

STATE = b'{"version": 4, "terraform_version": "1.7.0", "serial": 1, "lineage": "x", "resources": []}'


@pytest.fixture
def container(azurite_env: str) -> str:
    """A fresh container per test."""
    from azure.storage.blob import BlobServiceClient

    name = f"tf{uuid.uuid4().hex[:16]}"
    BlobServiceClient.from_connection_string(azurite_env).create_container(name)
    return name


@pytest.fixture
def sdk(azurite_env: str):  # type: ignore[no-untyped-def]
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(azurite_env)


def backend(container: str, key: str = "prod/terraform.tfstate", query: str = "") -> AzureBlobBackend:
    b = get_backend(f"azurerm://{ACCOUNT}/{container}/{key}{query}")
    assert isinstance(b, AzureBlobBackend)
    return b


def test_push_then_pull_round_trips_and_streams_a_multi_chunk_state(container: str) -> None:
    b = backend(container)
    big = b'{"pad": "' + b"x" * (9 * 1024 * 1024) + b'"}'  # spans three 4 MiB download ranges
    b.write(STATE)
    assert b.read() == STATE
    b.write(big)
    with b.open() as fh:
        first = fh.read(10)
        rest = fh.read()
    assert first + rest == big
    assert b.exists()


def test_workspace_blobs_follow_terraform_layout(container: str, sdk) -> None:  # type: ignore[no-untyped-def]
    backend(container).write(STATE)
    backend(container, query="?workspace=dev").write(b'{"ws": "dev"}')
    backend(container, query="?workspace=prod").write(b'{"ws": "prod"}')
    # A name with a slash after "env:" is not a workspace (Terraform skips it).
    sdk.get_blob_client(container, "prod/terraform.tfstateenv:a/b").upload_blob(b"{}")
    names = sorted(b.name for b in sdk.get_container_client(container).list_blobs())
    assert names == [
        "prod/terraform.tfstate",
        "prod/terraform.tfstateenv:a/b",
        "prod/terraform.tfstateenv:dev",
        "prod/terraform.tfstateenv:prod",
    ]
    assert backend(container).workspaces() == ["default", "dev", "prod"]
    assert backend(container, query="?workspace=dev").read() == b'{"ws": "dev"}'
    blob = sdk.get_blob_client(container, "prod/terraform.tfstateenv:dev")
    assert blob.get_blob_properties().content_settings.content_type == "application/json"


def test_lock_is_a_lease_with_terraforms_metadata_and_refuses_a_second_locker(container: str, sdk) -> None:  # type: ignore[no-untyped-def]
    first = backend(container)
    first.write(STATE)
    info = new_lock_info("OperationTypeApply", "")
    lock_id = first.lock(info)
    assert lock_id == info.id
    props = sdk.get_blob_client(container, "prod/terraform.tfstate").get_blob_properties()
    assert props.lease.state == "leased" and props.lease.duration == "infinite"
    stored = json.loads(base64.b64decode(props.metadata[LOCK_META_KEY]))
    assert stored["ID"] == lock_id
    assert stored["Path"] == f"{container}/prod/terraform.tfstate"
    assert stored["Operation"] == "OperationTypeApply"

    second = backend(container)
    with pytest.raises(LockError) as err:
        second.lock(new_lock_info("OperationTypePlan", ""))
    assert err.value.lock_info["ID"] == lock_id
    assert err.value.lock_info["Who"] == info.who
    assert info.who in str(err.value)
    first.unlock(lock_id)
    props = sdk.get_blob_client(container, "prod/terraform.tfstate").get_blob_properties()
    assert props.lease.status == "unlocked"
    assert LOCK_META_KEY not in props.metadata
    second_id = second.lock(new_lock_info("OperationTypePlan", ""))
    second.unlock(second_id)


def test_a_lock_taken_by_terraform_is_honoured_and_can_be_force_unlocked_by_its_id(
    container: str, sdk
) -> None:  # type: ignore[no-untyped-def]
    blob = sdk.get_blob_client(container, "prod/terraform.tfstate")
    blob.upload_blob(STATE)
    tf_id = str(uuid.uuid4())
    doc = {
        "ID": tf_id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "ci@runner",
        "Version": "1.7.0",
        "Created": "2024-01-01T00:00:00Z",
        "Path": f"{container}/prod/terraform.tfstate",
    }
    lease = blob.acquire_lease(lease_duration=-1, lease_id=tf_id)
    blob.set_blob_metadata({LOCK_META_KEY: base64.b64encode(json.dumps(doc).encode()).decode()}, lease=lease)

    b = backend(container)
    with pytest.raises(LockError, match="ci@runner") as err:
        b.lock(new_lock_info("OperationTypePlan", ""))
    assert err.value.lock_info == doc
    with pytest.raises(LockError) as werr:  # writing without the lease is refused by Azure itself
        b.write(b"{}")
    assert werr.value.lock_info["ID"] == tf_id
    assert b.read() == STATE
    b.unlock(tf_id)
    assert blob.get_blob_properties().lease.status == "unlocked"


def test_unlock_with_a_wrong_id_is_refused_and_the_lock_stays(container: str, sdk) -> None:  # type: ignore[no-untyped-def]
    b = backend(container)
    b.write(STATE)
    lock_id = b.lock(new_lock_info("OperationTypeApply", ""))
    with pytest.raises(LockError, match="does not match") as err:
        backend(container).unlock(str(uuid.uuid4()))
    assert err.value.lock_info["ID"] == lock_id
    assert (
        sdk.get_blob_client(container, "prod/terraform.tfstate").get_blob_properties().lease.status
        == "locked"
    )
    b.unlock(lock_id)
    with pytest.raises(LockError, match="not locked"):
        b.unlock(lock_id)


def test_the_holder_writes_under_its_lease_and_keeps_the_lock_metadata(container: str, sdk) -> None:  # type: ignore[no-untyped-def]
    b = backend(container)
    b.write(STATE)
    lock_id = b.lock(new_lock_info("OperationTypeApply", ""))
    with pytest.raises(LockError, match="pass the lock id"):
        b.write(b'{"serial": 2}')
    b.write(b'{"serial": 2}', lock_id=lock_id)
    assert b.read() == b'{"serial": 2}'
    # Put Blob replaces metadata; the backend carries the lock document over, like Terraform.
    props = sdk.get_blob_client(container, "prod/terraform.tfstate").get_blob_properties()
    assert json.loads(base64.b64decode(props.metadata[LOCK_META_KEY]))["ID"] == lock_id
    # Another instance that knows the lock id (a migrate holding the lock) may write too.
    backend(container).write(b'{"serial": 3}', lock_id=lock_id)
    with pytest.raises(LockError) as err:
        backend(container).write(b'{"serial": 4}')
    assert err.value.lock_info["ID"] == lock_id
    b.unlock(lock_id)
    assert b.read() == b'{"serial": 3}'


def test_locking_a_missing_blob_creates_an_empty_one_that_unlock_removes(container: str, sdk) -> None:  # type: ignore[no-untyped-def]
    b = backend(container, query="?workspace=new")
    info = LockInfo(id="not-a-guid", operation="OperationTypeApply", who="me")
    lock_id = b.lock(info)
    assert uuid.UUID(lock_id) and info.id == lock_id
    blob = sdk.get_blob_client(container, "prod/terraform.tfstateenv:new")
    assert blob.get_blob_properties().size == 0
    with pytest.raises(StateNotFoundError, match="empty"):
        b.read()
    assert not b.exists()
    b.unlock(lock_id)
    assert not blob.exists()


def test_locking_twice_from_one_instance_is_refused(container: str) -> None:
    b = backend(container)
    b.write(STATE)
    lock_id = b.lock(new_lock_info("OperationTypeApply", ""))
    with pytest.raises(LockError, match="already locked"):
        b.lock(new_lock_info("OperationTypeApply", ""))
    b.unlock(lock_id)


def test_snapshots_are_the_versions_newest_first(container: str) -> None:
    b = backend(container, query="?snapshot=true")
    for serial in (1, 2):
        b.write(b'{"serial": %d}' % serial)
    lock_id = b.lock(new_lock_info("OperationTypeApply", ""))
    b.write(b'{"serial": 3}', lock_id=lock_id)  # the snapshot is taken under the lease too
    b.unlock(lock_id)
    versions = b.versions()
    assert [v.current for v in versions] == [True, False, False]
    assert versions[0].id == "current"
    created = [v.created for v in versions[1:]]
    assert created == sorted(created, reverse=True)  # type: ignore[type-var]
    # Snapshots are taken before each overwrite: of serial 2, then of serial 1.
    assert [b.read_version(v.id) for v in versions] == [b'{"serial": 3}', b'{"serial": 2}', b'{"serial": 1}']
    with pytest.raises(StateNotFoundError, match="no version"):
        b.read_version("2001-01-01T00:00:00.0000000Z")


def test_versions_of_a_missing_blob_is_a_clean_not_found(container: str) -> None:
    with pytest.raises(StateNotFoundError):
        backend(container, key="nothing.tfstate").versions()


def test_list_states_finds_tfstate_blobs_and_workspaces_under_the_prefix(container: str, sdk) -> None:  # type: ignore[no-untyped-def]
    c = sdk.get_container_client(container)
    for name in (
        "envs/a.tfstate",
        "envs/b/c.tfstate",
        "envs/a.tfstateenv:dev",
        "envs/notes.txt",
        "other.tfstate",
    ):
        c.upload_blob(name, STATE)
    c.upload_blob("envs/locked-only.tfstate", b"")  # an empty blob made for a lock is no state
    b = get_backend(f"azurerm://{ACCOUNT}/{container}/envs/?endpoint=x")
    assert b.list_states() == [
        f"azurerm://{ACCOUNT}/{container}/envs/a.tfstate?endpoint=x",
        f"azurerm://{ACCOUNT}/{container}/envs/a.tfstate?endpoint=x&workspace=dev",
        f"azurerm://{ACCOUNT}/{container}/envs/b/c.tfstate?endpoint=x",
    ]
    everything = get_backend(f"azurerm://{ACCOUNT}/{container}").list_states()
    assert len(everything) == 4
    dev = get_backend(f"azurerm://{ACCOUNT}/{container}/envs/a.tfstate?workspace=dev")
    assert dev.read() == STATE


def test_missing_container_and_blob_are_clean_not_found(container: str) -> None:
    with pytest.raises(StateNotFoundError, match="container 'nope-container' does not exist") as err:
        get_backend(f"azurerm://{ACCOUNT}/nope-container/k.tfstate").read()
    assert str(err.value).startswith(f"azurerm://{ACCOUNT}/nope-container/k.tfstate: ")
    with pytest.raises(StateNotFoundError, match=f"no blob 'absent.tfstate' in container '{container}'"):
        backend(container, key="absent.tfstate").read()
    with pytest.raises(StateNotFoundError):
        get_backend(f"azurerm://{ACCOUNT}/nope-container/k.tfstate").lock(new_lock_info("x", ""))
    assert not backend(container, key="absent.tfstate").exists()


def test_an_unreachable_endpoint_is_one_clean_error_naming_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("ARM_SAS_TOKEN", raising=False)
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};",
    )
    with pytest.raises(BackendError) as err:
        get_backend(f"azurerm://{ACCOUNT}/c/k.tfstate").read()
    msg = str(err.value)
    assert msg.startswith(f"azurerm://{ACCOUNT}/c/k.tfstate: cannot reach http://127.0.0.1:{port}/{ACCOUNT}")
    assert "connection refused" in msg and DEV_KEY not in msg and "\n" not in msg


def test_access_key_and_sas_token_credentials_with_the_endpoint_option(
    container: str, azurite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    endpoint = azurite_blob_endpoint(azurite_env)
    backend(container).write(STATE)
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    url = f"azurerm://{ACCOUNT}/{container}/prod/terraform.tfstate?endpoint={endpoint}"

    monkeypatch.setenv("ARM_ACCESS_KEY", DEV_KEY)
    assert get_backend(url).read() == STATE
    monkeypatch.setenv("ARM_ACCESS_KEY", base64.b64encode(b"wrong" * 12).decode())
    with pytest.raises(AccessDeniedError) as err:
        get_backend(url).read()
    assert "wrong" not in str(err.value)

    monkeypatch.delenv("ARM_ACCESS_KEY")
    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=DEV_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    monkeypatch.setenv("ARM_SAS_TOKEN", "?" + sas)
    assert get_backend(url).read() == STATE
    assert get_backend(url).workspaces() == ["default"]


def test_token_credentials_over_plain_http_are_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AZURE_STORAGE_CONNECTION_STRING", "ARM_ACCESS_KEY", "ARM_SAS_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    b = get_backend(f"azurerm://{ACCOUNT}/c/k.tfstate?endpoint=http://127.0.0.1:9/{ACCOUNT}")
    with pytest.raises(AccessDeniedError, match="needs an https endpoint"):
        b.read()


def test_a_connection_string_for_another_account_is_a_usage_error(azurite_env: str) -> None:
    with pytest.raises(UsageError, match="not 'otheraccount'"):
        get_backend("azurerm://otheraccount/c/k.tfstate").read()


def test_malformed_urls_and_connection_strings_are_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="azurerm://ACCOUNT/CONTAINER/KEY"):
        get_backend("azurerm://account-only")
    with pytest.raises(UsageError, match="no blob key"):
        get_backend("azurerm://acct/container").read()
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "garbage;AccountKey=s3cr3t")
    with pytest.raises(UsageError, match="not a valid connection string") as err:
        get_backend("azurerm://acct/c/k").read()
    assert "s3cr3t" not in str(err.value)


def _http_error(status: int, code: str):  # type: ignore[no-untyped-def]
    from azure.core.exceptions import HttpResponseError

    exc = HttpResponseError(message=f"Status {status}\nRequestId:x\nsig=SECRET")
    exc.status_code = status
    exc.error_code = code
    return exc


def _sdk_errors():  # type: ignore[no-untyped-def]
    from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceResponseError
    from azure.identity import CredentialUnavailableError

    return [
        (_http_error(403, "AuthorizationPermissionMismatch"), AccessDeniedError, "permission denied"),
        (_http_error(500, "InternalError"), BackendError, "read failed: HTTP 500 InternalError"),
        (_http_error(412, "LeaseIdMissing"), LockError, "locked"),
        (CredentialUnavailableError("sig=SECRET"), AccessDeniedError, "no usable Azure credentials"),
        (ClientAuthenticationError("sig=SECRET"), AccessDeniedError, "no usable Azure credentials"),
        (ServiceResponseError("Read timed out. sig=SECRET"), BackendError, "cannot reach .*: timed out"),
        (AzureError("sig=SECRET"), BackendError, "read failed: AzureError"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_every_sdk_error_maps_to_one_clean_line_without_secrets(case: int) -> None:
    exc, expected, pattern = _sdk_errors()[case]
    b = get_backend("azurerm://acct/c/k.tfstate")
    assert isinstance(b, AzureBlobBackend)
    with pytest.raises(expected, match=pattern) as err, b._errors("read"):
        raise exc
    assert "SECRET" not in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("azurerm://acct/c/k.tfstate: ")


def test_blob_versions_are_used_when_the_account_versions_blobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Azurite has no blob versioning: the listing of a versioning account is stubbed here."""
    from types import SimpleNamespace

    when = datetime(2024, 1, 1, tzinfo=UTC)

    def item(
        vid: str | None, current: bool, snapshot: str | None = None, minutes: int = 0
    ) -> SimpleNamespace:
        return SimpleNamespace(
            name="k.tfstate", version_id=vid, is_current_version=current, snapshot=snapshot,
            last_modified=when + timedelta(minutes=minutes), size=10,
        )  # fmt: skip

    listing = [
        item("2024-01-01T00:00:00.0000000Z", False),
        item("2024-01-01T00:05:00.0000000Z", True, minutes=5),
        item("2024-01-01T00:01:00.0000000Z", False, snapshot="2024-01-01T00:01:00.0000000Z"),
    ]
    b = get_backend("azurerm://acct/c/k.tfstate")
    assert isinstance(b, AzureBlobBackend)
    container = SimpleNamespace(list_blobs=lambda **kw: listing)
    monkeypatch.setattr(b, "_container", lambda: container)
    versions = b.versions()
    assert [(v.id, v.current) for v in versions] == [
        ("2024-01-01T00:05:00.0000000Z", True),
        ("2024-01-01T00:00:00.0000000Z", False),
    ]
