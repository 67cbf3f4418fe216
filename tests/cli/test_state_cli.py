"""`driftmgr state show|graph|diff|pull|discover`, run in-process through `main`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.cli.helpers import AWS, SECRET, doc, run, write

# --- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["show", "graph", "diff", "pull", "push", "migrate", "discover"])
def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str], command: str) -> None:
    rc, out, _ = run(capsys, "state", command, "--help")
    assert rc == 0
    assert f"  Example: driftmgr state {command} " in out


# --- show -------------------------------------------------------------------------------------


def show_state() -> dict[str, Any]:
    d = doc(
        outputs={
            "vpc": {"value": "vpc-1", "type": "string"},
            "db_password": {"value": SECRET, "type": "string", "sensitive": True},
        }
    )
    d["resources"].append(
        {
            "mode": "managed",
            "type": "aws_db_instance",
            "name": "db",
            "module": "module.data",
            "provider": AWS,
            "instances": [
                {
                    "attributes": {"id": "db-1", "password": SECRET, "port": 5432},
                    "sensitive_attributes": [[{"type": "get_attr", "value": "password"}]],
                    "status": "tainted",
                }
            ],
        }
    )
    return d


def test_show_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = write(tmp_path / "s.tfstate", show_state())
    rc, out, err = run(capsys, "state", "show", "--state", str(f), "--format", "json")
    assert (rc, err) == (0, "")
    got = orjson.loads(out)
    assert got["counts"] == {
        "instances": 4,
        "resources": 3,
        "managed": 4,
        "data": 0,
        "deposed": 0,
        "tainted": 1,
    }
    assert got["by_type"] == {"aws_subnet": 2, "aws_db_instance": 1, "aws_vpc": 1}
    assert got["by_module"] == {"(root)": 3, "module.data": 1}
    assert got["outputs"] == [
        {"name": "db_password", "type": "string", "sensitive": True, "value": "(sensitive)"},
        {"name": "vpc", "type": "string", "sensitive": False, "value": "vpc-1"},
    ]
    assert (got["serial"], got["lineage"], got["terraform_version"]) == (1, "lin-a", "1.9.5")
    assert SECRET not in out


def test_show_table_masks_outputs_and_names_the_header(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    f = write(tmp_path / "s.tfstate", show_state())
    rc, out, _ = run(capsys, "state", "show", "-s", str(f))
    assert rc == 0
    assert SECRET not in out
    assert "(sensitive)" in out
    assert "│ lineage           │ lin-a" in out
    assert "│ aws_subnet      │ 2     │" in out


def test_show_address_masks_sensitive_attributes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = write(tmp_path / "s.tfstate", show_state())
    for fmt in ("table", "json"):
        rc, out, _ = run(
            capsys, "state", "show", "-s", str(f), "--address", "module.data.aws_db_instance.db", "-f", fmt
        )
        assert rc == 0
        assert SECRET not in out
    found = orjson.loads(out)["instances"]
    assert [i["attributes"] for i in found] == [{"id": "db-1", "password": "(sensitive)", "port": 5432}]
    rc, _, err = run(capsys, "state", "show", "-s", str(f), "--address", "aws_nope.x")
    assert rc == 1 and err == f"error: {f}: no instance at address aws_nope.x\n"


def test_show_format_3_state_says_upgraded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    v3 = {
        "version": 3,
        "terraform_version": "0.11.14",
        "serial": 4,
        "lineage": "old",
        "modules": [
            {"path": ["root"], "resources": {"aws_vpc.v": {"type": "aws_vpc", "primary": {"id": "v"}}}}
        ],
    }
    f = write(tmp_path / "old.tfstate", v3)
    rc, out, _ = run(capsys, "state", "show", "-s", str(f))
    assert rc == 0 and "│ format version    │ 4 (upgraded from 3)" in out


def test_show_refuses_a_directory_of_several_states(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path / "a.tfstate", doc())
    write(tmp_path / "b.tfstate", doc())
    rc, out, err = run(capsys, "state", "show", "-s", str(tmp_path))
    assert (rc, out) == (1, "")
    assert err == f"error: {tmp_path}: names 2 states; give exactly one\n"


def test_show_a_bad_state_is_one_error_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = write(tmp_path / "bad.tfstate", b'{"version": 4, "resources": [')
    rc, out, err = run(capsys, "state", "show", "-s", str(f))
    assert (rc, out) == (1, "")
    assert err.startswith(f"error: {f}: invalid JSON") and err.count("\n") == 1


def test_show_every_corpus_state(capsys: pytest.CaptureFixture[str], corpus: Path) -> None:
    states = sorted((corpus / "driftctl-states").glob("*/terraform.tfstate"))
    assert len(states) >= 140
    for f in states:
        rc, out, err = run(capsys, "state", "show", "-s", str(f), "-f", "json")
        assert rc == 0, err
        counts = orjson.loads(out)["counts"]
        rc, listed, _ = run(capsys, "state", "list", "-s", str(f), "-f", "json")
        assert counts["instances"] == len(orjson.loads(listed)["resources"]), f


# --- graph ------------------------------------------------------------------------------------


def test_graph_json_and_dot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = write(tmp_path / "s.tfstate", doc())
    rc, out, _ = run(capsys, "state", "graph", "-s", str(f), "-f", "json")
    assert rc == 0
    got = orjson.loads(out)
    assert [n["id"] for n in got["nodes"]] == ["aws_subnet.a[0]", "aws_subnet.a[1]", "aws_vpc.main"]
    assert got["edges"] == [
        {"from": "aws_subnet.a[0]", "to": "aws_vpc.main"},
        {"from": "aws_subnet.a[1]", "to": "aws_vpc.main"},
    ]
    assert got["cycles"] == [] and got["unresolved"] == []
    rc, out, _ = run(capsys, "state", "graph", "-s", str(f))
    assert rc == 0 and out.startswith("digraph state {")
    assert '  "aws_subnet.a[1]" -> "aws_vpc.main";\n' in out
    if shutil.which("dot"):
        res = subprocess.run(
            ["dot", "-Tsvg"], input=out.encode(), capture_output=True, timeout=30, check=False
        )
        assert res.returncode == 0, res.stderr


def test_graph_reports_cycles_on_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    def null(name: str, dep: str) -> dict[str, Any]:
        return {
            "mode": "managed",
            "type": "null_resource",
            "name": name,
            "provider": AWS,
            "instances": [{"attributes": {"id": name}, "dependencies": [dep]}],
        }

    f = write(
        tmp_path / "c.tfstate", doc(resources=[null("a", "null_resource.b"), null("b", "null_resource.a")])
    )
    rc, out, err = run(capsys, "state", "graph", "-s", str(f), "-f", "json", "-o", str(tmp_path / "g.json"))
    assert (rc, out) == (0, "")
    assert err == f"warning: {f}: dependency cycle: null_resource.a -> null_resource.b -> null_resource.a\n"
    assert orjson.loads((tmp_path / "g.json").read_bytes())["cycles"] == [
        ["null_resource.a", "null_resource.b"]
    ]


# --- diff -------------------------------------------------------------------------------------


def test_diff_identical_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = write(tmp_path / "a.tfstate", doc())
    b = write(tmp_path / "b.tfstate", doc(serial=2))
    rc, out, err = run(capsys, "state", "diff", str(a), str(b))
    assert (rc, err) == (0, "")
    assert out.endswith("No differences.\n")


def test_diff_differences_exit_2_with_paths(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    after = doc(serial=2)
    after["resources"][0]["instances"][0]["attributes"]["tags"] = {"env": "prod"}
    after["resources"][0]["instances"][0]["attributes"]["cidr_block"] = "10.1.0.0/16"
    after["resources"][1]["instances"].pop()
    a = write(tmp_path / "a.tfstate", doc())
    b = write(tmp_path / "b.tfstate", after)
    rc, out, err = run(capsys, "state", "diff", str(a), str(b), "-f", "json")
    assert (rc, err) == (2, "")
    got = orjson.loads(out)
    assert got["summary"] == {
        "added": 0,
        "removed": 1,
        "changed": 1,
        "outputs_added": 0,
        "outputs_removed": 0,
        "outputs_changed": 0,
    }
    assert got["removed"] == [
        {"address": "aws_subnet.a[1]", "deposed": None, "type": "aws_subnet", "id": "subnet-1"}
    ]
    assert got["changed"] == [
        {
            "address": "aws_vpc.main",
            "deposed": None,
            "type": "aws_vpc",
            "id": "vpc-1",
            "paths": ["cidr_block", "tags"],
            "meta": [],
        }
    ]
    rc, out, _ = run(capsys, "state", "diff", str(a), str(b))
    assert rc == 2
    assert "│ ~ │ aws_vpc.main    │ cidr_block, tags │" in out
    assert "0 added, 1 removed, 1 changed" in out


def test_diff_warns_about_lineage_and_an_older_b(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = write(tmp_path / "a.tfstate", doc(serial=7))
    b = write(tmp_path / "b.tfstate", doc(serial=3))
    c = write(tmp_path / "c.tfstate", doc(lineage="lin-z"))
    rc, _, err = run(capsys, "state", "diff", str(a), str(b))
    assert (rc, err) == (0, "warning: B is older than A: serial 3 < 7\n")
    rc, _, err = run(capsys, "state", "diff", str(a), str(c))
    assert rc == 0 and err.startswith("warning: lineage differs (A lin-a, B lin-z)")


def test_diff_error_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = write(tmp_path / "a.tfstate", doc())
    rc, out, err = run(capsys, "state", "diff", str(a), str(tmp_path / "missing.tfstate"))
    assert (rc, out) == (1, "")
    assert err == f"error: {tmp_path / 'missing.tfstate'}: no such file\n"


# --- pull -------------------------------------------------------------------------------------


def test_pull_prints_the_raw_bytes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = write(tmp_path / "s.tfstate", doc())
    rc, out, _ = run(capsys, "state", "pull", "-s", str(f))
    assert rc == 0 and out == f.read_text()
    rc, out, _ = run(capsys, "state", "pull", "-s", str(f), "-o", str(tmp_path / "copy.tfstate"))
    assert (rc, out) == (0, "")
    assert (tmp_path / "copy.tfstate").read_bytes() == f.read_bytes()


def test_pull_refuses_a_state_that_does_not_parse(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = doc()
    bad["resources"][1]["instances"][1]["index_key"] = [1]
    f = write(tmp_path / "s.tfstate", bad)
    rc, out, err = run(capsys, "state", "pull", "-s", str(f), "-o", str(tmp_path / "out.tfstate"))
    assert (rc, out) == (1, "")
    assert "resources[1].instances[1].index_key must be an integer or a string" in err
    assert not (tmp_path / "out.tfstate").exists()


# --- discover ---------------------------------------------------------------------------------


def test_discover_lists_states_workspaces_and_backend_blocks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "app" / "terraform.tfstate", doc())
    write(tmp_path / "app" / "terraform.tfstate.d" / "dev" / "terraform.tfstate", doc())
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "main.tf").write_text(
        'terraform {\n  backend "s3" {\n    bucket = "acme"\n    key = "net/terraform.tfstate"\n'
        '    region = "eu-west-1"\n  }\n}\n'
    )
    rc, out, err = run(capsys, "state", "discover", ".", "-f", "json")
    assert (rc, err) == (0, "")
    got = orjson.loads(out)
    assert [(x["url"], x["kind"], x["workspace"], x["exists"]) for x in got["locations"]] == [
        ("app/terraform.tfstate", "local", "default", True),
        ("app/terraform.tfstate.d/dev/terraform.tfstate", "local", "dev", True),
        ("s3://acme/net/terraform.tfstate?region=eu-west-1", "s3", "default", None),
    ]
    assert got["warnings"] == []
    rc, out, _ = run(capsys, "state", "discover", ".")
    assert rc == 0 and out.endswith("3 location(s)\n")
    rc, _, err = run(capsys, "state", "discover", str(tmp_path / "nope"))
    assert rc == 1 and err == f"error: {tmp_path / 'nope'}: no such file or directory\n"


# --- table renderings and small paths ---------------------------------------------------------


def test_show_table_lists_failing_checks_and_header_warnings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    d = doc()
    d["terraform_version"] = "banana"
    d["check_results"] = [
        {
            "object_kind": "resource",
            "config_addr": "aws_vpc.main",
            "status": "fail",
            "objects": [
                {"object_addr": "aws_vpc.main", "status": "fail", "failure_messages": ["CIDR too small"]}
            ],
        },
        {"object_kind": "check", "config_addr": "check.ok", "status": "pass", "objects": []},
    ]
    f = write(tmp_path / "s.tfstate", d)
    rc, out, err = run(capsys, "state", "show", "-s", str(f))
    assert rc == 0
    assert err == f"warning: {f}: terraform_version 'banana' is not a version number\n"
    assert "Checks: 2 (fail 1, pass 1)\n  fail: aws_vpc.main\n    aws_vpc.main: fail: CIDR too small\n" in out


def test_diff_table_shows_outputs_deposed_and_meta_changes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = doc(outputs={"gone": {"value": 1, "type": "number"}, "x": {"value": 1, "type": "number"}})
    after = doc(
        serial=2, outputs={"new": {"value": 1, "type": "number"}, "x": {"value": 2, "type": "number"}}
    )
    after["resources"][0]["instances"].append({"deposed": "0000aaaa", "attributes": {"id": "vpc-0"}})
    after["resources"][1]["instances"][0]["status"] = "tainted"
    a = write(tmp_path / "a.tfstate", before)
    b = write(tmp_path / "b.tfstate", after)
    rc, out, _ = run(capsys, "state", "diff", str(a), str(b))
    assert rc == 2
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [[c.strip() for c in r.strip("│").split("│")] for r in rows] == [
        ["+", "aws_vpc.main (deposed 0000aaaa)", "added"],
        ["~", "aws_subnet.a[0]", "(status)"],
        ["-", "output.gone", "removed"],
        ["+", "output.new", "added"],
        ["~", "output.x", "changed"],
    ]
