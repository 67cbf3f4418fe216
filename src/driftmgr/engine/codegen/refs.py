"""References instead of literal ids: `vpc_id = aws_vpc.main.id` when aws_vpc vpc-123 is managed
(its address is known) or codified in the same run.

A string value is replaced by a reference when it is the id (or, for codified resources, the ARN) of
exactly one known resource and either
- it is unmistakable: an ARN, or an AWS-style generated id (`vpc-0abc…`, `sg-…`, `subnet-…`), or
- the argument names a resource by name (`role`, `bucket`, `key_name`, …) and the target has the
  type that argument refers to (NAME_REFERENCES).
Tags and JSON documents are never rewritten; a resource never references itself; a resource inside
a module is not referenced (the generated root-module code cannot reach it); a reference that would
close a cycle among codified resources stays a literal (`Graph.find_cycle_edge`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from driftmgr.engine.codegen.hcl import Expr

Key = tuple[str, str]  # (Terraform type, cloud id)

# AWS generated ids: prefix(es) and 8+ hex digits (vpc-0a1b2c3d, sg-…, rtb-…, igw-…, vol-…).
_GENERATED_ID = re.compile(r"^[a-z]+(?:-[a-z]+)*-[0-9a-f]{8,}$")
# Arguments holding the *name* of another resource, and the types it can be.
NAME_REFERENCES: dict[str, tuple[str, ...]] = {
    "role": ("aws_iam_role",),
    "roles": ("aws_iam_role",),
    "user": ("aws_iam_user",),
    "users": ("aws_iam_user",),
    "group": ("aws_iam_group",),
    "groups": ("aws_iam_group",),
    "bucket": ("aws_s3_bucket",),
    "key_name": ("aws_key_pair",),
    "repository": ("aws_ecr_repository",),
    "function_name": ("aws_lambda_function",),
    "cluster": ("aws_ecs_cluster",),
    "cluster_name": ("aws_eks_cluster",),
    "db_subnet_group_name": ("aws_db_subnet_group",),
    "log_group_name": ("aws_cloudwatch_log_group",),
    "kms_key_id": ("aws_kms_key",),
    "target_key_id": ("aws_kms_key",),
    "kms_master_key_id": ("aws_kms_key",),
    "zone_id": ("aws_route53_zone",),
    "instance_profile": ("aws_iam_instance_profile",),
    "iam_instance_profile": ("aws_iam_instance_profile",),
    "policy_arn": ("aws_iam_policy",),
    "queue_url": ("aws_sqs_queue",),
}
# Never rewritten: values there are data, not links.
NO_REFERENCE_ROOTS = frozenset({"tags", "tags_all", "id", "name", "name_prefix", "description"})


@dataclass(frozen=True, slots=True)
class Target:
    key: Key
    address: str
    attr: str  # "id" | "arn" | "name"


@dataclass(slots=True)
class Graph:
    """Who references whom among codified resources, to keep the configuration acyclic."""

    edges: dict[Key, set[Key]] = field(default_factory=dict)

    def add(self, src: Key, dst: Key) -> None:
        self.edges.setdefault(src, set()).add(dst)

    def find_cycle_edge(self) -> tuple[Key, Key] | None:
        """One edge closing a cycle (deterministic), or None when the graph is acyclic."""
        state: dict[Key, int] = {}  # 1 on the stack, 2 done
        for start in sorted(self.edges):
            if state.get(start):
                continue
            stack: list[tuple[Key, list[Key]]] = [(start, sorted(self.edges.get(start, ())))]
            state[start] = 1
            while stack:
                node, todo = stack[-1]
                if not todo:
                    state[node] = 2
                    stack.pop()
                    continue
                nxt = todo.pop(0)
                if state.get(nxt) == 1:
                    return node, nxt
                if not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, sorted(self.edges.get(nxt, ()))))
        return None


class Resolver:
    """Turns a live string value into a reference when exactly one known resource is meant."""

    def __init__(
        self,
        managed: Mapping[Key, str],
        codified: Mapping[Key, str],
        arns: Mapping[Key, str],
        schema_has_arn: Mapping[str, bool],
        names: Mapping[Key, str] | None = None,
    ) -> None:
        """`arns`/`names`: the `arn` and `name` attributes of codified resources (a reference to an
        IAM role by name reads `aws_iam_role.app.name`; by ARN, `.arn`)."""
        self._by_value: dict[str, list[Target]] = {}
        self.codified = set(codified)
        names = names or {}
        for key, address in [*managed.items(), *codified.items()]:
            if address.startswith("module."):
                continue  # the root module cannot reach into a module (only through its outputs)
            tf_type, rid = key
            if rid.startswith("arn:") and schema_has_arn.get(tf_type):
                attr = "arn"
            elif key in codified and names.get(key) == rid:
                attr = "name"
            else:
                attr = "id"
            self._add(rid, Target(key, address, attr))
        for key, arn in arns.items():
            if key in codified and arn and arn != key[1]:
                self._add(arn, Target(key, codified[key], "arn"))
        self.banned: set[tuple[Key, Key]] = set()
        self.graph = Graph()

    def _add(self, value: str, target: Target) -> None:
        found = self._by_value.setdefault(value, [])
        if all(t.key != target.key for t in found):
            found.append(target)

    def reset_graph(self) -> None:
        self.graph = Graph()

    def resolve(self, src: Key, path: str, value: str) -> Expr | None:
        root = path.split(".", 1)[0]
        if root in NO_REFERENCE_ROOTS or not value:
            return None
        leaf = path.rsplit(".", 1)[-1]
        candidates = [t for t in self._by_value.get(value, ()) if t.key != src]
        if not candidates:
            return None
        allowed = NAME_REFERENCES.get(leaf)
        if allowed is not None:
            candidates = [t for t in candidates if t.key[0] in allowed] or (
                candidates if unmistakable(value) else []
            )
        elif not unmistakable(value):
            return None
        if len(candidates) != 1:
            return None
        target = candidates[0]
        if (src, target.key) in self.banned:
            return None
        if target.key in self.codified:
            self.graph.add(src, target.key)
        return Expr(f"{target.address}.{target.attr}")


def unmistakable(value: str) -> bool:
    """An ARN or an AWS generated id: names one resource whatever the argument is called."""
    return value.startswith("arn:") or bool(_GENERATED_ID.match(value))
