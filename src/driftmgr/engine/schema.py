"""The provider schema, parsed into a tree the comparison walks.

`ProviderSchema.from_dict` takes the document shipped as package data
(`{"resource_schemas": {type: {"version", "block"}}}`) or the raw output of
`terraform providers schema -json` (`{"provider_schemas": {addr: {...}}}`); the caller loads it.
Each resource type becomes a `TypeSchema` whose `root` is an object `Node`; every attribute and
nested block is an `Attribute` holding a `Node` of one `Kind`. Nested blocks are values too: a
`block-list`/`block-set` node has an object `elem`, like a list/set of objects, since Terraform
stores blocks in state as lists of objects (`single` blocks as one object).

A node also says how its strings are normalized (`fmt`): `json` for policy documents and other
known JSON attributes, `net` for CIDR blocks and IP addresses, `proto` for IP protocols. That is
decided here from the attribute name, once per type, so the comparison never re-derives it per value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOL = "bool"
    DYNAMIC = "dynamic"
    LIST = "list"
    SET = "set"
    MAP = "map"
    OBJECT = "object"
    TUPLE = "tuple"
    BLOCK_LIST = "block-list"
    BLOCK_SET = "block-set"
    BLOCK_SINGLE = "block-single"
    BLOCK_MAP = "block-map"


SCALAR_KINDS = frozenset({Kind.STRING, Kind.NUMBER, Kind.BOOL})
LIST_KINDS = frozenset({Kind.LIST, Kind.BLOCK_LIST})
SET_KINDS = frozenset({Kind.SET, Kind.BLOCK_SET})
MAP_KINDS = frozenset({Kind.MAP, Kind.BLOCK_MAP})
OBJECT_KINDS = frozenset({Kind.OBJECT, Kind.BLOCK_SINGLE})

# String attributes holding JSON documents, besides names ending in `policy`/`policies`/`_json`.
JSON_ATTRIBUTES = frozenset(
    {"container_definitions", "event_pattern", "definition", "policy_document", "template_body", "document"}
)
_JSON_SUFFIXES = ("policy", "policies", "_json")
_NET_RE = re.compile(r"cidr|(^|_)ips?$|ip_address|ipv[46]_address|(^|_)ipv6_addresses$")
# IP protocol attributes (network ACL entries, security group rules): "tcp" in the configuration is
# stored as written and read back as "6".
PROTOCOL_ATTRIBUTES = frozenset({"protocol", "ip_protocol"})


def value_format(name: str) -> str | None:
    """How string values of attribute `name` are normalized: "json", "net", "proto" or None (as is)."""
    if name in JSON_ATTRIBUTES or name.endswith(_JSON_SUFFIXES):
        return "json"
    if _NET_RE.search(name):
        return "net"
    if name in PROTOCOL_ATTRIBUTES:
        return "proto"
    return None


@dataclass(slots=True, eq=False)
class Node:
    """The schema of one value. Collections and blocks have `elem`; objects have `attrs`."""

    kind: Kind
    elem: Node | None = None
    attrs: dict[str, Attribute] | None = None
    fmt: str | None = None  # strings only: "json" | "net" | "proto" | None
    min_items: int = 0
    max_items: int = 0  # 0: unbounded
    has_sensitive: bool = False  # some attribute below is sensitive (values need masking)

    @property
    def is_block(self) -> bool:
        return self.kind in (Kind.BLOCK_LIST, Kind.BLOCK_SET, Kind.BLOCK_SINGLE, Kind.BLOCK_MAP)


@dataclass(slots=True, eq=False)
class Attribute:
    """One attribute or nested block type of a block/object, with its schema flags."""

    name: str
    node: Node
    optional: bool = False
    required: bool = False
    computed: bool = False
    sensitive: bool = False
    deprecated: bool = False

    @property
    def kind(self) -> Kind:
        return self.node.kind

    @property
    def computed_only(self) -> bool:
        """Set by the provider only (arn, owner_id, timestamps): never a configuration value."""
        return self.computed and not self.optional and not self.required


_PATH_TOKEN = re.compile(r'\[(?:"((?:[^"\\]|\\.)*)"|(\d+)|\*)\]|\.?([^.\[\]]+)')


def split_path(path: str) -> list[str | int]:
    """`a.b[0].c["k.x"]` → ["a", "b", 0, "c", "k.x"]; `[*]` gives "*"."""
    out: list[str | int] = []
    for m in _PATH_TOKEN.finditer(path):
        quoted, index, name = m.group(1), m.group(2), m.group(3)
        if quoted is not None:
            out.append(quoted.replace('\\"', '"').replace("\\\\", "\\"))
        elif index is not None:
            out.append(int(index))
        elif name is not None:
            out.append(name)
        else:
            out.append("*")
    return out


@dataclass(slots=True, eq=False)
class TypeSchema:
    """The schema of one resource type: answers questions per attribute path."""

    tf_type: str
    version: int
    root: Node
    # per-rules compiled comparison plans, kept here so they live as long as the schema
    plans: dict[Any, Any] = field(default_factory=dict)

    @property
    def attributes(self) -> dict[str, Attribute]:
        assert self.root.attrs is not None
        return self.root.attrs

    def resolve(self, path: str) -> tuple[Attribute | None, Node | None]:
        """The last attribute named on `path` and the node the whole path selects.

        Indices (`[0]`, `[*]`) select elements of lists/sets; a name after a map selects a key
        (`tags.env` → the `tags` attribute and its string element node).
        """
        attr: Attribute | None = None
        node: Node | None = self.root
        for part in split_path(path):
            if node is None:
                return None, None
            if isinstance(part, int) or part == "*":
                if node.kind in LIST_KINDS or node.kind in SET_KINDS:
                    node = node.elem
                continue
            if node.kind in LIST_KINDS or node.kind in SET_KINDS or node.kind is Kind.BLOCK_SINGLE:
                node = node.elem
            if node is not None and node.kind in MAP_KINDS:
                node = node.elem
                continue
            if node is None or node.attrs is None or part not in node.attrs:
                return None, None
            attr = node.attrs[part]
            node = attr.node
        return attr, node

    def attribute(self, path: str) -> Attribute | None:
        """The attribute or block named by `path` (`root_block_device[0].volume_size`,
        `ingress.cidr_blocks`); a map key names the map's attribute (`tags.env` → tags)."""
        return self.resolve(path)[0]

    def node(self, path: str) -> Node | None:
        return self.resolve(path)[1]

    def kind(self, path: str) -> Kind | None:
        node = self.node(path)
        return node.kind if node is not None else None

    def element(self, path: str) -> Node | None:
        """The element schema of a list/set/map/block at `path`."""
        node = self.node(path)
        return node.elem if node is not None else None

    def is_computed_only(self, path: str) -> bool:
        attr = self.attribute(path)
        return attr is not None and attr.computed_only

    def is_sensitive(self, path: str) -> bool:
        attr = self.attribute(path)
        return attr is not None and attr.sensitive

    def is_optional(self, path: str) -> bool:
        attr = self.attribute(path)
        return attr is not None and attr.optional

    def is_required(self, path: str) -> bool:
        attr = self.attribute(path)
        return attr is not None and attr.required

    def is_computed(self, path: str) -> bool:
        attr = self.attribute(path)
        return attr is not None and attr.computed

    def walk(self) -> Iterator[tuple[str, Attribute]]:
        """Every attribute, depth first, with its dotted path (no indices)."""
        stack: list[tuple[str, Node]] = [("", self.root)]
        while stack:
            prefix, node = stack.pop()
            while node.attrs is None and node.elem is not None:
                node = node.elem
            for name, attr in (node.attrs or {}).items():
                path = f"{prefix}{name}"
                yield path, attr
                stack.append((f"{path}.", attr.node))


class ProviderSchema:
    """The resource schemas of one provider; types are parsed on first use."""

    __slots__ = ("_parsed", "_raw", "provider", "version")

    def __init__(self, resource_schemas: Mapping[str, Any], *, provider: str = "", version: str = "") -> None:
        self._raw = dict(resource_schemas)
        self._parsed: dict[str, TypeSchema] = {}
        self.provider = provider
        self.version = version

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProviderSchema:
        if "resource_schemas" in d:
            return cls(
                d["resource_schemas"],
                provider=str(d.get("provider", "")),
                version=str(d.get("provider_version", "")),
            )
        providers = d.get("provider_schemas")
        if isinstance(providers, Mapping) and providers:
            addr, body = next(iter(providers.items()))
            return cls(body.get("resource_schemas", {}), provider=str(addr))
        raise ValueError("not a provider schema document: no resource_schemas or provider_schemas")

    @property
    def types(self) -> list[str]:
        return sorted(self._raw)

    def __contains__(self, tf_type: object) -> bool:
        return tf_type in self._raw

    def type(self, tf_type: str) -> TypeSchema | None:
        found = self._parsed.get(tf_type)
        if found is None:
            raw = self._raw.get(tf_type)
            if raw is None:
                return None
            root = _block(raw.get("block") or {})
            for path in UNORDERED_LISTS.get(tf_type, ()):
                _unorder(root, path.split("."))
            found = TypeSchema(tf_type, int(raw.get("version") or 0), root)
            self._parsed[tf_type] = found
        return found


# Lists whose order neither the cloud keeps nor Terraform means (the API returns a security group
# rule's CIDRs in any order): compared as sets. Paths name attributes through nested blocks.
UNORDERED_LISTS: dict[str, tuple[str, ...]] = {
    "aws_security_group": tuple(
        f"{d}.{a}"
        for d in ("ingress", "egress")
        for a in ("cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids")
    ),
    "aws_security_group_rule": ("cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids"),
    "aws_network_acl": (),
}


def _unorder(root: Node, parts: list[str]) -> None:
    node: Node | None = root
    for i, part in enumerate(parts):
        if node is None or node.attrs is None or part not in node.attrs:
            return
        attr = node.attrs[part]
        if i == len(parts) - 1:
            if attr.node.kind is Kind.LIST:
                attr.node = replace(attr.node, kind=Kind.SET)
            return
        node = attr.node.elem if attr.node.elem is not None else attr.node


# --- parsing ----------------------------------------------------------------------------------


def _block(block: Mapping[str, Any]) -> Node:
    attrs: dict[str, Attribute] = {}
    for name, a in (block.get("attributes") or {}).items():
        if a.get("nested_type"):
            node = _nested_type(a["nested_type"])
        else:
            node = _cty(a.get("type", "dynamic"), value_format(name))
        attrs[name] = Attribute(
            name,
            node,
            optional=bool(a.get("optional")),
            required=bool(a.get("required")),
            computed=bool(a.get("computed")),
            sensitive=bool(a.get("sensitive")),
            deprecated=bool(a.get("deprecated")),
        )
    for name, b in (block.get("block_types") or {}).items():
        inner = _block(b.get("block") or {})
        mode = b.get("nesting_mode", "list")
        min_items, max_items = int(b.get("min_items") or 0), int(b.get("max_items") or 0)
        kind = {
            "set": Kind.BLOCK_SET,
            "single": Kind.BLOCK_SINGLE,
            "group": Kind.BLOCK_SINGLE,
            "map": Kind.BLOCK_MAP,
        }.get(mode, Kind.BLOCK_LIST)
        node = Node(
            kind, elem=inner, min_items=min_items, max_items=max_items, has_sensitive=inner.has_sensitive
        )
        attrs[name] = Attribute(name, node, optional=min_items == 0, required=min_items > 0)
    return Node(
        Kind.OBJECT,
        attrs=attrs,
        has_sensitive=any(a.sensitive or a.node.has_sensitive for a in attrs.values()),
    )


def _nested_type(nt: Mapping[str, Any]) -> Node:
    inner = _block(nt.get("block") or {"attributes": nt.get("attributes") or {}})
    mode = nt.get("nesting_mode", "single")
    if mode == "single":
        return inner
    kind = {"list": Kind.LIST, "set": Kind.SET, "map": Kind.MAP}.get(mode, Kind.LIST)
    return Node(kind, elem=inner, has_sensitive=inner.has_sensitive)


def _cty(t: Any, fmt: str | None) -> Node:
    """A cty type expression: "string" | ["list", T] | ["object", {name: T}, [optional...]] ..."""
    if isinstance(t, str):
        if t == "string":
            return Node(Kind.STRING, fmt=fmt)
        if t == "number":
            return Node(Kind.NUMBER)
        if t == "bool":
            return Node(Kind.BOOL)
        return Node(Kind.DYNAMIC)
    if isinstance(t, list) and len(t) >= 2:
        head = t[0]
        if head in ("list", "set", "map"):
            kind = {"list": Kind.LIST, "set": Kind.SET, "map": Kind.MAP}[head]
            return Node(kind, elem=_cty(t[1], fmt))
        if head == "object" and isinstance(t[1], Mapping):
            attrs = {
                name: Attribute(name, _cty(sub, value_format(name)), optional=True)
                for name, sub in t[1].items()
            }
            return Node(Kind.OBJECT, attrs=attrs)
        if head == "tuple" and isinstance(t[1], list):
            return Node(Kind.TUPLE)
    return Node(Kind.DYNAMIC)
