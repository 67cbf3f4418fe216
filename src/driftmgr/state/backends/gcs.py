"""Google Cloud Storage states, with Terraform's gcs backend layout and `.tflock` objects.

`gs://BUCKET/PREFIX?workspace=W` (alias `gcs://`) is Terraform's gcs backend: the state of workspace
W is the object `PREFIX/W.tfstate` and its lock the object `PREFIX/W.tflock`. A path that ends in
`.tfstate` (`gs://BUCKET/path/x.tfstate`) names one exact object, locked by `path/x.tflock`; it has
no workspaces.

Locking (as Terraform): the lock document (JSON) is written to the `.tflock` object with the
precondition `ifGenerationMatch=0`, so a second locker gets HTTP 412. The lock id is the lock
object's generation, as Terraform's (`terraform force-unlock <generation>` works on our locks and
we accept Terraform's). Unlock checks the id and deletes with `ifGenerationMatch=<generation>`.

Versions: object generations (kept when bucket versioning is on; without it only the live one is
listed). Newest first. Credentials: google-auth application default credentials; with
STORAGE_EMULATOR_HOST set, anonymous credentials and a placeholder project. The `project` option
sets the project, `endpoint` (or Terraform's `storage_custom_endpoint`) a custom API endpoint.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
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
    from google.cloud.storage import Blob, Bucket, Client

STATE_SUFFIX = ".tfstate"
LOCK_SUFFIX = ".tflock"
CHUNK = 4 * 1024 * 1024  # download in 4 MiB ranges: a big state is streamed, never held whole
TIMEOUT = 60.0  # seconds per HTTP request
EMULATOR_PROJECT = "driftmgr-emulator"


@register("gs", "gcs")
class GCSBackend(Backend):
    kind = "gcs"
    supports_lock = True
    supports_versions = True
    supports_workspaces = True

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower() or "gs"
        self.bucket_name = parts.netloc.rsplit("@", 1)[-1]
        self.path = parts.path.lstrip("/")
        if not self.bucket_name:
            raise UsageError(
                "expected gs://BUCKET/PREFIX or gs://BUCKET/path/NAME.tfstate", source=self.display_url
            )
        self.exact = self.path.endswith(STATE_SUFFIX)
        if self.exact and self.workspace != "default":
            raise UsageError(
                "?workspace= needs a prefix URL (gs://BUCKET/PREFIX), not an exact .tfstate object",
                source=self.display_url,
            )
        if self.exact:
            self.state_name = self.path
            self.lock_name = self.path[: -len(STATE_SUFFIX)] + LOCK_SUFFIX
        else:
            prefix = self.path.strip("/")
            self.state_name = posixpath.join(prefix, self.workspace + STATE_SUFFIX)
            self.lock_name = posixpath.join(prefix, self.workspace + LOCK_SUFFIX)
        self._client: Client | None = None
        self._lock_id: str | None = None

    @property
    def endpoint(self) -> str:
        """The JSON API endpoint in use: named in connection errors."""
        custom = self.options.get("endpoint") or self.options.get("storage_custom_endpoint")
        return custom or os.environ.get("STORAGE_EMULATOR_HOST") or "https://storage.googleapis.com"

    # --- client ----------------------------------------------------------------------------
    def _storage(self) -> Client:
        if self._client is None:
            with self._errors("connect"):
                self._client = self._make_client()
        return self._client

    def _bucket(self) -> Bucket:
        return self._storage().bucket(self.bucket_name)

    def _make_client(self) -> Client:
        from google.cloud import storage

        project = self.options.get("project")
        options: dict[str, str] = {}
        custom = self.options.get("endpoint") or self.options.get("storage_custom_endpoint")
        if custom:
            options["api_endpoint"] = custom.rstrip("/").removesuffix("/storage/v1")
        if os.environ.get("STORAGE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            return storage.Client(
                project=project or EMULATOR_PROJECT,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options=options,
            )
        import google.auth

        credentials, default_project = google.auth.default(
            scopes=["https://www.googleapis.com/auth/devstorage.read_write"]
        )
        return storage.Client(
            project=project or default_project or None, credentials=credentials, client_options=options
        )

    def _blob(self, name: str, generation: int | None = None) -> Blob:
        return self._bucket().blob(name, generation=generation, chunk_size=None)

    # --- error mapping: the one place google exceptions become DriftMgr errors -------------
    @contextlib.contextmanager
    def _errors(self, action: str, *, name: str | None = None, holder: bool = False) -> Iterator[None]:
        """Map google.api_core / google.auth / transport exceptions raised inside the block.
        `name` is the object a 404 is about; `holder` adds the lock holder to LockErrors."""
        import google.auth.exceptions as auth_exc
        import requests
        from google.api_core import exceptions as api_exc

        try:
            yield
        except DriftMgrError:
            raise
        except api_exc.NotFound as exc:
            if name is None or self._bucket_missing(str(getattr(exc, "message", ""))):
                self._fail(StateNotFoundError, f"bucket '{self.bucket_name}' does not exist")
            self._fail(StateNotFoundError, f"{action}: no object '{name}' in bucket '{self.bucket_name}'")
        except api_exc.PreconditionFailed:
            if not holder:
                self._fail(BackendError, f"{action}: the object changed meanwhile (precondition failed)")
            info = self._holder_info()
            who = f" by {info['Who']}" if info.get("Who") else ""
            raise LockError(
                f"{action}: the state is locked{who}", source=self.display_url, lock_info=info
            ) from None
        except (api_exc.Forbidden, api_exc.Unauthorized) as exc:
            self._fail(AccessDeniedError, f"{action}: permission denied (HTTP {exc.code})")
        except api_exc.RetryError as exc:
            self._fail(BackendError, f"cannot reach {self.endpoint}: {_reason(exc.cause or exc)}")
        except api_exc.GoogleAPICallError as exc:
            self._fail(BackendError, f"{action} failed: HTTP {exc.code}")
        except auth_exc.DefaultCredentialsError:
            self._fail(
                AccessDeniedError,
                "no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS or run "
                "`gcloud auth application-default login` (or STORAGE_EMULATOR_HOST for an emulator)",
            )
        except auth_exc.RefreshError:
            self._fail(
                AccessDeniedError, "the Google credentials could not be refreshed (expired or revoked)"
            )
        except (auth_exc.TransportError, requests.exceptions.RequestException) as exc:
            self._fail(BackendError, f"cannot reach {self.endpoint}: {_reason(exc)}")
        except ValueError as exc:  # the client library's own checks (e.g. a bad endpoint)
            self._fail(UsageError, f"{action}: {str(exc).splitlines()[0][:200]}")

    def _bucket_missing(self, message: str) -> bool:
        """After a 404: is it the bucket that is missing? GCS says so in the message; otherwise
        ask (best effort: without storage.buckets.get permission, assume the object is missing)."""
        if "bucket" in message.lower():
            return True
        try:
            return not self._bucket().exists(retry=None, timeout=TIMEOUT)
        except Exception:  # noqa: BLE001 - a probe only; the 404 is reported either way
            return False

    def _fail(self, cls: Callable[..., DriftMgrError], message: str) -> NoReturn:
        raise cls(message, source=self.display_url) from None

    # --- reading ---------------------------------------------------------------------------
    def open(self) -> IO[bytes]:
        blob = self._blob(self.state_name)
        with self._errors("read", name=self.state_name):
            blob.reload(retry=_retry(), timeout=TIMEOUT)  # pins the generation: reads see one version
            reader = blob.open("rb", chunk_size=CHUNK, retry=_retry(), if_generation_match=blob.generation)
        return io.BufferedReader(_MappedReader(reader, self._errors), buffer_size=1024 * 1024)

    # --- writing ---------------------------------------------------------------------------
    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        if self._lock_id is not None and lock_id != self._lock_id:
            raise LockError("the state is locked; pass the lock id to write", source=self.display_url)
        holder = self._lock_document()
        if holder is not None and lock_id not in _ids(holder):
            who = f" by {holder['Who']}" if holder.get("Who") else ""
            raise LockError(f"the state is locked{who}", source=self.display_url, lock_info=holder)
        if holder is None and lock_id is not None:
            raise LockError(
                f"lock {lock_id!r} is not held (the lock object is gone)", source=self.display_url
            )
        with self._errors("write"):
            self._blob(self.state_name).upload_from_string(
                data, content_type="application/json", retry=_retry(), timeout=TIMEOUT
            )

    # --- locking ---------------------------------------------------------------------------
    def lock(self, info: LockInfo) -> str:
        if self._lock_id is not None:
            raise LockError("already locked by this backend instance", source=self.display_url)
        info.path = f"gs://{self.bucket_name}/{self.lock_name}"
        blob = self._blob(self.lock_name)
        with self._errors("lock", holder=True):
            blob.upload_from_string(
                orjson.dumps(info.to_json()),
                content_type="application/json",
                if_generation_match=0,
                retry=_retry(),
                timeout=TIMEOUT,
            )
        # Terraform's lock id is the generation of the lock object.
        info.id = self._lock_id = str(blob.generation)
        return info.id

    def unlock(self, lock_id: str) -> None:
        holder = self._lock_document()
        if holder is None:
            raise LockError("the state is not locked", source=self.display_url)
        if lock_id not in _ids(holder):
            raise LockError(
                f"lock id {lock_id!r} does not match the held lock {holder['ID']!r}",
                source=self.display_url,
                lock_info=holder,
            )
        generation = int(str(holder["ID"]))
        with self._errors("unlock", name=self.lock_name, holder=True):
            self._blob(self.lock_name).delete(if_generation_match=generation, retry=_retry(), timeout=TIMEOUT)
        self._lock_id = None

    def _lock_document(self) -> dict[str, object] | None:
        """The lock object's JSON with "ID" set to its generation (as Terraform reports it), or None
        when there is no lock. An unreadable lock document still counts as a lock."""
        from google.api_core.exceptions import NotFound

        blob = self._blob(self.lock_name)
        with self._errors("read lock"):
            try:
                raw = blob.download_as_bytes(retry=_retry(), timeout=TIMEOUT)
            except NotFound:  # no lock (or no bucket: the caller's next call says so)
                return None
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        doc["LockID"] = doc.get("ID", "")  # the id written by the locker (a UUID)
        doc["ID"] = str(blob.generation)
        return doc

    def _holder_info(self) -> dict[str, object]:
        try:
            return self._lock_document() or {}
        except DriftMgrError:
            return {}

    # --- workspaces, versions, listing -----------------------------------------------------
    def workspaces(self) -> list[str]:
        if self.exact:
            return ["default"]
        prefix = self.path.strip("/")
        prefix = f"{prefix}/" if prefix else ""
        names: list[str] = []
        with self._errors("list workspaces"):
            for item in self._list(prefix=prefix, delimiter="/"):
                base = item.name[len(prefix) :]
                if base.endswith(STATE_SUFFIX):
                    names.append(base[: -len(STATE_SUFFIX)])
        return ["default", *sorted(set(names) - {"default"})]

    def _list(self, **kwargs: Any) -> Iterator[Any]:
        return iter(self._storage().list_blobs(self.bucket_name, retry=_retry(), timeout=TIMEOUT, **kwargs))

    def versions(self) -> list[StateVersion]:
        out: list[StateVersion] = []
        # versions="true", not True: fake-gcs-server only understands the lower-case spelling
        # (GCS accepts both), and the client library sends str(True).
        with self._errors("list versions"):
            for item in self._list(prefix=self.state_name, versions="true"):
                if item.name != self.state_name:
                    continue
                out.append(
                    StateVersion(
                        id=str(item.generation),
                        created=item.time_created.isoformat() if item.time_created else None,
                        size=item.size,
                        current=item.time_deleted is None,
                    )
                )
        if not out:
            raise StateNotFoundError(
                f"no object '{self.state_name}' in bucket '{self.bucket_name}'", source=self.display_url
            )
        out.sort(key=lambda v: int(v.id), reverse=True)  # newest first
        return out

    def read_version(self, version_id: str) -> bytes:
        if not version_id.isdigit():
            raise UsageError(
                f"a GCS version is an object generation (a number), not {version_id!r}",
                source=self.display_url,
            )
        with self._errors(f"read generation {version_id}", name=f"{self.state_name}#{version_id}"):
            blob = self._blob(self.state_name, generation=int(version_id))
            return bytes(blob.download_as_bytes(retry=_retry(), timeout=TIMEOUT))

    def list_states(self) -> list[str]:
        opts = {k: v for k, v in self.options.items() if k != "workspace"}
        query = f"?{urlencode(opts, safe=':/')}" if opts else ""
        with self._errors("list states"):
            names = [i.name for i in self._list(prefix=self.path) if i.name.endswith(STATE_SUFFIX)]
        return sorted(f"{self.scheme}://{self.bucket_name}/{quote(n, safe='/')}{query}" for n in names)


class _MappedReader(io.RawIOBase):
    """A raw stream over the library's BlobReader; errors raised mid-stream are mapped."""

    def __init__(self, inner: Any, errors: Callable[[str], AbstractContextManager[None]]):
        self._inner = inner
        self._errors = errors

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        with self._errors("read"):
            data = self._inner.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._inner.close()
        super().close()


def _ids(holder: dict[str, object]) -> set[str | None]:
    """The ids that name a lock: its generation (Terraform's lock id) or the id the locker wrote."""
    return {str(holder["ID"]), str(holder.get("LockID") or holder["ID"])}


def _retry() -> Any:
    """The library's default retry, except that a refused connection is not retried: nothing
    listens there, and retrying would make a wrong endpoint hang for two minutes."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    default = getattr(DEFAULT_RETRY, "_predicate", None) or (lambda exc: False)

    def predicate(exc: BaseException) -> bool:
        return not _refused(exc) and bool(default(exc))

    return DEFAULT_RETRY.with_predicate(predicate).with_timeout(120.0)


def _refused(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ConnectionRefusedError) or "connection refused" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _reason(exc: BaseException) -> str:
    if _refused(exc):
        return "connection refused"
    text = str(exc).lower()
    if "name or service not known" in text or "nodename nor servname" in text or "failed to resolve" in text:
        return "unknown host"
    if "timed out" in text or "timeout" in text:
        return "timed out"
    return type(exc).__name__
