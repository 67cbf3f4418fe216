"""Amazon S3 state, laid out and locked exactly like Terraform's `s3` backend.

URL: `s3://BUCKET/KEY?region=R&profile=P&dynamodb_table=T&use_lockfile=true&workspace=W
&workspace_key_prefix=env:`. The default workspace lives at KEY, every other one at
`<workspace_key_prefix>/<W>/<KEY>` (prefix default `env:`).

Locking, as Terraform 1.10+ does it (both may be enabled at once; the lock file is taken first):
- `use_lockfile=true`: an S3 object `<state key>.tflock` holding the lock JSON, created with
  `If-None-Match: *` so a second creator gets 412 Precondition Failed;
- `dynamodb_table=T`: an item `LockID = "<bucket>/<state key>"`, `Info = <lock JSON>` put with
  `attribute_not_exists(LockID)`. Every write also refreshes the `<bucket>/<state key>-md5` item
  (`Digest` = md5 hex of the state) that Terraform checks on read.
With neither option the backend does not lock, like Terraform.

Credentials and endpoints come from boto3's standard chain (env, profiles, SSO, IMDS;
AWS_ENDPOINT_URL); `profile`, `region`, `endpoints.s3`/`endpoint`, `endpoints.dynamodb`/
`dynamodb_endpoint`, `use_path_style`, `max_retries`, `encrypt`, `kms_key_id` and `acl` are read
from the URL like the backend block options of the same name. Every botocore error goes through
`S3Backend._aws`, the one place that maps it to DriftMgr's error taxonomy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import posixpath
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urlsplit

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
    import boto3
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

DEFAULT_WORKSPACE_KEY_PREFIX = "env:"
LOCK_FILE_SUFFIX = ".tflock"
DIGEST_SUFFIX = "-md5"
DEFAULT_MAX_RETRIES = 5  # Terraform's default for the s3 backend

_DENIED_CODES = frozenset(
    {
        "403",
        "AccessDenied",
        "AccessDeniedException",
        "AllAccessDisabled",
        "AccountProblem",
        "ExpiredToken",
        "ExpiredTokenException",
        "Forbidden",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)
_MISSING_OBJECT_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})
_LOCK_CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})
_KEY_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 path characters kept as they are in listed URLs
# Options that say how to reach the bucket: carried over to the URLs list_states() returns.
_CONNECTION_OPTIONS = (
    "region",
    "profile",
    "endpoint",
    "endpoints.s3",
    "use_path_style",
    "force_path_style",
    "max_retries",
)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _error_code(exc: ClientError) -> tuple[str, str, int]:
    err = exc.response.get("Error", {})
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    code = str(err.get("Code") or status or "Unknown")
    return code, str(err.get("Message") or "").strip(), status


@register("s3")
class S3Backend(Backend):
    kind = "s3"
    supports_lock = True
    supports_versions = True
    supports_workspaces = True

    page_size = 1000  # objects per list call; tests lower it to prove pagination

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        self.bucket = parts.netloc
        if not self.bucket:
            raise UsageError("an s3 URL needs a bucket: s3://BUCKET/KEY", source=self.display_url)
        self.key = unquote(parts.path).lstrip("/")
        self.workspace_key_prefix = self.options.get("workspace_key_prefix", DEFAULT_WORKSPACE_KEY_PREFIX)
        self.dynamodb_table = self.options.get("dynamodb_table") or None
        self.use_lockfile = _truthy(self.options.get("use_lockfile"))
        raw_retries = self.options.get("max_retries", str(DEFAULT_MAX_RETRIES))
        try:
            self.max_retries = max(0, int(raw_retries))
        except ValueError:
            raise UsageError(
                f"max_retries must be an integer, not {raw_retries!r}", source=self.display_url
            ) from None
        self._held_lock_id: str | None = None

    # --- layout (Terraform's) --------------------------------------------------------------
    def state_key(self, workspace: str | None = None) -> str:
        """The object key of a workspace's state: KEY, or `<prefix>/<workspace>/KEY`."""
        ws = self.workspace if workspace is None else workspace
        if ws == "default":
            return self.key
        return posixpath.normpath(posixpath.join(self.workspace_key_prefix, ws, self.key))

    @property
    def lock_id_path(self) -> str:
        """The DynamoDB `LockID` (and the lock document's Path) Terraform uses: BUCKET/KEY."""
        return f"{self.bucket}/{self.state_key()}"

    @property
    def lock_file_key(self) -> str:
        return self.state_key() + LOCK_FILE_SUFFIX

    def _require_key(self) -> str:
        key = self.state_key()
        if not self.key or key.endswith("/"):
            raise UsageError("an s3 state URL needs an object key: s3://BUCKET/KEY", source=self.display_url)
        return key

    # --- clients and the one error mapper ---------------------------------------------------
    @contextlib.contextmanager
    def _aws(self, doing: str, *, key: str | None = None) -> Iterator[None]:
        """Map every botocore/boto3 error raised inside to a DriftMgr error naming this URL."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            NoRegionError,
            PartialCredentialsError,
            ProfileNotFound,
        )
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )

        src = self.display_url
        try:
            yield
        except DriftMgrError:
            raise
        except ClientError as exc:
            code, message, status = _error_code(exc)
            detail = f"{code}: {message}" if message else code
            if code == "NoSuchBucket":
                raise StateNotFoundError(f"bucket '{self.bucket}' does not exist", source=src) from None
            if code in _MISSING_OBJECT_CODES:
                where = f"s3://{self.bucket}/{key}" if key is not None else "the object"
                raise StateNotFoundError(f"no state at {where}", source=src) from None
            if code in _DENIED_CODES or status == 403:
                raise AccessDeniedError(f"access denied {doing} ({detail})", source=src) from None
            if code == "ResourceNotFoundException" and self.dynamodb_table:
                raise BackendError(
                    f"DynamoDB table '{self.dynamodb_table}' does not exist ({doing})", source=src
                ) from None
            raise BackendError(f"{doing} failed ({detail})", source=src) from None
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise AccessDeniedError(f"no usable AWS credentials {doing}: {exc}", source=src) from None
        except ProfileNotFound as exc:
            raise UsageError(f"{exc}", source=src) from None
        except NoRegionError:
            raise UsageError(
                "no AWS region: add ?region=... to the URL or set AWS_REGION/AWS_DEFAULT_REGION", source=src
            ) from None
        except BotoConnectionError as exc:  # endpoint down, DNS, TLS, timeouts
            raise BackendError(f"cannot reach AWS {doing}: {exc}", source=src) from None
        except BotoCoreError as exc:
            raise BackendError(f"{doing} failed: {exc}", source=src) from None

    @cached_property
    def session(self) -> boto3.session.Session:
        import boto3

        with self._aws("loading the AWS configuration"):
            return boto3.session.Session(
                profile_name=self.options.get("profile") or None,
                region_name=self.options.get("region") or None,
            )

    def _config(self, service: str) -> Any:
        from botocore.config import Config

        opts = self.options
        path_style = _truthy(opts.get("use_path_style")) or _truthy(opts.get("force_path_style"))
        return Config(
            retries={"mode": "adaptive", "max_attempts": self.max_retries + 1},
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra="driftmgr",
            s3={"addressing_style": "path"} if service == "s3" and path_style else None,
        )

    @cached_property
    def s3(self) -> S3Client:
        endpoint = self.options.get("endpoints.s3") or self.options.get("endpoint") or None
        with self._aws("creating the S3 client"):
            return self.session.client("s3", endpoint_url=endpoint, config=self._config("s3"))

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        endpoint = self.options.get("endpoints.dynamodb") or self.options.get("dynamodb_endpoint") or None
        with self._aws("creating the DynamoDB client"):
            return self.session.client("dynamodb", endpoint_url=endpoint, config=self._config("dynamodb"))

    # --- reading ---------------------------------------------------------------------------
    def open(self) -> IO[bytes]:
        key = self._require_key()
        with self._aws("reading the state", key=key):
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        raw = _StreamingReader(body, lambda: self._aws("reading the state", key=key))
        return io.BufferedReader(raw, buffer_size=1 << 20)

    # --- writing ---------------------------------------------------------------------------
    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        key = self._require_key()
        if self._held_lock_id is not None and lock_id != self._held_lock_id:
            raise LockError("the state is locked; pass the lock id to write", source=self.display_url)
        extra: dict[str, Any] = {}
        if _truthy(self.options.get("encrypt")):
            if self.options.get("kms_key_id"):
                extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.options["kms_key_id"])
            else:
                extra["ServerSideEncryption"] = "AES256"
        if self.options.get("acl"):
            extra["ACL"] = self.options["acl"]
        with self._aws("writing the state", key=key):
            self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", **extra
            )
        if self.dynamodb_table:
            digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
            with self._aws("recording the state digest in DynamoDB (Terraform will see a checksum mismatch)"):
                self.dynamodb.put_item(
                    TableName=self.dynamodb_table,
                    Item={"LockID": {"S": self.lock_id_path + DIGEST_SUFFIX}, "Digest": {"S": digest}},
                )

    def stored_digest(self) -> str | None:
        """The md5 hex digest Terraform recorded in the DynamoDB table, if any."""
        if not self.dynamodb_table:
            return None
        with self._aws("reading the state digest from DynamoDB"):
            item = self.dynamodb.get_item(
                TableName=self.dynamodb_table,
                Key={"LockID": {"S": self.lock_id_path + DIGEST_SUFFIX}},
                ConsistentRead=True,
            ).get("Item", {})
        value = item.get("Digest", {}).get("S")
        return value or None

    # --- locking ---------------------------------------------------------------------------
    def lock(self, info: LockInfo) -> str:
        self._require_key()
        info.path = self.lock_id_path
        if self.use_lockfile:
            self._lock_with_file(info)
        if self.dynamodb_table:
            try:
                self._lock_with_dynamodb(info)
            except DriftMgrError:
                if self.use_lockfile:  # do not leave our half of the lock behind
                    with contextlib.suppress(DriftMgrError), self._aws("releasing the lock file"):
                        self.s3.delete_object(Bucket=self.bucket, Key=self.lock_file_key)
                raise
        self._held_lock_id = info.id
        return info.id

    def unlock(self, lock_id: str) -> None:
        self._require_key()
        if not (self.use_lockfile or self.dynamodb_table):
            self._held_lock_id = None
            return
        # Check every configured lock first, so a wrong id releases nothing.
        checks: list[tuple[str, Callable[[], dict[str, Any]]]] = []
        if self.use_lockfile:
            checks.append((f"lock file s3://{self.bucket}/{self.lock_file_key}", self._lock_file_holder))
        if self.dynamodb_table:
            checks.append((f"DynamoDB lock {self.lock_id_path!r}", self._dynamodb_holder))
        for what, read_holder in checks:
            holder = read_holder()
            if not holder:
                raise LockError(f"cannot unlock: no {what} exists", source=self.display_url)
            if holder.get("ID") != lock_id:
                raise LockError(
                    f"lock id {lock_id!r} does not match the {what} held by "
                    f"{holder.get('Who') or 'someone'} (ID {holder.get('ID')!r})",
                    source=self.display_url,
                    lock_info=holder,
                )
        if self.dynamodb_table:
            with self._aws("releasing the DynamoDB lock"):
                self.dynamodb.delete_item(
                    TableName=self.dynamodb_table, Key={"LockID": {"S": self.lock_id_path}}
                )
        if self.use_lockfile:
            with self._aws("releasing the lock file"):
                self.s3.delete_object(Bucket=self.bucket, Key=self.lock_file_key)
        if self._held_lock_id == lock_id:
            self._held_lock_id = None

    def _lock_with_file(self, info: LockInfo) -> None:
        from botocore.exceptions import ClientError

        with self._aws("creating the lock file"):
            try:
                self.s3.put_object(
                    Bucket=self.bucket,
                    Key=self.lock_file_key,
                    Body=orjson.dumps(info.to_json()),
                    ContentType="application/json",
                    IfNoneMatch="*",
                )
            except ClientError as exc:
                if _error_code(exc)[0] not in _LOCK_CONFLICT_CODES:
                    raise
                raise self._locked(self._lock_file_holder(), "lock file") from None

    def _lock_with_dynamodb(self, info: LockInfo) -> None:
        from botocore.exceptions import ClientError

        assert self.dynamodb_table
        with self._aws("taking the DynamoDB lock"):
            try:
                self.dynamodb.put_item(
                    TableName=self.dynamodb_table,
                    Item={
                        "LockID": {"S": self.lock_id_path},
                        "Info": {"S": orjson.dumps(info.to_json()).decode()},
                    },
                    ConditionExpression="attribute_not_exists(LockID)",
                )
            except ClientError as exc:
                if _error_code(exc)[0] != "ConditionalCheckFailedException":
                    raise
                raise self._locked(self._dynamodb_holder(), "DynamoDB lock") from None

    def _locked(self, holder: dict[str, Any], what: str) -> LockError:
        who = holder.get("Who") or "someone"
        parts = [f"ID {holder.get('ID')}" if holder.get("ID") else ""]
        if holder.get("Operation"):
            parts.append(f"operation {holder['Operation']}")
        if holder.get("Created"):
            parts.append(f"since {holder['Created']}")
        detail = ", ".join(p for p in parts if p)
        return LockError(
            f"the state is locked by {who} ({what}{', ' + detail if detail else ''})",
            source=self.display_url,
            lock_info=holder,
        )

    def _lock_file_holder(self) -> dict[str, Any]:
        try:
            with self._aws("reading the lock file", key=self.lock_file_key):
                raw = self.s3.get_object(Bucket=self.bucket, Key=self.lock_file_key)["Body"].read()
        except StateNotFoundError:
            return {}
        return _lock_doc(raw)

    def _dynamodb_holder(self) -> dict[str, Any]:
        assert self.dynamodb_table
        with self._aws("reading the DynamoDB lock"):
            item = self.dynamodb.get_item(
                TableName=self.dynamodb_table,
                Key={"LockID": {"S": self.lock_id_path}},
                ConsistentRead=True,
            ).get("Item")
        if not item:
            return {}
        return _lock_doc(item.get("Info", {}).get("S", "")) or {"ID": "", "Who": "an unreadable lock item"}

    # --- workspaces, versions, listing -----------------------------------------------------
    def workspaces(self) -> list[str]:
        """Terraform's listing: "default" plus every `<prefix>/<name>/KEY` object."""
        prefix = f"{self.workspace_key_prefix}/" if self.workspace_key_prefix else ""
        found: set[str] = set()
        for key in self._list_keys(prefix, "listing workspaces"):
            rest = key[len(prefix) :]
            name, sep, tail = rest.partition("/")
            if sep and name and tail == self.key:
                found.add(name)
        found.discard("default")
        return ["default", *sorted(found)]

    def versions(self) -> list[StateVersion]:
        key = self._require_key()
        out: list[StateVersion] = []
        with self._aws("listing state versions", key=key):
            status = self.s3.get_bucket_versioning(Bucket=self.bucket).get("Status")
            if status not in ("Enabled", "Suspended"):
                raise BackendError(
                    f"versioning is not enabled on bucket '{self.bucket}': S3 keeps no earlier states",
                    source=self.display_url,
                )
            pages = self.s3.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=key, PaginationConfig={"PageSize": self.page_size}
            )
            for page in pages:
                for v in page.get("Versions", []):
                    if v.get("Key") != key:
                        continue
                    modified = v.get("LastModified")
                    out.append(
                        StateVersion(
                            id=str(v.get("VersionId")),
                            created=modified.isoformat() if modified else None,
                            size=v.get("Size"),
                            current=bool(v.get("IsLatest")),
                        )
                    )
        if not out:
            raise StateNotFoundError(f"no state at s3://{self.bucket}/{key}", source=self.display_url)
        # S3 lists the versions of a key newest first; keep that order (timestamps can tie).
        return out

    def read_version(self, version_id: str) -> bytes:
        key = self._require_key()
        with self._aws(f"reading state version {version_id!r}", key=key):
            body = self.s3.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)["Body"]
            return body.read()

    def list_states(self) -> list[str]:
        query = urlencode({k: self.options[k] for k in _CONNECTION_OPTIONS if k in self.options}, safe=":/")
        suffix = f"?{query}" if query else ""
        return [
            f"s3://{self.bucket}/{quote(key, safe=_KEY_SAFE)}{suffix}"
            for key in self._list_keys(self.key, "listing states")
            if key.endswith(".tfstate")
        ]

    def _list_keys(self, prefix: str, doing: str) -> Iterator[str]:
        with self._aws(doing):
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": self.page_size}
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    if "Key" in obj:
                        yield obj["Key"]


def _lock_doc(raw: bytes | str) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"ID": "", "Who": "an unreadable lock document"}
    return doc if isinstance(doc, dict) else {"ID": "", "Who": "an unreadable lock document"}


class _StreamingReader(io.RawIOBase):
    """A raw stream over botocore's StreamingBody whose read errors are mapped like every other."""

    def __init__(self, body: Any, guard: Callable[[], contextlib.AbstractContextManager[None]]) -> None:
        super().__init__()
        self._body = body
        self._guard = guard

    def readable(self) -> bool:
        return True

    def readall(self) -> bytes:
        with self._guard():
            data: bytes = self._body.read()
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with self._guard():
            data = self._body.read(len(view))
        n = len(data)
        view[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()
