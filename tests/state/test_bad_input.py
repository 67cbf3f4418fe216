"""Bad input (issue 2, point 3): every bad state gets exit code 1 and ONE stderr line naming the file
and the problem (with line/column for JSON syntax errors), never a traceback, never partial output.

The reader-level cases run on both paths (whole-document orjson and forced streaming) and expect the
same message from each.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from driftmgr.errors import StateFormatError
from driftmgr.state.parse import SMALL_FILE_BYTES, StateReader
from driftmgr.state.parse import reader as reader_mod
from driftmgr.state.parse import stream as stream_mod
from tests.state.test_parse import DATA, run_cli, small, streaming

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from make_big_state import build

V4_FULL = (DATA / "v4_full.tfstate").read_bytes()
RES = {"mode": "managed", "type": "null_resource", "name": "n", "provider": "provider.null"}


def _state(resources: Any = None, **top: Any) -> bytes:
    doc: dict[str, Any] = {"version": 4, "terraform_version": "1.6.0", "serial": 1, "lineage": "l"}
    doc.update(top)
    if resources is not None:
        doc["resources"] = resources
    return json.dumps(doc, indent=2).encode()


def _inst(**fields: Any) -> bytes:
    inst: dict[str, Any] = {"schema_version": 0, "attributes": {"id": "x"}}
    inst.update(fields)
    return _state([{**RES, "instances": [inst]}])


def _end_position(data: bytes) -> str:
    """orjson's position for an error at the end of `data`: 1-based line, column in characters."""
    last = data[data.rfind(b"\n") + 1 :].decode("utf-8", "ignore")
    lines = data.count(b"\n") + 1
    return f"(line {lines}, column {len(last) + 1})"


TRUNCATED = V4_FULL[:1500]
DEEP = V4_FULL.replace(b'"byte_length": 8', b'"byte_length": ' + b"[" * 100_000 + b"]" * 100_000, 1)
assert DEEP != V4_FULL

# name → (file content, the problem as printed after "error: FILE: ")
CLI_CASES: dict[str, tuple[bytes, str]] = {
    "truncated": (TRUNCATED, f"invalid JSON: unexpected end of data {_end_position(TRUNCATED)}"),
    "not_json": (b"hello, world\n", "not JSON: a state file starts with '{' (line 1, column 1)"),
    "html": (
        b"<html><body>403 Forbidden</body></html>",
        "not JSON: a state file starts with '{' (line 1, column 1)",
    ),
    "array": (
        b'[{"version": 4}]',
        "expected a JSON object at the top level, got a JSON array (line 1, column 1)",
    ),
    "empty": (b"", "empty file, not a state"),
    "whitespace": (b"  \n\t\r\n ", "file holds only whitespace"),
    "binary": (bytes(range(256)) * 64, "binary data, not a JSON state file"),
    "gzip": (
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(1, 200)),
        "binary data, not a JSON state file",
    ),
    "latin1": (
        '{"version": 4, "lineage": "caf\xe9 \xe0 la carte"}'.encode("latin-1") * 2,
        "binary data (not UTF-8 text), not a JSON state file",
    ),
    "utf16": (
        '{"version": 4}'.encode("utf-16"),
        "UTF-16 text (as PowerShell's '>' writes it): save the state as UTF-8",
    ),
    "version_5": (
        _state([], version=5),
        "unsupported state format version 5 (DriftMgr reads versions 3 and 4)",
    ),
    "version_2": (
        _state([], version=2),
        "unsupported state format version 2 (DriftMgr reads versions 3 and 4)",
    ),
    "version_string": (_state([], version="4"), "'version' must be an integer, got string '4'"),
    "missing_colon": (
        b'{"version" 4}',
        "invalid JSON: unexpected character, expected ':' after key (line 1, column 12)",
    ),
    "version_missing": (b'{"serial": 1, "resources": []}', "missing 'version': not a Terraform state file"),
    "resources_string": (_state("x"), "'resources' must be a list, got string"),
    "resource_item_string": (_state(["x"]), "resources[0] must be an object, got string"),
    "instances_not_list": (
        _state([{**RES, "instances": {}}]),
        "resources[0].instances must be a list, got object",
    ),
    "index_key_list": (
        _inst(index_key=[1]),
        "resources[0].instances[0].index_key must be an integer or a string, got list [1]",
    ),
    "attributes_list": (
        _inst(attributes=[]),
        "resources[0].instances[0].attributes must be an object, got list",
    ),
    "absurd_nesting": (DEEP, "invalid JSON: nested deeper than 1024 levels (line 283, column 1047)"),
}


def assert_clean_error(capsys: pytest.CaptureFixture[str], tmp_path: Path, src: str, problem: str) -> None:
    """Exit 1, exactly `error: SRC: PROBLEM` on stderr, nothing on stdout; with -o the file never appears."""
    for fmt in ("json", "table"):
        code, out, err = run_cli(capsys, "state", "list", "--state", src, "--format", fmt)
        assert (code, out) == (1, "")
        assert err == f"error: {src}: {problem}\n"
        target = tmp_path / f"out-{fmt}.json"
        code, out, err = run_cli(capsys, "state", "list", "--state", src, "-f", fmt, "--output", str(target))
        assert (code, out, err) == (1, "", f"error: {src}: {problem}\n")
        assert not target.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".driftmgr-out-")]


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_bad_state_file_gives_one_clean_error_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, problem = CLI_CASES[case]
    path = tmp_path / f"{case}.tfstate"
    path.write_bytes(content)
    assert_clean_error(capsys, tmp_path, str(path), problem)


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_clean_error(capsys, tmp_path, str(tmp_path / "nope.tfstate"), "no such file")


def test_directory_without_states(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "empty.tfstate"  # a directory, even one named like a state
    d.mkdir()
    assert_clean_error(capsys, tmp_path, str(d), "the directory holds no *.tfstate file")
    with pytest.raises(StateFormatError, match="is a directory, not a state file"):
        StateReader.from_path(d)


def test_one_bad_state_among_good_ones_fails_the_whole_listing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.tfstate").write_bytes(V4_FULL)
    (tmp_path / "b.tfstate").write_bytes(TRUNCATED)
    problem = f"invalid JSON: unexpected end of data {_end_position(TRUNCATED)}"
    code, out, err = run_cli(capsys, "state", "list", "--state", str(tmp_path), "--format", "json")
    assert (code, out, err) == (1, "", f"error: {tmp_path / 'b.tfstate'}: {problem}\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file; the next test simulates EACCES")
def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "locked.tfstate"
    path.write_bytes(V4_FULL)
    path.chmod(0)
    try:
        assert_clean_error(capsys, tmp_path, str(path), "permission denied reading the file")
    finally:
        path.chmod(0o600)


def test_permission_denied_is_reported_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "locked.tfstate"
    path.write_bytes(V4_FULL)

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(reader_mod, "open", denied, raising=False)
    assert_clean_error(capsys, tmp_path, str(path), "permission denied reading the file")

    def io_error(*args: Any, **kwargs: Any) -> Any:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(reader_mod, "open", io_error, raising=False)
    with pytest.raises(StateFormatError, match=r"cannot read the file: Input/output error$"):
        StateReader.from_path(path).header()
    monkeypatch.undo()

    real_stat = Path.stat

    def stat(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    with pytest.raises(StateFormatError, match=f"^{path}: permission denied$"):
        StateReader.from_path(path)


# --- reader level: the same clean error on both paths ----------------------------------------------

_V3 = {"version": 3, "terraform_version": "0.11.14", "serial": 1, "lineage": "l"}


def _v3(modules: Any) -> bytes:
    return json.dumps({**_V3, "modules": modules}).encode()


def _v3res(res: Any, key: str = "aws_instance.web") -> bytes:
    return _v3([{"path": ["root"], "resources": {key: res}}])


R0, I0 = "resources[0]", "resources[0].instances[0]"
M0, WEB = "modules[0]", "modules[0].resources['aws_instance.web']"
READER_CASES: dict[str, tuple[bytes, str | None]] = {
    "top_level_string": (b'"state"', "not JSON: a state file starts with '{' (line 1, column 1)"),
    "version_float": (_state([], version=4.5), "'version' must be an integer, got number 4.5"),
    "version_bool": (_state([], version=True), "'version' must be an integer, got boolean True"),
    "version_null": (_state([], version=None), "missing 'version': not a Terraform state file"),
    "resources_object": (_state({}), "'resources' must be a list, got object"),
    "resources_number": (_state(5), "'resources' must be a list, got number"),
    "resources_bool": (_state(True), "'resources' must be a list, got boolean"),
    "tf_version_number": (
        _state([], terraform_version=1.5),
        "'terraform_version' must be a string, got number",
    ),
    "serial_string": (_state([], serial="7"), "'serial' must be a number, got string"),
    "lineage_list": (_state([], lineage=["l"]), "'lineage' must be a string, got list"),
    "outputs_list": (_state([], outputs=[]), "'outputs' must be an object, got list"),
    "output_string": (_state([], outputs={"o": "v"}), "outputs.o must be an object, got string"),
    "checks_object": (_state([], check_results={}), "'check_results' must be a list, got object"),
    "check_string": (_state([], check_results=["x"]), "check_results[0] must be an object, got string"),
    "check_objects": (_state([], check_results=[{"objects": {}}]), "check_results[0].objects must be a list"),
    "mode_missing": (_state([{"type": "t", "name": "n", "instances": []}]), f"{R0}: missing 'mode'"),
    "mode_bad": (
        _state([{**RES, "mode": "virtual", "instances": []}]),
        f"{R0}.mode must be 'managed' or 'data', got 'virtual'",
    ),
    "type_number": (
        _state([{**RES, "type": 3, "instances": []}]),
        f"{R0}.type must be a non-empty string, got number",
    ),
    "name_empty": (
        _state([{**RES, "name": "", "instances": []}]),
        f"{R0}.name must be a non-empty string, got string",
    ),
    "module_bad": (
        _state([{**RES, "module": "net", "instances": []}]),
        f"{R0}.module must be a module address like 'module.x', got 'net'",
    ),
    "provider_list": (
        _state([{**RES, "provider": ["p"], "instances": []}]),
        f"{R0}.provider must be a string, got list",
    ),
    "instance_string": (_state([{**RES, "instances": ["i"]}]), f"{I0} must be an object, got string"),
    "index_key_float": (
        _inst(index_key=1.5),
        f"{I0}.index_key must be an integer or a string, got number 1.5",
    ),
    "index_key_bool": (
        _inst(index_key=True),
        f"{I0}.index_key must be an integer or a string, got boolean True",
    ),
    "attributes_string": (_inst(attributes="x"), f"{I0}.attributes must be an object, got string"),
    "attributes_flat_list": (
        _inst(attributes=None, attributes_flat=["a"]),
        f"{I0}.attributes_flat must be an object, got list",
    ),
    "deposed_number": (_inst(deposed=1), f"{I0}.deposed must be a string, got number"),
    "sensitive_object": (
        _inst(sensitive_attributes={}),
        f"{I0}.sensitive_attributes must be a list, got object",
    ),
    "dependencies_string": (_inst(dependencies="a.b"), f"{I0}.dependencies must be a list of addresses"),
    "dependencies_numbers": (_inst(dependencies=[1]), f"{I0}.dependencies must be a list of addresses"),
    "schema_version_string": (
        _inst(schema_version="1"),
        f"{I0}.schema_version must be an integer, got string",
    ),
    "schema_version_float": (
        _inst(schema_version=1.5),
        f"{I0}.schema_version must be an integer, got number",
    ),
    "second_resource_bad": (
        _state([{**RES, "instances": []}, 7]),
        "resources[1] must be an object, got number",
    ),
    # format 3
    "v3_modules_object": (_v3({}), "'modules' must be a list in a format-3 state"),
    "v3_module_string": (_v3(["root"]), f"{M0} must be an object"),
    "v3_path_missing": (_v3([{}]), f"{M0}.path must be a list of names starting with 'root'"),
    "v3_path_not_root": (_v3([{"path": ["main"]}]), f"{M0}.path must start with 'root', got 'main'"),
    "v3_outputs_list": (_v3([{"path": ["root"], "outputs": []}]), f"{M0}.outputs must be an object"),
    "v3_resources_list": (_v3([{"path": ["root"], "resources": []}]), f"{M0}.resources must be an object"),
    "v3_key_short": (
        _v3res({}, "web"),
        f"{M0}.resources['web']: resource key 'web' is not TYPE.NAME[.INDEX]",
    ),
    "v3_key_long": (
        _v3res({}, "a.b.c.d"),
        f"{M0}.resources['a.b.c.d']: resource key 'a.b.c.d' is not TYPE.NAME[.INDEX]",
    ),
    "v3_resource_string": (_v3res("x"), f"{WEB} must be an object"),
    "v3_primary_list": (_v3res({"primary": []}), f"{WEB}.primary must be an object"),
    "v3_attributes_list": (
        _v3res({"primary": {"attributes": ["a"]}}),
        f"{WEB}.primary.attributes must be an object",
    ),
    "v3_deposed_string": (_v3res({"deposed": "x"}), f"{WEB}.deposed must be a list"),
    "v3_deposed_item": (_v3res({"deposed": ["x"]}), f"{WEB}.deposed[0] must be an object"),
    "v3_type_list": (
        _v3res({"type": ["x"], "primary": {"id": "i"}}),
        None,
    ),  # ignored: the key names the type
}


@pytest.mark.parametrize("case", sorted(READER_CASES))
def test_bad_content_same_error_on_both_paths(case: str) -> None:
    content, problem = READER_CASES[case]
    if problem is None:
        assert small(content).read() == streaming(content).read()
        return
    for reader in (small(content, "f.tfstate"), streaming(content, "f.tfstate")):
        with pytest.raises(StateFormatError) as err:
            reader.read()
        assert str(err.value) == f"f.tfstate: {problem}"


@pytest.mark.parametrize(
    "content",
    [
        TRUNCATED,
        V4_FULL[:-3],
        V4_FULL + b"}",
        V4_FULL.replace(b'"serial": 42,', b'"serial": 42', 1),
        V4_FULL.replace(b'"name": "web"', b'"name": web', 1),
        V4_FULL.replace(b'"id": "subnet-0a"', b'"id": "subnet-\x01"', 1),
        V4_FULL.replace(b"\n  ", b"\n\t", 40).replace(b'"id": "sg-', b'"id" "sg-', 1),
        V4_FULL.replace(b'"id": "subnet-0a"', b'"id": "subnet-\xff\xfe"', 1),
        V4_FULL.replace(b'"id": "subnet-0a"', b'"id": "subnet-\xed\xa0\x80"', 1),  # an encoded surrogate
        json.dumps(json.loads(V4_FULL)).encode()[:-40],
        json.dumps(json.loads(V4_FULL), indent=4)
        .encode()
        .replace(b'"index_key": 1,', b'"index_key": 1,,', 1),
    ],
)
def test_json_syntax_errors_name_a_line_and_column_on_both_paths(content: bytes) -> None:
    messages = []
    for reader in (small(content, "f"), streaming(content, "f")):
        with pytest.raises(StateFormatError) as err:
            reader.read()
        assert str(err.value).startswith("f: invalid JSON: ")
        assert err.value.line is not None and err.value.column is not None
        messages.append((err.value.line, err.value.column))
    (small_line, small_col), (stream_line, stream_col) = messages
    # yajl reports the end of the token it failed on, orjson its start
    assert small_line == stream_line
    assert small_col <= stream_col <= small_col + 30


def test_invalid_utf8_past_the_first_block_same_message_on_both_paths() -> None:
    for bad in (b"\xff\xfe", b"\xed\xa0\x80", b"\xc3"):
        content = V4_FULL.replace(b'"id": "subnet-0a"', b'"id": "subnet-' + bad + b'"', 1)
        line = content[: content.index(b"subnet-" + bad)].count(b"\n") + 1
        messages = set()
        for reader in (small(content, "f"), streaming(content, "f")):
            with pytest.raises(StateFormatError) as err:
                reader.read()
            messages.add(str(err.value))
        assert messages == {f"f: invalid JSON: invalid UTF-8 text (line {line}, column 27)"}


def test_nesting_at_the_limit_is_accepted_and_one_more_level_refused() -> None:
    # The attribute sits at depth 6 (document, resources, resource, instances, instance, attributes).
    for extra, ok in ((1018, True), (1019, False)):
        deep = b"[" * extra + b"]" * extra
        content = _inst(attributes={"id": "x", "deep": "DEEP"}).replace(b'"DEEP"', deep)
        for layout in (content, content.replace(b"\n", b"").replace(b"  ", b"")):
            for reader in (small(layout), streaming(layout)):
                if ok:
                    assert len(reader.instances()) == 1
                else:
                    with pytest.raises(StateFormatError, match="nested deeper than 1024 levels"):
                        reader.read()


# --- large files (> SMALL_FILE_BYTES): the streaming path ------------------------------------------


@pytest.fixture(scope="module")
def big_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~38 MB state in Terraform's layout (generated once for this module)."""
    path = tmp_path_factory.mktemp("big") / "big.tfstate"
    path.write_text(json.dumps(build(25_000), indent=2) + "\n")
    assert path.stat().st_size > SMALL_FILE_BYTES
    return path


@pytest.fixture
def memory_cap() -> Iterator[None]:
    """Cap this process's address space at its current size + 2 GiB for the duration of a test, so a
    parser regression fails with MemoryError instead of eating the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/status") as fh:
            vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        pytest.skip("no /proc/self/status: cannot cap memory safely")
    cap = vm + 2 * 1024**3
    if hard != resource.RLIM_INFINITY and cap > hard:
        cap = hard
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_big_valid_state_lists_completely(big_state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "state", "list", "--state", str(big_state), "--format", "json")
    assert (code, err) == (0, "")
    records = json.loads(out)["resources"]
    assert len(records) == 25_000
    assert len({(r["address"], r["deposed"]) for r in records}) == 25_000
    reader = StateReader.from_path(big_state)
    assert reader.streaming
    assert [r["address"] for r in records] == [i.address for i in reader.iter_instances()]


@pytest.mark.parametrize("where", ["middle", "last_line"])
def test_big_truncated_state_fails_without_partial_output(
    where: str, big_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = big_state.read_bytes()
    # "middle": inside a resource 90% of the way through (the rest must still exceed SMALL_FILE_BYTES)
    cut = int(len(data) * 0.9) if where == "middle" else len(data) - 20
    path = tmp_path / "truncated.tfstate"
    path.write_bytes(data[:cut])
    assert path.stat().st_size > SMALL_FILE_BYTES
    last = data[: data.rfind(b"\n", 0, cut) + 1]
    line, column = last.count(b"\n") + 1, cut - len(last) + 1
    problem = f"invalid JSON: unexpected end of file (truncated?) (line {line}, column {column})"
    code, out, err = run_cli(capsys, "state", "list", "--state", str(path), "--format", "json")
    assert (code, out, err) == (1, "", f"error: {path}: {problem}\n")
    target = tmp_path / "out.json"
    code, out, err = run_cli(capsys, "state", "list", "-s", str(path), "-f", "json", "-o", str(target))
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert not target.exists()


@pytest.mark.parametrize("layout", ["terraform", "compact"])
def test_big_absurdly_nested_state_is_refused_quickly_in_little_memory(
    layout: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], memory_cap: None
) -> None:
    doc = json.loads(V4_FULL)
    doc["resources"][0]["instances"][0]["attributes"]["pad"] = "x" * (SMALL_FILE_BYTES + 1024)
    doc["resources"][-2]["instances"][0]["attributes"]["deep"] = "DEEP"
    text = json.dumps(doc, indent=2 if layout == "terraform" else None).encode()
    path = tmp_path / "deep.tfstate"
    path.write_bytes(text.replace(b'"DEEP"', b"[" * 100_000 + b"]" * 100_000))
    code, out, err = run_cli(capsys, "state", "list", "--state", str(path), "--format", "json")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {path}: invalid JSON: nested deeper than 1024 levels (line ")
    assert err.count("\n") == 1


def test_big_state_corrupt_in_its_first_half(
    big_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = big_state.read_bytes()
    at = data.index(b'"schema_version": 1', len(data) // 4)
    bad = data[:at] + b'"schema_version" 1' + data[at + len(b'"schema_version": 1') :]
    path = tmp_path / "corrupt.tfstate"
    path.write_bytes(bad)
    line = bad.count(b"\n", 0, at) + 1
    code, out, err = run_cli(capsys, "state", "list", "--state", str(path), "--format", "json")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {path}: invalid JSON: ") and err.count("\n") == 1
    assert f"(line {line}, column " in err


def test_big_state_whose_last_resource_holds_most_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(V4_FULL)
    blob = "x" * (SMALL_FILE_BYTES + 1024)
    doc["resources"][-1]["instances"] = [{"schema_version": 0, "attributes": {"id": "big", "blob": blob}}]
    del doc["check_results"]  # (their objects are laid out like resources: a "boundary" after the array)
    path = tmp_path / "lopsided.tfstate"
    path.write_text(json.dumps(doc, indent=2))
    code, out, err = run_cli(capsys, "state", "list", "--state", str(path), "--format", "json")
    assert (code, err) == (0, "")
    records = json.loads(out)["resources"]
    assert len(records) == 14
    assert (records[-1]["address"], records[-1]["id"]) == ("null_resource.gone", "big")


class _Trickle:
    """A binary stream that returns at most `step` bytes per read, to put chunk boundaries everywhere."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def read(self, n: int = -1) -> bytes:
        size = self._step if n < 0 else min(n, self._step)
        out = self._data[self._pos : self._pos + size]
        self._pos += len(out)
        return out


def _drain(data: bytes, step: int) -> Any:
    guard = stream_mod._Guarded(_Trickle(data, step), "g")  # type: ignore[arg-type]
    while guard.read(4096):
        pass
    return guard


def test_depth_guard_ignores_brackets_in_strings_whatever_the_chunk_boundaries() -> None:
    # brackets inside strings, after escaped quotes and escaped backslashes, must not count
    tricky = '"\\\\" "\\"[[[" "\\\\\\"{{" "' + "[" * 1500 + '" "\\u005b" "\\\\"'
    doc = ("[" * 1000 + "{" + '"k": [' + tricky.replace(" ", ", ") + "]}" + "]" * 1000).encode()
    assert orjson.loads(doc)  # valid JSON, 1002 levels deep
    for step in (1, 2, 3, 5, 7, 64, 4096):
        guard = _drain(doc, step)
        assert (guard._depth, guard._in_string, guard._carry) == (0, False, b""), step
    assert len(small(_inst(attributes={"id": "x", "s": tricky})).instances()) == 1


def test_depth_guard_names_the_exact_bracket_whatever_the_chunk_boundaries() -> None:
    doc = ('{"a": "x\\\\", "b": [\n  ' + "[" * 1023 + "]" * 1023 + "]}").encode()
    # the document object and "b" make 2 levels: the 1023rd bracket opened on line 2 is level 1025
    for step in (1, 3, 4096):
        with pytest.raises(StateFormatError) as err:
            _drain(doc, step)
        assert (err.value.line, err.value.column) == (2, 3 + 1022 + 1)  # just past it, as orjson says
    with pytest.raises(StateFormatError) as err:
        small(doc).header()
    assert (err.value.line, err.value.column) == (2, 3 + 1022 + 1)
