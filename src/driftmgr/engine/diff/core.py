"""Attribute comparison of one state instance against one live resource (DESIGN §2).

`compare(expected, actual, schema)` lists the meaningful differences as `Change`s. Only what the
provider read is compared (keys of `actual`); equal values leave at the first `==`, so the schema
is consulted only for attributes that differ. Rules, each decided from the schema node:

- computed-only, state-only (`force_destroy`, `timeouts`…), volatile, `id` and `tags_all` never
  count; `tags` is compared against the state's `tags_all` (which includes provider default tags);
- null, "", [], {} and absence are equal unless the attribute is required; a state null equals
  the provider default of a small table (inside set and list elements too);
- sets and `set` blocks compare order-free: a set of objects reports the removed elements as
  `expected` and the added ones as `actual`; a set of scalars reports both whole sets;
- lists of objects compare per index (`root_block_device[0].volume_size`), maps per key
  (`tags.env`; removed key: actual None, added key: expected None);
- numbers as numbers, bools accept "true"/"false", CIDRs/IPs as networks, JSON documents
  semantically (see `engine.normalize`);
- sensitive values compare but show as "(sensitive)".
Recursion follows the schema (bounded); values deeper than `MAX_DEPTH` compare exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from driftmgr.engine.diff.paths import (
    Patterns,
    attr_path,
    compile_ignore,
    descend,
    index_path,
    into_elements,
    key_path,
    leaf_names,
)
from driftmgr.engine.diff.rules import DEFAULT_RULES, CompareRules
from driftmgr.engine.normalize.jsondoc import MAX_DEPTH
from driftmgr.engine.normalize.values import boolean, canonical, is_empty, number
from driftmgr.engine.schema import SCALAR_KINDS, Attribute, Kind, Node, TypeSchema, value_format
from driftmgr.models import Change

MASK = "(sensitive)"
ALWAYS_SKIPPED = frozenset({"id", "tags_all"})
NESTED_SKIPPED = frozenset({"tags_all"})  # e.g. aws_instance ebs_block_device[*].tags_all


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()
_NO_SCHEMA_PLANS: dict[CompareRules, _Plan] = {}
_EMPTY_OBJECT: frozenset[Any] = frozenset()
_SMALL_SET = 64  # order-only differences of sets up to this size are settled by list.remove


class _Plan:
    """What the comparison needs of one (type schema, rules) pair, computed once."""

    __slots__ = ("attrs", "defaults", "empty_null", "nested_skip", "rules", "skip", "synthetic", "tf_type")

    def __init__(self, schema: TypeSchema | None, rules: CompareRules) -> None:
        self.rules = rules
        self.tf_type = schema.tf_type if schema is not None else None
        self.attrs: dict[str, Attribute] = schema.attributes if schema is not None else {}
        self.empty_null = rules.empty_equals_null
        self.nested_skip = rules.volatile | NESTED_SKIPPED
        self.synthetic: dict[str, Attribute] = {}
        skip = set(ALWAYS_SKIPPED) | rules.volatile | rules.state_only.get("*", frozenset())
        if self.tf_type is not None:
            skip |= rules.state_only.get(self.tf_type, frozenset())
        for name, attr in self.attrs.items():
            if attr.computed_only or rules.is_state_only(self.tf_type, name):
                skip.add(name)
        self.skip = frozenset(skip)
        self.defaults: dict[Attribute, Any] = {}
        for path, value in (rules.defaults.get(self.tf_type or "", {}) or {}).items():
            target = schema.attribute(path) if schema is not None else self.unknown(path)
            if target is not None:
                self.defaults[target] = canonical(value, target.node)

    def unknown(self, name: str) -> Attribute:
        """A stand-in for an attribute the schema does not have (or when there is no schema)."""
        attr = self.synthetic.get(name)
        if attr is None:
            attr = Attribute(name, Node(Kind.DYNAMIC, fmt=value_format(name)), optional=True)
            self.synthetic[name] = attr
        return attr


def _plan(schema: TypeSchema | None, rules: CompareRules) -> _Plan:
    cache = schema.plans if schema is not None else _NO_SCHEMA_PLANS
    plan: _Plan | None = cache.get(rules)
    if plan is None:
        if len(cache) > 32:  # many throw-away rules objects: do not grow without bound
            cache.clear()
        plan = cache[rules] = _Plan(schema, rules)
    return plan


def compare(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    schema: TypeSchema | None,
    *,
    ignore: Iterable[str] = (),
    rules: CompareRules | None = None,
) -> list[Change]:
    """The meaningful differences between a state instance's attributes and a live resource's."""
    if rules is None:
        rules = DEFAULT_RULES
    plan = (schema.plans if schema is not None else _NO_SCHEMA_PLANS).get(rules) or _plan(schema, rules)
    pats = compile_ignore(ignore) if ignore else None
    tags_all = expected.get("tags_all")
    if tags_all and "tags" in actual and tags_all != expected.get("tags"):
        expected = {**expected, "tags": tags_all}  # state tags plus provider default_tags
    if "tags" not in actual and "tags_all" in actual:
        actual = {**actual, "tags": actual["tags_all"]}
    out: list[Change] = []
    get = expected.get
    skip = plan.skip
    for name, y in actual.items():
        x = get(name, ABSENT)
        try:
            if x == y:
                continue
        except RecursionError:
            pass
        if name in skip:
            continue
        _top(plan, name, x, y, pats, out)
    return out


def _top(plan: _Plan, name: str, x: Any, y: Any, pats: Patterns | None, out: list[Change]) -> None:
    attr = plan.attrs.get(name)
    if attr is None:
        if x is ABSENT or plan.rules.is_state_only(plan.tf_type, name):
            return  # not a schema attribute and not in state: nothing to compare with
        attr = plan.unknown(name)
    elif x is ABSENT and attr.computed:
        return  # never stored: the provider would fill it in on refresh
    below = None
    if pats is not None:
        ignored, below = descend(pats, name)
        if ignored:
            return
    _attribute(name, x, y, attr, below, plan, out, 0)


def _attribute(
    path: str,
    x: Any,
    y: Any,
    attr: Attribute,
    pats: Patterns | None,
    plan: _Plan,
    out: list[Change],
    depth: int,
) -> None:
    if x is ABSENT:
        x = None
    if plan.empty_null and not attr.required and is_empty(x) and is_empty(y):
        return
    default = plan.defaults.get(attr, ABSENT) if plan.defaults else ABSENT
    if default is not ABSENT:
        if is_empty(x) and canonical(y, attr.node) == default:
            return
        if is_empty(y) and canonical(x, attr.node) == default:
            return
    _value(path, x, y, attr.node, attr.sensitive, pats, plan, out, depth)


def _value(
    path: str,
    x: Any,
    y: Any,
    node: Node,
    sensitive: bool,
    pats: Patterns | None,
    plan: _Plan,
    out: list[Change],
    depth: int,
) -> None:
    kind = node.kind
    if kind in SCALAR_KINDS or depth > MAX_DEPTH:
        if canonical(x, node, depth=depth) != canonical(y, node, depth=depth) and not arn_names_same(x, y):
            _emit(out, path, x, y, node, sensitive)
        return
    if kind is Kind.LIST or kind is Kind.BLOCK_LIST:
        _list(path, x, y, node, sensitive, pats, plan, out, depth)
    elif kind is Kind.SET or kind is Kind.BLOCK_SET:
        _set(path, x, y, node, sensitive, pats, plan, out, depth)
    elif kind is Kind.MAP or kind is Kind.BLOCK_MAP:
        _map(path, x, y, node, sensitive, pats, plan, out, depth)
    elif kind is Kind.OBJECT or kind is Kind.BLOCK_SINGLE:
        obj = node.elem if kind is Kind.BLOCK_SINGLE and node.elem is not None else node
        xd, yd = _one(x), _one(y)
        if xd is not None and yd is not None and obj.attrs is not None:
            _object(path, xd, yd, obj, pats, plan, out, depth)
        elif canonical(x, node, depth=depth) != canonical(y, node, depth=depth):
            _emit(out, path, x, y, node, sensitive)
    else:  # dynamic, tuple, unknown attributes
        if not _loose_equal(x, y, node, depth):
            _emit(out, path, x, y, node, sensitive)


def arn_names_same(x: Any, y: Any) -> bool:
    """A reference written as a name in the configuration (so in the state) and read back as the
    ARN of that name (`cluster = "web"` vs `arn:aws:ecs:…:cluster/web`) is the same reference."""
    if type(x) is not str or type(y) is not str or not x or not y:
        return False
    x_arn, y_arn = x.startswith("arn:"), y.startswith("arn:")
    if x_arn == y_arn:
        return False
    arn, name = (x, y) if x_arn else (y, x)
    return arn.endswith("/" + name) or arn.endswith(":" + name)


def _object(
    path: str,
    x: dict[str, Any],
    y: dict[str, Any],
    node: Node,
    pats: Patterns | None,
    plan: _Plan,
    out: list[Change],
    depth: int,
) -> None:
    attrs = node.attrs or {}
    nested_skip = plan.nested_skip
    for name, yv in y.items():
        xv = x.get(name, ABSENT)
        if _eq(xv, yv):
            continue
        attr = attrs.get(name)
        if attr is None or attr.computed_only or name in nested_skip:
            continue
        if xv is ABSENT and attr.computed:
            continue
        below = None
        if pats is not None:
            ignored, below = descend(pats, name)
            if ignored:
                continue
        _attribute(attr_path(path, name), xv, yv, attr, below, plan, out, depth + 1)


def _list(
    path: str,
    x: Any,
    y: Any,
    node: Node,
    sensitive: bool,
    pats: Patterns | None,
    plan: _Plan,
    out: list[Change],
    depth: int,
) -> None:
    xl, yl = _seq(x, node), _seq(y, node)
    elem = node.elem
    if xl is None or yl is None or elem is None:
        if not _loose_equal(x, y, node, depth):
            _emit(out, path, x, y, node, sensitive)
        return
    obj = elem.elem if elem.kind is Kind.BLOCK_SINGLE else elem
    if obj is not None and obj.kind is Kind.OBJECT and len(xl) == len(yl):
        below = into_elements(pats)
        for i, (xe, ye) in enumerate(zip(xl, yl, strict=True)):
            if _eq(xe, ye):
                continue
            if type(xe) is dict and type(ye) is dict:
                _object(index_path(path, i), xe, ye, obj, below, plan, out, depth + 1)
            elif canonical(xe, elem, depth=depth) != canonical(ye, elem, depth=depth):
                _emit(out, index_path(path, i), xe, ye, elem, sensitive)
        return
    skip = plan.nested_skip | leaf_names(into_elements(pats))
    dflt = plan.defaults or None
    if canonical(xl, node, skip=skip, depth=depth, defaults=dflt) != canonical(
        yl, node, skip=skip, depth=depth, defaults=dflt
    ):
        _emit(out, path, x, y, node, sensitive)


def _set(
    path: str,
    x: Any,
    y: Any,
    node: Node,
    sensitive: bool,
    pats: Patterns | None,
    plan: _Plan,
    out: list[Change],
    depth: int,
) -> None:
    xl, yl = _seq(x, node), _seq(y, node)
    elem = node.elem
    if xl is None or yl is None or elem is None:
        if not _loose_equal(x, y, node, depth):
            _emit(out, path, x, y, node, sensitive)
        return
    if elem.kind in SCALAR_KINDS:
        if len(xl) == len(yl):
            try:
                if sorted(xl) == sorted(yl):  # the same elements in another order
                    return
            except TypeError:  # mixed element types: canonical forms decide
                pass
        if Counter(canonical(e, elem) for e in xl) != Counter(canonical(e, elem) for e in yl):
            _emit(out, path, x, y, node, sensitive)
        return
    if len(xl) == len(yl) and len(xl) <= _SMALL_SET and _same_elements(xl, yl):
        return
    keys: frozenset[str] | None = None
    if yl and all(type(e) is dict for e in yl):
        keys = frozenset().union(*yl)  # compare only what the provider read
    skip = plan.nested_skip | leaf_names(into_elements(pats))
    dflt = plan.defaults or None
    cx = [canonical(e, elem, keys=keys, skip=skip, depth=depth + 1, defaults=dflt) for e in xl]
    cy = [canonical(e, elem, keys=keys, skip=skip, depth=depth + 1, defaults=dflt) for e in yl]
    if node.kind is Kind.BLOCK_SET:  # a block with nothing set is no block
        xl, cx = _drop_empty(xl, cx)
        yl, cy = _drop_empty(yl, cy)
    left = Counter(cy)
    removed = []
    for raw, c in zip(xl, cx, strict=True):
        if left[c] > 0:
            left[c] -= 1
        else:
            removed.append(raw)
    right = Counter(cx)
    added = []
    for raw, c in zip(yl, cy, strict=True):
        if right[c] > 0:
            right[c] -= 1
        else:
            added.append(raw)
    if removed or added:
        if sensitive:
            out.append(Change(path, MASK, MASK))
        else:
            out.append(Change(path, [_mask(e, elem) for e in removed], [_mask(e, elem) for e in added]))


def _map(
    path: str,
    x: Any,
    y: Any,
    node: Node,
    sensitive: bool,
    pats: Patterns | None,
    plan: _Plan,
    out: list[Change],
    depth: int,
) -> None:
    xm = {} if x is None else x
    ym = {} if y is None else y
    elem = node.elem
    if type(xm) is not dict or type(ym) is not dict or elem is None:
        if not _loose_equal(x, y, node, depth):
            _emit(out, path, x, y, node, sensitive)
        return
    for key, yv in ym.items():
        xv = xm.get(key, ABSENT)
        if _eq(xv, yv):
            continue
        ignored, below = descend(pats, str(key))
        if ignored:
            continue
        if xv is ABSENT:
            _emit(out, key_path(path, key), None, yv, elem, sensitive)
        else:
            _value(key_path(path, key), xv, yv, elem, sensitive, below, plan, out, depth + 1)
    for key, xv in xm.items():
        if key not in ym and not descend(pats, str(key))[0]:
            _emit(out, key_path(path, key), xv, None, elem, sensitive)


# --- helpers ------------------------------------------------------------------------------------


def _drop_empty(raw: list[Any], forms: list[Any]) -> tuple[list[Any], list[Any]]:
    if _EMPTY_OBJECT not in forms:
        return raw, forms
    kept = [(r, c) for r, c in zip(raw, forms, strict=True) if c != _EMPTY_OBJECT]
    return [r for r, _ in kept], [c for _, c in kept]


def _eq(x: Any, y: Any) -> bool:
    """Exact equality, False (so: compare in detail) where values nest too deep for `==`."""
    try:
        return bool(x == y)
    except RecursionError:
        return False


def _seq(v: Any, node: Node) -> list[Any] | None:
    """A list/set/block value as a list: None is empty, one object is a block list of one."""
    if v is None or v is ABSENT:
        return []
    if type(v) is list:
        return v
    if type(v) is dict and node.kind in (Kind.BLOCK_LIST, Kind.BLOCK_SET):
        return [v]
    if isinstance(v, tuple | set | frozenset):
        return list(v)
    return None


def _one(v: Any) -> dict[str, Any] | None:
    """An object value: a dict, or a block list of exactly one dict (None: empty object)."""
    if v is None:
        return {}
    if type(v) is dict:
        return v
    if type(v) is list and len(v) == 1 and type(v[0]) is dict:
        return v[0]
    if type(v) is list and not v:
        return {}
    return None


def _same_elements(xl: list[Any], yl: list[Any]) -> bool:
    """The same elements in another order (exact equality, C-speed for small sets)."""
    rest = list(xl)
    try:
        for e in yl:
            rest.remove(e)
    except (ValueError, RecursionError):
        return False
    return True


def _loose_equal(x: Any, y: Any, node: Node, depth: int) -> bool:
    """Schema-less equality: canonical forms, then numbers/bools given as strings."""
    cx, cy = canonical(x, node, depth=depth), canonical(y, node, depth=depth)
    if cx == cy or arn_names_same(x, y):
        return True
    if isinstance(cx, str) != isinstance(cy, str):
        if number(cx) == number(cy) and not isinstance(number(cx), str):
            return True
        bx, by = boolean(cx), boolean(cy)
        if isinstance(bx, bool) and isinstance(by, bool):
            return bx is by
    return False


def _emit(out: list[Change], path: str, x: Any, y: Any, node: Node, sensitive: bool) -> None:
    if x is ABSENT:
        x = None
    if sensitive:
        out.append(Change(path, None if x is None else MASK, None if y is None else MASK))
    elif node.has_sensitive:
        out.append(Change(path, _mask(x, node), _mask(y, node)))
    else:
        out.append(Change(path, x, y))


def _mask(value: Any, node: Node | None, depth: int = 0) -> Any:
    """`value` with the values of sensitive attributes below `node` replaced by MASK."""
    if node is None or not node.has_sensitive or value is None or depth > MAX_DEPTH:
        return value
    if type(value) is list:
        return [_mask(v, node.elem if node.elem is not None else node, depth + 1) for v in value]
    if type(value) is dict:
        if node.attrs is None:
            if node.elem is not None and node.kind in (Kind.MAP, Kind.BLOCK_MAP):
                return {k: _mask(v, node.elem, depth + 1) for k, v in value.items()}
            return _mask(value, node.elem, depth + 1) if node.elem is not None else value
        out = {}
        for k, v in value.items():
            attr = node.attrs.get(k)
            if attr is not None and attr.sensitive and v is not None:
                out[k] = MASK
            else:
                out[k] = _mask(v, attr.node if attr is not None else None, depth + 1)
        return out
    return value
