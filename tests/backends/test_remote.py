"""The remote (HCP Terraform / Terraform Cloud) backend against recorded API responses."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
import pytest
import respx

from driftmgr.errors import (
    AccessDeniedError,
    BackendError,
    LockError,
    StateFormatError,
    StateNotFoundError,
    UsageError,
)
from driftmgr.state.backends import remote as remote_mod
from driftmgr.state.backends.base import get_backend, new_lock_info
from driftmgr.state.backends.remote import RemoteBackend

RECORDINGS = Path(__file__).parent / "recordings" / "tfc"
TOKEN = "fake-token-for-tests"
URL = "tfc://acme-corp/network-prod"
API = "https://app.terraform.io/api/v2"


@dataclass
class Replay:
    """Serves one recorded case in order; any unexpected request fails the test."""

    calls: list[dict[str, Any]]
    seen: list[httpx.Request] = field(default_factory=list)
    served: list[bytes] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        index = len(self.seen)
        self.seen.append(request)
        if index >= len(self.calls):
            raise AssertionError(f"unrecorded request #{index + 1}: {request.method} {request.url}")
        want = self.calls[index]["request"]
        if (request.method, _key(str(request.url))) != (want["method"], _key(want["url"])):
            recorded = f"{want['method']} {want['url']}"
            raise AssertionError(
                f"request #{index + 1} was {request.method} {request.url}, recorded {recorded}"
            )
        resp = self.calls[index]["response"]
        body = b"" if resp["body"] is None else json.dumps(resp["body"], indent=2).encode()
        self.served.append(body)
        return httpx.Response(resp["status"], headers=resp["headers"], content=body)

    def json_body(self, index: int) -> Any:
        return orjson.loads(self.seen[index].content)

    def assert_done(self) -> None:
        assert len(self.seen) == len(self.calls), (
            f"{len(self.calls) - len(self.seen)} recorded calls never made"
        )


def _key(url: str) -> tuple[str, str, str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc, parts.path, dict(parse_qsl(parts.query))


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A fake token in Terraform's env var; HOME moved away from any real credentials file."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("TFE_TOKEN", "TF_CLOUD_HOSTNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_TOKEN_app_terraform_io", TOKEN)
    return TOKEN


@pytest.fixture
def replay(token: str) -> Iterator[Any]:
    """`replay("case")` serves recordings/tfc/case/*.json and returns the Replay."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        replays: list[Replay] = []

        def start(case: str) -> Replay:
            files = sorted((RECORDINGS / case).glob("*.json"))
            assert files, f"no recordings for {case}"
            r = Replay([json.loads(f.read_text()) for f in files])
            router.route().mock(side_effect=r)
            replays.append(r)
            return r

        yield start
        for r in replays:
            r.assert_done()


def tfc(url: str = URL) -> RemoteBackend:
    b = get_backend(url)
    assert isinstance(b, RemoteBackend)
    return b


def test_schemes_and_url_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_CLOUD_HOSTNAME", raising=False)
    b = tfc("remote://acme-corp/network-prod")
    assert (b.organization, b.remote_name, b.hostname) == ("acme-corp", "network-prod", "app.terraform.io")
    p = tfc("tfc://acme-corp?prefix=app-&workspace=dev&hostname=tfe.example.com")
    assert (p.remote_name, p.workspace, p.hostname) == ("app-dev", "dev", "tfe.example.com")
    monkeypatch.setenv("TF_CLOUD_HOSTNAME", "TFE.Internal.Example")
    assert tfc("tfc://acme-corp/x").hostname == "tfe.internal.example"
    with pytest.raises(UsageError, match="name a workspace"):
        tfc("tfc://acme-corp").read()
    with pytest.raises(UsageError):
        tfc("tfc://acme-corp/a/b")


def test_current_state_download(replay: Any) -> None:
    r = replay("current_state")
    b = tfc()
    data = b.read()
    assert data == r.served[2]
    state = orjson.loads(data)
    assert state["serial"] == 9 and state["resources"][0]["type"] == "aws_vpc"
    api_calls, download = r.seen[:2], r.seen[2]
    assert all(c.headers["Authorization"] == f"Bearer {TOKEN}" for c in api_calls)
    assert download.url.host == "archivist.terraform.io"
    assert "Authorization" not in download.headers  # the token stays on the API host


def test_no_current_state_is_not_found(replay: Any) -> None:
    replay("no_state")
    with pytest.raises(StateNotFoundError, match="has no state yet"):
        tfc().read()


def test_missing_workspace_names_org_and_workspace(replay: Any) -> None:
    replay("workspace_not_found")
    with pytest.raises(StateNotFoundError) as err:
        tfc().read()
    assert "workspace 'network-prod'" in str(err.value) and "organization 'acme-corp'" in str(err.value)


def test_401_is_access_denied_without_the_token(replay: Any) -> None:
    replay("unauthorized")
    with pytest.raises(AccessDeniedError) as err:
        tfc().read()
    message = str(err.value)
    assert "token missing or invalid" in message and "TF_TOKEN_app_terraform_io" in message
    assert TOKEN not in message


def test_no_token_anywhere_fails_before_calling(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("TFE_TOKEN", "TF_TOKEN_app_terraform_io"):
        monkeypatch.delenv(name, raising=False)
    with (
        respx.mock(assert_all_mocked=True) as router,
        pytest.raises(AccessDeniedError, match="terraform login"),
    ):
        tfc().read()
    assert not router.calls


def test_token_sources_in_terraform_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("TFE_TOKEN", "TF_TOKEN_app_terraform_io", "TF_TOKEN_tfe_my__corp_example"):
        monkeypatch.delenv(name, raising=False)
    creds = tmp_path / ".terraform.d" / "credentials.tfrc.json"
    creds.parent.mkdir()
    creds.write_text(json.dumps({"credentials": {"tfe.my-corp.example": {"token": "from-file"}}}))
    b = tfc("tfc://acme/ws?hostname=tfe.my-corp.example")
    assert b._token() == "from-file"
    monkeypatch.setenv("TFE_TOKEN", "from-tfe-token")
    assert b._token() == "from-tfe-token"
    monkeypatch.setenv("TF_TOKEN_tfe_my__corp_example", "from-tf-token")
    assert b.token_env == "TF_TOKEN_tfe_my__corp_example"
    assert b._token() == "from-tf-token"


def test_versions_across_two_pages(replay: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_mod, "PAGE_SIZE", 2)  # the recording pages by 2
    r = replay("versions_two_pages")
    versions = tfc().versions()
    assert [(v.id, v.serial) for v in versions] == [
        ("sv-FAKEcurrent00009", 9),
        ("sv-FAKEprevious0008", 8),
        ("sv-FAKEprevious0007", 7),
    ]
    assert [v.current for v in versions] == [True, False, False]
    assert versions[0].created == "2024-05-06T07:08:09.123Z" and versions[0].size == 912
    assert r.seen[2].url.params["page[number]"] == "2"  # followed links.next


def test_read_version(replay: Any) -> None:
    replay("read_version")
    data = tfc().read_version("sv-FAKEprevious0008")
    assert orjson.loads(data)["serial"] == 8


def test_lock_and_unlock(replay: Any) -> None:
    r = replay("lock_unlock")
    b = tfc()
    info = new_lock_info("OperationTypeApply", path="", info="migrate")
    assert b.lock(info) == info.id
    assert "migrate" in r.json_body(1)["reason"]
    b.unlock(info.id)


def test_lock_conflict_reports_holder(replay: Any) -> None:
    replay("lock_conflict")
    with pytest.raises(LockError) as err:
        tfc().lock(new_lock_info("OperationTypeApply", path=""))
    holder = err.value.lock_info
    assert holder["ID"] == "acme-corp/network-prod"  # what `terraform force-unlock` takes
    assert holder["Who"] == "user user-FAKEalice00001"
    assert "already locked" in str(holder["Info"])
    assert "user-FAKEalice00001" in str(err.value)


def test_write_requires_the_lock() -> None:
    with pytest.raises(LockError, match="lock it first"):
        tfc().write(b'{"version": 4, "serial": 1}')


def test_write_posts_jsonapi_state_version(replay: Any) -> None:
    r = replay("write_state")
    state = orjson.dumps(
        {
            "version": 4,
            "terraform_version": "1.6.6",
            "serial": 10,
            "lineage": "lin-eage-0001",
            "resources": [],
        }
    )
    b = tfc()
    lock_id = b.lock(new_lock_info("OperationTypeApply", path=""))
    b.write(state, lock_id=lock_id)
    b.unlock(lock_id)
    post = r.seen[2]
    assert post.headers["Content-Type"] == "application/vnd.api+json"
    assert post.headers["Authorization"] == f"Bearer {TOKEN}"
    body = r.json_body(2)
    assert body["data"]["type"] == "state-versions"
    attrs = body["data"]["attributes"]
    assert attrs["serial"] == 10
    assert attrs["lineage"] == "lin-eage-0001"
    assert attrs["md5"] == hashlib.md5(state).hexdigest()
    assert base64.b64decode(attrs["state"]) == state


def test_workspaces_with_prefix_across_pages(replay: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_mod, "PAGE_SIZE", 2)
    replay("workspaces_prefix")
    assert tfc("tfc://acme-corp?prefix=app-").workspaces() == ["dev", "prod", "staging"]


def test_list_states_gives_one_url_per_workspace(replay: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_mod, "PAGE_SIZE", 2)
    replay("workspaces_prefix")
    assert tfc("tfc://acme-corp?prefix=app-").list_states() == [
        "tfc://acme-corp/app-dev",
        "tfc://acme-corp/app-prod",
        "tfc://acme-corp/app-staging",
    ]


def test_read_version_of_another_workspace_is_refused(replay: Any) -> None:
    replay("read_version_other_workspace")
    with pytest.raises(StateNotFoundError, match="another workspace"):
        tfc().read_version("sv-FAKEotherws00001")


def test_force_unlock_with_terraform_lock_id(replay: Any) -> None:
    r = replay("force_unlock")
    tfc().unlock("acme-corp/network-prod")  # the ID a LockError reports, as `terraform force-unlock`
    assert r.seen[1].url.path.endswith("/actions/force-unlock")


def test_unlock_refused_by_the_api(replay: Any) -> None:
    replay("unlock_not_held")
    with pytest.raises(LockError, match="locked by another user"):
        tfc().unlock("some-lock-id")


def test_unlock_with_a_foreign_id_is_refused_locally() -> None:
    b = tfc()
    b._lock_id = "mine"
    with pytest.raises(LockError, match="does not match"):
        b.unlock("theirs")


def test_pending_state_version_has_no_download_url(replay: Any) -> None:
    replay("pending_state")
    with pytest.raises(BackendError, match="status: pending"):
        tfc().read()


def test_workspaces_by_tags(replay: Any) -> None:
    replay("workspaces_tags")
    assert tfc("tfc://acme-corp?tags=prod,network").workspaces() == ["network-prod"]


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (403, AccessDeniedError, "HTTP 403"),
        (500, BackendError, "server error HTTP 500"),
        (429, BackendError, "rate limited"),
        (422, BackendError, "HTTP 422 trying to read the workspace: bad thing"),
    ],
)
def test_api_status_mapping(token: str, status: int, error: type[Exception], text: str) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        body = {"errors": [{"status": str(status), "title": "error", "detail": "bad thing"}]}
        route = router.get(f"{API}/organizations/acme-corp/workspaces/network-prod").mock(
            return_value=httpx.Response(status, json=body)
        )
        with pytest.raises(error, match=text) as err:
            tfc(URL + "?retry_max=1&retry_wait_min=0").read()
    assert type(err.value) is error
    assert route.call_count == (2 if status in (429, 500) else 1)  # retried like go-retryablehttp
    assert TOKEN not in str(err.value)


def test_server_error_is_retried(token: str) -> None:
    calls = [json.loads(f.read_text()) for f in sorted((RECORDINGS / "workspace_not_found").glob("*.json"))]
    assert calls  # reuse the recorded 404 as the eventual answer after a 503
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{API}/organizations/acme-corp/workspaces/network-prod").mock(
            side_effect=[
                httpx.Response(503, headers={"Retry-After": "0"}),
                httpx.Response(404, json=calls[0]["response"]["body"]),
            ]
        )
        with pytest.raises(StateNotFoundError):
            tfc(URL + "?retry_wait_min=0").read()


def test_pagination_link_to_another_host_is_refused(token: str) -> None:
    page = {"data": [], "links": {"next": "https://evil.example/api/v2/organizations/acme-corp/workspaces"}}
    with respx.mock(assert_all_mocked=True) as router:
        router.get(url__startswith=f"{API}/organizations/acme-corp/workspaces").mock(
            return_value=httpx.Response(200, json=page)
        )
        with pytest.raises(BackendError, match="another host"):
            tfc("tfc://acme-corp").workspaces()


def test_write_rejects_bad_state_before_calling() -> None:
    b = tfc()
    b._lock_id = "held"
    with respx.mock(assert_all_mocked=True) as router:
        with pytest.raises(StateFormatError, match="not JSON"):
            b.write(b"{nope")
        with pytest.raises(StateFormatError, match="serial"):
            b.write(b'{"version": 4, "serial": "7"}')
    assert not router.calls


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="retry_max"):
        tfc(URL + "?retry_max=many")
    with pytest.raises(UsageError, match="organization"):
        tfc("tfc:///ws")
    with pytest.raises(UsageError, match="state version id"):
        tfc().read_version("../etc")
    assert tfc("tfc://acme-corp?name=net").remote_name == "net"
    assert tfc("tfc://acme-corp?workspace=net").remote_name == "net"
