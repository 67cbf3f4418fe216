"""The `remote` backend and `cloud` block: HCP Terraform / Terraform Cloud / Terraform Enterprise.

SRC forms (schemes `tfc://` and `remote://`):

- `tfc://ORG/WORKSPACE` — one workspace;
- `tfc://ORG?prefix=app-&workspace=dev` — the remote backend's `workspaces { prefix }`: workspace
  `app-dev`; `workspaces()` lists the CLI names (`dev`, ...);
- `tfc://ORG?tags=a,b&workspace=NAME` — the cloud block's `workspaces { tags }`;
- `tfc://ORG` — the organization: `workspaces()` / `list_states()` list every workspace.

`?hostname=` (or `TF_CLOUD_HOSTNAME`) picks the host, default app.terraform.io. The API token is
looked up as Terraform does: `TF_TOKEN_<host>` (dots as `_`, dashes as `__`), then `TFE_TOKEN`,
then `credentials.<host>.token` in `~/.terraform.d/credentials.tfrc.json` (`terraform login`).

Everything goes through the documented JSON:API (`/api/v2`): the workspace by name, its
current-state-version and `hosted-state-download-url`, the paginated state-versions list,
`actions/lock` / `actions/unlock` / `actions/force-unlock`, and `POST .../state-versions` to write.
The token is sent only to the API host: a download URL on another host (archivist) is fetched
without it. Messages never contain the token.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

import httpx
import orjson

from driftmgr.errors import (
    AccessDeniedError,
    BackendError,
    DriftMgrError,
    LockError,
    StateFormatError,
    StateNotFoundError,
    UsageError,
)
from driftmgr.models import LockInfo, StateVersion
from driftmgr.state.backends.base import Backend, register
from driftmgr.state.backends.http import (
    RetryPolicy,
    json_object,
    make_client,
    read_limited,
    send,
    stream_body,
)

DEFAULT_HOSTNAME = "app.terraform.io"
PAGE_SIZE = 100  # the API's maximum
MAX_PAGES = 1000  # a guard against a `links.next` that never ends
JSONAPI = "application/vnd.api+json"


@register("tfc", "remote")
class RemoteBackend(Backend):
    kind = "remote"
    supports_lock = True
    supports_versions = True
    supports_workspaces = True

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower()
        self.organization = unquote(parts.netloc.rsplit("@", 1)[-1])
        if not self.organization:
            raise UsageError("name the organization: tfc://ORG/WORKSPACE", source=self.display_url)
        self.hostname = (
            self.options.get("hostname") or os.environ.get("TF_CLOUD_HOSTNAME") or DEFAULT_HOSTNAME
        ).lower()
        self.prefix = self.options.get("prefix", "")
        self.tags = self.options.get("tags", "")
        path = unquote(parts.path.strip("/"))
        if "/" in path:
            raise UsageError("expected tfc://ORG/WORKSPACE (one workspace name)", source=self.display_url)
        if path:
            self.remote_name: str | None = path
            self.workspace = path
        elif self.options.get("name"):
            self.remote_name = self.options["name"]
            self.workspace = self.remote_name
        elif self.prefix:
            self.remote_name = self.prefix + self.workspace
        elif "workspace" in self.options:
            self.remote_name = self.workspace
        else:
            self.remote_name = None  # the whole organization: listing only
        self.api = f"https://{self.hostname}/api/v2"
        self.retry = RetryPolicy(
            retry_max=self._int_opt("retry_max", 3),
            wait_min=self._int_opt("retry_wait_min", 1),
            wait_max=self._int_opt("retry_wait_max", 30),
        )
        self._client: httpx.Client | None = None
        self._workspace_doc: dict[str, Any] | None = None
        self._workspace_id: str | None = None
        self._lock_id: str | None = None

    # --- plumbing --------------------------------------------------------------------------
    def _int_opt(self, name: str, default: int) -> int:
        raw = self.options.get(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise UsageError(f"{name} must be a whole number, got {raw!r}", source=self.display_url) from None
        if value < 0:
            raise UsageError(f"{name} must not be negative", source=self.display_url)
        return value

    @property
    def token_env(self) -> str:
        return "TF_TOKEN_" + self.hostname.replace("-", "__").replace(".", "_")

    def _token(self) -> str:
        """TF_TOKEN_<host> (any case, as Terraform matches it), TFE_TOKEN, the CLI credentials file."""
        for name, value in os.environ.items():
            if name.upper().startswith("TF_TOKEN_") and value.strip():
                host = name[len("TF_TOKEN_") :].replace("__", "\0").replace("_", ".").replace("\0", "-")
                if host.lower() == self.hostname:
                    return value.strip()
        if os.environ.get("TFE_TOKEN", "").strip():
            return os.environ["TFE_TOKEN"].strip()
        creds = Path.home() / ".terraform.d" / "credentials.tfrc.json"
        try:
            data = orjson.loads(creds.read_bytes())
            token = data["credentials"][self.hostname]["token"]
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
            token = None
        if isinstance(token, str) and token.strip():
            return token.strip()
        raise AccessDeniedError(
            f"no API token for {self.hostname}: set {self.token_env} (or TFE_TOKEN), "
            f"or run `terraform login {self.hostname}`",
            source=self.display_url,
        )

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = make_client(headers={"Accept": JSONAPI})
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _same_host(self, url: str) -> bool:
        return (urlsplit(url).hostname or "").lower() == self.hostname.split(":")[0]

    def _send(self, method: str, url: str, *, what: str, body: Any = None) -> httpx.Response:
        """One API (or download) request with retries; the token goes to the API host only."""
        url = urljoin(self.api + "/", url) if not url.startswith(("https://", "http://")) else url
        headers = {}
        if self._same_host(url):
            headers["Authorization"] = f"Bearer {self._token()}"
        content = None
        if body is not None:
            content = orjson.dumps(body)
            headers["Content-Type"] = JSONAPI
        request = self.client.build_request(method, url, content=content, headers=headers)
        return send(self.client, request, policy=self.retry, what=what, source=self.display_url)

    def _api(
        self, method: str, url: str, *, what: str, body: Any = None, ok: tuple[int, ...] = (200,)
    ) -> Any:
        response = self._send(method, url, what=what, body=body)
        self._check(response, what=what, ok=ok)
        try:
            response.read()
        except httpx.HTTPError as exc:
            raise BackendError(
                f"cannot {what}: response interrupted ({type(exc).__name__})", source=self.display_url
            ) from None
        finally:
            response.close()
        return json_object(response.content) if response.content else {}

    def _check(self, response: httpx.Response, *, what: str, ok: tuple[int, ...] = (200,)) -> None:
        """THE status mapping for the API: return on success, else raise the typed error."""
        status = response.status_code
        if status in ok:
            return
        detail = _error_detail(read_limited(response))
        source = self.display_url
        if status == 401:
            raise AccessDeniedError(
                f"HTTP 401 trying to {what}: token missing or invalid for {self.hostname} "
                f"(set {self.token_env} or run `terraform login {self.hostname}`)",
                source=source,
            )
        if status == 403:
            raise AccessDeniedError(f"HTTP 403 trying to {what}: the token lacks permission", source=source)
        if status == 404:
            what_missing = f"workspace '{self.remote_name}' in " if self.remote_name else ""
            raise StateNotFoundError(
                f"{what_missing}organization '{self.organization}' not found on {self.hostname} "
                "(or the token cannot see it)",
                source=source,
            )
        if status == 409:
            raise LockError(f"cannot {what}: {detail or 'conflict (HTTP 409)'}", source=source)
        suffix = f": {detail}" if detail else ""
        if status == 429:
            raise BackendError(f"rate limited by {self.hostname} trying to {what} (HTTP 429)", source=source)
        if status >= 500:
            raise BackendError(f"server error HTTP {status} trying to {what}{suffix}", source=source)
        raise BackendError(f"HTTP {status} trying to {what}{suffix}", source=source)

    def _pages(self, url: str, *, what: str) -> list[dict[str, Any]]:
        """All `data` items of a paginated list, following `links.next` on the API host."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        for _ in range(MAX_PAGES):
            if not next_url:
                return items
            if not self._same_host(urljoin(self.api + "/", next_url)):
                raise BackendError(
                    f"refusing a pagination link to another host while trying to {what}",
                    source=self.display_url,
                )
            doc = self._api("GET", next_url, what=what)
            data = doc.get("data")
            if isinstance(data, list):
                items.extend(d for d in data if isinstance(d, dict))
            links = doc.get("links")
            nxt = links.get("next") if isinstance(links, dict) else None
            next_url = nxt if isinstance(nxt, str) else None
        raise BackendError(f"more than {MAX_PAGES} pages trying to {what}", source=self.display_url)

    # --- the workspace ---------------------------------------------------------------------
    def _require_name(self) -> str:
        if not self.remote_name:
            raise UsageError(
                "name a workspace: tfc://ORG/WORKSPACE, or ?prefix=…&workspace=… / ?workspace=…",
                source=self.display_url,
            )
        return self.remote_name

    def _workspace(self) -> dict[str, Any]:
        if self._workspace_doc is None:
            name = self._require_name()
            url = f"organizations/{quote(self.organization, safe='')}/workspaces/{quote(name, safe='')}"
            doc = self._api("GET", url, what="read the workspace")
            data = doc.get("data")
            if not isinstance(data, dict) or not isinstance(data.get("id"), str):
                raise BackendError("unexpected workspace document from the API", source=self.display_url)
            self._workspace_doc = data
            self._workspace_id = data["id"]
        return self._workspace_doc

    @property
    def workspace_id(self) -> str:
        if self._workspace_id is None:
            self._workspace()
        assert self._workspace_id is not None
        return self._workspace_id

    @property
    def lock_path(self) -> str:
        """Terraform's lock ID for an HCP Terraform workspace (what `terraform force-unlock` takes)."""
        return f"{self.organization}/{self._require_name()}"

    # --- reading ---------------------------------------------------------------------------
    def open(self) -> IO[bytes]:
        url = f"workspaces/{self.workspace_id}/current-state-version"  # a missing workspace raises here
        try:
            doc = self._api("GET", url, what="read the state")
        except StateNotFoundError:
            raise StateNotFoundError(
                f"workspace '{self.lock_path}' has no state yet", source=self.display_url
            ) from None
        return self._download(_attributes(doc), what="read the state")

    def _download(self, attributes: dict[str, Any], *, what: str) -> IO[bytes]:
        url = attributes.get("hosted-state-download-url")
        if not isinstance(url, str) or not url:
            status = attributes.get("status") or "unknown"
            raise BackendError(
                f"the state version has no download URL yet (status: {status})", source=self.display_url
            )
        response = self._send("GET", url, what=what)
        if response.status_code == 404:
            response.close()
            raise StateNotFoundError(
                "the state version's content is gone (HTTP 404)", source=self.display_url
            )
        self._check(response, what=what)
        return stream_body(
            response,
            source=self.display_url,
            empty=lambda: StateNotFoundError("the state version's content is empty", source=self.display_url),
        )

    # --- versions --------------------------------------------------------------------------
    def versions(self) -> list[StateVersion]:
        """Every state version of the workspace, newest first (the API's order)."""
        current = _relation_id(self._workspace(), "current-state-version")
        query = urlencode(
            {
                "filter[workspace][name]": self._require_name(),
                "filter[organization][name]": self.organization,
                "page[number]": "1",
                "page[size]": str(PAGE_SIZE),
            }
        )
        out = []
        for item in self._pages(f"state-versions?{query}", what="list state versions"):
            attrs = _attrs(item)
            vid = str(item.get("id", ""))
            out.append(
                StateVersion(
                    id=vid,
                    created=_str_or_none(attrs.get("created-at")),
                    serial=_int_or_none(attrs.get("serial")),
                    size=_int_or_none(attrs.get("size")),
                    current=vid == current,
                )
            )
        return out

    def read_version(self, version_id: str) -> bytes:
        if not version_id or "/" in version_id:
            raise UsageError(f"not a state version id: {version_id!r}", source=self.display_url)
        try:
            doc = self._api(
                "GET", f"state-versions/{quote(version_id, safe='')}", what="read a state version"
            )
        except StateNotFoundError:
            raise StateNotFoundError(f"no state version {version_id!r}", source=self.display_url) from None
        owner = _relation_id(doc.get("data") if isinstance(doc.get("data"), dict) else {}, "workspace")
        if owner is not None and owner != self.workspace_id:
            raise StateNotFoundError(
                f"state version {version_id!r} belongs to another workspace", source=self.display_url
            )
        with self._download(_attributes(doc), what="read a state version") as fh:
            return fh.read()

    # --- locking ---------------------------------------------------------------------------
    def lock(self, info: LockInfo) -> str:
        if self._lock_id is not None:
            raise LockError("already locked by this process", source=self.display_url)
        reason = f"Locked by {info.who or 'driftmgr'} ({info.operation or 'driftmgr'})"
        if info.info:
            reason += f": {info.info}"
        url = f"workspaces/{self.workspace_id}/actions/lock"
        response = self._send("POST", url, what="lock the workspace", body={"reason": reason[:255]})
        if response.status_code == 409:
            detail = _error_detail(read_limited(response))
            holder = self._holder(detail)
            raise LockError(
                f"workspace '{self.lock_path}' is already locked by {holder['Who']}",
                source=self.display_url,
                lock_info=holder,
            )
        self._check(response, what="lock the workspace")
        response.close()
        self._lock_id = info.id
        return info.id

    def _holder(self, detail: str) -> dict[str, object]:
        """A Terraform-shaped lock document describing who holds the workspace lock."""
        who = "someone else"
        try:
            doc = self._api("GET", f"workspaces/{self.workspace_id}", what="read the workspace lock")
            data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
            rel = data.get("relationships", {}).get("locked-by", {}).get("data") or {}
            if isinstance(rel, dict) and rel.get("id"):
                who = f"{rel.get('type', 'holder').rstrip('s')} {rel['id']}"
        except DriftMgrError:
            pass  # the conflict itself is the error to report; the holder is a best effort
        info = LockInfo(id=self.lock_path, who=who, info=detail, path=self.lock_path)
        return dict(info.to_json())

    def unlock(self, lock_id: str) -> None:
        """Release our lock. `ORG/WORKSPACE` as the id force-unlocks, like `terraform force-unlock`."""
        if lock_id == self.lock_path:
            action, what = "force-unlock", "force-unlock the workspace"
        elif self._lock_id is not None and lock_id != self._lock_id:
            raise LockError(f"lock id {lock_id!r} does not match the held lock", source=self.display_url)
        else:
            action, what = "unlock", "unlock the workspace"
        response = self._send("POST", f"workspaces/{self.workspace_id}/actions/{action}", what=what)
        if response.status_code == 409:
            detail = _error_detail(read_limited(response))
            raise LockError(
                f"cannot {what}: {detail or 'already unlocked, or locked by someone else'}",
                source=self.display_url,
            )
        self._check(response, what=what)
        response.close()
        self._lock_id = None

    # --- writing ---------------------------------------------------------------------------
    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        """Create a state version; the API accepts it only while the workspace is locked by us."""
        if not (lock_id or self._lock_id):
            raise LockError(
                "HCP Terraform accepts a new state only while the workspace is locked: lock it first",
                source=self.display_url,
            )
        try:
            state = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise StateFormatError(f"not JSON: {exc.msg}", source=self.display_url) from None
        serial = state.get("serial") if isinstance(state, dict) else None
        if not isinstance(serial, int) or isinstance(serial, bool):
            raise StateFormatError("the state has no integer serial", source=self.display_url)
        attributes: dict[str, Any] = {
            "serial": serial,
            "md5": hashlib.md5(data).hexdigest(),  # noqa: S324 - the API's integrity check
            "state": base64.b64encode(data).decode(),
        }
        lineage = state.get("lineage")
        if isinstance(lineage, str) and lineage:
            attributes["lineage"] = lineage
        body = {"data": {"type": "state-versions", "attributes": attributes}}
        url = f"workspaces/{self.workspace_id}/state-versions"
        self._api("POST", url, what="write the state", body=body, ok=(200, 201))
        self._workspace_doc = None  # its current-state-version changed

    # --- workspaces ------------------------------------------------------------------------
    def _workspace_names(self) -> list[str]:
        params = {"page[number]": "1", "page[size]": str(PAGE_SIZE)}
        if self.prefix:
            params["search[name]"] = self.prefix
        if self.tags:
            params["search[tags]"] = self.tags
        url = f"organizations/{quote(self.organization, safe='')}/workspaces?{urlencode(params)}"
        names = []
        for item in self._pages(url, what="list workspaces"):
            attrs = _attrs(item)
            name = attrs.get("name")
            if isinstance(name, str) and name.startswith(self.prefix):
                names.append(name)
        return sorted(names)

    def workspaces(self) -> list[str]:
        """Workspace names; with `prefix`, the CLI names (prefix removed), as Terraform shows them."""
        return (
            sorted(n[len(self.prefix) :] for n in self._workspace_names())
            if self.prefix
            else self._workspace_names()
        )

    def list_states(self) -> list[str]:
        """One SRC URL per workspace of the organization (filtered by `prefix`/`tags`)."""
        host = f"?{urlencode({'hostname': self.hostname})}" if self.hostname != DEFAULT_HOSTNAME else ""
        org = quote(self.organization, safe="")
        return [f"{self.scheme}://{org}/{quote(n, safe='')}{host}" for n in self._workspace_names()]


# --- small helpers ---------------------------------------------------------------------------
def _attributes(doc: dict[str, Any]) -> dict[str, Any]:
    """`data.attributes` of a single-resource document."""
    data = doc.get("data")
    return _attrs(data) if isinstance(data, dict) else {}


def _attrs(item: dict[str, Any]) -> dict[str, Any]:
    attrs = item.get("attributes")
    return attrs if isinstance(attrs, dict) else {}


def _relation_id(data: dict[str, Any], name: str) -> str | None:
    rel = data.get("relationships")
    target = rel.get(name) if isinstance(rel, dict) else None
    inner = target.get("data") if isinstance(target, dict) else None
    value = inner.get("id") if isinstance(inner, dict) else None
    return value if isinstance(value, str) else None


def _error_detail(body: bytes) -> str:
    """The first JSON:API error's detail (or title), on one line."""
    errors = json_object(body).get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    text = first.get("detail") or first.get("title") or ""
    return " ".join(str(text).split())[:300]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
