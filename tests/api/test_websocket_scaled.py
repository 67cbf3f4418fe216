"""Scaled out: two `driftmgr serve` processes on one PostgreSQL database and one Redis.

An event caused by a request to process A reaches a WebSocket client of process B (issue 5: the
WebSocket "works across several API processes through Redis"). Real processes, real servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.fixtures.db import pg_sqlalchemy_url
from tests.fixtures.moto_server import free_port

DRIFTMGR = str(Path(sys.executable).with_name("driftmgr"))


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        [DRIFTMGR, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"driftmgr {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout


@pytest.fixture
def two_servers(
    tmp_path: Path, pg_url: str, pg_schema: str, redis_url: str
) -> Iterator[tuple[list[str], str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTMGR_")}
    env.update(
        DRIFTMGR_DATA_DIR=str(tmp_path / "data"),
        DRIFTMGR_DATABASE_URL=pg_sqlalchemy_url(pg_url, pg_schema),
        DRIFTMGR_REDIS_URL=redis_url,
        DRIFTMGR_SECRET_KEY="s" * 48,
        AWS_EC2_METADATA_DISABLED="true",
    )
    _run(env, "users", "create-admin", "root", "--password-stdin", stdin="a long enough password 1\n")
    token = _run(env, "tokens", "create", "--user", "root", "--name", "ws-test").strip()
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [DRIFTMGR, "serve", "--port", str(port), "--no-workers"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
            urls.append(f"127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            _wait_healthy(url, proc)
        yield urls, token
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"driftmgr serve exited with {proc.returncode}: {err[-2000:]}")
        try:
            if httpx.get(f"http://{url}/health", timeout=2).status_code in (200, 503):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"driftmgr serve at {url} did not answer within 60 s")


def test_an_event_of_process_a_reaches_a_websocket_client_of_process_b(
    two_servers: tuple[list[str], str],
) -> None:
    (a, b), token = two_servers
    with connect(f"ws://{b}/api/v1/ws", additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert json.loads(ws.recv(timeout=10)) == {"type": "welcome", "user": "root"}
        ws.send(json.dumps({"subscribe": ["cache.*"]}))
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        # the request goes to the OTHER process
        resp = httpx.post(f"http://{a}/api/v1/cache/clear", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200, resp.text
        event = json.loads(ws.recv(timeout=15))
    assert event["type"] == "cache.invalidated"
