"""The provider contract, the declarative resource-type descriptor and the registry.

A provider (aws, azure, …) discovers live resources and describes each with the attribute names and
shapes of its Terraform resource type. A resource type is data (STYLE 2): the Terraform type, the API
service and list call, where the items are in the response, the id, and a function mapping one API item
to Terraform attributes. Shared collector code in each provider reads the descriptor; per-type code
exists only for what data cannot say (`collect` for unusual listings, `details` for extra calls).

Built-ins register explicitly; third-party providers arrive through the entry-point group
`driftmgr.providers.v1` (a callable returning a Provider).
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from driftmgr.engine.remediation import ApiCall
from driftmgr.errors import DriftMgrError, UsageError
from driftmgr.models import DiscoveryError, Resource

ENTRY_POINT_GROUP = "driftmgr.providers.v1"


class ErrorKind(str, enum.Enum):
    """The one error taxonomy every provider maps its SDK errors to."""

    throttled = "throttled"
    denied = "denied"
    not_found = "not_found"
    unavailable = "unavailable"
    error = "error"


class ProviderError(DriftMgrError):
    code = "provider_error"

    def __init__(self, kind: ErrorKind, message: str, *, source: str | None = None) -> None:
        self.kind = kind
        super().__init__(message, source=source)


Item = dict[str, Any]
# (api item, context) -> Terraform attributes
ToAttributes = Callable[[Item, "Scope"], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a listing runs: provider, account and region, plus a client factory for extra calls."""

    provider: str
    account: str | None
    region: str | None
    client: Callable[[str], Any]  # service name -> SDK client for this account/region


@dataclass(frozen=True)
class ResourceType:
    """A declarative description of how to list one Terraform resource type."""

    tf_type: str
    service: str  # SDK service ("ec2", "s3", "iam")
    to_attributes: ToAttributes
    list_call: str | None = None  # "describe_vpcs"; None when `collect` does the listing
    result_key: str | None = None  # key of the item list in each response page ("Vpcs")
    id_key: str | Callable[[Item], str] = "id"  # field of the item, or a function, giving the TF id
    list_kwargs: Mapping[str, Any] = field(default_factory=dict)
    paginate: bool = True
    global_: bool = False  # one listing per account (IAM, Route 53, S3's bucket list)
    details: Callable[[Item, Scope], Item | None] | None = None  # extra calls per item; None drops it
    collect: Callable[[Scope], Iterable[Item]] | None = None  # custom listing instead of list_call
    default_reason: Callable[[Item, Scope], str | None] | None = None  # cloud default / implicit child
    ignore: tuple[str, ...] = ()  # attribute paths never compared for this type
    import_id: Callable[[Item], str] | None = None  # when `terraform import` needs another id than state's
    # Types whose Terraform id is synthetic (a timestamped attachment id) match state to live by a
    # key computed from attributes on both sides instead of by id.
    match_key: Callable[[dict[str, Any]], tuple[Any, ...] | None] | None = None
    # A child type: (parent Terraform type, attribute of the child holding the parent id,
    # attribute of the parent that can hold children inline).
    parent_link: tuple[str, str, str] | None = None
    # Identities of the underlying cloud object shared by several Terraform spellings (a security
    # group rule is an aws_security_group_rule, an aws_vpc_security_group_ingress_rule and part of
    # the group's ingress): from state attributes and from live attributes alike.
    object_keys: Callable[[dict[str, Any]], list[str]] | None = None
    # False for a spelling that is never reported as unmanaged (another spelling reports it once).
    report_unmanaged: bool = True

    def item_id(self, item: Item) -> str:
        if callable(self.id_key):
            return self.id_key(item)
        value = item.get(self.id_key)
        if value is None:
            raise KeyError(f"{self.tf_type}: item has no {self.id_key!r}")
        return str(value)


@dataclass(slots=True)
class DiscoveryResult:
    resources: list[Resource] = field(default_factory=list)
    errors: list[DiscoveryError] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(self.errors)


ProgressFn = Callable[[int, int, str], None]  # (done, total, message)


@runtime_checkable
class Provider(Protocol):
    name: str

    def resource_types(self) -> list[ResourceType]: ...

    def regions(self) -> list[str]: ...

    def discover(
        self,
        *,
        regions: list[str] | None = None,
        types: list[str] | None = None,
        progress: ProgressFn | None = None,
    ) -> DiscoveryResult: ...

    def health(self) -> dict[str, Any]: ...

    def get(self, tf_type: str, resource_id: str, region: str | None) -> Resource | None:
        """Re-read one resource (its type's listing, filtered by id); None when it does not exist."""
        ...


ClientFactory = Callable[[str, str | None], Any]  # (SDK service, region or None) -> client


class Remediator(Protocol):
    """A provider's direct-API remediation: call builders and the call runner (issue 6)."""

    def revert_calls(
        self,
        tf_type: str,
        resource_id: str,
        region: str | None,
        changes: list[dict[str, Any]],
        live: Mapping[str, Any] | None,
    ) -> list[ApiCall]: ...

    def restore_calls(
        self,
        tf_type: str,
        resource_id: str,
        region: str | None,
        snapshot_attrs: Mapping[str, Any],
        current_attrs: Mapping[str, Any],
        *,
        paths: Iterable[str] | None = None,
    ) -> list[ApiCall]: ...

    def delete_calls(
        self, tf_type: str, resource_id: str, region: str | None, live: Mapping[str, Any] | None
    ) -> list[ApiCall]: ...

    def execute_call(self, call: ApiCall, client_factory: ClientFactory) -> dict[str, Any]: ...


# --- registry ---------------------------------------------------------------------------------

ProviderFactory = Callable[..., Provider]
_PROVIDERS: dict[str, ProviderFactory] = {}
_TYPES: dict[str, dict[str, ResourceType]] = {}
BUILTIN_PROVIDERS = {"aws": "driftmgr.providers.aws.provider"}
# Modules exposing `remediator` (a Remediator), imported on first use.
BUILTIN_REMEDIATORS = {"aws": "driftmgr.providers.aws.remediate"}
_plugins_loaded = False


def register_provider(name: str) -> Callable[[ProviderFactory], ProviderFactory]:
    def deco(factory: ProviderFactory) -> ProviderFactory:
        _PROVIDERS[name] = factory
        return factory

    return deco


def register_type(provider: str, rtype: ResourceType) -> ResourceType:
    types = _TYPES.setdefault(provider, {})
    if rtype.tf_type in types:
        raise ValueError(f"resource type {rtype.tf_type} registered twice")
    types[rtype.tf_type] = rtype
    return rtype


def registered_types(provider: str) -> dict[str, ResourceType]:
    _load(provider)
    return dict(_TYPES.get(provider, {}))


def _load(name: str) -> None:
    global _plugins_loaded
    module = BUILTIN_PROVIDERS.get(name)
    if module and name not in _PROVIDERS:
        __import__(module)
    if name not in _PROVIDERS and not _plugins_loaded:
        _plugins_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _PROVIDERS.setdefault(ep.name, ep.load())


def get_provider(name: str, **options: Any) -> Provider:
    _load(name)
    factory = _PROVIDERS.get(name)
    if factory is None:
        known = ", ".join(sorted(set(BUILTIN_PROVIDERS) | set(_PROVIDERS)))
        raise UsageError(f"unknown provider {name!r} (available: {known})")
    return factory(**options)


def get_remediator(name: str) -> Remediator:
    """The direct-API remediator of provider `name` (imported lazily); UsageError when it has none."""
    module_name = BUILTIN_REMEDIATORS.get(name)
    if module_name is None:
        raise UsageError(f"provider {name!r} has no direct API remediation (use the Terraform method)")
    module = importlib.import_module(module_name)
    remediator: Remediator = module.remediator
    return remediator


def provider_names() -> list[str]:
    return sorted(set(BUILTIN_PROVIDERS) | set(_PROVIDERS))


def iter_items(pages: Iterable[Mapping[str, Any]], key: str) -> Iterator[Item]:
    for page in pages:
        yield from page.get(key) or []
