"""`state graph`: the dependencies recorded between resource instances.

Terraform records, on every instance object, the *resources* it depends on (`dependencies`), as
configuration addresses without instance keys: `aws_vpc.main`, `module.net.aws_subnet.private`
(also when the module itself has `count`/`for_each`). Such an address stands for every instance of
that resource in every instance of the module. Format-3 states (`depends_on`) may also name
`aws_instance.web.*` or a whole `module.x`; both are understood.

An edge `{"from": A, "to": B}` means A depends on B (B is created first, destroyed last), the
direction `terraform graph` draws. Dependencies naming nothing in the state are listed as
unresolved (Terraform keeps stale ones), and cycles are found with an iterative Tarjan pass, so a
cyclic or deep graph is reported, never a hang or a recursion error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from driftmgr.models import StateInstance
from driftmgr.state.parse import StateReader

# An instance key inside an address: [0] or ["a \"quoted\" key"].
_KEY = re.compile(r'\[(?:\d+|"(?:[^"\\]|\\.)*")\]')


def strip_keys(address: str) -> str:
    """`module.a[0].module.b["x"].aws_s.y[2]` → `module.a.module.b.aws_s.y`."""
    return _KEY.sub("", address)


@dataclass(slots=True)
class Node:
    address: str
    resource: str  # resource address with module keys: module.a[0].aws_s.y
    module: str | None
    mode: str
    type: str
    deposed: int = 0  # number of deposed objects at this address
    dependencies: set[str] = field(default_factory=set)  # raw dependency strings

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.address,
            "resource": self.resource,
            "module": self.module,
            "mode": self.mode,
            "type": self.type,
            "deposed": self.deposed,
        }


@dataclass(slots=True)
class DependencyGraph:
    source: str
    nodes: dict[str, Node]  # by instance address, in file order
    edges: list[tuple[str, str]]  # (dependent, dependency), sorted
    unresolved: list[tuple[str, str]]  # (dependent, dependency address naming no instance)
    cycles: list[list[str]]  # strongly connected components of more than one node, or self-loops

    def modules(self) -> list[dict[str, Any]]:
        """Every module instance holding a node, with its parent (None for a root-level module)."""
        seen: dict[str, str | None] = {}
        for node in self.nodes.values():
            for mod, parent in _module_chain(node.module):
                seen.setdefault(mod, parent)
        return [{"address": m, "parent": seen[m]} for m in sorted(seen)]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "nodes": [n.to_json() for n in sorted(self.nodes.values(), key=lambda n: n.address)],
            "edges": [{"from": a, "to": b} for a, b in self.edges],
            "modules": self.modules(),
            "unresolved": [{"from": a, "dependency": d} for a, d in self.unresolved],
            "cycles": self.cycles,
        }

    def to_dot(self, *, modules: bool = False) -> str:
        """Graphviz DOT; every id quoted. With `modules`, module instances become nested clusters."""
        lines = ["digraph state {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
        nodes = sorted(self.nodes.values(), key=lambda n: n.address)
        if modules:
            _dot_clusters(lines, nodes)
        else:
            for n in nodes:
                lines.append(f"  {_node_stmt(n)}")
        cyclic = {a for cycle in self.cycles for a in cycle}
        for a, b in self.edges:
            attrs = ' [color="red"]' if a in cyclic and b in cyclic else ""
            lines.append(f"  {dot_id(a)} -> {dot_id(b)}{attrs};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def dot_id(text: str) -> str:
    """A DOT quoted identifier: double quotes and backslashes escaped.

    Graphviz reads `\\"` as a quote and keeps other backslashes literally, so a backslash is
    doubled: that keeps an id valid whatever precedes a quote (an address with a backslash in a
    key shows it doubled; no escaping can express a backslash-quote pair to Graphviz exactly).
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _node_stmt(n: Node) -> str:
    attrs = []
    if n.mode == "data":
        attrs.append('style="dashed"')
    if n.deposed:
        attrs.append('color="orange"')
    return f"{dot_id(n.address)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";"


def _module_chain(module: str | None) -> list[tuple[str, str | None]]:
    """`module.a.module.b[1]` → [("module.a", None), ("module.a.module.b[1]", "module.a")]."""
    if not module:
        return []
    parts = _split_modules(module)
    chain: list[tuple[str, str | None]] = []
    parent: str | None = None
    for i in range(len(parts)):
        addr = ".".join(parts[: i + 1])
        chain.append((addr, parent))
        parent = addr
    return chain


def _split_modules(module: str) -> list[str]:
    """Split a module instance address into `module.NAME[KEY]` steps (keys may contain dots)."""
    steps: list[str] = []
    pos = 0
    step = re.compile(r'module\.[^.\[]+(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?')
    while pos < len(module):
        m = step.match(module, pos)
        if not m:
            return [module]  # unexpected shape: one opaque module
        steps.append(m.group(0))
        pos = m.end() + 1  # skip the dot
    return steps


def _dot_clusters(lines: list[str], nodes: list[Node]) -> None:
    """Nodes nested in `subgraph "cluster_<module>"` blocks following the module tree."""
    tree: dict[str | None, list[str]] = {}
    members: dict[str | None, list[Node]] = {}
    for n in nodes:
        members.setdefault(n.module, []).append(n)
        for child, parent in _module_chain(n.module):
            kids = tree.setdefault(parent, [])
            if child not in kids:
                kids.append(child)
    # Iterative depth-first emission; a "close" entry ends a cluster once its children are out.
    stack: list[tuple[str, str | None, int]] = [("open", None, 0)]
    while stack:
        action, mod, depth = stack.pop()
        pad = "  " * (depth + 1)
        if action == "close":
            lines.append("  " * depth + "}")
            continue
        if mod is not None:
            lines.append("  " * depth + f"subgraph {dot_id('cluster_' + mod)} {{")
            lines.append(f"{pad}label={dot_id(mod)};")
            stack.append(("close", mod, depth))
        for n in members.get(mod, []):
            lines.append(f"{pad}{_node_stmt(n)}")
        for child in reversed(sorted(tree.get(mod, []))):
            stack.append(("open", child, depth + 1))


def build_graph(reader: StateReader) -> DependencyGraph:
    """Read every instance's dependencies (one streaming pass; attributes are not kept)."""
    return graph_from_instances(reader.iter_instances(), reader.source)


def graph_from_instances(instances: Iterable[StateInstance], source: str = "") -> DependencyGraph:
    nodes: dict[str, Node] = {}
    for inst in instances:
        node = nodes.get(inst.address)
        if node is None:
            node = Node(inst.address, inst.resource_address, inst.module, inst.mode, inst.type)
            nodes[inst.address] = node
        if inst.deposed:
            node.deposed += 1
        node.dependencies.update(inst.dependencies)

    # Indexes a dependency string can hit: exact instance, resource (with module keys), config resource.
    by_resource: dict[str, list[str]] = {}
    by_config: dict[str, list[str]] = {}
    by_module: dict[str, list[str]] = {}
    for addr, node in nodes.items():
        by_resource.setdefault(node.resource, []).append(addr)
        by_config.setdefault(strip_keys(node.resource), []).append(addr)
        if node.module:
            steps = _split_modules(strip_keys(node.module))
            for i in range(len(steps)):
                by_module.setdefault(".".join(steps[: i + 1]), []).append(addr)

    edges: set[tuple[str, str]] = set()
    unresolved: set[tuple[str, str]] = set()
    for addr, node in nodes.items():
        for dep in node.dependencies:
            targets = _resolve(dep, nodes, by_resource, by_config, by_module)
            if not targets:
                unresolved.add((addr, dep))
            edges.update((addr, t) for t in targets)
    edge_list = sorted(edges)
    return DependencyGraph(source, nodes, edge_list, sorted(unresolved), find_cycles(list(nodes), edge_list))


def _resolve(
    dep: str,
    nodes: dict[str, Node],
    by_resource: dict[str, list[str]],
    by_config: dict[str, list[str]],
    by_module: dict[str, list[str]],
) -> list[str]:
    dep = dep.strip()
    if dep.endswith(".*"):  # format 3: aws_instance.web.*
        dep = dep[:-2]
    if dep in nodes:
        return [dep]
    if dep in by_resource:
        return by_resource[dep]
    if dep in by_config:
        return by_config[dep]
    bare = strip_keys(dep)
    if bare in by_config:
        return by_config[bare]
    # format 3: aws_instance.web.0 (an index written as a path step), or a whole module
    head, _, tail = dep.rpartition(".")
    if tail.isdigit() and f"{head}[{tail}]" in nodes:
        return [f"{head}[{tail}]"]
    return by_module.get(bare, [])


def find_cycles(nodes: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with a cycle (Tarjan, iterative), each sorted, sorted overall."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    self_loops: set[str] = set()
    for a, b in edges:
        succ.setdefault(a, []).append(b)
        succ.setdefault(b, [])
        if a == b:
            self_loops.add(a)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    counter = 0
    cycles: list[list[str]] = []
    for root in succ:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            recurse = False
            children = succ[v]
            while i < len(children):
                w = children[i]
                i += 1
                if w not in index:
                    work.append((v, i))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                component: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1 or v in self_loops:
                    cycles.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return sorted(cycles)
