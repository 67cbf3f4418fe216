"""Accepting drift into the configuration: set the changed arguments of a resource to their live
values in the `.tf` files, leaving every other byte as it was.

`patch_config(files, address, changes, schema=None) -> Patch` takes the text of the `.tf` files of a
root module (path → text), a root-module address (`TYPE.NAME`, `TYPE.NAME[0]`, `TYPE.NAME["k"]`) and
the drift changes `[{path, expected, actual}]`, and edits `resource "TYPE" "NAME"` in place:
- a top-level argument or one in a nested block (`versioning_configuration[0].status`) gets the live
  value written by the HCL renderer (`codegen.hcl`); a null live value removes the line;
- a map entry (`tags.env`) is replaced, added or removed inside the object constructor;
- an argument the block does not set is added on a new line, its `=` aligned as `terraform fmt`
  aligns the run of arguments it joins (an argument the provider computes needs no line: skipped).
It refuses — a reason and no edit at all — when a current value is an expression (a variable, a
reference, a function call, a template) rather than a literal, when the block cannot be found (or is
found twice, or in an override file), for a set of blocks or a list element it cannot map to the
configuration, for `dynamic` blocks, and for one instance of a `count`/`for_each` resource (its
arguments are shared by every instance) unless it is the only instance. Pure.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from driftmgr.engine.codegen import hcl
from driftmgr.engine.codegen.hclscan import (
    Attr,
    Block,
    HclSyntaxError,
    decode_string,
    indent_of,
    literal,
    parse_body,
    parse_object,
)
from driftmgr.engine.schema import SET_KINDS, Kind, TypeSchema, split_path

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_ADDRESS = re.compile(rf'^({_NAME})\.({_NAME})(?:\[(\d+|"(?:[^"\\]|\\.)*")\])?$')
_META = frozenset({"count", "for_each", "provider", "depends_on", "lifecycle", "connection", "provisioner"})


@dataclass(slots=True)
class Patch:
    """The new text of the files that change, what was set, and why nothing was when refused."""

    files: dict[str, str] = field(default_factory=dict)  # path → new full text (changed files only)
    patched: list[str] = field(default_factory=list)  # change paths written into the configuration
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why no edit is needed)
    refused: str | None = None  # the reason nothing was edited
    diff: str = ""  # unified diff of the changed files

    @property
    def ok(self) -> bool:
        return self.refused is None


class Refused(Exception):
    """Why a patch cannot be made safely."""


def unified_diff(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    """`diff -u` of every file whose text differs (a/ and b/ prefixes, sorted by path)."""
    out: list[str] = []
    for path in sorted(after):
        old, new = before.get(path, ""), after[path]
        if old == new:
            continue
        out.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
            )
        )
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n\\ No newline at end of file\n"
    return "".join(out)


def patch_config(
    files: Mapping[str, str],
    address: str,
    changes: Sequence[Mapping[str, Any]],
    *,
    schema: TypeSchema | None = None,
) -> Patch:
    """Set each change's path of `address` to its `actual` value (see the module docstring)."""
    try:
        path, texts, result = _patch(files, address, changes, schema)
    except Refused as exc:
        return Patch(refused=str(exc))
    if texts != files[path]:
        result.files = {path: texts}
        result.diff = unified_diff({path: files[path]}, result.files)
    return result


# --- locating the resource ------------------------------------------------------------------------


def _parse_address(address: str) -> tuple[str, str, int | str | None]:
    m = _ADDRESS.match(address)
    if m is None:
        if address.startswith("module."):
            raise Refused(f"{address} is in a child module: only root-module resources are patched")
        raise Refused(f"{address} is not a managed resource address (TYPE.NAME[KEY])")
    raw = m.group(3)
    key: int | str | None = None
    if raw is not None:
        key = int(raw) if raw.isdigit() else hcl_unquote(raw)
    return m.group(1), m.group(2), key


def hcl_unquote(raw: str) -> str:
    return decode_string(raw)


def _find(files: Mapping[str, str], tf_type: str, name: str) -> tuple[str, Block]:
    found: list[tuple[str, Block]] = []
    for path in sorted(files):
        text = files[path]
        try:
            items, _ = parse_body(text)
        except HclSyntaxError as exc:
            raise Refused(f"cannot read {path}: {exc}") from exc
        found += [
            (path, b)
            for b in items
            if isinstance(b, Block) and b.type == "resource" and b.labels == [tf_type, name]
        ]
    where = f'resource "{tf_type}" "{name}"'
    if not found:
        raise Refused(f"no {where} block in the configuration's .tf files")
    if len(found) > 1:
        raise Refused(f"{where} is declared in {len(found)} places: {', '.join(p for p, _ in found)}")
    path = found[0][0]
    stem = path.rsplit("/", 1)[-1].removesuffix(".tf")
    if stem == "override" or stem.endswith("_override"):
        raise Refused(f"{where} is in the override file {path}: its effective configuration is merged")
    if any(
        b.labels == [tf_type, name] for p in files if p != path for b in _resource_blocks(files[p], tf_type)
    ):
        raise Refused(f"{where} is also overridden elsewhere")
    return found[0]


def _resource_blocks(text: str, tf_type: str) -> list[Block]:
    try:
        items, _ = parse_body(text)
    except HclSyntaxError:
        return []
    return [b for b in items if isinstance(b, Block) and b.type == "resource" and b.labels[:1] == [tf_type]]


def _single_instance(text: str, block: Block, address: str, key: int | str | None) -> None:
    """Refuse one instance of a count/for_each resource unless it is the only one."""
    attrs = block.attrs()
    meta = "count" if "count" in attrs else "for_each" if "for_each" in attrs else None
    if meta is None:
        if key is not None:
            raise Refused(f"{address} has an index but its block has neither count nor for_each")
        return
    if key is None:
        raise Refused(f"{address} has no index but its block has {meta}")
    a = attrs[meta]
    ok, value = literal(text, a.vstart, a.vend)
    only = ok and (
        (meta == "count" and value == 1 and key == 0)
        or (meta == "for_each" and isinstance(value, dict | list) and len(value) == 1 and key in value)
    )
    if not only:
        raise Refused(
            f"{address} is one instance of a {meta} resource: its arguments are shared by every instance "
            "(or derived from its index), so the live value of one instance cannot be written safely"
        )


# --- the edits ---------------------------------------------------------------------------------


def _patch(
    files: Mapping[str, str],
    address: str,
    changes: Sequence[Mapping[str, Any]],
    schema: TypeSchema | None,
) -> tuple[str, str, Patch]:
    tf_type, name, key = _parse_address(address)
    path, block = _find(files, tf_type, name)
    text = files[path]
    _single_instance(text, block, address, key)
    result = Patch()
    for change in changes:
        cpath = str(change.get("path") or "")
        if not cpath:
            raise Refused("a change without a path")
        edited = _apply(text, tf_type, name, cpath, change.get("actual"), schema)
        if edited is None:
            result.skipped.append((cpath, "the provider computes it: the configuration does not set it"))
            continue
        text = edited
        result.patched.append(cpath)
    return path, text, result


def _resource(text: str, tf_type: str, name: str) -> Block:
    items, _ = parse_body(text)
    return next(
        b for b in items if isinstance(b, Block) and b.type == "resource" and b.labels == [tf_type, name]
    )


def _schema_path(parts: list[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _navigate(
    text: str, block: Block, parts: list[str | int], cpath: str, schema: TypeSchema | None
) -> tuple[Block, list[str | int], list[str | int]]:
    """Down the nested blocks named at the start of `parts`: (the innermost block, the parts walked,
    the rest: an argument name and perhaps a map key)."""
    walked: list[str | int] = []
    while parts:
        head = parts[0]
        if not isinstance(head, str):
            raise Refused(f"{cpath}: cannot map the index to the configuration")
        if head in _META:
            raise Refused(f"{cpath}: {head} is a meta-argument, not a value of the resource")
        blocks = block.blocks(head)
        kind = schema.kind(_schema_path([*walked, head])) if schema is not None else None
        is_block = bool(blocks) or (kind is not None and kind.value.startswith("block"))
        if any(b.labels[:1] == [head] for b in block.blocks("dynamic")):
            raise Refused(f"{cpath}: {head} blocks are generated by a dynamic block")
        if not is_block:
            return block, walked, parts
        if not blocks:
            raise Refused(f"{cpath}: the configuration has no {head} block to set it in")
        index: int = 0
        rest = parts[1:]
        if rest and isinstance(rest[0], int):
            index, rest = rest[0], rest[1:]
        if not rest:
            raise Refused(f"{cpath}: a change of whole {head} blocks cannot be written as arguments")
        if kind in SET_KINDS and len(blocks) > 1:
            raise Refused(f"{cpath}: {head} is a set of blocks: its index does not name a block of the file")
        if index >= len(blocks):
            raise Refused(f"{cpath}: the configuration has {len(blocks)} {head} block(s)")
        block = blocks[index]
        walked += [head, index]
        parts = rest
    raise Refused(f"{cpath}: no argument named")


def _apply(
    text: str, tf_type: str, name: str, cpath: str, actual: Any, schema: TypeSchema | None
) -> str | None:
    """The text with one change written, or None when no edit is needed."""
    parts = split_path(cpath)
    block, walked, rest = _navigate(text, _resource(text, tf_type, name), parts, cpath, schema)
    arg = rest[0]
    assert isinstance(arg, str)
    spath = _schema_path([*walked, arg])
    attr_schema = schema.attribute(spath) if schema is not None else None
    if schema is not None and attr_schema is None:
        raise Refused(f"{cpath}: {tf_type} has no argument {spath}")
    if attr_schema is not None and attr_schema.computed_only:
        return None
    if len(rest) > 2 or (len(rest) == 2 and not isinstance(rest[1], str)):
        raise Refused(f"{cpath}: cannot map an element of {arg} to the configuration")
    if len(rest) == 2 and attr_schema is not None and attr_schema.kind is not Kind.MAP:
        raise Refused(f"{cpath}: {arg} is not a map")
    attrs = block.attrs()

    def reparse(t: str) -> list[Attr | Block]:
        return _resource_items(t, tf_type, name, walked)

    value = _renderable(actual, attr_schema.kind if attr_schema is not None and len(rest) == 1 else None)
    if arg not in attrs:
        if attr_schema is not None and attr_schema.computed:
            return None  # unset and computed: Terraform keeps the live value
        if actual is None:
            return None  # unset is null already
        if len(rest) == 2:
            value = {str(rest[1]): value}
        return _add(text, block, arg, value, reparse)
    a = attrs[arg]
    if len(rest) == 1:
        ok, _ = literal(text, a.vstart, a.vend)
        if not ok:
            raise Refused(f"{cpath}: the configuration sets it to an expression ({_excerpt(text, a)})")
        if actual is None:
            return _remove_entry(text, a, reparse)
        return _replace(text, a, value)
    return _map_entry(text, a, str(rest[1]), actual, cpath, reparse)


def _renderable(actual: Any, kind: Kind | None) -> Any:
    if kind is Kind.STRING and isinstance(actual, dict | list):
        return hcl.JsonDoc(actual)  # a JSON document compared as data
    return actual


def _excerpt(text: str, a: Attr) -> str:
    snippet = " ".join(text[a.vstart : a.vend].split())
    return snippet if len(snippet) <= 60 else snippet[:57] + "..."


def _resource_items(text: str, tf_type: str, name: str, walked: list[str | int]) -> list[Attr | Block]:
    block = _resource(text, tf_type, name)
    for i in range(0, len(walked), 2):
        head, index = walked[i], walked[i + 1]
        assert isinstance(head, str) and isinstance(index, int)
        block = block.blocks(head)[index]
    return block.items


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _render(text: str, at: int, value: Any) -> str:
    level = len(indent_of(text, at).expandtabs(2)) // len(hcl.INDENT)
    return hcl.value(value, level).replace("\n", _newline(text))


def _replace(text: str, a: Attr, value: Any) -> str:
    return text[: a.vstart] + _render(text, a.start, value) + text[a.vend :]


def _own_line(text: str, a: Attr) -> bool:
    before = text[a.line_start : a.start]
    after = text[a.vend : a.line_end]
    if a.sep is not None:
        after = text[a.sep + 1 : a.line_end]
    after = after.strip()
    return not before.strip() and (not after or after.startswith(("#", "//")))


def _remove_entry(text: str, a: Attr, reparse: Any) -> str:
    if not _own_line(text, a):
        raise Refused(f"{a.name} shares its line with other code: cannot remove it cleanly")
    out = text[: a.line_start] + text[a.line_end :]
    return _realign(out, reparse(out), a.line_start)


def _add(text: str, block: Block, name: str, value: Any, reparse: Any) -> str:
    """A new `name = value` line after the block's last argument (or first in the block), its `=`
    aligned with the run of arguments it joins."""
    nl = _newline(text)
    if "\n" not in text[block.open + 1 : block.close]:
        raise Refused(f"{block.type} is written on one line: cannot add {name} to it cleanly")
    attrs = [i for i in block.items if isinstance(i, Attr)]
    extra = ""
    if attrs:
        last = attrs[-1]
        indent, at = indent_of(text, last.start), last.line_end
        if at > block.close or not _own_line(text, last):
            raise Refused(f"cannot add {name}: the block's last argument shares its line")
    else:
        indent = indent_of(text, block.start) + hcl.INDENT
        at = text.index("\n", block.open) + 1
        extra = nl if block.items else ""  # a blank line before the nested blocks
    level = len(indent.expandtabs(2)) // len(hcl.INDENT)
    line = f"{indent}{name} = {hcl.value(value, level)}".replace("\n", nl)
    out = text[:at] + line + nl + extra + text[at:]
    return _realign(out, reparse(out), at)


def _map_entry(text: str, a: Attr, key: str, actual: Any, cpath: str, reparse: Any) -> str:
    if text[a.vstart] != "{":
        raise Refused(f"{cpath}: the configuration sets {a.name} to an expression ({_excerpt(text, a)})")
    obj = parse_object(text, a.vstart)
    if obj.close + 1 != a.vend:
        raise Refused(f"{cpath}: the configuration sets {a.name} to an expression ({_excerpt(text, a)})")
    if any(not e.literal_key for e in obj.entries):
        raise Refused(f"{cpath}: {a.name} has keys computed by expressions")
    entry = next((e for e in obj.entries if e.name == key), None)
    multi = "\n" in text[obj.open : obj.close]
    if entry is not None:
        ok, _ = literal(text, entry.vstart, entry.vend)
        if not ok:
            raise Refused(f"{cpath}: the configuration sets it to an expression ({_excerpt(text, entry)})")
        if actual is not None:
            return text[: entry.vstart] + _render(text, entry.start, actual) + text[entry.vend :]
        if multi:
            return _remove_entry(text, entry, lambda t: _object_entries(t, reparse, a.name))
        return _remove_inline(text, obj.entries, entry, obj.open, obj.close)
    if actual is None:
        return text  # already absent
    rendered_key = hcl.object_key(key)
    if not multi:
        if not obj.entries:
            return text[: obj.open] + _render(text, a.start, {key: actual}) + text[obj.close + 1 :]
        last = obj.entries[-1]
        end = last.sep + 1 if last.sep is not None else last.vend
        insert = f"{'' if last.sep is not None else ','} {rendered_key} = {_render(text, a.start, actual)}"
        return text[:end] + insert + text[end:]
    nl = _newline(text)
    if obj.entries:
        last = obj.entries[-1]
        if not _own_line(text, last):
            raise Refused(f"{cpath}: the entries of {a.name} share lines: cannot add {key} cleanly")
        indent, at = indent_of(text, last.start), last.line_end
        comma = "," if last.sep is not None else ""
    else:
        indent, at, comma = indent_of(text, a.start) + hcl.INDENT, text.index("\n", obj.open) + 1, ""
    level = len(indent.expandtabs(2)) // len(hcl.INDENT)
    line = f"{indent}{rendered_key} = {hcl.value(actual, level)}{comma}".replace("\n", nl) + nl
    out = text[:at] + line + text[at:]
    return _realign(out, _object_entries(out, reparse, a.name), at)


def _object_entries(text: str, reparse: Any, name: str) -> list[Attr | Block]:
    items = reparse(text)
    a = next(i for i in items if isinstance(i, Attr) and i.name == name)
    return list(parse_object(text, a.vstart).entries)


def _remove_inline(text: str, entries: list[Attr], entry: Attr, open_: int, close: int) -> str:
    if len(entries) == 1:
        return text[:open_] + "{}" + text[close + 1 :]
    k = entries.index(entry)
    if k < len(entries) - 1:  # up to the next entry
        return text[: entry.start] + text[entries[k + 1].start :]
    prev = entries[k - 1]
    end = entry.sep + 1 if entry.sep is not None else entry.vend
    return text[: prev.vend] + text[end:]


def _realign(text: str, items: Sequence[Attr | Block], anchor: int) -> str:
    """Align the `=` of the run of one-line arguments next to offset `anchor`, as terraform fmt."""
    runs: list[list[Attr]] = []
    current: list[Attr] = []
    for item in items:
        if not (isinstance(item, Attr) and item.single_line(text) and _own_line(text, item)):
            current = []
            continue
        if current and item.line_start == current[-1].line_end:
            current.append(item)
        else:
            current = [item]
            runs.append(current)
    run = next(
        (r for r in runs if r[0].line_start <= anchor <= r[-1].line_end),
        None,
    )
    if run is None:
        return text
    width = max(a.key_end - a.start for a in run)
    for a in reversed(run):
        text = text[: a.key_end] + " " * (width - (a.key_end - a.start) + 1) + text[a.eq :]
    return text
