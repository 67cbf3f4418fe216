"""The GUI served by uvicorn on a free loopback port, and headless Debian Chromium driven by Playwright.

The app is `create_app(settings, platform=…)` on a fresh SQLite data dir (as `driftmgr serve` builds it),
its AWS provider pointed at the moto server; job workers start only when a test says so, so a test can
watch a queued job's page change live. Without Chromium or Playwright the tests skip locally and fail in
CI (tests/fixtures/_require.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftmgr.api.app import create_app
from driftmgr.config import Settings
from driftmgr.platform.runtime import Platform, build_platform
from driftmgr.security import passwords
from driftmgr.services.access import AccessService, Actor
from tests.fixtures._require import unavailable
from tests.platform.test_jobs_workflow import write_state
from tests.security.hashing import FAST

PASSWORD = "correct horse battery staple"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Gui:
    url: str
    platform: Platform
    state: Path
    artifacts: Path

    def shot(self, page: Any, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        unavailable("Debian's chromium is not installed (apt-get install chromium)")
    return found


def _playwright() -> Any:
    try:
        import playwright.sync_api
    except ImportError:
        unavailable("playwright for Python is not installed (pip install -e '.[dev]')")
    return playwright.sync_api


@pytest.fixture
def expect() -> Any:
    """Playwright's auto-waiting assertions."""
    return _playwright().expect


@pytest.fixture
def browser() -> Iterator[Any]:
    executable = _chromium()
    with _playwright().sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    base = os.environ.get("DRIFTMGR_TEST_ARTIFACTS")
    path = (Path(base) / "web" / request.node.name) if base else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {path}")
    return path


@pytest.fixture
def gui(aws_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts: Path) -> Iterator[Gui]:
    import uvicorn

    monkeypatch.setattr(passwords, "_hasher", FAST)  # production argon2 costs ~1 s per hash
    monkeypatch.setattr(passwords, "_dummy_hash", None)
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.70.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "changed-by-hand"}])
    state = write_state(tmp_path / "prod.tfstate", vpc, "10.70.0.0/16")  # the state says Name=main
    settings = Settings(data_dir=tmp_path / "data", secret_key="w" * 48, jobs_retry_attempts=1)
    platform = build_platform(settings)
    access = AccessService(settings, platform.db)
    access.create_admin("admin", PASSWORD)
    access.add_user(Actor.cli(), "olga", PASSWORD, ["operator"])
    access.add_user(Actor.cli(), "vic", PASSWORD, ["viewer"])
    app = create_app(settings, platform=platform)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the GUI server did not start")
        time.sleep(0.05)
    try:
        yield Gui(f"http://127.0.0.1:{port}", platform, state, artifacts)
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        platform.close()


def sign_in(page: Any, gui: Gui, user: str) -> None:
    page.goto(f"{gui.url}/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{gui.url}/")
