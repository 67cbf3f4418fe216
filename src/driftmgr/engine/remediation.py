"""Remediation plans as data: actions, the exact steps each will run, and the plan around them.

Pure (no I/O): the planner in `services/remediation.py` builds these from a drift report, the
executor in `services/remediation_exec.py` runs them, and both store them as `to_dict()` JSON in the
`remediation_plans` table. A plan is reviewable before it runs because every step is exact data:
an API call with its parameters, a Terraform command line, or a file with its content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ActionKind = Literal["revert", "accept", "recreate", "forget", "codify", "delete"]
ACTION_KINDS: tuple[str, ...] = ("revert", "accept", "recreate", "forget", "codify", "delete")
# Which actions fit which drift status; the first is the default strategy.
KINDS_FOR_STATUS: dict[str, tuple[str, ...]] = {
    "drifted": ("revert", "accept"),
    "missing": ("recreate", "forget"),
    "unmanaged": ("codify", "delete"),
}
DESTRUCTIVE_KINDS = frozenset({"delete"})
RISKS: tuple[str, ...] = ("low", "medium", "high", "critical")
STEP_KINDS: tuple[str, ...] = ("api", "terraform", "file")


def risk_rank(risk: str) -> int:
    return RISKS.index(risk)


@dataclass(slots=True)
class ApiCall:
    """One provider SDK call, exact enough to replay: `client(service).<operation>(**params)`."""

    provider: str  # "aws"
    service: str  # SDK service name: "ec2"
    operation: str  # SDK method name: "modify_instance_attribute"
    params: dict[str, Any] = field(default_factory=dict)
    region: str | None = None
    description: str = ""  # "set instance_type of i-0abc to t3.micro"

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "service": self.service,
            "operation": self.operation,
            "params": self.params,
            "region": self.region,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiCall:
        return cls(
            provider=data["provider"],
            service=data["service"],
            operation=data["operation"],
            params=dict(data.get("params") or {}),
            region=data.get("region"),
            description=data.get("description", ""),
        )


@dataclass(slots=True)
class Step:
    """What an action runs, in order.

    kind "api":       `call` is the ApiCall.
    kind "terraform": `args` is the command line after `terraform` (["apply", "-target=aws_vpc.main",
                      "-auto-approve", "-input=false"]), run in `cwd` (the Terraform working directory).
    kind "file":      write `content` to `path` (generated configuration).
    """

    kind: str  # one of STEP_KINDS
    description: str = ""
    call: ApiCall | None = None
    args: list[str] = field(default_factory=list)
    cwd: str | None = None
    path: str | None = None
    content: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "description": self.description}
        if self.call is not None:
            out["call"] = self.call.to_dict()
        if self.kind == "terraform":
            out["args"] = list(self.args)
            out["cwd"] = self.cwd
        if self.kind == "file":
            out["path"] = self.path
            out["content"] = self.content
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        call = data.get("call")
        return cls(
            kind=data["kind"],
            description=data.get("description", ""),
            call=ApiCall.from_dict(call) if call else None,
            args=list(data.get("args") or []),
            cwd=data.get("cwd"),
            path=data.get("path"),
            content=data.get("content"),
        )

    def command_line(self) -> str:
        """The step as one reviewable line (what `--dry-run` and the GUI show)."""
        if self.kind == "api" and self.call is not None:
            c = self.call
            region = f" [{c.region}]" if c.region else ""
            return f"{c.provider} {c.service}.{c.operation}({_params(c.params)}){region}"
        if self.kind == "terraform":
            where = f"(cd {self.cwd} && " if self.cwd else ""
            return f"{where}terraform {' '.join(self.args)}{')' if self.cwd else ''}"
        return f"write {self.path} ({len(self.content or '')} bytes)"


def _params(params: dict[str, Any]) -> str:
    import json

    return ", ".join(f"{k}={json.dumps(v, sort_keys=True, default=str)}" for k, v in params.items())


@dataclass(slots=True)
class Action:
    """One remediation of one drift item."""

    id: str  # "a1", "a2", ... unique in the plan
    kind: str  # one of ACTION_KINDS
    type: str  # Terraform type
    resource_id: str | None  # cloud id (None for a missing resource whose id is unknown)
    provider: str = "aws"
    address: str | None = None  # Terraform address when managed
    region: str | None = None
    account: str | None = None
    source: str | None = None  # the state source the resource belongs to
    changes: list[dict[str, Any]] = field(default_factory=list)  # {path, expected, actual, severity}
    method: str = "api"  # "api" | "terraform" | "files"
    risk: str = "low"
    destructive: bool = False
    steps: list[Step] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)  # action ids that must succeed first
    note: str | None = None  # why refused/unsupported, or what a reviewer should know

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "type": self.type,
            "resource_id": self.resource_id,
            "provider": self.provider,
            "address": self.address,
            "region": self.region,
            "account": self.account,
            "source": self.source,
            "changes": self.changes,
            "method": self.method,
            "risk": self.risk,
            "destructive": self.destructive,
            "steps": [s.to_dict() for s in self.steps],
            "depends_on": list(self.depends_on),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Action:
        return cls(
            id=data["id"],
            kind=data["kind"],
            type=data["type"],
            resource_id=data.get("resource_id"),
            provider=data.get("provider", "aws"),
            address=data.get("address"),
            region=data.get("region"),
            account=data.get("account"),
            source=data.get("source"),
            changes=list(data.get("changes") or []),
            method=data.get("method", "api"),
            risk=data.get("risk", "low"),
            destructive=bool(data.get("destructive", False)),
            steps=[Step.from_dict(s) for s in data.get("steps") or []],
            depends_on=list(data.get("depends_on") or []),
            note=data.get("note"),
        )


@dataclass(slots=True)
class Plan:
    """Actions in dependency order plus what a reviewer needs: risk, blast radius, options."""

    actions: list[Action] = field(default_factory=list)
    strategy: dict[str, str] = field(default_factory=dict)  # status -> chosen kind
    terraform_dir: str | None = None
    config_dir: str | None = None
    report: dict[str, Any] = field(default_factory=dict)  # {"generated_at", "sources", "scan_id"}
    refused: list[dict[str, Any]] = field(default_factory=list)  # items not planned, with the reason

    @property
    def risk(self) -> str:
        return max((a.risk for a in self.actions), key=risk_rank, default="low")

    def summary(self) -> dict[str, Any]:
        """Blast radius: how many actions of each kind, what they touch, what is destructive."""
        by_kind: dict[str, int] = {}
        by_type: dict[str, int] = {}
        regions: set[str] = set()
        for a in self.actions:
            by_kind[a.kind] = by_kind.get(a.kind, 0) + 1
            by_type[a.type] = by_type.get(a.type, 0) + 1
            if a.region:
                regions.add(a.region)
        return {
            "actions": len(self.actions),
            "by_kind": by_kind,
            "by_type": by_type,
            "regions": sorted(regions),
            "destructive": sum(1 for a in self.actions if a.destructive),
            "api_calls": sum(1 for a in self.actions for s in a.steps if s.kind == "api"),
            "terraform_commands": sum(1 for a in self.actions for s in a.steps if s.kind == "terraform"),
            "refused": len(self.refused),
            "risk": self.risk,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "actions": [a.to_dict() for a in self.actions],
            "strategy": self.strategy,
            "terraform_dir": self.terraform_dir,
            "config_dir": self.config_dir,
            "report": self.report,
            "refused": self.refused,
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            actions=[Action.from_dict(a) for a in data.get("actions") or []],
            strategy=dict(data.get("strategy") or {}),
            terraform_dir=data.get("terraform_dir"),
            config_dir=data.get("config_dir"),
            report=dict(data.get("report") or {}),
            refused=list(data.get("refused") or []),
        )

    def ordered(self) -> list[Action]:
        """Actions in dependency order (each after what it depends on); ValueError on a cycle."""
        by_id = {a.id: a for a in self.actions}
        done: set[str] = set()
        visiting: set[str] = set()
        out: list[Action] = []

        def visit(a: Action) -> None:
            if a.id in done:
                return
            if a.id in visiting:
                raise ValueError(f"remediation actions depend on each other in a cycle at {a.id}")
            visiting.add(a.id)
            for dep in a.depends_on:
                if dep in by_id:
                    visit(by_id[dep])
            visiting.discard(a.id)
            done.add(a.id)
            out.append(a)

        for a in self.actions:
            visit(a)
        return out
