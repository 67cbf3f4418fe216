"""State analysis: summaries, masking, dependency graphs, state diffs, push/migrate safety rules."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import orjson
import pytest

from driftmgr.state.analysis import build_graph, diff_states, instance_details, mask_sensitive, summarize
from driftmgr.state.analysis.diff import MAX_PATH_DEPTH, changed_paths
from driftmgr.state.analysis.graph import find_cycles, graph_from_instances, strip_keys
from driftmgr.state.analysis.paths import format_path
from driftmgr.state.analysis.show import flatten_attributes
from driftmgr.state.parse import StateReader
from tests.state.analysis_helpers import SECRET, inst, reader, res, rich_state, state

# --- show -------------------------------------------------------------------------------------


def test_summary_counts_by_type_provider_module_and_kinds() -> None:
    s = summarize(reader(rich_state()))
    assert (s.instances, s.resources, s.managed, s.data, s.deposed, s.tainted) == (8, 5, 7, 1, 1, 1)
    assert s.by_type == {
        "aws_instance": 2,
        "aws_subnet": 2,
        "google_storage_bucket": 2,
        "aws_ami": 1,
        "aws_vpc": 1,
    }
    assert s.by_provider == {
        "registry.terraform.io/hashicorp/aws": 6,
        "registry.terraform.io/hashicorp/google": 2,
    }
    assert s.by_module == {"(root)": 4, "module.app": 2, 'module.net["x"]': 2}
    assert (s.version, s.upgraded_from, s.terraform_version, s.serial, s.lineage) == (
        4,
        None,
        "1.9.5",
        1,
        "lin-1",
    )


def test_summary_masks_sensitive_outputs() -> None:
    s = summarize(reader(rich_state()))
    assert [(o.name, o.value, o.sensitive) for o in s.outputs] == [
        ("db_password", "(sensitive)", True),
        ("vpc_id", "vpc-1", False),
    ]
    assert SECRET.encode() not in orjson.dumps(s.to_json())


def test_summary_check_results() -> None:
    checks = summarize(reader(rich_state())).checks
    assert checks.total == 2
    assert checks.by_status == {"fail": 1, "pass": 1}
    assert checks.failing == [
        {
            "config_addr": "check.health",
            "object_kind": "check",
            "status": "fail",
            "objects": [
                {"object_addr": "check.health", "status": "fail", "failure_messages": ["endpoint down"]}
            ],
        }
    ]


def test_summary_of_a_format_3_state_says_upgraded() -> None:
    v3 = {
        "version": 3,
        "terraform_version": "0.11.14",
        "serial": 7,
        "lineage": "old-lin",
        "modules": [
            {
                "path": ["root"],
                "outputs": {},
                "resources": {
                    "aws_instance.web.0": {
                        "type": "aws_instance",
                        "primary": {"id": "i-0", "attributes": {}},
                    },
                    "aws_instance.web.1": {
                        "type": "aws_instance",
                        "primary": {"id": "i-1", "attributes": {}},
                    },
                },
            },
            {
                "path": ["root", "net"],
                "resources": {"aws_vpc.v": {"type": "aws_vpc", "primary": {"id": "v"}}},
            },
        ],
    }
    s = summarize(reader(v3))
    assert (s.version, s.upgraded_from, s.serial, s.instances) == (4, 3, 7, 3)
    assert s.by_module == {"(root)": 2, "module.net": 1}


def test_mask_sensitive_follows_cty_paths_and_leaves_input_intact() -> None:
    attrs = {
        "password": SECRET,
        "tags": {"env": "prod", "token": SECRET},
        "rules": [{"secret": SECRET, "port": 80}],
        "name": "db",
    }
    sens = [
        [{"type": "get_attr", "value": "password"}],
        [
            {"type": "get_attr", "value": "tags"},
            {"type": "index", "value": {"value": "token", "type": "string"}},
        ],
        [
            {"type": "get_attr", "value": "rules"},
            {"type": "index", "value": {"value": 0, "type": "number"}},
            {"type": "get_attr", "value": "secret"},
        ],
        [{"type": "get_attr", "value": "absent"}],
    ]
    masked = mask_sensitive(attrs, sens)
    assert masked == {
        "password": "(sensitive)",
        "tags": {"env": "prod", "token": "(sensitive)"},
        "rules": [{"secret": "(sensitive)", "port": 80}],
        "name": "db",
    }
    assert (
        attrs["password"] == SECRET
        and attrs["tags"]["token"] == SECRET
        and attrs["rules"][0]["secret"] == SECRET
    )


def test_mask_sensitive_hides_the_whole_attribute_for_an_unknown_path_shape() -> None:
    masked = mask_sensitive(
        {"key": {"a": SECRET}, "x": 1}, [[{"type": "get_attr", "value": "key"}, {"odd": True}]]
    )
    assert masked == {"key": "(sensitive)", "x": 1}


def test_instance_details_masks_and_matches_resource_addresses() -> None:
    doc = state(
        [
            res(
                "aws_db_instance",
                "db",
                [
                    inst(
                        "db-1",
                        0,
                        attributes={"password": SECRET, "port": 5432},
                        sensitive_attributes=[[{"type": "get_attr", "value": "password"}]],
                    ),
                    inst("db-2", 1),
                ],
            )
        ]
    )
    found = instance_details(reader(doc), "aws_db_instance.db")
    assert [f["address"] for f in found] == ["aws_db_instance.db[0]", "aws_db_instance.db[1]"]
    assert found[0]["attributes"] == {"id": "db-1", "password": "(sensitive)", "port": 5432}
    assert found[0]["sensitive_paths"] == ["password"]
    assert [f["address"] for f in instance_details(reader(doc), "aws_db_instance.db[1]")] == [
        "aws_db_instance.db[1]"
    ]


def test_flatten_attributes_uses_terraform_paths() -> None:
    flat = flatten_attributes(
        {"tags": {"env": "p", "k8s.io/role": "x"}, "ingress": [{"from_port": 80}], "e": []}
    )
    assert flat == [("e", []), ("ingress[0].from_port", 80), ("tags.env", "p"), ('tags["k8s.io/role"]', "x")]


def test_format_path() -> None:
    assert format_path(("tags", "env")) == "tags.env"
    assert format_path(("ingress", 0, "from_port")) == "ingress[0].from_port"
    assert format_path(("tags", "kubernetes.io/role")) == 'tags["kubernetes.io/role"]'


# --- graph ------------------------------------------------------------------------------------


def graph_state() -> dict[str, Any]:
    return state(
        [
            res("aws_vpc", "main", [inst("vpc-1")]),
            res(
                "aws_subnet",
                "private",
                [inst("s-a", "a", ["aws_vpc.main"]), inst("s-b", "b", ["aws_vpc.main"])],
                module="module.net[0]",
            ),
            res("aws_subnet", "private", [inst("s-c", "a", ["aws_vpc.main"])], module="module.net[1]"),
            res(
                "aws_instance",
                "web",
                [inst("i-0", 0, ["module.net.aws_subnet.private", "data.aws_ami.ubuntu", "aws_gone.x"])],
            ),
            res("aws_ami", "ubuntu", [inst("ami-1")], mode="data"),
        ]
    )


def test_graph_maps_dependencies_to_every_instance_of_the_resource() -> None:
    g = build_graph(reader(graph_state()))
    assert g.edges == [
        ("aws_instance.web[0]", "data.aws_ami.ubuntu"),
        ("aws_instance.web[0]", 'module.net[0].aws_subnet.private["a"]'),
        ("aws_instance.web[0]", 'module.net[0].aws_subnet.private["b"]'),
        ("aws_instance.web[0]", 'module.net[1].aws_subnet.private["a"]'),
        ('module.net[0].aws_subnet.private["a"]', "aws_vpc.main"),
        ('module.net[0].aws_subnet.private["b"]', "aws_vpc.main"),
        ('module.net[1].aws_subnet.private["a"]', "aws_vpc.main"),
    ]
    assert g.unresolved == [("aws_instance.web[0]", "aws_gone.x")]
    assert g.cycles == []
    assert g.modules() == [
        {"address": "module.net[0]", "parent": None},
        {"address": "module.net[1]", "parent": None},
    ]
    j = g.to_json()
    assert len(j["nodes"]) == 6 and len(j["edges"]) == 7
    assert j["edges"][0] == {"from": "aws_instance.web[0]", "to": "data.aws_ami.ubuntu"}


def test_graph_understands_format_3_dependencies() -> None:
    doc = state(
        [
            res("aws_instance", "web", [inst("i-0", 0), inst("i-1", 1)]),
            res("aws_eip", "ip", [inst("e", None, ["aws_instance.web.*"])]),
            res("aws_vpc", "v", [inst("v")], module="module.net.module.inner"),
            res("aws_lb", "lb", [inst("lb", None, ["module.net", "aws_instance.web.1"])]),
        ]
    )
    g = build_graph(reader(doc))
    assert g.edges == [
        ("aws_eip.ip", "aws_instance.web[0]"),
        ("aws_eip.ip", "aws_instance.web[1]"),
        ("aws_lb.lb", "aws_instance.web[1]"),
        ("aws_lb.lb", "module.net.module.inner.aws_vpc.v"),
    ]
    assert g.modules() == [
        {"address": "module.net", "parent": None},
        {"address": "module.net.module.inner", "parent": "module.net"},
    ]


def test_graph_reports_cycles_without_hanging() -> None:
    doc = state(
        [
            res("null_resource", "a", [inst("a", None, ["null_resource.b"])]),
            res("null_resource", "b", [inst("b", None, ["null_resource.c"])]),
            res("null_resource", "c", [inst("c", None, ["null_resource.a"])]),
            res("null_resource", "self", [inst("s", None, ["null_resource.self"])]),
            res("null_resource", "free", [inst("f", None, ["null_resource.a"])]),
        ],
    )
    g = build_graph(reader(doc))
    assert g.cycles == [
        ["null_resource.a", "null_resource.b", "null_resource.c"],
        ["null_resource.self"],
    ]


def test_cycle_search_is_iterative_on_long_chains() -> None:
    n = 50_000
    nodes = [f"n{i}" for i in range(n)]
    edges = [(nodes[i], nodes[i + 1]) for i in range(n - 1)]
    assert find_cycles(nodes, edges) == []
    edges.append((nodes[-1], nodes[0]))
    cycles = find_cycles(nodes, edges)
    assert len(cycles) == 1 and len(cycles[0]) == n


def test_strip_keys_handles_quoted_keys_with_brackets_and_dots() -> None:
    assert strip_keys('module.a["x.y[0]"].module.b[2].aws_s.n["k\\"]"]') == "module.a.module.b.aws_s.n"


def test_dot_output_quotes_ids_and_is_valid_graphviz() -> None:
    doc = state(
        [
            res("aws_vpc", "main", [inst("v", 'we"ird\\key')]),
            res("aws_subnet", "s", [inst("s", None, ["aws_vpc.main"])], module='module.n["a.b"]'),
        ]
    )
    g = build_graph(reader(doc))
    dot = g.to_dot(modules=True)
    assert '  subgraph "cluster_module.n[\\"a.b\\"]" {' in dot
    assert '    "module.n[\\"a.b\\"].aws_subnet.s" -> ' not in dot  # edges are outside clusters
    assert r'  "module.n[\"a.b\"].aws_subnet.s" -> "aws_vpc.main[\"we\\\"ird\\\\key\"]";' in dot
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` is not installed: cannot check the DOT syntax with Graphviz itself")
    for text in (dot, g.to_dot()):
        out = subprocess.run(
            ["dot", "-Tjson"], input=text.encode(), capture_output=True, timeout=30, check=False
        )
        assert out.returncode == 0, out.stderr.decode()
        rendered = orjson.loads(out.stdout)
        names = sorted(o["name"] for o in rendered["objects"] if "nodes" not in o)
        assert len(names) == 2 and len(rendered["edges"]) == 1
        assert names[0].startswith('aws_vpc.main["we') and names[1] == 'module.n["a.b"].aws_subnet.s'


def test_graph_from_instances_merges_deposed_objects() -> None:
    web = [inst("i-new", None, ["aws_vpc.v"]), inst("i-old", deposed="0a", deps=["x.y"])]
    doc = state([res("aws_instance", "web", web), res("aws_vpc", "v", [inst("v")])])
    g = graph_from_instances(reader(doc).iter_instances())
    assert g.nodes["aws_instance.web"].deposed == 1
    assert g.edges == [("aws_instance.web", "aws_vpc.v")]
    assert g.unresolved == [("aws_instance.web", "x.y")]


# --- diff -------------------------------------------------------------------------------------


def test_diff_added_removed_changed_with_terraform_paths() -> None:
    sg_a = {
        "ingress": [{"from_port": 80, "to_port": 80}],
        "tags": {"env": "prod", "k8s.io/role": "a"},
        "n": None,
    }
    sg_b = {"ingress": [{"from_port": 443, "to_port": 80}], "tags": {"env": "dev", "k8s.io/role": "b"}}
    a = state(
        [
            res("aws_security_group", "sg", [inst("sg-1", attributes=sg_a)]),
            res("aws_instance", "web", [inst("i-0", 0), inst("i-1", 1)]),
            res("aws_instance", "old", [inst("i-9")]),
        ],
        serial=3,
        outputs={"x": {"value": 1, "type": "number"}, "gone": {"value": "g", "type": "string"}},
    )
    b = state(
        [
            res("aws_security_group", "sg", [inst("sg-1", attributes=sg_b)]),
            res("aws_instance", "web", [inst("i-0", 0), inst("i-1", 1, status="tainted")]),
            res("aws_instance", "new", [inst("i-5")]),
        ],
        serial=4,
        outputs={"x": {"value": 2, "type": "number"}, "fresh": {"value": "f", "type": "string"}},
    )
    d = diff_states(reader(a, "a.tfstate"), reader(b, "b.tfstate"))
    assert [r.address for r in d.added] == ["aws_instance.new"]
    assert [r.address for r in d.removed] == ["aws_instance.old"]
    assert [(c.address, c.paths, c.meta) for c in d.changed] == [
        ("aws_instance.web[1]", [], ["status"]),
        ("aws_security_group.sg", ["ingress[0].from_port", "tags.env", 'tags["k8s.io/role"]'], []),
    ]
    assert (d.outputs_added, d.outputs_removed, d.outputs_changed) == (["fresh"], ["gone"], ["x"])
    assert d.warnings == []
    assert not d.identical


def test_diff_matches_deposed_objects_by_key() -> None:
    a = state([res("aws_instance", "w", [inst("i-new"), inst("i-old", deposed="00000001")])])
    b = state([res("aws_instance", "w", [inst("i-new"), inst("i-old2", deposed="00000002")])], serial=2)
    d = diff_states(reader(a), reader(b))
    assert [(r.address, r.deposed) for r in d.removed] == [("aws_instance.w", "00000001")]
    assert [(r.address, r.deposed) for r in d.added] == [("aws_instance.w", "00000002")]
    assert d.changed == []


def test_diff_value_semantics() -> None:
    assert changed_paths({"a": None}, {}) == []
    assert changed_paths({"a": 1}, {"a": 1.0}) == []
    assert changed_paths({"a": True}, {"a": 1}) == ["a"]
    assert changed_paths({"a": "1"}, {"a": 1}) == ["a"]
    assert changed_paths({"a": [1, 2]}, {"a": [1, 2, 3]}) == ["a[2]"]
    assert changed_paths({"a": {"b": 1}}, {"a": [1]}) == ["a"]
    assert changed_paths({"a": []}, {"a": None}) == ["a"]


def test_identical_states_have_no_differences_and_no_warnings() -> None:
    d = diff_states(reader(rich_state()), reader(rich_state()))
    assert d.identical and d.warnings == []
    assert d.to_json()["summary"] == {
        "added": 0,
        "removed": 0,
        "changed": 0,
        "outputs_added": 0,
        "outputs_removed": 0,
        "outputs_changed": 0,
    }


def test_diff_warns_about_lineage_and_serial() -> None:
    base = [res("aws_vpc", "v", [inst("v")])]
    other = [res("aws_vpc", "v", [inst("v", attributes={"cidr": "10.0.0.0/16"})])]
    d = diff_states(reader(state(base, lineage="one")), reader(state(base, lineage="two")))
    assert d.identical
    assert len(d.warnings) == 1 and d.warnings[0].startswith("lineage differs (A one, B two)")
    d = diff_states(reader(state(base, serial=5)), reader(state(base, serial=4)))
    assert d.warnings == ["B is older than A: serial 4 < 5"]
    d = diff_states(reader(state(base, serial=5)), reader(state(other, serial=5)))
    assert d.warnings == [
        "A and B have the same serial 5 but different content: "
        "one was changed without incrementing the serial"
    ]
    assert diff_states(reader(state(base, serial=5)), reader(state(other, serial=6))).warnings == []


def test_diff_walk_is_iterative_on_very_deep_values() -> None:
    depth = 100_000
    a: Any = "x"
    b: Any = "y"
    for _ in range(depth):
        a, b = {"k": a}, {"k": b}
    paths = changed_paths({"deep": a}, {"deep": b})
    assert paths == ["deep" + ".k" * (MAX_PATH_DEPTH - 1)]


def test_diff_of_states_nested_beyond_the_digest_limit() -> None:
    def deep(leaf: str) -> bytes:
        n = 600  # deeper than orjson can serialize (255), shallower than it can parse (1024)
        attrs = b'{"id": "x", "v": ' + b'{"k": ' * n + orjson.dumps(leaf) + b"}" * n + b"}"
        doc = state([res("aws_x", "y", [{"schema_version": 0, "attributes": {}}])])
        raw = orjson.dumps(doc).replace(b'"attributes":{}', b'"attributes":' + attrs)
        return raw

    same = diff_states(StateReader.from_bytes(deep("a"), "a"), StateReader.from_bytes(deep("a"), "b"))
    assert same.identical
    d = diff_states(StateReader.from_bytes(deep("a"), "a"), StateReader.from_bytes(deep("b"), "b"))
    assert [(c.address, c.paths) for c in d.changed] == [("aws_x.y", ["v" + ".k" * (MAX_PATH_DEPTH - 1)])]
