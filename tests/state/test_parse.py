"""The state parser on hand-written states: format 3 upgrade, format 4 in full, legacy forms, both paths.

Every expectation here was written by hand from the files in tests/state/data/ and Terraform's own
rules (addrs.StringKey quoting, legacy provider addresses, flatmap), not by running the parser.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from driftmgr.cli.app import main
from driftmgr.errors import StateFormatError
from driftmgr.models import StateInstance
from driftmgr.state.parse import ParsedState, StateReader, format_key, instance_address, normalize_provider
from driftmgr.state.parse.address import quote_key
from driftmgr.state.parse.flatmap import unflatten

DATA = Path(__file__).parent / "data"
AWS = 'provider["registry.terraform.io/hashicorp/aws"]'


# --- helpers shared by the other test modules of this package ------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`driftmgr ARGS` in-process: (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def list_json(capsys: pytest.CaptureFixture[str], path: Path | str, *extra: str) -> list[dict[str, Any]]:
    code, out, err = run_cli(capsys, "state", "list", "--state", str(path), "--format", "json", *extra)
    assert code == 0, err
    records: list[dict[str, Any]] = json.loads(out)["resources"]
    return records


def small(data: bytes, source: str = "mem") -> StateReader:
    return StateReader.from_bytes(data, source)


def streaming(data: bytes, source: str = "mem") -> StateReader:
    """A reader forced onto the streaming path (size unknown), whatever the size."""
    return StateReader(lambda: io.BytesIO(data), source, size=None)


def read_both(data: bytes) -> ParsedState:
    """Read `data` on both paths, assert they agree field by field, return the result."""
    a, b = small(data), streaming(data)
    assert not a.streaming and b.streaming
    pa, pb = a.read(), b.read()
    assert pa.header == pb.header
    assert pa.instances == pb.instances
    assert pa.outputs == pb.outputs
    assert pa.check_results == pb.check_results
    return pa


def layouts(doc: Any) -> dict[str, bytes]:
    """The same document as Terraform lays it out (fast path), compact and indented by 4 (ijson)."""
    return {
        "indent2": json.dumps(doc, indent=2).encode(),
        "compact": json.dumps(doc).encode(),
        "indent4": json.dumps(doc, indent=4, ensure_ascii=False).encode(),
    }


def rows(instances: list[StateInstance]) -> list[tuple[Any, ...]]:
    return [(i.address, i.deposed, i.status, i.id, i.provider) for i in instances]


# --- format 3 (Terraform 0.11) -------------------------------------------------------------------


def test_v3_state_is_upgraded_to_format_4_instances() -> None:
    parsed = StateReader.from_path(DATA / "v3_modules.tfstate").read()
    h = parsed.header
    assert (h.version, h.upgraded_from, h.terraform_version, h.serial) == (4, 3, "0.11.14", 17)
    assert h.lineage == "5d4e1f0a-0c2b-4a3c-9d6e-7f8a9b0c1d2e"
    assert h.warnings == []
    west = 'provider["registry.terraform.io/hashicorp/aws"].west'
    nat = 'module.network.provider["registry.terraform.io/hashicorp/aws"].nat'
    assert rows(parsed.instances) == [
        ("aws_instance.web[0]", None, None, "i-0aaa000000000000a", AWS),
        ("aws_instance.web[1]", None, "tainted", "i-0aaa000000000000b", AWS),
        ("aws_security_group.web", None, None, "sg-0bbb000000000000b", AWS),
        ("aws_security_group.web", "00000001", None, "sg-0ddd000000000000d", AWS),
        ("aws_s3_bucket.logs", None, None, "example-logs", west),
        ("data.aws_ami.ubuntu", None, None, "ami-0c55b159cbfafe1f0", AWS),
        ("module.network.aws_vpc.main", None, None, "vpc-0eee000000000000e", AWS),
        ("module.network.aws_subnet.private[0]", None, None, "subnet-0fff00000000000a0", AWS),
        ("module.network.aws_subnet.private[1]", None, None, "subnet-0fff00000000000b1", AWS),
        ("module.network.module.nat.aws_eip.nat", None, None, "eipalloc-0123456789abcdef0", nat),
    ]
    by_addr = {(i.address, i.deposed): i for i in parsed.instances}
    web0 = by_addr[("aws_instance.web[0]", None)]
    assert (web0.mode, web0.type, web0.name, web0.module, web0.index_key) == (
        "managed",
        "aws_instance",
        "web",
        None,
        0,
    )
    assert web0.schema_version == 1  # from "meta": {"schema_version": "1"}
    assert web0.dependencies == ["aws_security_group.web", "data.aws_ami.ubuntu"]
    assert web0.attributes == {
        "ami": "ami-0c55b159cbfafe1f0",
        "id": "i-0aaa000000000000a",
        "instance_type": "t3.micro",
        "root_block_device": [{"volume_size": "8", "volume_type": "gp2"}],
        # a map key holding dots stays one key
        "tags": {"Name": "web-0", "env": "prod", "kubernetes.io/cluster/main": "shared"},
        # a set: elements in hash order (sets have no order)
        "vpc_security_group_ids": ["sg-0ccc000000000000c", "sg-0bbb000000000000b"],
    }
    assert by_addr[("aws_instance.web[1]", None)].attributes["tags"] == {}
    assert by_addr[("aws_instance.web[1]", None)].attributes["vpc_security_group_ids"] == []
    sg = by_addr[("aws_security_group.web", None)].attributes
    assert sg["description"] == 'web "front" [tier]'
    assert sg["ingress"] == [
        {"cidr_blocks": ["0.0.0.0/0"], "from_port": "80", "protocol": "tcp", "to_port": "80"},
        {"cidr_blocks": ["0.0.0.0/0"], "from_port": "443", "protocol": "tcp", "to_port": "443"},
    ]
    # the primary's "id" fills in an id missing from the flat attributes
    assert by_addr[("module.network.module.nat.aws_eip.nat", None)].attributes == {
        "vpc": "true",
        "id": "eipalloc-0123456789abcdef0",
    }
    # format 3 names dependencies relative to the module; format 4 absolutely
    subnet = by_addr[("module.network.aws_subnet.private[0]", None)]
    assert subnet.module == "module.network" and subnet.index_key == 0
    assert subnet.dependencies == ["module.network.aws_vpc.main"]
    ami = by_addr[("data.aws_ami.ubuntu", None)]
    assert (ami.mode, ami.type, ami.name) == ("data", "aws_ami", "ubuntu")
    # only the root module's outputs exist in format 4
    assert [(o.name, o.value, o.sensitive) for o in parsed.outputs] == [
        ("web_ips", ["10.0.1.10", "10.0.1.11"], False),
        ("db_password", "hunter2", True),
    ]
    assert parsed.check_results == []


# --- format 4 --------------------------------------------------------------------------------------


def test_v4_state_every_feature() -> None:
    parsed = StateReader.from_path(DATA / "v4_full.tfstate").read()
    h = parsed.header
    assert (h.version, h.upgraded_from, h.terraform_version, h.serial, h.warnings) == (
        4,
        None,
        "1.5.7",
        42,
        [],
    )
    google = 'provider["registry.terraform.io/hashicorp/google"]'
    assert rows(parsed.instances) == [
        ("data.aws_caller_identity.current", None, None, "123456789012", AWS),
        (
            "data.terraform_remote_state.shared",
            None,
            None,
            None,
            'provider["terraform.io/builtin/terraform"]',
        ),
        ("aws_instance.web[0]", None, "tainted", "i-0000000000000000a", AWS),
        ("aws_instance.web[0]", "5e8a9f01", None, "i-0000000000000000d", AWS),
        ("aws_instance.web[1]", None, None, "i-0000000000000000b", AWS),
        ("aws_security_group.web", None, None, "sg-0000000000000000a", AWS + ".west"),
        ("aws_db_instance.main", None, None, "db-ABCDEFGHIJKLMNOP", AWS),
        ('module.net.aws_subnet.private["a"]', None, None, "subnet-0a", "module.net." + AWS),
        ('module.net.aws_subnet.private["we\\"ird\\\\key"]', None, None, "subnet-0q", "module.net." + AWS),
        # HCL quoting, as Terraform prints it: template introducers are doubled
        ('module.net.aws_subnet.private["zürich $${x} %%{y}"]', None, None, "subnet-0z", "module.net." + AWS),
        (
            'module.app["blue"].module.db[0].google_sql_database_instance.this',
            None,
            None,
            "blue-db-0",
            google + ".europe",
        ),
        ('module.app["blue"].module.db[0].data.google_project.this', None, None, "projects/example", google),
        ("random_id.numeric_id", None, None, "1234", 'provider["registry.terraform.io/hashicorp/random"]'),
    ]
    inst = {(i.address, i.deposed): i for i in parsed.instances}
    web0, old = inst[("aws_instance.web[0]", None)], inst[("aws_instance.web[0]", "5e8a9f01")]
    assert web0.create_before_destroy and old.create_before_destroy
    assert web0.dependencies == ["aws_security_group.web", "data.aws_caller_identity.current"]
    assert (web0.schema_version, web0.provider_name, web0.index_key) == (1, "aws", 0)
    assert old.attributes["ami"] == "ami-0aaaaaaaaaaaaaaaa"
    db = inst[("aws_db_instance.main", None)]
    assert db.sensitive_attributes == [[{"type": "get_attr", "value": "password"}]]
    assert db.schema_version == 2
    key = inst[('module.net.aws_subnet.private["we\\"ird\\\\key"]', None)]
    assert key.index_key == 'we"ird\\key' and key.module == "module.net"
    deep = inst[('module.app["blue"].module.db[0].data.google_project.this', None)]
    assert (deep.mode, deep.module, deep.provider_name) == (
        "data",
        'module.app["blue"].module.db[0]',
        "google",
    )
    assert deep.attributes["number"] == 123456789012
    remote = inst[("data.terraform_remote_state.shared", None)]
    assert remote.provider_name == "terraform" and remote.attributes["workspace"] is None
    assert [(o.name, o.sensitive) for o in parsed.outputs] == [
        ("db_password", True),
        ("subnet_ids", False),
        ("vpc_id", False),
    ]
    assert parsed.outputs[1].value == {"a": "subnet-0a", "b": "subnet-0b"}
    assert parsed.outputs[1].type == ["object", {"a": "string", "b": "string"}]
    assert [(c.object_kind, c.config_addr, c.status, len(c.objects)) for c in parsed.check_results] == [
        ("resource", "aws_instance.web", "pass", 2),
        ("check", "check.health", "fail", 1),
    ]
    assert parsed.check_results[1].objects[0]["failure_messages"] == ["endpoint returned 503"]


def test_v4_terraform_012_legacy_forms() -> None:
    parsed = StateReader.from_path(DATA / "v4_legacy_012.tfstate").read()
    random = 'provider["registry.terraform.io/hashicorp/random"]'
    assert rows(parsed.instances) == [
        ("data.aws_ami.ubuntu", None, None, "ami-0c55b159cbfafe1f0", AWS),
        ("aws_instance.east[0]", None, None, "i-0e000000000000000", AWS + ".east"),
        ("module.legacy.aws_iam_role.ci", None, None, "ci", "module.legacy." + AWS + ".assume"),
        ('module.legacy.random_pet.name["dev"]', None, None, "dev-fluffy-cat", random),
        ('module.legacy.random_pet.name["prod"]', None, None, "prod-grumpy-dog", random),
        ("data.terraform_remote_state.net", None, None, None, 'provider["terraform.io/builtin/terraform"]'),
        # no "provider" at all: inferred from the type, as Terraform does
        ("aws_s3_bucket.no_provider", None, None, "bucket-without-provider-field", AWS),
    ]
    role = parsed.instances[2]
    assert role.attributes == {
        "id": "ci",
        "name": "ci",
        "tags": {"team": "platform", "kubernetes.io/role": "ci"},
        "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    }
    assert [i.provider_name for i in parsed.instances] == [
        "aws",
        "aws",
        "aws",
        "random",
        "random",
        "terraform",
        "aws",
    ]
    assert parsed.outputs == [] and parsed.check_results == []


DATA_FILES = sorted(p.name for p in DATA.glob("*.tfstate"))


@pytest.mark.parametrize("name", DATA_FILES)
def test_both_paths_agree_on_data_files(name: str) -> None:
    raw = (DATA / name).read_bytes()
    expected = read_both(raw)
    doc = json.loads(raw)
    for layout, data in layouts(doc).items():
        assert read_both(data) == expected, layout


def test_reserialized_layouts_take_the_expected_streaming_route() -> None:
    doc = json.loads((DATA / "v4_full.tfstate").read_bytes())
    for layout, fast in (("indent2", True), ("compact", False), ("indent4", False)):
        reader = streaming(layouts(doc)[layout])
        reader.header()
        assert reader._fast is fast, layout  # Terraform's layout → fast path; any other → ijson
        assert len(reader.instances()) == 13


# --- addresses and providers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "quoted"),
    [
        ("a", '"a"'),
        ("", '""'),
        ("k0", '"k0"'),
        ("with space", '"with space"'),
        ('we"ird', '"we\\"ird"'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\tnl\ncr\r", '"tab\\tnl\\ncr\\r"'),
        ("${var.x}", '"$${var.x}"'),
        ("%{ if x }", '"%%{ if x }"'),
        ("$x 100% {y}", '"$x 100% {y}"'),
        ("end$", '"end$"'),
        ("zürich", '"zürich"'),
        ("日本", '"日本"'),
        ("😀", '"😀"'),
        ("\x01", '"\\u0001"'),
        ("\x7f", '"\\u007f"'),
        ("\u00a0", '"\\u00a0"'),  # no-break space: not printable for Go
        ("\u200b", '"\\u200b"'),  # zero-width space (format character)
        ("\U000e0001", '"\\U000e0001"'),
    ],
)
def test_string_keys_are_quoted_like_terraform(key: str, quoted: str) -> None:
    assert quote_key(key) == quoted
    assert format_key(key) == f"[{quoted}]"


def test_instance_address_forms() -> None:
    assert format_key(None) == "" and format_key(3) == "[3]"
    assert instance_address(None, "managed", "aws_instance", "web", 0) == "aws_instance.web[0]"
    assert instance_address(None, "data", "aws_ami", "ubuntu", None) == "data.aws_ami.ubuntu"
    assert (
        instance_address("module.net", "managed", "aws_subnet", "private", "a")
        == 'module.net.aws_subnet.private["a"]'
    )
    assert (
        instance_address('module.a["x"].module.b[0]', "data", "aws_vpc", "v", None)
        == 'module.a["x"].module.b[0].data.aws_vpc.v'
    )


@pytest.mark.parametrize(
    ("raw", "rtype", "canonical", "name"),
    [
        (AWS, "aws_vpc", AWS, "aws"),
        (AWS + ".west", "aws_vpc", AWS + ".west", "aws"),
        ("module.net." + AWS, "aws_vpc", "module.net." + AWS, "aws"),
        (
            'module.a["k"].module.b[0].' + AWS + ".x",
            "aws_vpc",
            'module.a["k"].module.b[0].' + AWS + ".x",
            "aws",
        ),
        (
            'provider["registry.opentofu.org/-/null"]',
            "null_resource",
            'provider["registry.opentofu.org/-/null"]',
            "null",
        ),
        ("provider.aws", "aws_vpc", AWS, "aws"),
        ("provider.aws.west", "aws_vpc", AWS + ".west", "aws"),
        ("module.net.provider.aws", "aws_vpc", "module.net." + AWS, "aws"),
        ("module.net.provider.aws.east", "aws_vpc", "module.net." + AWS + ".east", "aws"),
        ("provider. null", "null_resource", 'provider["registry.terraform.io/hashicorp/null"]', "null"),
        (
            "provider.terraform",
            "terraform_remote_state",
            'provider["terraform.io/builtin/terraform"]',
            "terraform",
        ),
        ("", "google_compute_instance", 'provider["registry.terraform.io/hashicorp/google"]', "google"),
        ("  provider.aws  ", "aws_vpc", AWS, "aws"),
        ("something-else", "aws_vpc", "something-else", "something-else"),
    ],
)
def test_provider_addresses_normalize(raw: str, rtype: str, canonical: str, name: str) -> None:
    assert normalize_provider(raw, rtype) == (canonical, name)


# --- flatmap -----------------------------------------------------------------------------------------


def test_flatmap_expands_lists_sets_maps_and_nested_blocks() -> None:
    flat = {
        "id": "x",
        "list.#": "2",
        "list.1": "b",
        "list.0": "a",
        "list.10": "k",  # indexes sort as numbers, not as strings
        "set.#": "2",
        "set.987": "y",
        "set.123": "x",
        "tags.%": "2",
        "tags.Name": "n",
        "tags.k8s.io/role": "r",
        "empty_map.%": "0",
        "empty_list.#": "0",
        "block.#": "1",
        "block.0.inner.#": "1",
        "block.0.inner.0.port": "80",
        "block.0.labels.%": "1",
        "block.0.labels.a.b": "c",
        "maps.%": "1",
        "maps.x.%": "1",  # a map holding a map: split as usual
        "maps.x.y": "z",
    }
    assert unflatten(flat) == {
        "id": "x",
        "list": ["a", "b", "k"],
        "set": ["x", "y"],
        "tags": {"Name": "n", "k8s.io/role": "r"},
        "empty_map": {},
        "empty_list": [],
        "block": [{"inner": [{"port": "80"}], "labels": {"a.b": "c"}}],
        "maps": {"x": {"y": "z"}},
    }


def test_flatmap_odd_shapes_never_fail() -> None:
    # a key that is both a leaf and a container keeps the leaf under ""
    assert unflatten({"a": "1", "a.b": "2"}) == {"a": {"": "1", "b": "2"}}
    assert unflatten({"a.b": "2", "a": "1"}) == {"a": {"b": "2", "": "1"}}
    # a map with a key "#" is still a map
    assert unflatten({"h.%": "1", "h.#": "x"}) == {"h": {"#": "x"}}
    # non-decimal "indexes" sort after numbers; unicode digits do not crash int()
    assert unflatten({"l.#": "2", "l.²": "b", "l.0": "a"}) == {"l": ["a", "b"]}
    deep = {".".join(["n"] * 3000): "v"}  # iterative: no recursion limit
    out: Any = unflatten(deep)
    for _ in range(2999):
        out = out["n"]
    assert out == {"n": "v"}


# --- reader API details ---------------------------------------------------------------------------


def _doc(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"version": 4, "terraform_version": "1.6.0", "serial": 1, "lineage": "l"}
    doc.update(extra)
    return doc


def _res(instances: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "mode": "managed",
        "type": "null_resource",
        "name": "n",
        "provider": "provider.null",
    }
    res.update(extra)
    res["instances"] = instances
    return res


def test_streaming_outputs_and_checks_after_resources_are_found() -> None:
    doc = json.loads((DATA / "v4_full.tfstate").read_bytes())
    reordered = {k: doc[k] for k in ("resources", "check_results", "outputs", "lineage", "serial", "version")}
    reordered["terraform_version"] = doc["terraform_version"]
    for data in layouts(reordered).values():
        expected = small(data).read()
        # outputs/check results asked before (or without) iterating the instances
        s = streaming(data)
        assert s.outputs() == expected.outputs and len(s.outputs()) == 3
        assert s.check_results() == expected.check_results and len(s.check_results()) == 2
        assert s.header() == expected.header
        assert streaming(data).read() == expected


def test_resources_null_or_absent_is_an_empty_state() -> None:
    outputs = {"o": {"value": 1, "type": "number"}}
    for doc in (
        _doc(resources=None, outputs=outputs),
        _doc(outputs=outputs),
        _doc(resources=[], outputs=outputs),
    ):
        for data in layouts(doc).values():
            parsed = read_both(data)
            assert parsed.instances == []
            assert [o.name for o in parsed.outputs] == ["o"]


def test_utf8_bom_is_accepted_on_both_paths() -> None:
    data = b"\xef\xbb\xbf" + (DATA / "v4_legacy_012.tfstate").read_bytes()
    assert len(read_both(data).instances) == 7
    compact = b"\xef\xbb\xbf" + layouts(json.loads(data[3:]))["compact"]
    assert len(read_both(compact).instances) == 7


def test_lenient_values_terraform_accepts() -> None:
    doc = _doc(
        serial=3.0,
        resources=[
            _res(
                [
                    {"index_key": 2.0, "schema_version": None, "attributes": {"id": 7}},
                    {
                        "index_key": 3,
                        "schema_version": 1.0,
                        "attributes_flat": {"id": "f", "t.%": "1", "t.a": "b"},
                    },
                    {"index_key": 4},  # no attributes at all
                    {
                        "index_key": 5,
                        "attributes": {"id": True},
                        "status": 7,
                    },  # odd id and status are dropped
                ]
            )
        ],
    )
    parsed = read_both(json.dumps(doc).encode())
    assert parsed.header.serial == 3
    assert [(i.address, i.index_key, i.schema_version, i.id, i.status) for i in parsed.instances] == [
        ("null_resource.n[2]", 2, 0, "7", None),
        ("null_resource.n[3]", 3, 1, "f", None),
        ("null_resource.n[4]", 4, 0, None, None),
        ("null_resource.n[5]", 5, 0, None, None),
    ]
    assert parsed.instances[1].attributes == {"id": "f", "t": {"a": "b"}}
    assert parsed.instances[2].attributes == {}


def test_non_version_terraform_version_is_a_warning_not_an_error() -> None:
    for tfv, warned in (("invalid", True), ("0.10.26", False), ("1.10.0-beta1", False), ("1.2.3+ent", False)):
        header = read_both(json.dumps(_doc(terraform_version=tfv, resources=[])).encode()).header
        assert bool(header.warnings) is warned, tfv
        if warned:
            assert header.warnings == [f"terraform_version {tfv!r} is not a version number"]


def test_reader_properties_and_constructors(tmp_path: Path) -> None:
    f = tmp_path / "s.tfstate"
    f.write_bytes((DATA / "v4_full.tfstate").read_bytes())
    r = StateReader.from_path(f)
    assert r.source == str(f) and r.size == f.stat().st_size and not r.streaming
    assert StateReader.from_path(f, source="s3://b/k").source == "s3://b/k"
    # header() alone decodes only what it needs; instances can be iterated repeatedly
    s = streaming(f.read_bytes())
    assert s.header().serial == 42
    first, second = s.instances(), list(s.iter_instances())
    assert first == second and len(first) == 13
    with pytest.raises(StateFormatError, match="no such file"):
        StateReader.from_path(tmp_path / "missing.tfstate")
    with pytest.raises(StateFormatError, match="is a directory"):
        StateReader.from_path(tmp_path)
    with pytest.raises(StateFormatError, match="cannot read the file"):
        StateReader.from_path(f / "below-a-file")


# --- the CLI listing -----------------------------------------------------------------------------------


def test_state_list_json_records(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "v4_full.tfstate"
    records = list_json(capsys, path)
    assert len(records) == 13
    assert set(records[0]) == {
        "address", "mode", "type", "name", "module", "index_key", "provider", "id", "deposed", "source",
    }  # fmt: skip
    deposed = [r for r in records if r["deposed"]]
    assert deposed == [
        {
            "address": "aws_instance.web[0]",
            "mode": "managed",
            "type": "aws_instance",
            "name": "web",
            "module": None,
            "index_key": 0,
            "provider": AWS,
            "id": "i-0000000000000000d",
            "deposed": "5e8a9f01",
            "source": str(path),
        }
    ]
    managed = list_json(capsys, path, "--mode", "managed")
    data = list_json(capsys, path, "--mode", "data")
    assert len(managed) == 10 and len(data) == 3
    assert {r["mode"] for r in managed} == {"managed"} and {r["mode"] for r in data} == {"data"}
    subnets = list_json(capsys, path, "--type", "aws_subnet", "--type", "random_id")
    assert [r["address"] for r in subnets] == [
        'module.net.aws_subnet.private["a"]',
        'module.net.aws_subnet.private["we\\"ird\\\\key"]',
        'module.net.aws_subnet.private["zürich $${x} %%{y}"]',
        "random_id.numeric_id",
    ]
    assert subnets[0]["index_key"] == "a"


def test_state_list_table_and_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "state", "list", "--state", str(DATA / "v3_modules.tfstate"))
    assert code == 0 and err == ""
    assert "module.network.module.nat.aws_eip.nat" in out
    assert "(deposed 00000001)" in out
    assert "10 instance(s)" in out
    target = tmp_path / "list.json"
    code, out, err = run_cli(
        capsys, "state", "list", "--state", str(DATA / "v3_modules.tfstate"), "-f", "json", "-o", str(target)
    )
    assert (code, out, err) == (0, "", "")
    assert len(json.loads(target.read_text())["resources"]) == 10


def test_state_list_several_states_and_a_directory(capsys: pytest.CaptureFixture[str]) -> None:
    both = list_json(capsys, DATA / "v3_modules.tfstate", "--state", str(DATA / "v4_legacy_012.tfstate"))
    assert len(both) == 17
    assert {r["source"] for r in both} == {
        str(DATA / "v3_modules.tfstate"),
        str(DATA / "v4_legacy_012.tfstate"),
    }
    whole = list_json(capsys, DATA)
    assert len(whole) == sum(len(StateReader.from_path(DATA / n).instances()) for n in DATA_FILES)


def test_integers_beyond_64_bits_read_the_same_on_both_paths() -> None:
    # yajl (ijson's C backend) cannot hold them: the streaming path re-reads with ijson's Python
    # backend and makes them floats, as orjson does on the whole-file path.
    big = [2**64, 2**63, -(2**63), -(2**63) - 1, 5]
    res = _res([{"attributes": {"id": "x", "big": big}}])
    for doc in (
        _doc(resources=[res], outputs={"o": {"value": 2**65}}),
        _doc(serial=2**70, resources=[res]),  # in the fields before "resources"
    ):
        for data in layouts(doc).values():
            parsed = read_both(data)
            assert parsed.instances[0].attributes["big"] == [
                float(2**64),
                2**63,
                -(2**63),
                float(-(2**63) - 1),
                5,
            ]
    # asked for the outputs first: the overflow is met while scanning for them
    doc = {
        "version": 4,
        "resources": [_res([{"attributes": {"id": "x"}}])],
        "outputs": {"o": {"value": [2**65]}},
    }
    data = json.dumps(doc).encode()
    reader = streaming(data)
    assert [o.value for o in reader.outputs()] == [[float(2**65)]]
    assert reader.instances() == small(data).instances()


def test_odd_but_valid_shapes() -> None:
    doc = _doc(
        resources=[
            {k: v for k, v in _res([]).items() if k != "instances"},
            _res([{"attributes": {"id": "a"}}]),
        ],
        check_results=[
            {"object_kind": "resource", "config_addr": "a.b", "status": "unknown", "objects": None}
        ],
    )
    parsed = read_both(json.dumps(doc, indent=2).encode())
    assert [i.address for i in parsed.instances] == ["null_resource.n"]
    assert parsed.check_results[0].objects == []
    v3 = {"version": 3, "serial": 1, "lineage": "l"}  # no modules at all
    assert read_both(json.dumps(v3).encode()).instances == []
    v3["modules"] = [
        {"path": ["root"]},  # no resources
        {
            "path": ["root", "a"],
            "resources": {
                "aws_instance.web.1": {
                    "primary": {"id": "i-1", "attributes": {"id": "i-1"}},
                    "deposed": [{"id": "i-old", "attributes": {}}],
                }
            },
        },
    ]
    parsed = read_both(json.dumps(v3).encode())
    assert [(i.address, i.deposed, i.id) for i in parsed.instances] == [
        ("module.a.aws_instance.web[1]", None, "i-1"),
        ("module.a.aws_instance.web[1]", "00000001", "i-old"),
    ]
    assert parsed.header.terraform_version is None and parsed.outputs == []


def test_fast_path_primitives() -> None:
    from driftmgr.state.parse import fastpath

    assert fastpath._element(b'{"a": 1}') == {"a": 1}
    for raw in (b'{"a": 1}],[{"b": 2}', b'{"a": 1}, {"b": 2}', b"1", b'{"a": 1}]], [[{"b": 2}'):
        with pytest.raises(fastpath.NotFastPath):
            fastpath._element(raw)
    with pytest.raises(fastpath.NotFastPath):  # "resources" elsewhere than at the top level
        fastpath._check_document(b'{"x": [', b"]}", io.BytesIO(b""))
    with pytest.raises(fastpath.NotFastPath):
        list(fastpath.iter_resources(io.BytesIO(b'{"version": 4}'), {}))
    with pytest.raises(fastpath.NotFastPath):
        fastpath.array_start(io.BytesIO(b'{\n  "resources": [{"a": 1}]\n}'))
    assert fastpath.next_boundary(io.BytesIO(b"no separator here"), 0) is None

    doc = json.loads((DATA / "v4_full.tfstate").read_bytes())
    data = json.dumps(doc, indent=2).encode()
    fh = io.BytesIO(data)
    first = fastpath.array_start(fh)
    assert data[first : first + 1] == b"{"
    second = fastpath.next_boundary(fh, first + 1)
    assert second is not None and data[second : second + 1] == b"{"
    # from the first element up to (not including) the one starting at `second`
    got = list(fastpath.iter_elements(io.BytesIO(b""), data[first:], 0, first, second, None, {}))
    assert got == doc["resources"][:1]
    with pytest.raises(fastpath.NotFastPath):  # a split point that is no element boundary
        list(fastpath.iter_elements(io.BytesIO(b""), data[first:], 0, first, second + 1, None, {}))
    with pytest.raises(fastpath.NotFastPath):  # the array ends before the split point
        list(fastpath.iter_elements(io.BytesIO(b""), data[first:], 0, first, len(data) + 10, None, {}))
    trailer: dict[str, Any] = {}
    rest = list(fastpath.iter_elements(io.BytesIO(b""), data[second:], 0, second, None, None, trailer))
    assert rest == doc["resources"][1:]
    assert json.loads(b'{"resources": [' + trailer["tail"])["check_results"] == doc["check_results"]


def _fifo_with(tmp_path: Path, data: bytes) -> tuple[Path, Any]:
    import os
    import threading

    fifo = tmp_path / "pipe.tfstate"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return fifo, writer


def test_state_from_a_pipe_is_read_once_and_spooled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import gc

    data = (DATA / "v4_legacy_012.tfstate").read_bytes()
    fifo, writer = _fifo_with(tmp_path, data)  # `--state <(terraform state pull)`
    records = list_json(capsys, fifo)
    writer.join(5)
    assert [r["address"] for r in records] == [i.address for i in small(data).instances()]
    assert {r["source"] for r in records} == {str(fifo)}

    fifo.unlink()
    fifo, writer = _fifo_with(tmp_path, data)
    reader = StateReader.from_path(fifo)
    writer.join(5)
    with reader._open() as fh:
        spool = Path(fh.name)
    assert spool.exists() and spool != fifo and reader.source == str(fifo)
    assert reader.read() == small(data, str(fifo)).read()
    del reader
    gc.collect()
    assert not spool.exists()

    fifo.unlink()
    fifo, writer = _fifo_with(tmp_path, b"\x00\x01binary" * 10)
    with pytest.raises(StateFormatError, match="binary data"):
        StateReader.from_path(fifo)
    writer.join(5)
