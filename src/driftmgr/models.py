"""Shared domain types.

Plain slotted dataclasses: a 100k-instance state produces 100k of these, so they stay cheap.
This module imports nothing from the rest of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

IndexKey = int | str | None
Mode = Literal["managed", "data"]


@dataclass(slots=True)
class StateInstance:
    """One resource instance object of a Terraform state (current or deposed)."""

    address: str  # Terraform syntax: module.net.aws_subnet.private["a"]
    mode: str  # "managed" | "data"
    type: str
    name: str
    module: str | None  # "module.net" / "module.a[0].module.b" or None for the root module
    index_key: IndexKey
    provider: str  # canonical provider config address: provider["registry.terraform.io/hashicorp/aws"].west
    provider_name: str  # local type name: "aws"
    id: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    sensitive_attributes: list[Any] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    schema_version: int = 0
    status: str | None = None  # "tainted" or None
    deposed: str | None = None  # deposed key of a create_before_destroy object
    create_before_destroy: bool = False
    source: str = ""

    @property
    def resource_address(self) -> str:
        """The address without the instance key (`module.m.aws_x.y`)."""
        prefix = f"{self.module}." if self.module else ""
        mode = "data." if self.mode == "data" else ""
        return f"{prefix}{mode}{self.type}.{self.name}"

    def list_record(self) -> dict[str, Any]:
        """The `state list --format json` record of DESIGN §3 (plus `deposed`)."""
        return {
            "address": self.address,
            "mode": self.mode,
            "type": self.type,
            "name": self.name,
            "module": self.module,
            "index_key": self.index_key,
            "provider": self.provider,
            "id": self.id,
            "deposed": self.deposed,
            "source": self.source,
        }


@dataclass(slots=True)
class StateOutput:
    name: str
    value: Any
    type: Any = None
    sensitive: bool = False


@dataclass(slots=True)
class StateHeader:
    """Top-level metadata of a state snapshot."""

    version: int
    terraform_version: str | None
    serial: int | None
    lineage: str | None
    source: str = ""
    upgraded_from: int | None = None  # 3 when read from a Terraform 0.11 state
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CheckResult:
    object_kind: str
    config_addr: str
    status: str
    objects: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class LockInfo:
    """Terraform's lock info document (the JSON stored in every backend's lock)."""

    id: str
    operation: str = "OperationTypeInvalid"
    info: str = ""
    who: str = ""
    version: str = ""
    created: str = ""
    path: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "ID": self.id,
            "Operation": self.operation,
            "Info": self.info,
            "Who": self.who,
            "Version": self.version,
            "Created": self.created,
            "Path": self.path,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockInfo:
        return cls(
            id=str(data.get("ID", "")),
            operation=str(data.get("Operation", "")),
            info=str(data.get("Info", "")),
            who=str(data.get("Who", "")),
            version=str(data.get("Version", "")),
            created=str(data.get("Created", "")),
            path=str(data.get("Path", "")),
        )


@dataclass(slots=True)
class StateVersion:
    """One stored version of a state (S3 object version, GCS generation, TFC state version…)."""

    id: str
    created: str | None = None
    serial: int | None = None
    size: int | None = None
    current: bool = False


@dataclass(slots=True)
class StateLocation:
    """Where a state lives, as found by `state discover` / locate."""

    url: str  # a SRC string DriftMgr accepts (path or URL)
    kind: str  # "local" | "s3" | "azurerm" | "gcs" | "http" | "remote" | "pg" | ...
    workspace: str = "default"
    origin: str = ""  # what pointed at it: a file, a backend block, a terragrunt.hcl
    exists: bool | None = None  # None when not checked
    note: str = ""


# --- discovery and drift (issue 3) ------------------------------------------------------------

DRIFT_STATUSES = ("in_sync", "drifted", "missing", "unmanaged", "ignored", "unsupported")
SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(slots=True)
class Resource:
    """A live cloud resource, described with the attribute names of its Terraform resource type."""

    provider: str  # "aws"
    type: str  # Terraform type: "aws_vpc"
    id: str  # the id Terraform stores (and imports with)
    account: str | None = None
    region: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    default: bool = False  # cloud-created default or implicit child of a managed parent
    default_reason: str | None = None  # e.g. "default VPC", "main route table of vpc-123"
    # The resource this one is part of, and the parent attribute that can hold it inline
    # (a route of a route table, a rule of a security group): see DriftService's claim rules.
    parent: tuple[str, str] | None = None
    parent_attr: str | None = None
    # Other identities of the same cloud object (an sgr- rule is also an aws_security_group_rule).
    aliases: tuple[tuple[str, str], ...] = ()
    import_id: str | None = None  # when `terraform import` takes another id than the state's

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, self.id)


@dataclass(slots=True)
class DiscoveryError:
    """A part of discovery that failed: the result is partial and says so."""

    provider: str
    service: str
    region: str | None
    kind: str  # "throttled" | "denied" | "not_found" | "unavailable" | "error"
    message: str
    type: str | None = None  # the resource type being listed, when known


@dataclass(slots=True)
class Change:
    path: str  # Terraform attribute path: tags.env, ingress, versioning_configuration[0].status
    expected: Any
    actual: Any
    severity: str = "medium"


@dataclass(slots=True)
class DriftItem:
    type: str
    id: str | None
    provider: str
    status: str  # one of DRIFT_STATUSES
    address: str | None = None
    account: str | None = None
    region: str | None = None
    severity: str | None = None
    source: str | None = None
    changes: list[Change] = field(default_factory=list)
    note: str | None = None  # e.g. why ignored, or "claimed by 2 states"
