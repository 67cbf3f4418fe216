"""Vault KV v2 through hvac, against a local HTTP server answering in the documented KV v2 JSON shape
(https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version). No Vault
binary is installable here: this is a documented-shape fake, not Vault itself."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from driftmgr.errors import AccessDeniedError, BackendError, UsageError
from driftmgr.platform.secrets import SecretNotFoundError
from driftmgr.platform.secrets.vault import VaultSecretStore

TOKEN = "hvs.test-token"
VALUE = "vault-held-secret"
SECRETS: dict[str, dict[str, Any]] = {
    "secret/data/driftmgr/db": {"value": VALUE, "user": "app"},
    "kv/data/azure": {"client_secret": "cs-2"},
}


class _Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, str | None]] = []  # noqa: RUF012

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path, self.headers.get("X-Vault-Token")))
        if self.headers.get("X-Vault-Token") != TOKEN:
            return self._send(403, {"errors": ["permission denied"]})
        path = self.path.split("?")[0].removeprefix("/v1/")
        if path not in SECRETS:
            return self._send(404, {"errors": []})
        return self._send(
            200,
            {
                "request_id": "e345f3c0-7f1b-4b4d-9c23-7ad6e3b3cf50",
                "lease_id": "",
                "renewable": False,
                "lease_duration": 0,
                "data": {
                    "data": SECRETS[path],
                    "metadata": {
                        "created_time": "2026-03-22T02:24:06.945319214Z",
                        "custom_metadata": None,
                        "deletion_time": "",
                        "destroyed": False,
                        "version": 2,
                    },
                },
                "wrap_info": None,
                "warnings": None,
                "auth": None,
            },
        )


@pytest.fixture
def vault_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    _Handler.requests.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_reads_kv2_secrets(vault_url: str) -> None:
    store = VaultSecretStore(vault_url, token=TOKEN)
    assert store.get("driftmgr/db").reveal() == VALUE
    assert store.get("driftmgr/db#user").reveal() == "app"
    assert VaultSecretStore(vault_url, token=TOKEN, mount="kv").get("azure#client_secret").reveal() == "cs-2"
    assert ("GET", "/v1/secret/data/driftmgr/db", TOKEN) in _Handler.requests
    assert TOKEN not in repr(store)


def test_token_from_the_environment(vault_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    assert VaultSecretStore(vault_url, prefix="driftmgr/").get("db").reveal() == VALUE
    monkeypatch.delenv("VAULT_TOKEN")
    with pytest.raises(UsageError, match="VAULT_TOKEN"):
        VaultSecretStore(vault_url).get("db")


def test_errors_are_typed_and_name_no_value(vault_url: str) -> None:
    with pytest.raises(SecretNotFoundError, match="vault:secret/nope: no such secret"):
        VaultSecretStore(vault_url, token=TOKEN).get("nope")
    with pytest.raises(SecretNotFoundError, match="no key 'password'"):
        VaultSecretStore(vault_url, token=TOKEN).get("driftmgr/db#password")
    with pytest.raises(AccessDeniedError, match="denied"):
        VaultSecretStore(vault_url, token="wrong").get("driftmgr/db")


def test_unreachable_vault_is_a_backend_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BackendError, match="cannot reach Vault"):
        VaultSecretStore(f"http://127.0.0.1:{port}", token=TOKEN, timeout=2).get("driftmgr/db")
