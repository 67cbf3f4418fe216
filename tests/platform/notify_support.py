"""Local receivers for notification tests: an HTTP webhook server and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import NotificationDelivery


@dataclass
class HTTPReceiver:
    """Answers POSTs with 500 for the first `fail_first` requests (or always), then 200."""

    port: int = 0
    fail_first: int = 0
    always_fail: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hooks/drift", scheme: str = "json", auth: str = "") -> str:
        return f"{scheme}://{auth}127.0.0.1:{self.port}{path}"

    @property
    def hits(self) -> int:
        with self.lock:
            return len(self.requests)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r["json"] for r in self.requests if r["status"] == 200]


@pytest.fixture
def http_receiver() -> Iterator[HTTPReceiver]:
    receiver = HTTPReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            with receiver.lock:
                n = len(receiver.requests)
                status = 500 if receiver.always_fail or n < receiver.fail_first else 200
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = None
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "raw": raw,
                        "json": parsed,
                        "status": status,
                    }
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@dataclass
class SMTPReceiver:
    port: int
    password: str
    messages: list[dict[str, Any]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_receiver() -> Iterator[SMTPReceiver]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    receiver = SMTPReceiver(port=free_port(), password="Mail-Pa55word-x9")

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            receiver.messages.append(
                {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "content": envelope.content}
            )
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == receiver.password.encode()
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=receiver.port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    yield receiver
    controller.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def deliveries(db: Database) -> list[NotificationDelivery]:
    with db.session() as s:
        from sqlalchemy import select

        rows = s.scalars(select(NotificationDelivery).order_by(NotificationDelivery.created_at)).all()
        s.expunge_all()
        return list(rows)


def wait_status(
    db: Database, status: str, count: int = 1, timeout: float = 20.0
) -> list[NotificationDelivery]:
    assert wait_for(lambda: sum(d.status == status for d in deliveries(db)) >= count, timeout), (
        f"expected {count} {status} deliveries, have "
        f"{[(d.status, d.attempts, d.last_error) for d in deliveries(db)]}"
    )
    return [d for d in deliveries(db) if d.status == status]
