"""The http backend against a real server speaking Terraform's http backend protocol."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading

import httpx
import orjson
import pytest

from driftmgr.errors import AccessDeniedError, BackendError, LockError, StateNotFoundError, UsageError
from driftmgr.models import LockInfo
from driftmgr.state.backends import http as http_mod
from driftmgr.state.backends.base import get_backend, new_lock_info
from driftmgr.state.backends.http import HttpBackend, RetryPolicy
from tests.fixtures.http_backend import HttpStateServer

STATE = orjson.dumps(
    {
        "version": 4,
        "terraform_version": "1.6.0",
        "serial": 3,
        "lineage": "l-1",
        "outputs": {},
        "resources": [],
    }
)

_HTTP_ENV = [
    "TF_HTTP_USERNAME",
    "TF_HTTP_PASSWORD",
    "TF_HTTP_LOCK_ADDRESS",
    "TF_HTTP_UNLOCK_ADDRESS",
    "TF_HTTP_LOCK_METHOD",
    "TF_HTTP_UNLOCK_METHOD",
    "TF_HTTP_UPDATE_METHOD",
    "TF_HTTP_RETRY_MAX",
    "TF_HTTP_RETRY_WAIT_MIN",
    "TF_HTTP_RETRY_WAIT_MAX",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _HTTP_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_HTTP_RETRY_WAIT_MIN", "0")  # retries stay instant in tests


def backend(url: str) -> HttpBackend:
    b = get_backend(url)
    assert isinstance(b, HttpBackend)
    return b


def test_scheme_registered_for_http_and_https() -> None:
    assert type(get_backend("http://example.invalid/s")) is HttpBackend
    assert type(get_backend("https://example.invalid/s")) is HttpBackend


def test_round_trip(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    b = backend(http_state_server.url(path))
    b.write(STATE)
    assert http_state_server.states[path] == STATE
    assert b.read() == STATE
    assert b.exists()
    post = http_state_server.requests_to(path, "POST")[-1]
    assert post.headers["content-type"] == "application/json"
    assert post.headers["content-md5"] == base64.b64encode(hashlib.md5(STATE).digest()).decode()
    assert "ID" not in post.query  # not locked: no lock ID


def test_open_streams_large_state(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    big = b'{"version": 4, "pad": "' + b"x" * 3_000_000 + b'"}'
    http_state_server.states[path] = big
    with backend(http_state_server.url(path)).open() as fh:
        head = fh.read(10)
        rest = fh.read()
    assert head + rest == big


def test_no_state_is_not_found(http_state_server: HttpStateServer) -> None:
    b = backend(http_state_server.url(http_state_server.unique_path()))
    with pytest.raises(StateNotFoundError, match="HTTP 404"):
        b.read()
    assert not b.exists()


@pytest.mark.parametrize("status", [204, 200])
def test_204_or_empty_body_is_no_state(http_state_server: HttpStateServer, status: int) -> None:
    path = http_state_server.unique_path()
    http_state_server.inject(path, "GET", status, b"")
    with pytest.raises(StateNotFoundError):
        backend(http_state_server.url(path)).read()


def test_second_lock_refused_with_holder_info(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    first, second = backend(http_state_server.url(path)), backend(http_state_server.url(path))
    info = new_lock_info("OperationTypeApply", path="", info="first")
    lock_id = first.lock(info)
    assert lock_id == info.id
    lock_req = http_state_server.requests_to(path, "LOCK")[-1]
    assert orjson.loads(lock_req.body)["ID"] == lock_id

    with pytest.raises(LockError) as err:
        second.lock(new_lock_info("OperationTypeApply", path="", info="second"))
    assert err.value.lock_info["ID"] == lock_id
    assert err.value.lock_info["Who"] == info.who
    assert err.value.lock_info["Info"] == "first"
    assert lock_id in str(err.value)


def test_409_conflict_also_carries_holder(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    holder = LockInfo(id="held-1", operation="OperationTypePlan", who="ci@runner").to_json()
    http_state_server.inject(path, "LOCK", 409, orjson.dumps(holder))
    with pytest.raises(LockError) as err:
        backend(http_state_server.url(path)).lock(new_lock_info("OperationTypeApply", path=""))
    assert err.value.lock_info == holder
    assert "ci@runner" in str(err.value)


def test_write_while_locked_carries_lock_id(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    b = backend(http_state_server.url(path))
    lock_id = b.lock(new_lock_info("OperationTypeApply", path=""))
    b.write(STATE)  # the held lock id is added by the backend itself, as Terraform does
    b.write(STATE, lock_id=lock_id)
    posts = http_state_server.requests_to(path, "POST")
    assert [p.query.get("ID") for p in posts] == [lock_id, lock_id]
    assert http_state_server.states[path] == STATE


def test_write_by_someone_else_while_locked_is_refused(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    holder = backend(http_state_server.url(path))
    lock_id = holder.lock(new_lock_info("OperationTypeApply", path=""))
    with pytest.raises(LockError) as err:
        backend(http_state_server.url(path)).write(STATE)
    assert err.value.lock_info["ID"] == lock_id
    assert path not in http_state_server.states


def test_unlock_releases_the_lock(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    a, b = backend(http_state_server.url(path)), backend(http_state_server.url(path))
    info = new_lock_info("OperationTypeApply", path="")
    lock_id = a.lock(info)
    a.unlock(lock_id)
    unlock_req = http_state_server.requests_to(path, "UNLOCK")[-1]
    assert orjson.loads(unlock_req.body) == info.to_json()
    assert path not in http_state_server.locks
    b_id = b.lock(new_lock_info("OperationTypeApply", path=""))
    assert http_state_server.locks[path]["ID"] == b_id


def test_unlock_with_wrong_id_is_refused(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    a = backend(http_state_server.url(path))
    lock_id = a.lock(new_lock_info("OperationTypeApply", path=""))
    with pytest.raises(LockError) as err:
        backend(http_state_server.url(path)).unlock("not-the-id")
    assert err.value.lock_info["ID"] == lock_id
    assert http_state_server.locks[path]["ID"] == lock_id


def test_gitlab_style_lock_endpoints_from_env(
    http_state_server: HttpStateServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = http_state_server.unique_path()
    monkeypatch.setenv("TF_HTTP_LOCK_ADDRESS", http_state_server.url(path + "/lock"))
    monkeypatch.setenv("TF_HTTP_UNLOCK_ADDRESS", http_state_server.url(path + "/lock"))
    monkeypatch.setenv("TF_HTTP_LOCK_METHOD", "POST")
    monkeypatch.setenv("TF_HTTP_UNLOCK_METHOD", "DELETE")
    b = backend(http_state_server.url(path) + "?update_method=PUT")
    lock_id = b.lock(new_lock_info("OperationTypeApply", path=""))
    assert http_state_server.requests_to(path + "/lock", "POST")
    assert http_state_server.locks[path]["ID"] == lock_id
    b.write(STATE)
    put = http_state_server.requests_to(path, "PUT")[-1]
    assert put.query == {"ID": lock_id}  # the option was not sent as part of the address
    b.unlock(lock_id)
    assert http_state_server.requests_to(path + "/lock", "DELETE")
    assert path not in http_state_server.locks


def test_address_query_is_kept_and_options_removed(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    b = backend(http_state_server.url(path) + "?state=%2Fteam%2Fapp&lock_method=LOCK&retry_max=0")
    assert b.address == http_state_server.url(path) + "?state=%2Fteam%2Fapp"
    assert b.retry == RetryPolicy(retry_max=0, wait_min=0, wait_max=30)
    b.write(STATE)
    assert http_state_server.states[http_state_server.key(path, {"state": "/team/app"})] == STATE


def test_workspaces_unsupported() -> None:
    assert HttpBackend("http://example.invalid/s").workspaces() == ["default"]
    with pytest.raises(UsageError, match="workspaces"):
        HttpBackend("http://example.invalid/s?workspace=dev")


def test_delete(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    b = backend(http_state_server.url(path))
    b.write(STATE)
    b.delete()
    assert path not in http_state_server.states
    with pytest.raises(StateNotFoundError):
        b.read()


# --- credentials ----------------------------------------------------------------------------
def test_basic_auth_from_terraform_env(
    http_state_server: HttpStateServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = http_state_server.unique_path("secure")
    http_state_server.protect(path, "alice", "s3cret-pw")
    http_state_server.states[path] = STATE
    monkeypatch.setenv("TF_HTTP_USERNAME", "alice")
    monkeypatch.setenv("TF_HTTP_PASSWORD", "s3cret-pw")
    assert backend(http_state_server.url(path)).read() == STATE


def test_basic_auth_from_url_userinfo(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path("secure")
    http_state_server.protect(path, "bob", "p@ss word")
    http_state_server.states[path] = STATE
    url = http_state_server.url(path).replace("http://", "http://bob:p%40ss%20word@")
    b = backend(url)
    assert "p%40ss" not in b.display_url and "bob" not in b.display_url
    assert b.read() == STATE


def test_wrong_credentials_are_a_clean_access_denied(
    http_state_server: HttpStateServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = http_state_server.unique_path("secure")
    http_state_server.protect(path, "alice", "right-password")
    monkeypatch.setenv("TF_HTTP_USERNAME", "alice")
    monkeypatch.setenv("TF_HTTP_PASSWORD", "wrong-password")
    url = http_state_server.url(path).replace("http://", "http://alice:url-password@")
    for b in (backend(http_state_server.url(path)), backend(url)):
        with pytest.raises(AccessDeniedError) as err:
            b.read()
        message = str(err.value)
        assert "401" in message and "rejected" in message
        assert "password" not in message and "alice" not in message
        assert "\n" not in message


def test_missing_credentials_say_how_to_set_them(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path("secure")
    http_state_server.protect(path, "alice", "pw")
    with pytest.raises(AccessDeniedError, match="TF_HTTP_USERNAME"):
        backend(http_state_server.url(path)).read()


def test_403_is_access_denied(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    http_state_server.inject(path, "POST", 403)
    with pytest.raises(AccessDeniedError, match="403"):
        backend(http_state_server.url(path)).write(STATE)


# --- failures -------------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_closed_port_is_a_clean_error() -> None:
    port = _closed_port()
    b = backend(f"http://user:hunter2@127.0.0.1:{port}/state?retry_max=1")
    with pytest.raises(BackendError) as err:
        b.read()
    message = str(err.value)
    assert f"cannot connect to 127.0.0.1:{port}" in message
    assert "hunter2" not in message and "user" not in message
    assert type(err.value) is BackendError


def test_server_error_is_retried_then_succeeds(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    http_state_server.states[path] = STATE
    http_state_server.inject(path, "GET", 503, b"busy", times=2)
    assert backend(http_state_server.url(path)).read() == STATE
    assert len(http_state_server.requests_to(path, "GET")) == 3


def test_persistent_server_error_reports_status(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    http_state_server.inject(path, "GET", 500, b"<html>boom</html>", times=10)
    with pytest.raises(BackendError, match="HTTP 500") as err:
        backend(http_state_server.url(path) + "?retry_max=1").read()
    assert not isinstance(err.value, StateNotFoundError)
    assert len(http_state_server.requests_to(path, "GET")) == 2


def test_lock_method_not_allowed_explains(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    http_state_server.inject(path, "LOCK", 405)
    with pytest.raises(BackendError, match="does not accept LOCK"):
        backend(http_state_server.url(path)).lock(new_lock_info("OperationTypeApply", path=""))


def test_bad_option_is_usage_error() -> None:
    with pytest.raises(UsageError, match="retry_max"):
        HttpBackend("http://example.invalid/s?retry_max=lots")
    with pytest.raises(UsageError, match="lock_address"):
        HttpBackend("http://example.invalid/s?lock_address=ftp://x/y")


def test_retry_policy_backoff_like_retryablehttp() -> None:
    p = RetryPolicy(retry_max=5, wait_min=1, wait_max=5)
    assert [p.wait(n, None) for n in range(5)] == [1, 2, 4, 5, 5]


# --- raw-socket misbehaviour ----------------------------------------------------------------
class _RawServer:
    """Accepts connections on 127.0.0.1 and answers each with `reply` bytes (or nothing), then closes."""

    def __init__(self, reply: bytes | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self.reply = reply
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.recv(65536)
            if self.reply is not None:
                conn.sendall(self.reply)
                conn.close()

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


def test_read_timeout_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_mod, "DEFAULT_TIMEOUT", httpx.Timeout(0.3))
    server = _RawServer(reply=None)  # accepts, never answers
    try:
        with pytest.raises(BackendError, match="timed out trying to read the state"):
            backend(f"http://127.0.0.1:{server.port}/s?retry_max=0").read()
    finally:
        server.close()


def test_truncated_download_is_a_clean_error() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n"
    server = _RawServer(reply=head + b'{"version": 4, ' + b"x" * 200_000)
    try:
        with pytest.raises(BackendError, match="download interrupted"):
            backend(f"http://127.0.0.1:{server.port}/s?retry_max=0").read()
    finally:
        server.close()


def test_tls_options(monkeypatch: pytest.MonkeyPatch) -> None:
    assert HttpBackend("https://example.invalid/s?skip_cert_verification=true")._verify() is False
    assert HttpBackend("https://example.invalid/s")._verify() is True
    monkeypatch.setenv("TF_HTTP_CLIENT_CA_CERTIFICATE_PEM", "not a certificate")
    with pytest.raises(UsageError, match="client_ca_certificate_pem"):
        HttpBackend("https://example.invalid/s")._verify()


def test_close_releases_the_client(http_state_server: HttpStateServer) -> None:
    path = http_state_server.unique_path()
    http_state_server.states[path] = STATE
    b = backend(http_state_server.url(path))
    assert b.read() == STATE
    b.close()
    assert b.read() == STATE  # a new client is made on demand
    b.close()
