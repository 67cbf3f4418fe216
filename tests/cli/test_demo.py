"""`driftmgr demo`: a real drift detection — seeded moto, the shipped Terraform state, boto3 changes."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from driftmgr.cli import demo, demo_infra
from driftmgr.cli.app import main
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


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[DriftReport]:
    """Needs moto; runs in an empty directory (no stray .driftignore); captures the rendered reports."""
    if importlib.util.find_spec("moto") is None:
        unavailable("moto[server] is not installed; pip install 'driftmgr[demo]'")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_PROFILE", "must-not-be-used")
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:9")  # would win over AWS_ENDPOINT_URL
    reports: list[DriftReport] = []
    real = render_module.render

    def spy(report: DriftReport, fmt: str, **options: Any) -> str:
        reports.append(report)
        return real(report, fmt, **options)

    monkeypatch.setattr(render_module, "render", spy)
    return reports


def test_demo_reports_exactly_the_out_of_band_changes(demo_env: list[DriftReport], capsys) -> None:
    before = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    code = main(["demo"])
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

    # The emulator is gone and the caller's AWS environment is back.
    endpoint = re.search(r"AWS_ENDPOINT_URL=http://127\.0\.0\.1:(\d+) driftmgr drift detect", out)
    assert endpoint is not None
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(endpoint.group(1))), timeout=2):
        pass
    assert {k: v for k, v in os.environ.items() if k.startswith("AWS_")} == before


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
