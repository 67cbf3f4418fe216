"""`driftmgr state list` on real state files: driftctl's 147 test states and OpenTofu's round-trip set.

For every state, the listing must equal (a) an independent, naive reading of the raw JSON written
here, and (b) driftctl's golden `(Type, Id)` multiset of managed resources, except in the four cases
where ../shared/corpus/README.md documents that driftctl deliberately differs: there the known
difference itself is asserted.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from driftmgr.errors import StateFormatError
from driftmgr.state.parse import StateReader
from tests.conftest import corpus_dir
from tests.state.test_parse import layouts, list_json, read_both, run_cli, streaming

pytestmark = pytest.mark.corpus

_CORPUS = corpus_dir()
DRIFTCTL_CASES = (
    sorted(p.parent.name for p in _CORPUS.glob("driftctl-states/*/terraform.tfstate")) if _CORPUS else []
)
ROUNDTRIP = sorted(p.name for p in _CORPUS.glob("opentofu-roundtrip/*.in.tfstate")) if _CORPUS else []
ABSENT = [pytest.param(None, marks=pytest.mark.skip(reason="../shared/corpus is not present"))]

# Where driftctl's golden file deliberately differs from the state (corpus/README.md):
# (state-only (Type, Id) pairs, golden-only pairs).
GOLDEN_DIFFERENCES: dict[str, tuple[set[tuple[str, str]], set[tuple[str, str]]]] = {
    # driftctl drops types it does not support
    "aws_lb_listener": (
        {
            (
                "aws_lb_target_group",
                "arn:aws:elasticloadbalancing:us-east-1:533948124879:targetgroup/tf-example-lb-tg/9e43d546683d8b35",
            )
        },
        set(),
    ),
    "unsupported_provider": ({("random_string", "69vgd6")}, set()),
    # driftctl rewrites these ids from the rule's attributes
    "aws_network_acl_rule": (
        {("aws_network_acl_rule", "nacl-1917870932"), ("aws_network_acl_rule", "nacl-2151792455")},
        {("aws_network_acl_rule", "nacl-2880546575"), ("aws_network_acl_rule", "nacl-1525104124")},
    ),
    "aws_vpc_security_group_rule": (
        {("aws_security_group_rule", "sgrule-894498715")},
        {("aws_security_group_rule", "sgrule-850043874")},
    ),
}


# --- the independent oracle: plain json.load and a walk, nothing from driftmgr.state.parse ----------


def oracle_key(key: Any) -> str:
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    assert re.fullmatch(r"[A-Za-z0-9_.\-/ ]*", key), f"the oracle only knows simple keys: {key!r}"
    return f'["{key}"]'


def oracle_provider(raw: str, rtype: str) -> str:
    raw = raw.strip()
    if not raw:
        return f'provider["registry.terraform.io/hashicorp/{rtype.split("_")[0]}"]'
    if "provider[" in raw:
        return raw
    module, _, rest = raw.rpartition("provider.")
    name, _, alias = rest.strip().partition(".")
    source = (
        "terraform.io/builtin/terraform" if name == "terraform" else f"registry.terraform.io/hashicorp/{name}"
    )
    return f'{module}provider["{source}"]' + (f".{alias}" if alias else "")


def oracle_listing(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_bytes())
    out = []
    for res in doc.get("resources") or []:
        module = res.get("module")
        prefix = f"{module}." if module else ""
        data = "data." if res["mode"] == "data" else ""
        for inst in res.get("instances") or []:
            attrs = inst.get("attributes") or inst.get("attributes_flat") or {}
            rid = attrs.get("id")
            key = oracle_key(inst.get("index_key"))
            out.append(
                {
                    "address": f"{prefix}{data}{res['type']}.{res['name']}{key}",
                    "mode": res["mode"],
                    "type": res["type"],
                    "name": res["name"],
                    "module": module,
                    "index_key": inst.get("index_key"),
                    "provider": oracle_provider(res.get("provider", ""), res["type"]),
                    "id": None if rid is None else str(rid),
                    "deposed": inst.get("deposed"),
                    "source": str(path),
                }
            )
    return out


def managed_pairs(records: list[dict[str, Any]]) -> Counter[tuple[str, str | None]]:
    return Counter((r["type"], r["id"]) for r in records if r["mode"] == "managed")


# --- driftctl's states ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DRIFTCTL_CASES or ABSENT)
def test_driftctl_state_lists_like_the_oracle_and_the_golden_file(
    case: str, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = corpus / "driftctl-states" / case / "terraform.tfstate"
    records = list_json(capsys, state)
    expected = oracle_listing(state)
    assert records == expected
    golden_file = state.with_name("results.golden.json")
    if not golden_file.exists():  # data_source, ignored_resources, source, unsupported_resource
        assert case in {"data_source", "ignored_resources", "source", "unsupported_resource"}
        return
    golden = Counter((g["Type"], g["Id"]) for g in json.loads(golden_file.read_bytes()))
    ours = managed_pairs(records)
    state_only, golden_only = GOLDEN_DIFFERENCES.get(case, (set(), set()))
    assert set((ours - golden).elements()) == state_only
    assert set((golden - ours).elements()) == golden_only
    if not state_only and not golden_only:
        assert ours == golden


def test_corpus_has_the_documented_shape(corpus: Path) -> None:
    assert len(DRIFTCTL_CASES) == 147
    assert len(list(corpus.glob("driftctl-states/*/results.golden.json"))) == 143
    assert set(GOLDEN_DIFFERENCES) <= set(DRIFTCTL_CASES)


@pytest.mark.parametrize("case", DRIFTCTL_CASES or ABSENT)
def test_driftctl_states_read_the_same_on_both_paths(case: str, corpus: Path) -> None:
    raw = (corpus / "driftctl-states" / case / "terraform.tfstate").read_bytes()
    expected = read_both(raw)
    for layout, data in layouts(json.loads(raw)).items():
        assert read_both(data) == expected, layout


# --- driftctl's _v4 format cases -------------------------------------------------------------------------


def test_v4_valid_and_version_cases(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    v4 = corpus / "driftctl-states" / "_v4"
    valid = list_json(capsys, v4 / "valid.tfstate")
    assert [(r["address"], r["id"]) for r in valid] == [
        ("data.aws_ami.amazon-linux", "ami-0aa9ac13698fff547"),
        ("aws_instance.vm", "i-07dbbae1c3fc4c194"),
    ]
    assert valid == oracle_listing(v4 / "valid.tfstate")

    def strip_source(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "source"} for r in records]

    # Format 4 is read whatever terraform_version says: 0.10.26 (older than format 4 itself) is
    # a version number and passes silently; "invalid" is read too, with a warning.
    for name in ("supported_version", "unsupported_version", "invalid_version"):
        assert strip_source(list_json(capsys, v4 / f"{name}.tfstate")) == strip_source(valid), name
    assert StateReader.from_path(v4 / "unsupported_version.tfstate").header().warnings == []
    assert StateReader.from_path(v4 / "invalid_version.tfstate").header().warnings == [
        "terraform_version 'invalid' is not a version number"
    ]
    code, out, err = run_cli(capsys, "state", "list", "--state", str(v4 / "invalid_version.tfstate"))
    assert code == 0 and "aws_instance.vm" in out and "2 instance(s)" in out
    assert (
        err
        == f"warning: {v4 / 'invalid_version.tfstate'}: terraform_version 'invalid' is not a version number\n"
    )


def test_v4_invalid_version_warns_in_json_mode_too(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus / "driftctl-states" / "_v4" / "invalid_version.tfstate"
    code, out, err = run_cli(capsys, "state", "list", "--state", str(path), "--format", "json")
    assert code == 0 and json.loads(out)["resources"]
    assert err == f"warning: {path}: terraform_version 'invalid' is not a version number\n"


def test_v4_invalid_json_is_refused_with_line_and_column(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = corpus / "driftctl-states" / "_v4" / "invalid.tfstate"
    code, out, err = run_cli(capsys, "state", "list", "--state", str(path), "--format", "json")
    assert (code, out) == (1, "")
    # line 16 is `      west-3:`, a bare word where a key must be
    assert err == (
        f"error: {path}: invalid JSON: unexpected character, expected a string key (line 16, column 7)\n"
    )
    with pytest.raises(StateFormatError, match=r"invalid JSON: .* \(line 16, column \d+\)$"):
        streaming(path.read_bytes()).read()


# --- OpenTofu's round-trip files ----------------------------------------------------------------------------

ROUNDTRIP_ADDRESSES = {
    "v4-cbd.in.tfstate": ["module.modA.null_resource.resource"],
    "v4-foreach.in.tfstate": ["module.modA.null_resource.resource"],
    "v4-future.in.tfstate": ["null_resource.bar", "null_resource.foo[0]", "null_resource.foo[1]"],
    "v4-legacy-foreach.in.tfstate": ["module.modA.null_resource.resource"],
    "v4-legacy-modules.in.tfstate": [
        "null_resource.bar",
        'module.modB.null_resource.bar["a"]',
        'module.modB.null_resource.bar["b"]',
        "module.modA.null_resource.resource",
    ],
    "v4-legacy-simple.in.tfstate": [
        "data.terraform_remote_state.random",
        "null_resource.bar",
        "null_resource.foo[0]",
        "null_resource.foo[1]",
    ],
    "v4-modules.in.tfstate": [
        "null_resource.bar",
        'module.modB.null_resource.bar["a"]',
        'module.modB.null_resource.bar["b"]',
        "module.modA.null_resource.resource",
    ],
    "v4-simple.in.tfstate": ["null_resource.bar", "null_resource.foo[0]", "null_resource.foo[1]"],
}


def resolve_git_symlink(path: Path) -> Path:
    """Several `.out` files are git symlinks checked out as text: one line naming the target."""
    text = path.read_bytes()
    if not text.lstrip().startswith(b"{"):
        target = path.with_name(text.decode().strip())
        assert target.is_file(), f"{path} is neither JSON nor a link to a sibling"
        return target
    return path


@pytest.mark.parametrize("name", ROUNDTRIP or ABSENT)
def test_opentofu_roundtrip_addresses(name: str, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = corpus / "opentofu-roundtrip" / name
    records = list_json(capsys, src)
    assert [r["address"] for r in records] == ROUNDTRIP_ADDRESSES[name]
    assert records == oracle_listing(src)
    out = resolve_git_symlink(src.with_name(name.replace(".in.", ".out.")))
    written = list_json(capsys, out)
    assert [r["address"] for r in written] == ROUNDTRIP_ADDRESSES[name]

    # What was read equals what OpenTofu wrote back, except that OpenTofu rewrites the legacy
    # `provider.null` as registry.opentofu.org/-/null where we read the provider it meant
    # (hashicorp/null): the local provider name agrees either way.
    def comparable(path: Path) -> list[tuple[Any, ...]]:
        return [
            (
                i.address,
                i.id,
                i.deposed,
                i.provider_name,
                i.attributes,
                i.dependencies,
                i.create_before_destroy,
            )
            for i in read_both(path.read_bytes()).instances
        ]

    assert comparable(out) == comparable(src)


def test_roundtrip_cbd_and_flat_attributes(corpus: Path) -> None:
    rt = corpus / "opentofu-roundtrip"
    (cbd,) = StateReader.from_path(rt / "v4-cbd.in.tfstate").instances()
    assert cbd.create_before_destroy and cbd.deposed is None
    assert cbd.provider == 'provider["registry.opentofu.org/-/null"]' and cbd.provider_name == "null"
    bar = StateReader.from_path(rt / "v4-legacy-modules.in.tfstate").instances()[0]
    assert bar.attributes == {"id": "5388490630832483079", "triggers": {"whaaat": "0,1"}}
    assert bar.provider == 'provider["registry.terraform.io/hashicorp/null"]'
    # a key repeated in one object: the last one wins, as in Go's encoding/json
    res = StateReader.from_path(rt / "v4-legacy-modules.in.tfstate").instances()[3]
    assert res.dependencies == ["var.input"]
    assert sorted(ROUNDTRIP_ADDRESSES) == ROUNDTRIP
