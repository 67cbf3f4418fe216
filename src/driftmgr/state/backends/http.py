"""Terraform's `http` backend: state at a REST endpoint, with optional LOCK/UNLOCK locking.

The protocol, as Terraform's client speaks it (internal/backend/remote-state/http):

- `GET address`: 200 with the state, 204 or 404 (or an empty 200 body) when there is none;
- `POST address` (or `update_method`) with the state, `Content-Type: application/json` and a base64
  `Content-MD5`; while this client holds a lock, `?ID=<lock id>` is added to the address;
- `DELETE address` purges the state;
- `LOCK lock_address` / `UNLOCK unlock_address` (methods configurable) with the lock info JSON as
  body; 200 means done, 423 Locked or 409 Conflict carry the holder's lock info in the body.

SRC is the address itself: `https://user:pass@host/path?...`. Backend-block options travel as URL
query parameters with Terraform's names (`lock_address`, `lock_method`, `update_method`,
`retry_max`, ...); they are removed from the address before it is called, every other query
parameter stays part of the address. Each option also reads Terraform's environment variable
(`TF_HTTP_LOCK_ADDRESS`, `TF_HTTP_USERNAME`, ...). Unlike Terraform, which locks only when
`lock_address` is set, the lock address defaults to the address itself.

This module also holds the HTTP plumbing shared with the `remote` backend: a retrying `send()`
(go-retryablehttp's policy, as Terraform uses it), transport error mapping and a streaming reader.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx
import orjson

from driftmgr.errors import (
    AccessDeniedError,
    BackendError,
    LockError,
    StateNotFoundError,
    UsageError,
)
from driftmgr.models import LockInfo
from driftmgr.state.backends.base import Backend, redact_url, register

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = "driftmgr"
ERROR_BODY_LIMIT = 64 * 1024
CHUNK_SIZE = 64 * 1024

# option name -> Terraform's environment variable
_ENV = {
    "lock_address": "TF_HTTP_LOCK_ADDRESS",
    "unlock_address": "TF_HTTP_UNLOCK_ADDRESS",
    "lock_method": "TF_HTTP_LOCK_METHOD",
    "unlock_method": "TF_HTTP_UNLOCK_METHOD",
    "update_method": "TF_HTTP_UPDATE_METHOD",
    "username": "TF_HTTP_USERNAME",
    "password": "TF_HTTP_PASSWORD",
    "retry_max": "TF_HTTP_RETRY_MAX",
    "retry_wait_min": "TF_HTTP_RETRY_WAIT_MIN",
    "retry_wait_max": "TF_HTTP_RETRY_WAIT_MAX",
    "client_ca_certificate_pem": "TF_HTTP_CLIENT_CA_CERTIFICATE_PEM",
}
# Query parameters that are backend options, not part of the address. Credentials are not read
# from the query on purpose: they belong in the URL's user info or the environment.
_OPTION_KEYS = frozenset(
    {
        "lock_address",
        "unlock_address",
        "lock_method",
        "unlock_method",
        "update_method",
        "retry_max",
        "retry_wait_min",
        "retry_wait_max",
        "skip_cert_verification",
        "workspace",
    }
)


# --- shared HTTP plumbing ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """go-retryablehttp's policy: retry connection errors, 429 and 5xx (but 501), backing off."""

    retry_max: int = 2
    wait_min: float = 1.0
    wait_max: float = 30.0

    def wait(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and response.status_code in (429, 503):
            after = response.headers.get("Retry-After", "")
            if after.isdigit():
                return min(float(after), self.wait_max)
        return float(min(self.wait_max, self.wait_min * (2**attempt)))


def retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status != 501)


def host_of(url: httpx.URL | str) -> str:
    u = httpx.URL(str(url))
    default = 443 if u.scheme == "https" else 80
    return u.host if u.port in (None, default) else f"{u.host}:{u.port}"


def transport_error(exc: httpx.TransportError, url: httpx.URL, what: str, source: str) -> BackendError:
    """Turn an httpx transport failure into one clean line (no URL credentials: none are sent)."""
    host = host_of(url)
    reason = str(exc).strip() or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return BackendError(f"cannot connect to {host}: timed out", source=source)
    if isinstance(exc, httpx.TimeoutException):
        return BackendError(f"timed out trying to {what} ({host})", source=source)
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE_VERIFY_FAILED" in reason:
            return BackendError(f"cannot connect to {host}: TLS certificate not trusted", source=source)
        return BackendError(f"cannot connect to {host}: {_short_reason(reason)}", source=source)
    return BackendError(f"cannot {what} ({host}): {_short_reason(reason)}", source=source)


def _short_reason(reason: str) -> str:
    # "[Errno 111] Connection refused" -> "connection refused"
    if reason.startswith("[Errno") and "]" in reason:
        reason = reason.split("]", 1)[1].strip()
    reason = " ".join(reason.split())
    return (reason[:1].lower() + reason[1:])[:200]


def send(
    client: httpx.Client,
    request: httpx.Request,
    *,
    policy: RetryPolicy,
    what: str,
    source: str,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Send `request` (streamed: the caller reads or closes the response), retrying like Terraform.

    Returns the last response, whatever its status; transport failures become BackendError.
    """
    attempt = 0
    while True:
        response: httpx.Response | None = None
        try:
            response = client.send(request, stream=True)
        except httpx.TransportError as exc:
            if attempt >= policy.retry_max or not _retryable_transport(exc):
                raise transport_error(exc, request.url, what, source) from None
        else:
            if attempt >= policy.retry_max or not retryable_status(response.status_code):
                return response
            response.close()
        sleep(policy.wait(attempt, response))
        attempt += 1


def _retryable_transport(exc: httpx.TransportError) -> bool:
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.ProxyError, httpx.LocalProtocolError)):
        return False
    return "CERTIFICATE_VERIFY_FAILED" not in str(exc)


def read_limited(response: httpx.Response, limit: int = ERROR_BODY_LIMIT) -> bytes:
    """Read at most `limit` bytes of a (streamed) response body, then close it."""
    out = bytearray()
    try:
        for chunk in response.iter_bytes():
            out += chunk
            if len(out) >= limit:
                break
    except httpx.HTTPError:
        pass  # an error body we cannot read adds nothing to the error we are about to raise
    finally:
        response.close()
    return bytes(out[:limit])


def json_object(body: bytes) -> dict[str, Any]:
    """Parse a JSON object body; anything else (HTML error pages, garbage) gives {}."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


class ResponseStream(io.RawIOBase):
    """A raw binary stream over a streamed httpx response; closing it closes the response."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        source: str,
        chunks: Iterator[bytes] | None = None,
        first: bytes = b"",
    ) -> None:
        super().__init__()
        self._response = response
        self._chunks = chunks if chunks is not None else response.iter_bytes(CHUNK_SIZE)
        self._buf = first
        self._pos = 0
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._pos >= len(self._buf):
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
            except httpx.HTTPError as exc:
                reason = _short_reason(str(exc) or type(exc).__name__)
                raise BackendError(f"download interrupted: {reason}", source=self._source) from None
            self._pos = 0
        n = min(len(view), len(self._buf) - self._pos)
        view[:n] = self._buf[self._pos : self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


def stream_body(response: httpx.Response, *, source: str, empty: Callable[[], Exception]) -> IO[bytes]:
    """Wrap a 2xx streamed response as IO[bytes]; raise `empty()` when the body has no bytes."""
    chunks = response.iter_bytes(CHUNK_SIZE)
    first = b""
    try:
        for chunk in chunks:
            if chunk:
                first = chunk
                break
    except httpx.HTTPError as exc:
        response.close()
        reason = _short_reason(str(exc) or type(exc).__name__)
        raise BackendError(f"download interrupted: {reason}", source=source) from None
    if not first:
        response.close()
        raise empty()
    return io.BufferedReader(ResponseStream(response, source=source, chunks=chunks, first=first), CHUNK_SIZE)


def make_client(
    *,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
    verify: bool | ssl.SSLContext = True,
) -> httpx.Client:
    return httpx.Client(
        auth=auth,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=DEFAULT_TIMEOUT,
        follow_redirects=True,  # httpx drops Authorization when a redirect leaves the origin
        verify=verify,
    )


# --- the http backend ----------------------------------------------------------------------
READ, WRITE, DELETE, LOCK, UNLOCK = (
    "read the state",
    "write the state",
    "delete the state",
    "lock the state",
    "unlock the state",
)


@register("http", "https")
class HttpBackend(Backend):
    kind = "http"
    supports_lock = True

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        query = _drop_query_keys(parts.query, _OPTION_KEYS)
        self.address = _strip_userinfo(urlunsplit(parts._replace(query=query)))
        if self.workspace != "default":
            raise UsageError("the http backend does not support workspaces", source=self.display_url)
        self.update_method = self._opt("update_method", "POST").upper()
        self.lock_address = _strip_userinfo(self._opt("lock_address", self.address))
        self.unlock_address = _strip_userinfo(self._opt("unlock_address", self.lock_address))
        self.lock_method = self._opt("lock_method", "LOCK").upper()
        self.unlock_method = self._opt("unlock_method", "UNLOCK").upper()
        for addr in (self.lock_address, self.unlock_address):
            if urlsplit(addr).scheme not in ("http", "https"):
                raise UsageError(
                    "lock_address and unlock_address must be http(s) URLs", source=self.display_url
                )
        self.retry = RetryPolicy(
            retry_max=self._int_opt("retry_max", 2),
            wait_min=self._int_opt("retry_wait_min", 1),
            wait_max=self._int_opt("retry_wait_max", 30),
        )
        # Basic auth: user info in the URL first (like the backend block), then Terraform's env vars.
        self._username = unquote(parts.username) if parts.username else os.environ.get(_ENV["username"], "")
        if parts.password is not None:
            self._password = unquote(parts.password)
        else:
            self._password = os.environ.get(_ENV["password"], "")
        self._client: httpx.Client | None = None
        self._lock_id: str | None = None
        self._lock_info: LockInfo | None = None

    # --- options ---------------------------------------------------------------------------
    def _opt(self, name: str, default: str) -> str:
        value = self.options.get(name)
        if value is None and name in _ENV:
            value = os.environ.get(_ENV[name])
        return value if value else default

    def _int_opt(self, name: str, default: int) -> int:
        raw = self._opt(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise UsageError(f"{name} must be a whole number, got {raw!r}", source=self.display_url) from None
        if value < 0:
            raise UsageError(f"{name} must not be negative", source=self.display_url)
        return value

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            auth = httpx.BasicAuth(self._username, self._password) if self._username else None
            self._client = make_client(auth=auth, verify=self._verify())
        return self._client

    def _verify(self) -> bool | ssl.SSLContext:
        if self.options.get("skip_cert_verification", "").lower() in ("1", "true", "yes"):
            return False
        pem = self._opt("client_ca_certificate_pem", "")
        if not pem:
            return True
        try:
            return ssl.create_default_context(cadata=pem)
        except (ssl.SSLError, ValueError):
            raise UsageError(
                "client_ca_certificate_pem is not a valid PEM certificate", source=self.display_url
            ) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- requests --------------------------------------------------------------------------
    def _call(self, method: str, url: str, *, what: str, body: bytes | None = None) -> httpx.Response:
        """Send one protocol request (with retries); the response comes back unread."""
        headers = {}
        if body is not None:
            headers["Content-Type"] = "application/json"
            headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324
        request = self.client.build_request(method, url, content=body, headers=headers)
        return send(self.client, request, policy=self.retry, what=what, source=self.display_url)

    def _check(self, response: httpx.Response, *, what: str, ok: tuple[int, ...] = (200,)) -> None:
        """THE status mapping of this backend: return on success, else raise the typed error."""
        status = response.status_code
        if status in ok:
            return
        body = read_limited(response)
        source = self.display_url
        if what == READ and status in (204, 404):
            raise StateNotFoundError(f"no state at this address (HTTP {status})", source=source)
        if status == 401:
            hint = (
                "credentials rejected"
                if self._username
                else "authentication required (set TF_HTTP_USERNAME and TF_HTTP_PASSWORD)"
            )
            raise AccessDeniedError(f"HTTP 401 trying to {what}: {hint}", source=source)
        if status == 403:
            raise AccessDeniedError(f"HTTP 403 trying to {what}: access denied", source=source)
        if status in (409, 423) and what in (LOCK, UNLOCK, WRITE):
            holder = json_object(body)
            who = holder.get("Who") or "someone else"
            lock_id = holder.get("ID")
            detail = f"the state is locked by {who}" + (f" (lock ID {lock_id})" if lock_id else "")
            raise LockError(f"cannot {what}: {detail}", source=source, lock_info=holder)
        if status in (405, 501) and what in (LOCK, UNLOCK):
            method, where = response.request.method, redact_url(str(response.request.url))
            raise BackendError(
                f"HTTP {status}: the server does not accept {method} at {where}; "
                "set lock_address, lock_method and unlock_method for this server",
                source=source,
            )
        if status >= 500:
            raise BackendError(f"server error HTTP {status} trying to {what}", source=source)
        raise BackendError(f"unexpected HTTP {status} trying to {what}", source=source)

    # --- reading ---------------------------------------------------------------------------
    def open(self) -> IO[bytes]:
        response = self._call("GET", self.address, what=READ)
        self._check(response, what=READ)
        return stream_body(
            response,
            source=self.display_url,
            empty=lambda: StateNotFoundError(
                "no state at this address (empty body)", source=self.display_url
            ),
        )

    # --- writing ---------------------------------------------------------------------------
    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        lock_id = lock_id or self._lock_id
        url = _with_query(self.address, "ID", lock_id) if lock_id else self.address
        response = self._call(self.update_method, url, what=WRITE, body=data)
        self._check(response, what=WRITE, ok=(200, 201, 204))
        response.close()

    def delete(self) -> None:
        """Purge the state (Terraform's `DELETE address`)."""
        response = self._call("DELETE", self.address, what=DELETE)
        self._check(response, what=DELETE, ok=(200, 202, 204))
        response.close()

    # --- locking ---------------------------------------------------------------------------
    def lock(self, info: LockInfo) -> str:
        if self._lock_id is not None:
            raise LockError("already locked by this process", source=self.display_url)
        if not info.path:
            info.path = redact_url(self.address)
        response = self._call(
            self.lock_method, self.lock_address, what=LOCK, body=orjson.dumps(info.to_json())
        )
        self._check(response, what=LOCK)
        response.close()
        self._lock_id = info.id
        self._lock_info = info
        return info.id

    def unlock(self, lock_id: str) -> None:
        # Like Terraform: send the lock info we locked with, its ID set to the one being released.
        held = self._lock_info.to_json() if self._lock_info is not None else LockInfo(id=lock_id).to_json()
        body = orjson.dumps({**held, "ID": lock_id})
        response = self._call(self.unlock_method, self.unlock_address, what=UNLOCK, body=body)
        self._check(response, what=UNLOCK, ok=(200, 204))
        response.close()
        if lock_id == self._lock_id:
            self._lock_id = None
            self._lock_info = None


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _drop_query_keys(query: str, keys: frozenset[str] | set[str]) -> str:
    """Remove `keys` from a raw query string, leaving every other item byte for byte."""
    kept = [item for item in query.split("&") if item and unquote(item.partition("=")[0]) not in keys]
    return "&".join(kept)


def _with_query(url: str, key: str, value: str) -> str:
    """Set one query parameter (as Terraform sets `ID` on the update request)."""
    parts = urlsplit(url)
    query = _drop_query_keys(parts.query, {key})
    item = f"{quote(key)}={quote(value, safe='')}"
    return urlunsplit(parts._replace(query=f"{query}&{item}" if query else item))
