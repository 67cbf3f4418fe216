"""Shared test configuration. Fixtures that start emulators and servers live in tests/fixtures/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Shared machines (CI, 2 cores, parallel workers) make generation timing meaningless: no deadlines,
# no "too slow" health check. Example counts stay as each test sets them.
settings.register_profile("driftmgr", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("driftmgr")

pytest_plugins = [
    "tests.fixtures.moto_server",
    "tests.fixtures.postgres",
    "tests.fixtures.db",
    "tests.fixtures.redis",
    "tests.fixtures.azurite",
    "tests.fixtures.fake_gcs",
    "tests.fixtures.http_backend",
    "tests.fixtures.terraform",
]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """`drift detect` stores every scan: keep the tests' scans out of the user's data dir and database
    (one data dir per test session and xdist worker; tests that need their own set it themselves)."""
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path_factory.getbasetemp() / "driftmgr-data"))
    monkeypatch.delenv("DRIFTMGR_DATABASE_URL", raising=False)


def corpus_dir() -> Path | None:
    """../shared/corpus next to the checkout (or DRIFTMGR_CORPUS), when present."""
    env = os.environ.get("DRIFTMGR_CORPUS")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "corpus"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def corpus() -> Path:
    d = corpus_dir()
    if d is None:
        pytest.skip("../shared/corpus is not present next to the checkout (set DRIFTMGR_CORPUS)")
    return d


# --- which tests used the real servers: counted in the summary, so the CI log shows they ran ------

SERVER_FIXTURES = {"postgresql": {"pg_url", "pg_db"}, "redis": {"redis_url"}}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        values = callspec.params.values() if callspec is not None else ()
        params = {v for v in values if isinstance(v, str)}  # ids like "postgresql"; other params may be lists
        for server, fixtures in SERVER_FIXTURES.items():
            if names & fixtures or server in params:
                item.add_marker(f"server_{server}")


_server_outcomes: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    for server in SERVER_FIXTURES:
        if f"server_{server}" in report.keywords:
            counts = _server_outcomes.setdefault(server, {})
            counts[report.outcome] = counts.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: object, exitstatus: int, config: pytest.Config) -> None:
    write = getattr(terminalreporter, "write_line", print)
    for server in SERVER_FIXTURES:
        counts = _server_outcomes.get(server, {})
        text = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "none ran"
        write(f"tests against the real {server} server: {text}")
