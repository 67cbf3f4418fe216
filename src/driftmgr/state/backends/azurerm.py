"""Azure Blob Storage states, with Terraform's azurerm backend layout and blob-lease locking.

`azurerm://ACCOUNT/CONTAINER/KEY?workspace=W&endpoint=URL&snapshot=true`

Layout (as Terraform's azurerm backend): the default workspace is the blob KEY, workspace W is the
blob `KEY + "env:" + W` (e.g. `prod.terraform.tfstateenv:dev`).

Locking (as Terraform): an infinite blob lease whose id is the lock id, plus the lock document,
base64-encoded JSON, in the blob metadata `terraformlockid`. A missing blob is created empty so it
can be leased. Writes under a lease pass the lease id and keep the blob metadata.

Versions: blob versions when the account has versioning on; otherwise blob snapshots (written by
`?snapshot=true`, like Terraform's `snapshot = true`, or by anyone else) plus the current blob,
which has the id "current". Newest first. Azurite supports snapshots but not blob versions.

Credentials: AZURE_STORAGE_CONNECTION_STRING when set; else ARM_ACCESS_KEY (account key) or
ARM_SAS_TOKEN; else azure-identity's DefaultAzureCredential. The account URL is
https://ACCOUNT.blob.core.windows.net unless the `endpoint` option says otherwise.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import IO, TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote, urlencode, urlsplit

import orjson

from driftmgr.errors import (
    AccessDeniedError,
    BackendError,
    DriftMgrError,
    LockError,
    StateNotFoundError,
    UsageError,
)
from driftmgr.models import LockInfo, StateVersion
from driftmgr.state.backends.base import Backend, register

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient

LOCK_META_KEY = "terraformlockid"  # Terraform's metadata key (must be lower case)
ENV_PREFIX = "env:"  # Terraform's workspace separator in blob names
CURRENT = "current"  # the version id of the live blob when versions are snapshots
CHUNK = 4 * 1024 * 1024  # download in 4 MiB ranges: a big state is streamed, never held whole

# Lease and precondition error codes that mean "someone else holds the lock".
_LEASE_CODES = {
    "LeaseAlreadyPresent",
    "LeaseIdMissing",
    "LeaseIdMismatchWithBlobOperation",
    "LeaseIdMismatchWithLeaseOperation",
    "LeaseIdMismatchWithContainerOperation",
    "LeaseNotPresentWithBlobOperation",
    "LeaseNotPresentWithLeaseOperation",
    "LeaseIsBreakingAndCannotBeAcquired",
    "LeaseIsBrokenAndCannotBeRenewed",
    "LeaseLost",
}


@register("azurerm")
class AzureBlobBackend(Backend):
    kind = "azurerm"
    supports_lock = True
    supports_versions = True
    supports_workspaces = True

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        self.account = parts.netloc.rsplit("@", 1)[-1]
        container, _, key = parts.path.lstrip("/").partition("/")
        self.container = container
        self.key = key
        if not self.account or not self.container:
            raise UsageError("expected azurerm://ACCOUNT/CONTAINER/KEY", source=self.display_url)
        self._client: BlobServiceClient | None = None
        self._lease_id: str | None = None
        self._created_empty = False

    # --- names -----------------------------------------------------------------------------
    def _key(self) -> str:
        if not self.key:
            raise UsageError(
                "no blob key in the URL (azurerm://ACCOUNT/CONTAINER/KEY)", source=self.display_url
            )
        return self.key

    @property
    def blob_name(self) -> str:
        """The blob holding this workspace's state, in Terraform's layout."""
        key = self._key()
        return key if self.workspace == "default" else f"{key}{ENV_PREFIX}{self.workspace}"

    @property
    def endpoint(self) -> str:
        """The blob service URL (no credentials): named in connection errors."""
        if self._client is not None:
            return str(self._client.url).split("?", 1)[0].rstrip("/")
        return self.options.get("endpoint", f"https://{self.account}.blob.core.windows.net").rstrip("/")

    # --- clients ---------------------------------------------------------------------------
    def _service(self) -> BlobServiceClient:
        if self._client is None:
            with self._errors("connect"):
                self._client = self._make_client()
        return self._client

    def _make_client(self) -> BlobServiceClient:
        from azure.storage.blob import BlobServiceClient, ExponentialRetry

        # The SDK default retries a refused connection for over a minute; a wrong endpoint should
        # fail in seconds, while throttling and 5xx still get three quick retries.
        retry: dict[str, Any] = {"initial_backoff": 0.5, "increment_base": 2, "random_jitter_range": 0.5}
        kwargs: dict[str, Any] = {
            "retry_policy": ExponentialRetry(retry_total=3, retry_connect=1, **retry),
            "max_single_get_size": CHUNK,
            "max_chunk_get_size": CHUNK,
        }
        conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        if conn:
            try:
                client = BlobServiceClient.from_connection_string(conn, **kwargs)
            except ValueError:
                raise UsageError(
                    "AZURE_STORAGE_CONNECTION_STRING is not a valid connection string",
                    source=self.display_url,
                ) from None
            if client.account_name and client.account_name.lower() != self.account.lower():
                raise UsageError(
                    f"AZURE_STORAGE_CONNECTION_STRING is for account '{client.account_name}', "
                    f"not '{self.account}'",
                    source=self.display_url,
                )
            return client
        account_url = self.options.get("endpoint", f"https://{self.account}.blob.core.windows.net")
        credential: Any
        if key := os.environ.get("ARM_ACCESS_KEY"):
            credential = {"account_name": self.account, "account_key": key}
        elif sas := os.environ.get("ARM_SAS_TOKEN"):
            from azure.core.credentials import AzureSasCredential

            credential = AzureSasCredential(sas.lstrip("?"))
        else:
            if not account_url.lower().startswith("https://"):
                raise AccessDeniedError(
                    f"Azure AD (token) authentication needs an https endpoint, not {account_url}; "
                    "set ARM_ACCESS_KEY, ARM_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING",
                    source=self.display_url,
                )
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        try:
            return BlobServiceClient(account_url, credential=credential, **kwargs)
        except ValueError:
            raise UsageError(f"invalid blob endpoint {account_url!r}", source=self.display_url) from None

    def _container(self) -> ContainerClient:
        return self._service().get_container_client(self.container)

    def _blob(self, name: str | None = None, snapshot: str | None = None) -> BlobClient:
        return self._service().get_blob_client(self.container, name or self.blob_name, snapshot=snapshot)

    # --- error mapping: the one place azure.core exceptions become DriftMgr errors -----------
    @contextlib.contextmanager
    def _errors(self, action: str, *, holder: bool = False) -> Iterator[None]:
        """Map azure.core exceptions raised inside the block; `holder` adds the lock holder to
        LockErrors (read from the blob metadata)."""
        from azure.core.exceptions import (
            AzureError,
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        try:
            yield
        except DriftMgrError:
            raise
        except ResourceNotFoundError as exc:
            code = _code(exc)
            if code == "ContainerNotFound":
                self._fail(
                    StateNotFoundError,
                    f"container '{self.container}' does not exist in account '{self.account}'",
                )
            self._fail(
                StateNotFoundError,
                f"{action}: no blob '{self._name_for_messages()}' in container '{self.container}'",
            )
        except ClientAuthenticationError as exc:
            if type(exc).__module__.startswith("azure.identity") or not getattr(exc, "status_code", None):
                self._fail(
                    AccessDeniedError,
                    "no usable Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, ARM_ACCESS_KEY or "
                    "ARM_SAS_TOKEN, or sign in for DefaultAzureCredential (az login, managed identity)",
                )
            self._fail(
                AccessDeniedError, f"{action}: authentication failed ({_code(exc) or exc.status_code})"
            )
        except HttpResponseError as exc:
            code = _code(exc)
            if code in _LEASE_CODES or (exc.status_code == 412 and code.startswith("Lease")):
                info = self._holder_info() if holder else {}
                who = f" by {info['Who']}" if info.get("Who") else ""
                raise LockError(
                    f"{action}: the state is locked{who} ({code})", source=self.display_url, lock_info=info
                ) from None
            if exc.status_code == 403:
                self._fail(AccessDeniedError, f"{action}: permission denied ({code or 'HTTP 403'})")
            self._fail(
                BackendError, f"{action} failed: HTTP {exc.status_code}" + (f" {code}" if code else "")
            )
        except (ServiceRequestError, ServiceResponseError) as exc:
            self._fail(BackendError, f"cannot reach {self.endpoint}: {_reason(exc)}")
        except AzureError as exc:
            self._fail(BackendError, f"{action} failed: {type(exc).__name__}")

    def _name_for_messages(self) -> str:
        return self.key if self.workspace == "default" else f"{self.key}{ENV_PREFIX}{self.workspace}"

    def _fail(self, cls: Callable[..., DriftMgrError], message: str) -> NoReturn:
        raise cls(message, source=self.display_url) from None

    # --- reading ---------------------------------------------------------------------------
    def open(self) -> IO[bytes]:
        with self._errors("read"):
            downloader = self._blob().download_blob()
            if downloader.size == 0:  # Terraform treats an empty blob (made for a lock) as no state
                raise StateNotFoundError("the state blob is empty (no state yet)", source=self.display_url)
        return io.BufferedReader(_ChunkReader(downloader.chunks(), self._errors), buffer_size=1024 * 1024)

    # --- writing ---------------------------------------------------------------------------
    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        if self._lease_id is not None and lock_id != self._lease_id:
            raise LockError("the state is locked; pass the lock id to write", source=self.display_url)
        from azure.core.exceptions import ResourceNotFoundError
        from azure.storage.blob import BlobLeaseClient, ContentSettings

        blob = self._blob()
        lease_id = lock_id or self._lease_id
        lease = BlobLeaseClient(blob, lease_id=lease_id) if lease_id else None

        with self._errors("write", holder=True):
            if self.options.get("snapshot", "").lower() in ("true", "1"):
                with contextlib.suppress(ResourceNotFoundError):
                    blob.create_snapshot(lease=lease)
            metadata: dict[str, str] = {}
            with contextlib.suppress(ResourceNotFoundError):
                # Put Blob replaces metadata: carry it over, as Terraform does (keeps the lock info).
                metadata = dict(blob.get_blob_properties(lease=lease).metadata or {})
            blob.upload_blob(
                data,
                overwrite=True,
                lease=lease,
                metadata=metadata or None,
                content_settings=ContentSettings(content_type="application/json"),
            )
        self._created_empty = False

    # --- locking ---------------------------------------------------------------------------
    def lock(self, info: LockInfo) -> str:
        if self._lease_id is not None:
            raise LockError("already locked by this backend instance", source=self.display_url)
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
        from azure.storage.blob import ContentSettings

        info.path = f"{self.container}/{self.blob_name}"
        info.id = _as_lease_id(info.id)
        blob = self._blob()
        with self._errors("lock", holder=True):
            try:
                props = blob.get_blob_properties()
            except ResourceNotFoundError as exc:
                if _code(exc) == "ContainerNotFound":
                    raise
                props = None
                with contextlib.suppress(ResourceExistsError):  # appeared meanwhile: lease that one
                    blob.upload_blob(
                        b"",
                        overwrite=False,
                        content_settings=ContentSettings(content_type="application/json"),
                    )
                    self._created_empty = True
            if props is not None and props.lease.status == "locked":
                info_doc = self._holder_info()
                who = f" by {info_doc['Who']}" if info_doc.get("Who") else ""
                raise LockError(
                    f"the state is already locked{who}", source=self.display_url, lock_info=info_doc
                )
            lease = blob.acquire_lease(lease_duration=-1, lease_id=info.id)
            self._lease_id = lease.id
            try:
                metadata = dict(blob.get_blob_properties(lease=lease.id).metadata or {})
                metadata[LOCK_META_KEY] = base64.b64encode(orjson.dumps(info.to_json())).decode()
                blob.set_blob_metadata(metadata, lease=lease.id)
            except BaseException:
                with contextlib.suppress(Exception):
                    lease.release()
                self._lease_id = None
                raise
        return info.id

    def unlock(self, lock_id: str) -> None:
        from azure.core.exceptions import AzureError
        from azure.storage.blob import BlobLeaseClient

        blob = self._blob()
        with self._errors("unlock"):
            props = blob.get_blob_properties()
        if props.lease.status != "locked":
            raise LockError("the state is not locked", source=self.display_url)
        holder = _decode_lock(props.metadata or {})
        if holder.get("ID") and holder["ID"] != lock_id:
            raise LockError(
                f"lock id {lock_id!r} does not match the held lock {holder['ID']!r}",
                source=self.display_url,
                lock_info=holder,
            )
        with self._errors("unlock", holder=True):
            metadata = {k: v for k, v in (props.metadata or {}).items() if k != LOCK_META_KEY}
            blob.set_blob_metadata(metadata, lease=lock_id)
            BlobLeaseClient(blob, lease_id=lock_id).release()
        self._lease_id = None
        if self._created_empty:  # an empty blob made only to hold the lock is not a state
            self._created_empty = False
            with contextlib.suppress(AzureError):
                props = blob.get_blob_properties()
                if props.size == 0:
                    blob.delete_blob(etag=props.etag, match_condition=_if_match())

    def _holder_info(self) -> dict[str, object]:
        """The lock document of the current holder, or {} when it cannot be read."""
        try:
            props = self._blob().get_blob_properties()
        except Exception:  # noqa: BLE001 - best effort: the LockError itself is what matters
            return {}
        return _decode_lock(props.metadata or {})

    # --- workspaces, versions, listing -----------------------------------------------------
    def workspaces(self) -> list[str]:
        prefix = f"{self._key()}{ENV_PREFIX}"
        names: list[str] = []
        with self._errors("list workspaces"):
            for item in self._container().list_blobs(name_starts_with=prefix):
                name = item.name[len(prefix) :]
                if name and "/" not in name:  # Terraform skips names with a slash
                    names.append(name)
        return ["default", *sorted(set(names) - {"default"})]

    def _history(self) -> tuple[str, list[Any]]:
        """("versions", blob versions) when the account versions blobs, else ("snapshots", …)."""
        name = self.blob_name
        with self._errors("list versions"):
            items = [
                b
                for b in self._container().list_blobs(
                    name_starts_with=name, include=["snapshots", "versions"]
                )
                if b.name == name
            ]
        if any(getattr(b, "version_id", None) for b in items):
            return "versions", [b for b in items if b.version_id and not b.snapshot]
        return "snapshots", items

    def versions(self) -> list[StateVersion]:
        kind, items = self._history()
        out: list[StateVersion] = []
        for b in items:
            if kind == "versions":
                vid, current = str(b.version_id), bool(b.is_current_version)
            else:
                vid, current = (str(b.snapshot), False) if b.snapshot else (CURRENT, True)
            created = b.last_modified.isoformat() if b.last_modified else None
            if kind == "snapshots" and b.snapshot:
                created = str(b.snapshot)  # the snapshot time is when this version was taken
            out.append(StateVersion(id=vid, created=created, size=b.size, current=current))
        if not out:
            raise StateNotFoundError(
                f"no blob '{self.blob_name}' in container '{self.container}'", source=self.display_url
            )
        # Newest first; the live blob leads.
        out.sort(key=lambda v: (v.current, v.created or ""), reverse=True)
        return out

    def read_version(self, version_id: str) -> bytes:
        if version_id == CURRENT:
            return self.read()
        kind, items = self._history()
        with self._errors(f"read version {version_id}"):
            if kind == "versions" and any(b.version_id == version_id for b in items):
                return bytes(self._blob().download_blob(version_id=version_id).readall())
            if kind == "snapshots" and any(b.snapshot == version_id for b in items):
                return bytes(self._blob(snapshot=version_id).download_blob().readall())
        raise StateNotFoundError(f"no version {version_id!r} of the state blob", source=self.display_url)

    def list_states(self) -> list[str]:
        found: set[str] = set()
        with self._errors("list states"):
            for item in self._container().list_blobs(name_starts_with=self.key):
                if not item.size:  # an empty blob made to hold a lock is not a state
                    continue
                base, sep, ws = item.name.partition(f".tfstate{ENV_PREFIX}")
                if sep and ws and "/" not in ws:
                    found.add(self._src(f"{base}.tfstate", ws))
                elif item.name.endswith(".tfstate"):
                    found.add(self._src(item.name, "default"))
        return sorted(found)

    def _src(self, name: str, workspace: str) -> str:
        opts = {k: v for k, v in self.options.items() if k != "workspace"}
        if workspace != "default":
            opts["workspace"] = workspace
        query = f"?{urlencode(opts, safe=':/')}" if opts else ""
        return f"azurerm://{self.account}/{self.container}/{quote(name, safe='/:')}{query}"


class _ChunkReader(io.RawIOBase):
    """A raw stream over an iterator of byte chunks; SDK errors raised mid-stream are mapped."""

    def __init__(self, chunks: Iterator[bytes], errors: Callable[[str], AbstractContextManager[None]]):
        self._chunks = chunks
        self._errors = errors
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while not self._buf:
            with self._errors("read"):
                nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._buf = bytes(nxt)
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _code(exc: Any) -> str:
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _reason(exc: BaseException) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "unknown host"
    if "timed out" in text or "timeout" in text:
        return "timed out"
    return type(getattr(exc, "inner_exception", None) or exc).__name__


def _decode_lock(metadata: dict[str, str]) -> dict[str, object]:
    raw = metadata.get(LOCK_META_KEY, "")
    if not raw:
        return {}
    try:
        data = orjson.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _as_lease_id(lock_id: str) -> str:
    """Azure lease ids are GUIDs; Terraform proposes the lock id as the lease id."""
    try:
        return str(uuid.UUID(lock_id))
    except (ValueError, TypeError):
        return str(uuid.uuid4())


def _if_match() -> Any:
    from azure.core import MatchConditions

    return MatchConditions.IfNotModified
