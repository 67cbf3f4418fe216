"""`driftmgr demo`: a real drift detection — seeded moto, the shipped Terraform state, boto3 changes —
stored in the demo's own data dir, then (with --serve) the web GUI on it with a sign-in made for the run."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest

from driftmgr.cli import demo, demo_infra
from driftmgr.cli.app import main
from driftmgr.cli.context import Env
from driftmgr.engine import render as render_module
from driftmgr.engine.report import DriftReport
from tests.fixtures._require import unavailable

pytestmark = pytest.mark.emulator


def state_ids() -> dict[str, str]:
    doc = json.loads(files("driftmgr.examples").joinpath("drift-demo.tfstate").read_text())
    out = {}
    for res in doc["resources"]:
        for inst in res["instances"]:
            key = f'["{inst["index_key"]}"]' if "index_key" in inst else ""
            out[f"{res['type']}.{res['name']}{key}"] = inst["attributes"]["id"]
    return out


def user_env(tmp_path: Path) -> dict[str, str]:
    """A user's settings the demo must not use: their data dir holds only the demo's, their database
    (DRIFTMGR_DATABASE_URL) is never created, their AWS profile and endpoints never reached."""
    return {
        "DRIFTMGR_DATA_DIR": str(tmp_path / "data"),
        "DRIFTMGR_DATABASE_URL": f"sqlite:///{tmp_path / 'users-own.db'}",
        "AWS_PROFILE": "must-not-be-used",
        "AWS_ENDPOINT_URL_EC2": "http://127.0.0.1:9",  # would win over AWS_ENDPOINT_URL
    }


def needs_moto() -> None:
    if importlib.util.find_spec("moto") is None:
        unavailable("moto[server] is not installed; pip install 'driftmgr[demo]'")


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[DriftReport]:
    """Needs moto; runs in an empty directory (no stray .driftignore); captures the rendered reports."""
    needs_moto()
    monkeypatch.chdir(tmp_path)
    for k, v in user_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    reports: list[DriftReport] = []
    real = render_module.render

    def spy(report: DriftReport, fmt: str, **options: Any) -> str:
        reports.append(report)
        return real(report, fmt, **options)

    monkeypatch.setattr(render_module, "render", spy)
    return reports


def test_demo_reports_exactly_the_out_of_band_changes(
    demo_env: list[DriftReport], capsys, tmp_path: Path
) -> None:
    before = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "DRIFTMGR_"))}
    code = main(["demo"])  # stdout is not a terminal: no server, so the exit code is the report's
    out, err = capsys.readouterr()
    assert code == 2, err

    ids = state_ids()
    assert len(ids) == 18
    hand = re.search(r"hand-made: subnet 10\.20\.99\.0/24 .*\((subnet-[0-9a-f]{17})\)", out)
    assert hand is not None, out
    assert hand.group(1) not in ids.values()

    assert len(demo_env) == 1  # one `drift detect`, rendered as a table
    report = json.loads(render_module.render_json(demo_env[0]))
    found = {(r["status"], r["type"], r["address"], r["id"]) for r in report["resources"]}
    assert {f for f in found if f[0] != "in_sync"} == {
        ("drifted", "aws_vpc", "aws_vpc.main", ids["aws_vpc.main"]),
        ("drifted", "aws_subnet", 'aws_subnet.private["a"]', ids['aws_subnet.private["a"]']),
        ("drifted", "aws_network_acl", "aws_network_acl.private", ids["aws_network_acl.private"]),
        ("missing", "aws_route", "aws_route.private_default", ids["aws_route.private_default"]),
        ("unmanaged", "aws_subnet", None, hand.group(1)),
    }
    assert {f[2] for f in found if f[0] == "in_sync"} == set(ids) - {
        "aws_vpc.main",
        'aws_subnet.private["a"]',
        "aws_network_acl.private",
        "aws_route.private_default",
    }
    changes = {
        r["address"]: {c["path"]: (c["expected"], c["actual"]) for c in r["changes"]}
        for r in report["resources"]
        if r["status"] == "drifted"
    }
    assert changes["aws_vpc.main"] == {"tags.env": ("prod", "staging")}
    assert changes['aws_subnet.private["a"]'] == {"map_public_ip_on_launch": (False, True)}
    assert list(changes["aws_network_acl.private"]) == ["ingress"]
    expected, actual = changes["aws_network_acl.private"]["ingress"]
    assert expected == []
    assert [(e["rule_no"], e["from_port"], e["cidr_block"], e["action"]) for e in actual] == [
        (90, 22, "0.0.0.0/0", "allow")
    ]
    s = report["summary"]
    assert (s["drifted"], s["missing"], s["unmanaged"], s["in_sync"]) == (3, 1, 1, 14)
    assert (s["ignored"], s["unsupported"], report["errors"]) == (0, 0, [])
    assert (
        report["sources"][0]["lineage"]
        == json.loads(files("driftmgr.examples").joinpath("drift-demo.tfstate").read_text())["lineage"]
    )

    # The real table report is printed, then part 2 (state analysis) as before.
    assert 'tags.env: "prod" →' in out and "map_public_ip_on_launch:" in out
    assert "Drift found: 3 drifted, 1 missing, 1 unmanaged, 14 in sync" in out
    assert out.index("Drift found") < out.index("DriftMgr demo, part 2")
    assert "aws_instance.web[0]" in out and "digraph" in out

    # The scan is stored in the demo's own data dir, never in the user's database; no server ran,
    # and the demo says how to get one.
    demo_dir = tmp_path / "data" / "demo"
    assert f"DRIFTMGR_DATA_DIR={demo_dir} driftmgr drift detect" in out
    assert not (tmp_path / "users-own.db").exists()
    from driftmgr.config import Settings
    from driftmgr.platform.db.engine import open_database
    from driftmgr.services.history import HistoryService

    db = open_database(Settings(data_dir=demo_dir, database_url=None))
    [stored] = HistoryService(db).scans()
    db.dispose()
    assert (stored.drifted, stored.missing, stored.unmanaged, stored.in_sync) == (3, 1, 1, 14)
    assert "`driftmgr demo --serve`" in out and "Open http" not in out

    # The emulator is gone and the caller's AWS and DriftMgr environment is back.
    endpoint = re.search(r"AWS_ENDPOINT_URL=http://127\.0\.0\.1:(\d+) DRIFTMGR_DATA_DIR=", out)
    assert endpoint is not None
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(endpoint.group(1))), timeout=2):
        pass
    assert {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "DRIFTMGR_"))} == before


def test_demo_stops_when_the_emulator_ids_differ_from_the_state(
    demo_env: list[DriftReport], capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_infra, "SEED", demo_infra.SEED + 1)  # as a moto that draws other ids
    code = main(["demo"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("error: the emulator (moto ") and "generated other ids" in err
    assert "scripts/make_demo_state.py" in err
    assert demo_env == [] and "Drift found" not in out  # never a report on unrelated resources


def test_id_check_names_a_differing_address() -> None:
    ids = state_ids()
    demo._check_ids(ids, dict(ids))
    other = {**ids, "aws_vpc.main": "vpc-0000"}
    with pytest.raises(
        demo_infra.DemoError, match=r"1 differ, e\.g\. aws_vpc\.main: state vpc-\w+, emulator vpc-0000"
    ):
        demo._check_ids(ids, other)
    with pytest.raises(demo_infra.DemoError, match=r"aws_eip\.nat: state eipalloc-\w+, emulator -"):
        demo._check_ids(ids, {k: v for k, v in ids.items() if k != "aws_eip.nat"})


def test_demo_without_moto_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "moto" else real(name, *a)
    )
    with (
        pytest.raises(demo_infra.DemoError, match=r"pip install 'driftmgr\[demo\]'"),
        demo_infra.running_emulator(tmp_path),
    ):
        pass


# --- part 3: the web GUI on the demo data ----------------------------------------------------------


def _lines(stream: Any, sink: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):
        sink.put(line)
    sink.put("")  # EOF


def _wait_for(lines: queue.Queue[str], seen: list[str], pattern: str, timeout: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line == "":
            break
        seen.append(line)
        if m := re.search(pattern, line):
            return m
    raise AssertionError(f"the demo never printed {pattern!r}; it printed:\n{''.join(seen)[-4000:]}")


def test_demo_serves_the_gui_on_its_scan_with_a_sign_in_made_for_the_run(tmp_path: Path) -> None:
    needs_moto()
    env = {**os.environ, **user_env(tmp_path), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-c", "import sys; from driftmgr.cli.app import main; sys.exit(main())"]
    err_log = tmp_path / "demo.stderr"
    with err_log.open("w") as err_file:
        proc = subprocess.Popen(
            [*cmd, "demo", "--serve"], cwd=tmp_path, env=env, text=True,
            stdout=subprocess.PIPE, stderr=err_file, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        found = _wait_for(
            lines,
            seen,
            r"^Open (http://127\.0\.0\.1:(\d+)/) and sign in with user (\S+) and password (\S+)$",
            300,
        )
        printed = "".join(seen)
        moto = re.search(r"AWS_ENDPOINT_URL=http://127\.0\.0\.1:(\d+) ", printed)
        hand = re.search(r"hand-made: subnet .*\((subnet-[0-9a-f]{17})\)", printed)
        assert moto is not None and hand is not None, printed
        url, port, user, password = found.groups()
        assert re.fullmatch(r"demo-admin-[0-9a-f]{6}", user) and len(password) >= 20

        with httpx.Client(base_url=url, headers={"Accept": "text/html"}, timeout=30) as web:
            assert web.get("/").status_code == 303  # nothing without signing in
            wrong = web.post("/login", data={"username": user, "password": "not the password 123"})
            assert wrong.status_code == 401
            signed = web.post("/login", data={"username": user, "password": password, "next": "/"})
            assert signed.status_code == 303 and "driftmgr_session" in web.cookies
            dashboard = web.get("/")
            assert dashboard.status_code == 200, dashboard.text
            [scan_id] = set(re.findall(r'href="/scans/([0-9a-f]{32})"', dashboard.text))
            page = web.get(f"/scans/{scan_id}")
            assert page.status_code == 200
            assert "3 drifted · 1 missing · 1 unmanaged" in page.text
            for shown in ("aws_vpc.main", "aws_subnet.private[&#34;a&#34;]", "aws_network_acl.private",
                          "aws_route.private_default", hand.group(1)):  # fmt: skip
                assert shown in page.text, shown
            drifted = web.get(f"/scans/{scan_id}", params={"status": "drifted"}).text
            rows = re.findall(r'<a href="/scans/[0-9a-f]+/resources/\d+">([^<]+)</a>', drifted)
            assert sorted(rows) == [
                "aws_network_acl.private",
                "aws_subnet.private[&#34;a&#34;]",
                "aws_vpc.main",
            ]
            report = web.get(f"/api/v1/drift/scans/{scan_id}").json()
            s = report["summary"]
            assert (s["drifted"], s["missing"], s["unmanaged"], s["in_sync"]) == (3, 1, 1, 14)

        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        reader.join(timeout=10)
        rest = "".join(iter(lines.get_nowait, ""))  # the rest of stdout, up to EOF
        stderr = err_log.read_text()
        assert code == 0, stderr
        assert rest.strip().endswith("Stopped."), rest
        assert "Traceback" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    for gone in (int(port), int(moto.group(1))):  # the GUI and the emulator are stopped
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", gone), timeout=2):
            pass
    assert not (tmp_path / "users-own.db").exists()
    assert (tmp_path / "data" / "demo" / demo.MARKER).is_file()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_demo_serves_only_to_a_terminal_unless_told() -> None:
    assert demo.should_serve(Env(stdout=_Tty()), None) is True
    assert demo.should_serve(Env(stdout=io.StringIO()), None) is False  # a script or CI never hangs
    assert demo.should_serve(Env(stdout=io.StringIO()), True) is True
    assert demo.should_serve(Env(stdout=_Tty()), False) is False


def test_serve_options_reach_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool | None] = []
    monkeypatch.setattr(demo, "run_demo", lambda env, serve=None: calls.append(serve))
    for argv in (["demo"], ["demo", "--serve"], ["demo", "--no-serve"]):
        assert main(argv) == 0
    assert calls == [None, True, False]


def test_the_demo_data_dir_is_made_afresh_and_nothing_else_is_ever_wiped(tmp_path: Path) -> None:
    path = demo._fresh_demo_dir(tmp_path / "demo")
    (path / "driftmgr.db").write_text("an old demo's database")
    assert list(demo._fresh_demo_dir(path).iterdir()) == [path / demo.MARKER]
    mine = tmp_path / "someone-elses"
    mine.mkdir()
    (mine / "precious.txt").write_text("keep")
    with pytest.raises(demo_infra.DemoError, match="was not made by the demo"):
        demo._fresh_demo_dir(mine)
    assert (mine / "precious.txt").read_text() == "keep"
