"""Property-based tests of the state parser (hypothesis).

1. Generated valid states: every instance's address equals an oracle written here from Terraform's
   rules, and both paths (and three layouts) read the same thing.
2. Mutated states (truncated, bytes flipped/inserted/deleted, values swapped for other types, keys
   dropped): `StateReader.read()` returns or raises StateFormatError, on both paths; never another
   exception, never a hang.
"""

from __future__ import annotations

import contextlib
import copy
import json
import signal
import unicodedata
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftmgr.errors import StateFormatError
from driftmgr.state.parse import ParsedState
from tests.state.test_parse import DATA, layouts, read_both, small, streaming

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the body runs longer than `seconds`."""

    def alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the parser ran for more than {seconds}s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- the oracle ---------------------------------------------------------------------------------------


def hcl_quote(s: str) -> str:
    """Terraform's addrs toHCLQuotedString, transcribed rune by rune."""
    out = '"'
    for i, r in enumerate(s):
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if r == "\n":
            out += "\\n"
        elif r == "\r":
            out += "\\r"
        elif r == "\t":
            out += "\\t"
        elif r == '"':
            out += '\\"'
        elif r == "\\":
            out += "\\\\"
        elif r in ("$", "%"):
            out += r * 2 if nxt == "{" else r
        elif r == " " or unicodedata.category(r)[0] in ("L", "M", "N", "P", "S"):
            out += r
        elif ord(r) < 65536:
            out += f"\\u{ord(r):04x}"
        else:
            out += f"\\U{ord(r):08x}"
    return out + '"'


def key_suffix(key: int | str | None) -> str:
    if key is None:
        return ""
    return f"[{key}]" if isinstance(key, int) else f"[{hcl_quote(key)}]"


def expected_addresses(doc: dict[str, Any]) -> list[tuple[str, str | None]]:
    out = []
    for res in doc.get("resources") or []:
        prefix = res["module"] + "." if res.get("module") else ""
        mode = "data." if res["mode"] == "data" else ""
        for inst in res["instances"]:
            out.append(
                (
                    f"{prefix}{mode}{res['type']}.{res['name']}{key_suffix(inst.get('index_key'))}",
                    inst.get("deposed"),
                )
            )
    return out


# --- generating valid states ---------------------------------------------------------------------------

IDENT = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)
TRICKY = [
    "${",
    "%{",
    "$",
    "%",
    "{",
    '"',
    "\\",
    "\n",
    "\r",
    "\t",
    " ",
    "é",
    "日本",
    "😀",
    "\x01",
    "\x7f",
    "\u00a0",
    "\u200b",
    "\U000e0001",
]
KEY_TEXT = st.lists(st.sampled_from(TRICKY) | st.text(max_size=3), max_size=5).map("".join)
INDEX_KEY = st.none() | st.integers(min_value=0, max_value=10_000) | KEY_TEXT
JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def module_address(draw: st.DrawFn) -> str | None:
    steps = draw(st.lists(st.tuples(IDENT, INDEX_KEY), max_size=3))
    return ".".join(f"module.{name}{key_suffix(key)}" for name, key in steps) or None


@st.composite
def provider_address(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["aws", "google", "azurerm", "null", "random"]))
    alias = draw(st.sampled_from(["", ".west", ".europe"]))
    return draw(
        st.sampled_from(
            [
                f'provider["registry.terraform.io/hashicorp/{name}"]{alias}',
                f'module.m.provider["registry.terraform.io/hashicorp/{name}"]{alias}',
                f"provider.{name}{alias}",
                "",
            ]
        )
    )


@st.composite
def instance(draw: st.DrawFn) -> dict[str, Any]:
    attrs = draw(st.dictionaries(st.text(max_size=8), JSON_VALUE, max_size=4))
    if draw(st.booleans()):
        attrs["id"] = draw(st.text(max_size=20) | st.integers(0, 10**9))
    inst: dict[str, Any] = {"schema_version": draw(st.integers(0, 3)), "attributes": attrs}
    key = draw(INDEX_KEY)
    if key is not None:
        inst["index_key"] = key
    if draw(st.integers(0, 4)) == 0:
        inst["deposed"] = draw(st.from_regex(r"[0-9a-f]{8}", fullmatch=True))
    if draw(st.integers(0, 4)) == 0:
        inst["status"] = "tainted"
    if draw(st.booleans()):
        inst["sensitive_attributes"] = draw(
            st.lists(
                st.lists(st.fixed_dictionaries({"type": st.just("get_attr"), "value": IDENT}), max_size=2),
                max_size=2,
            )
        )
    if draw(st.booleans()):
        inst["dependencies"] = draw(st.lists(IDENT.map(lambda n: f"aws_vpc.{n}"), max_size=3))
    if draw(st.booleans()):
        inst["create_before_destroy"] = True
    return inst


@st.composite
def resource(draw: st.DrawFn) -> dict[str, Any]:
    res: dict[str, Any] = {}
    module = draw(module_address())
    if module:
        res["module"] = module
    res["mode"] = draw(st.sampled_from(["managed", "data"]))
    res["type"] = draw(st.sampled_from(["aws_instance", "google_compute_disk", "null_resource", "random_id"]))
    res["name"] = draw(IDENT)
    res["provider"] = draw(provider_address())
    res["instances"] = draw(st.lists(instance(), max_size=4))
    return res


@st.composite
def state(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 4,
        "terraform_version": draw(st.sampled_from(["1.5.7", "0.12.31", "1.10.0-beta1", "invalid"])),
        "serial": draw(st.integers(0, 10**6)),
        "lineage": draw(st.uuids()).hex,
    }
    if draw(st.booleans()):
        doc["outputs"] = draw(
            st.dictionaries(
                IDENT, st.fixed_dictionaries({"value": JSON_VALUE, "type": st.just("string")}), max_size=3
            )
        )
    doc["resources"] = draw(st.lists(resource(), max_size=6))
    if draw(st.booleans()):
        doc["check_results"] = [
            {"object_kind": "resource", "config_addr": "x.y", "status": "pass", "objects": []}
        ]
    keys = list(doc)
    order = draw(st.permutations(keys)) if draw(st.integers(0, 3)) == 0 else keys  # Terraform's order, mostly
    return {k: doc[k] for k in order}


@SETTINGS
@given(state())
def test_generated_states_list_the_oracle_addresses_on_every_path(doc: dict[str, Any]) -> None:
    expected = expected_addresses(doc)
    with time_limit(120):
        results = [read_both(data) for data in layouts(doc).values()]
    for parsed in results:
        assert [(i.address, i.deposed) for i in parsed.instances] == expected
        assert parsed == results[0]
    flat = [inst for res in doc["resources"] for inst in res["instances"]]
    got = results[0].instances
    assert [i.index_key for i in got] == [inst.get("index_key") for inst in flat]
    assert [i.attributes for i in got] == [inst["attributes"] for inst in flat]
    ids = [inst["attributes"].get("id") for inst in flat]
    assert [i.id for i in got] == [None if v is None else str(v) for v in ids]
    assert [o.name for o in results[0].outputs] == list(doc.get("outputs", {}))


# --- mutating serialized states -----------------------------------------------------------------------

SEEDS = [(DATA / n).read_bytes() for n in sorted(p.name for p in DATA.glob("*.tfstate"))]


def outcome(data: bytes) -> list[ParsedState | StateFormatError]:
    """Both paths' result: a parsed state or the StateFormatError; any other exception propagates."""
    results: list[ParsedState | StateFormatError] = []
    for reader in (small(data, "m.tfstate"), streaming(data, "m.tfstate")):
        try:
            results.append(reader.read())
        except StateFormatError as exc:
            assert str(exc).startswith("m.tfstate: ") and "\n" not in str(exc)
            results.append(exc)
    return results


@st.composite
def byte_mutation(draw: st.DrawFn) -> bytes:
    data = draw(
        st.sampled_from(SEEDS)
        | state().map(lambda d: json.dumps(d, indent=draw(st.sampled_from([2, None]))).encode())
    )
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "truncate":
            data = data[:at]
        elif op == "flip" and data:
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif op == "insert":
            chunk = draw(
                st.binary(min_size=1, max_size=8)
                | st.sampled_from([b"{", b"[", b"]", b"}", b'"', b"\\", b",", b"\x00", b"\xff"])
            )
            data = data[:at] + chunk + data[at:]
        else:
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
    return data


OTHER_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    2**70,
    "",
    "x",
    "provider.aws",
    [],
    [1],
    ["a"],
    {},
    {"a": 1},
    [[[]]],
]


def _containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        yield path, value
        for k, v in value.items():
            yield from _containers(v, (*path, k))
    elif isinstance(value, list):
        yield path, value
        for i, v in enumerate(value):
            yield from _containers(v, (*path, i))


@st.composite
def structural_mutation(draw: st.DrawFn) -> bytes:
    doc = draw(st.sampled_from(SEEDS).map(json.loads) | state())
    for _ in range(draw(st.integers(1, 3))):
        containers = list(_containers(doc))
        _, target = draw(st.sampled_from(containers))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if not keys:
            continue
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()) and isinstance(target, dict):
            del target[key]  # drop a key
        else:
            target[key] = copy.deepcopy(draw(st.sampled_from(OTHER_VALUES)))  # another type
    return json.dumps(doc, indent=draw(st.sampled_from([2, None, 4]))).encode()


@SETTINGS
@given(byte_mutation())
def test_byte_mutations_give_a_result_or_a_clean_error(data: bytes) -> None:
    with time_limit(120):
        outcome(data)


@SETTINGS
@given(structural_mutation())
def test_structural_mutations_give_the_same_result_or_error_on_both_paths(data: bytes) -> None:
    with time_limit(120):
        whole, streamed = outcome(data)
    # The document is valid JSON, so both paths apply the same validation to the same values: both
    # accept it with the same result, or both refuse it (when several parts are wrong, each path may
    # name a different one first: the whole-file path checks outputs and check results up front).
    if isinstance(whole, StateFormatError) or isinstance(streamed, StateFormatError):
        assert isinstance(whole, StateFormatError) and isinstance(streamed, StateFormatError)
    else:
        assert whole == streamed
