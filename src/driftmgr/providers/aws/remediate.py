"""Direct AWS API remediation: the exact calls that revert drift, restore a snapshot or delete.

- `revert_calls(type, id, region, changes, live)`: calls that set each changed attribute back to
  the change's `expected` value (changes as in a drift report: `{path, expected, actual}`).
- `restore_calls(type, id, region, snapshot_attrs, current_attrs)`: the rollback of a revert — the
  same builders with the snapshot as the target.
- `delete_calls(type, id, region, live)`: deletion of an unmanaged resource (destructive).
- `execute_call(call, client_factory)`: runs `client(service, region).<operation>(**params)`, with
  botocore errors mapped to ProviderError (denied, throttled, not_found, unavailable, error).

Calls are data (`engine.remediation.ApiCall`), so a plan shows them before anything runs. One
convention beyond plain SDK operations: `wait:<waiter>` (e.g. `wait:instance_stopped`) runs the
botocore waiter of that name with the call's parameters — an instance must be stopped before its
type can change. Which attribute each builder covers: `remediate_ec2_s3.py`, `remediate_services.py` and
`remediate_tags.py`; what cannot be reverted raises UnsupportedRemediation naming type and path.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from driftmgr.engine.diff import MASK, compare
from driftmgr.engine.remediation import ApiCall
from driftmgr.errors import UnsupportedRemediation, UsageError
from driftmgr.models import Change as ChangeModel
from driftmgr.providers.aws import remediate_ec2_s3 as _ec2_s3  # registers EC2 and S3 builders
from driftmgr.providers.aws import remediate_services as _services  # registers the other builders
from driftmgr.providers.aws import remediate_tags as _tags  # registers the tag builders
from driftmgr.providers.aws.errors import aws_errors
from driftmgr.providers.aws.remediate_core import (
    Builder,
    Change,
    Target,
    builder_for,
    supported_attributes,
    top,
    type_schema,
    value_at,
)
from driftmgr.providers.aws.remediate_delete import DELETERS
from driftmgr.providers.base import registered_types

__all__ = [
    "AwsRemediator",
    "delete_calls",
    "execute_call",
    "remediator",
    "restore_calls",
    "revert_calls",
    "supported_attributes",
]
_REGISTERED = (_ec2_s3, _services, _tags)
ClientFactory = Callable[[str, str | None], Any]


def _as_dicts(changes: Iterable[Mapping[str, Any] | ChangeModel]) -> list[Change]:
    out: list[Change] = []
    for c in changes:
        if isinstance(c, ChangeModel):
            out.append({"path": c.path, "expected": c.expected, "actual": c.actual})
        else:
            out.append(dict(c))
    return out


def revert_calls(
    tf_type: str,
    resource_id: str,
    region: str | None,
    changes: Iterable[Mapping[str, Any] | ChangeModel],
    live: Mapping[str, Any] | None,
) -> list[ApiCall]:
    """The calls that set every changed attribute back to its expected value, in order."""
    target = Target(tf_type, resource_id, region, dict(live or {}))
    groups: dict[Builder, list[Change]] = {}
    for change in _as_dicts(changes):
        path = str(change.get("path") or "")
        builder = builder_for(tf_type, top(path))
        if builder is None:
            raise UnsupportedRemediation(
                f"{tf_type} {resource_id}: no AWS API call reverts {path!r} (use the Terraform method)",
                tf_type=tf_type,
                path=path,
            )
        groups.setdefault(builder, []).append(change)
    calls: list[ApiCall] = []
    for builder, group in groups.items():
        calls.extend(builder(target, group))
    return calls


def restore_calls(
    tf_type: str,
    resource_id: str,
    region: str | None,
    snapshot_attrs: Mapping[str, Any],
    current_attrs: Mapping[str, Any],
    *,
    paths: Iterable[str] | None = None,
) -> list[ApiCall]:
    """The calls that bring the resource back to its snapshot (a revert's rollback). `paths`
    limits the restore to those top-level attributes (the ones the revert touched)."""
    rtype = registered_types("aws").get(tf_type)
    found = compare(snapshot_attrs, current_attrs, type_schema(tf_type), ignore=rtype.ignore if rtype else ())
    changes: list[Change] = []
    for c in found:
        expected = value_at(snapshot_attrs, c.path) if c.expected == MASK else c.expected
        actual = value_at(current_attrs, c.path) if c.actual == MASK else c.actual
        changes.append({"path": c.path, "expected": expected, "actual": actual})
    if tf_type == "aws_instance":
        was, now = snapshot_attrs.get("instance_state"), current_attrs.get("instance_state")
        if (
            was in ("running", "stopped")
            and now in ("running", "stopped", "stopping", "pending")
            and was != now
        ):
            changes.append({"path": "instance_state", "expected": was, "actual": now})
    if paths is not None:
        wanted = {top(p) for p in paths} | {"instance_state"}
        changes = [c for c in changes if top(str(c["path"])) in wanted]
    return revert_calls(tf_type, resource_id, region, changes, current_attrs)


def delete_calls(
    tf_type: str, resource_id: str, region: str | None, live: Mapping[str, Any] | None
) -> list[ApiCall]:
    """The calls that delete the resource (destructive)."""
    deleter = DELETERS.get(tf_type)
    if deleter is None:
        raise UnsupportedRemediation(
            f"{tf_type} {resource_id}: DriftMgr cannot delete this type through the API",
            tf_type=tf_type,
        )
    return deleter(Target(tf_type, resource_id, region, dict(live or {})))


def execute_call(call: ApiCall, client_factory: ClientFactory) -> dict[str, Any]:
    """Run one call; its response without ResponseMetadata, JSON-safe. Only real operations of the
    service's API (or its waiters) run: a plan is data and must not reach any other attribute."""
    if call.provider != "aws":
        raise UsageError(f"the AWS remediator cannot run a {call.provider!r} call")
    what = f"{call.service}:{call.operation}"
    with aws_errors(what):
        client = client_factory(call.service, call.region)
        if call.operation.startswith("wait:"):
            waiter = call.operation.removeprefix("wait:")
            if waiter not in client.waiter_names:
                raise UsageError(f"{what}: the {call.service} API has no waiter {waiter!r}")
            client.get_waiter(waiter).wait(**call.params)
            return {}
        if call.operation not in client.meta.method_to_api_mapping:
            raise UsageError(f"{what}: not an operation of the {call.service} API")
        response = getattr(client, call.operation)(**call.params)
    if not isinstance(response, dict):
        return {}
    return {k: _jsonable(v) for k, v in response.items() if k != "ResponseMetadata"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if hasattr(value, "read"):  # a streaming body
        return None
    return value


class AwsRemediator:
    """The Remediator of providers.base, over this module's functions."""

    def revert_calls(
        self,
        tf_type: str,
        resource_id: str,
        region: str | None,
        changes: list[dict[str, Any]],
        live: Mapping[str, Any] | None,
    ) -> list[ApiCall]:
        return revert_calls(tf_type, resource_id, region, changes, live)

    def restore_calls(
        self,
        tf_type: str,
        resource_id: str,
        region: str | None,
        snapshot_attrs: Mapping[str, Any],
        current_attrs: Mapping[str, Any],
        *,
        paths: Iterable[str] | None = None,
    ) -> list[ApiCall]:
        return restore_calls(tf_type, resource_id, region, snapshot_attrs, current_attrs, paths=paths)

    def delete_calls(
        self, tf_type: str, resource_id: str, region: str | None, live: Mapping[str, Any] | None
    ) -> list[ApiCall]:
        return delete_calls(tf_type, resource_id, region, live)

    def execute_call(self, call: ApiCall, client_factory: ClientFactory) -> dict[str, Any]:
        return execute_call(call, client_factory)


remediator = AwsRemediator()
