"""Azure Key Vault through azure-keyvault-secrets, against a local HTTPS server answering like the
documented REST API (no emulator exists): the bearer challenge (401 + WWW-Authenticate), then
GET /secrets/{name}/?api-version=… → {"value", "id", "attributes"}, 404 SecretNotFound, 403 Forbidden.
https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from driftmgr.errors import AccessDeniedError
from driftmgr.platform.secrets import SecretNotFoundError
from driftmgr.platform.secrets.azure import AzureSecretStore

GOOD = "good-access-token"
VALUE = "kv-held-secret"
SECRETS = {"db-password": VALUE, "app-config": json.dumps({"user": "svc"})}


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []  # noqa: RUF012
    denied = False

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        for k, v in {"Content-Type": "application/json; charset=utf-8", **(headers or {})}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        self.seen.append((self.path, auth))
        if auth != f"Bearer {GOOD}":
            challenge = (
                'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47",'
                " "
                'resource="https://vault.azure.net"'
            )
            return self._send(
                401,
                {"error": {"code": "Unauthorized", "message": "AKV10000"}},
                {"WWW-Authenticate": challenge},
            )
        if type(self).denied:
            return self._send(403, {"error": {"code": "Forbidden", "message": "Caller is not authorized"}})
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) < 2 or parts[0] != "secrets" or parts[1] not in SECRETS:
            return self._send(
                404, {"error": {"code": "SecretNotFound", "message": "A secret with (name/id) was not found"}}
            )
        host = f"https://{self.headers['Host']}"
        return self._send(
            200,
            {
                "value": SECRETS[parts[1]],
                "id": f"{host}/secrets/{parts[1]}/4387e9f3d6e14c459867679a90fd0f79",
                "attributes": {"enabled": True, "created": 1493938410, "updated": 1493938410,
                               "recoveryLevel": "Recoverable+Purgeable"},
            },
        )  # fmt: skip


class _Credential:
    def __init__(self, token: str = GOOD) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = _self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Handler.seen.clear()
    _Handler.denied = False
    yield f"https://localhost:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def _store(kv: tuple[str, Path], credential: Any = None) -> AzureSecretStore:
    url, cert = kv
    return AzureSecretStore(
        url,
        credential=credential or _Credential(),
        verify_challenge_resource=False,
        connection_verify=str(cert),
    )


def test_reads_secrets_after_the_bearer_challenge(kv: tuple[str, Path]) -> None:
    cred = _Credential()
    store = _store(kv, cred)
    assert store.get("db-password").reveal() == VALUE
    assert store.get("app-config#user").reveal() == "svc"
    assert cred.scopes and cred.scopes[0] == ("https://vault.azure.net/.default",)
    assert _Handler.seen[0][1] is None  # the challenge round-trip happened
    assert any(auth == f"Bearer {GOOD}" for _, auth in _Handler.seen)


def test_missing_and_denied(kv: tuple[str, Path]) -> None:
    with pytest.raises(SecretNotFoundError, match="no such secret"):
        _store(kv).get("nope")
    _Handler.denied = True
    with pytest.raises(AccessDeniedError, match="denied"):
        _store(kv).get("db-password")


def test_http_urls_are_refused() -> None:
    from driftmgr.errors import UsageError

    with pytest.raises(UsageError, match="https"):
        AzureSecretStore("http://kv.example")
