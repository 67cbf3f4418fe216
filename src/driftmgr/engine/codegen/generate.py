"""Codify unmanaged live resources: Terraform 1.5+ `import` blocks and resource configuration.

`generate(resources, managed, schema)` writes, for every resource it can codify,
- an `import { to = <address>  id = "<import id>" }` block (imports.tf), and
- a `resource` block (generated.tf) holding only arguments Terraform accepts: no computed-only
  attributes, no `id`/`tags_all`, no deprecated arguments, no sensitive values, nested blocks as
  blocks, one side of each known conflict, and no empty values or provider defaults,
so that `terraform plan` on the result shows imports only. Values that name another resource become
references (`vpc_id = aws_vpc.main.id`) when that resource is managed (`managed`: (type, id) →
address) or codified in the same run. What cannot be codified is listed in `skipped` with the
reason; omitted sensitive values are listed in `notes` and marked with a comment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from driftmgr.engine.codegen import hcl
from driftmgr.engine.codegen.naming import Namer, base_name, derived
from driftmgr.engine.codegen.quirks import TypeQuirks, quirks
from driftmgr.engine.codegen.refs import Key, Resolver, unmistakable
from driftmgr.engine.schema import SET_KINDS, Attribute, Kind, Node, ProviderSchema, TypeSchema
from driftmgr.models import Resource

# Never written, whatever the schema says.
ALWAYS_DROPPED = frozenset({"id", "tags_all"})
_OBJECT_COLLECTIONS = frozenset({Kind.LIST, Kind.SET})
_MAX_CYCLE_BREAKS = 1000
_DYNAMIC = Node(Kind.DYNAMIC)


@dataclass(slots=True)
class Generated:
    imports_tf: str
    generated_tf: str
    addresses: dict[Key, str] = field(default_factory=dict)  # (type, id) → address given to it
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (type, id, reason)
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (type, id, what was left out)


@dataclass(slots=True)
class _Item:
    res: Resource
    ts: TypeSchema
    q: TypeQuirks
    address: str = ""
    notes: list[str] = field(default_factory=list)


class _Skip(Exception):
    """This resource cannot be codified (the message says why)."""


def generate(resources: Sequence[Resource], managed: Mapping[Key, str], schema: ProviderSchema) -> Generated:
    """Import blocks and resource configuration for `resources` (see the module docstring)."""
    out = Generated(imports_tf="", generated_tf="")
    items = _select(resources, managed, schema, out)

    _name(items, managed)

    # Render once to find required-sensitive and missing arguments; the survivors are the targets of
    # references. Then render until no reference closes a cycle.
    bodies: dict[Key, hcl.Body] = {}
    resolver = _resolver(items, managed, schema)
    kept = []
    for item in items:
        try:
            bodies[item.res.key] = _resource_body(item, resolver)
            kept.append(item)
        except _Skip as exc:
            out.skipped.append((item.res.type, item.res.id, str(exc)))
    if len(kept) != len(items):
        items = kept
        resolver = _resolver(items, managed, schema)
        bodies = {item.res.key: _resource_body(item, resolver) for item in items}
    for _ in range(_MAX_CYCLE_BREAKS):
        edge = resolver.graph.find_cycle_edge()
        if edge is None:
            break
        resolver.banned.add(edge)
        resolver.reset_graph()
        for item in items:
            bodies[item.res.key] = _resource_body(item, resolver)

    imports: list[str] = []
    blocks: list[str] = []
    for item in sorted(items, key=lambda i: i.address):
        res = item.res
        out.addresses[res.key] = item.address
        out.notes.extend((res.type, res.id, n) for n in item.notes)
        imp = hcl.Body()
        imp.attr("to", hcl.Expr(item.address))
        imp.attr("id", res.import_id or res.id)
        imports.append(hcl.render_block(hcl.Block("import", (), imp)))
        blocks.append(
            hcl.render_block(
                hcl.Block("resource", (res.type, item.address.split(".", 1)[1]), bodies[res.key])
            )
        )
    out.imports_tf = "\n".join(imports)
    out.generated_tf = "\n".join(blocks)
    return out


def _select(
    resources: Sequence[Resource], managed: Mapping[Key, str], schema: ProviderSchema, out: Generated
) -> list[_Item]:
    batch = {r.key for r in resources}
    seen: set[Key] = set()
    items: list[_Item] = []
    for res in resources:
        if res.key in seen:
            continue
        seen.add(res.key)
        ts = schema.type(res.type)
        if ts is None:
            out.skipped.append((res.type, res.id, f"no provider schema for {res.type}"))
        elif res.key in managed:
            out.skipped.append((res.type, res.id, f"already managed as {managed[res.key]}"))
        elif res.default:
            out.skipped.append((res.type, res.id, f"cloud default: {res.default_reason or 'created by AWS'}"))
        elif res.parent is not None and res.parent_attr and res.parent in batch:
            out.skipped.append(
                (
                    res.type,
                    res.id,
                    f"written inline as `{res.parent_attr}` of {res.parent[0]} {res.parent[1]}",
                )
            )
        else:
            q = quirks(res.type)
            reason = q.skip_if(res.attributes) if q.skip_if else None
            if reason:
                out.skipped.append((res.type, res.id, reason))
            else:
                items.append(_Item(res, ts, q))
    return items


def _name(items: list[_Item], managed: Mapping[Key, str]) -> None:
    """Give every item its address; attachments and the like after what they are named after."""
    namer = Namer(managed.values())
    known: dict[str, str] = {}  # ARN or generated id → the name part of its address

    def remember(value: object, name: str) -> None:
        if isinstance(value, str) and unmistakable(value):
            known.setdefault(value, name)

    for (_t, rid), address in managed.items():
        remember(rid, address.rsplit(".", 1)[-1].split("[", 1)[0])
    for item in sorted(items, key=lambda i: (derived(i.res.type), i.res.type, i.res.id)):
        res = item.res
        name = namer.name(res.type, base_name(res.type, res.id, res.attributes, known.get))
        item.address = f"{res.type}.{name}"
        remember(res.id, name)
        remember(res.attributes.get("arn"), name)


def _resolver(items: list[_Item], managed: Mapping[Key, str], schema: ProviderSchema) -> Resolver:
    arns = {i.res.key: str(i.res.attributes.get("arn") or "") for i in items}
    names = {i.res.key: str(i.res.attributes.get("name") or "") for i in items}
    has_arn = {}
    for t in {*(k[0] for k in managed), *(i.res.type for i in items)}:
        ts = schema.type(t)
        has_arn[t] = ts is not None and "arn" in ts.attributes
    return Resolver(managed, {i.res.key: i.address for i in items}, arns, has_arn, names)


# --- one resource ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Ctx:
    item: _Item
    resolver: Resolver

    @property
    def key(self) -> Key:
        return self.item.res.key


def _resource_body(item: _Item, resolver: Resolver) -> hcl.Body:
    item.notes.clear()
    ctx = _Ctx(item, resolver)
    attrs = dict(item.res.attributes)
    for name, derive in item.q.derive.items():
        if _empty(attrs.get(name)):
            attrs[name] = derive(attrs)
    for loser in _conflict_losers(item.q, attrs, ""):
        attrs = {k: v for k, v in attrs.items() if k != loser}
    body = hcl.Body()
    _fill(body, item.ts.root, attrs, "", ctx, top=True)
    for note in reversed(item.notes):
        body.items.insert(0, hcl.Comment(f"{note}: set it yourself (e.g. from a secret store)"))
    return body


def _conflict_losers(q: TypeQuirks, attrs: Mapping[str, Any], prefix: str) -> list[str]:
    losers = []
    for winner, loser in q.conflicts:
        if winner.startswith(prefix) and loser.startswith(prefix):
            w, lo = winner[len(prefix) :], loser[len(prefix) :]
            if not _empty(attrs.get(w)) and lo in attrs:
                losers.append(lo)
    for name in attrs:  # `name_prefix` and friends conflict with the argument they prefix
        if name.endswith("_prefix") and not _empty(attrs.get(name[: -len("_prefix")])):
            losers.append(name)
    return losers


def _fill(
    body: hcl.Body, node: Node, values: Mapping[str, Any], prefix: str, ctx: _Ctx, *, top: bool
) -> None:
    q = ctx.item.q
    if not top:
        values = {k: v for k, v in values.items() if k not in _conflict_losers(q, values, prefix)}
    blocks: list[tuple[str, Attribute, Any]] = []
    scalars: list[tuple[str, Attribute, Any]] = []
    for name, attr in sorted((node.attrs or {}).items()):
        path = prefix + name
        if (top and name in ALWAYS_DROPPED) or path in q.drop:
            continue
        if attr.computed_only or (attr.deprecated and not attr.required):
            continue
        if name not in values:
            if attr.required and path not in q.keep:
                raise _Skip(f"the live attributes lack the required argument {path}")
            continue
        v = values[name]
        if attr.sensitive:
            if attr.required:
                raise _Skip(f"{path} is a required sensitive argument: its value is never written")
            if not _empty(v):
                ctx.item.notes.append(f"{path} is sensitive and was not written")
            continue
        if _as_blocks(attr):
            blocks.append((name, attr, v))
        else:
            scalars.append((name, attr, v))

    for name, attr, v in scalars:
        path = prefix + name
        out = _value(attr.node, v, path, ctx)
        if out is _OMIT or _omit(attr, out, path, q):
            continue
        if name == "tags" and top:
            continue  # written last, below
        body.attr(name, out)
    if top and "tags" in (node.attrs or {}) and "tags" not in q.drop:
        tags = _value((node.attrs or {})["tags"].node, values.get("tags"), "tags", ctx)
        if tags is not _OMIT and isinstance(tags, dict) and tags:
            body.attr("tags", tags)
    for name, attr, v in blocks:
        _blocks(body, name, attr, v, prefix + name, ctx)


def _as_blocks(attr: Attribute) -> bool:
    """Nested blocks, and SDKv2 attributes-as-blocks (lists/sets of objects), are written as blocks."""
    node = attr.node
    if node.is_block:
        return True
    return node.kind in _OBJECT_COLLECTIONS and node.elem is not None and node.elem.kind is Kind.OBJECT


def _blocks(body: hcl.Body, name: str, attr: Attribute, v: Any, path: str, ctx: _Ctx) -> None:
    node = attr.node
    elem = node.elem if node.elem is not None else node
    if node.kind is Kind.BLOCK_MAP and isinstance(v, Mapping):
        for label, inner in sorted(v.items()):
            if isinstance(inner, Mapping):
                _fill(body.block(name, str(label)), elem, inner, path + ".", ctx, top=False)
        return
    elements = [v] if isinstance(v, Mapping) else list(v or [])
    rendered: list[hcl.Body] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        inner = hcl.Body()
        _fill(inner, elem, element, path + ".", ctx, top=False)
        if inner or attr.required:
            rendered.append(inner)
    if node.kind in SET_KINDS:
        rendered.sort(key=lambda b: b.render())
    for inner in rendered:
        body.items.append(hcl.Block(name, (), inner))


_OMIT: Any = object()


def _value(node: Node, v: Any, path: str, ctx: _Ctx) -> Any:
    """The HCL value for live value `v` of schema `node` (references resolved), or _OMIT."""
    if v is None:
        return _OMIT
    kind = node.kind
    if kind is Kind.STRING:
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, int | float):
            v = hcl.number(v)
        if not isinstance(v, str):
            return _OMIT
        if node.fmt == "json" and v.strip()[:1] in ("{", "["):
            try:
                return hcl.JsonDoc(json.loads(v))
            except ValueError:
                return v
        ref = ctx.resolver.resolve(ctx.key, path, v)
        return ref if ref is not None else v
    if kind is Kind.NUMBER:
        if isinstance(v, bool):
            return _OMIT
        if isinstance(v, str):
            try:
                return int(v) if v.lstrip("-").isdigit() else float(v)
            except ValueError:
                return _OMIT
        return v if isinstance(v, int | float) else _OMIT
    if kind is Kind.BOOL:
        if isinstance(v, str):
            return v.lower() == "true"
        return bool(v)
    if kind in (Kind.LIST, Kind.SET):
        if not isinstance(v, list | tuple | set | frozenset):
            return _OMIT
        elem = node.elem or _DYNAMIC
        values = [x for x in (_value(elem, e, path, ctx) for e in v) if x is not _OMIT]
        if kind is Kind.SET:
            values.sort(key=lambda x: hcl.value(x))
        return values
    if kind is Kind.MAP:
        if not isinstance(v, Mapping):
            return _OMIT
        elem = node.elem or _DYNAMIC
        result = {}
        for k in sorted(v, key=str):
            out = _value(elem, v[k], f"{path}.{k}", ctx)
            if out is not _OMIT:
                result[str(k)] = out
        return result
    if kind is Kind.OBJECT:
        if not isinstance(v, Mapping):
            return _OMIT
        result = {}
        for name, attr in sorted((node.attrs or {}).items()):
            out = _value(attr.node, v.get(name), f"{path}.{name}", ctx)
            result[name] = None if out is _OMIT else out
        return result
    # dynamic / tuple: write JSON-like data as is
    return v if isinstance(v, str | int | float | bool | list | dict) else _OMIT


def _empty(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, list | tuple | dict | set) and not v)


def _omit(attr: Attribute, v: Any, path: str, q: TypeQuirks) -> bool:
    """Leave out what changes nothing: empty values, provider defaults, zero values of optional
    arguments (and any AWS default a quirk names). Required arguments are always written."""
    if attr.required or path in q.keep:
        return False
    if isinstance(v, hcl.Expr):
        return False
    raw = v.value if isinstance(v, hcl.JsonDoc) else v
    if path in q.omit_if and q.omit_if[path](json.dumps(raw) if isinstance(v, hcl.JsonDoc) else raw):
        return True
    if _empty(raw):
        return True
    if path in q.defaults:
        default = q.defaults[path]
        return isinstance(raw, bool) == isinstance(default, bool) and bool(raw == default)
    return raw is False or (isinstance(raw, int | float) and not isinstance(raw, bool) and raw == 0)
