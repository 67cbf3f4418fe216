"""IAM principals and policies: aws_iam_role, aws_iam_policy, aws_iam_user, aws_iam_group,
aws_iam_instance_profile (attachments and inline role policies live in iam_attachments).

IAM is global: every type lists once per account. Listing calls return a subset of each entity (no
tags, no permissions boundary), so the richer `GetAccountAuthorizationDetails` stream fills them in
for roles and users — two paginated streams instead of one call per entity. Policy documents come
back URL-encoded; botocore decodes them into dicts, and they become JSON strings again here.

Terraform ids: role, user, group and instance profile by name; a policy by ARN. Service-linked
roles (`/aws-service-role/`) and IAM Identity Center roles (`/aws-reserved/`) are AWS-made defaults.
AWS-managed policies (`arn:aws:iam::aws:policy/...`) are never listed (`Scope=Local`).

Left out: `name_prefix` (not recoverable from the name), `force_destroy`/`force_detach_policies`
(state-only), and the role's `managed_policy_arns`/`inline_policy`, which provider 5.x computes from
the live attachments — they would duplicate aws_iam_role_policy_attachment / aws_iam_role_policy.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from driftmgr.providers.aws.resources.common import policy_json, tags
from driftmgr.providers.base import Item, ResourceType, Scope, iter_items, register_type

SERVICE_ROLE_PATH = "/aws-service-role/"
RESERVED_ROLE_PATH = "/aws-reserved/"


def account_details(iam: Any, kind: str) -> Iterator[Item]:
    """The entries of one entity kind ("Role", "User") of GetAccountAuthorizationDetails."""
    key = {"Role": "RoleDetailList", "User": "UserDetailList", "Group": "GroupDetailList"}[kind]
    # One listing of the three kinds for every caller: the IAM types share it within a run (calls.py).
    pages = iam.get_paginator("get_account_authorization_details").paginate(Filter=["Role", "User", "Group"])
    return iter_items(pages, key)


def role_default_reason(path: str | None, name: str) -> str | None:
    """Why a role is an AWS-made default, or None for a customer role."""
    path = path or "/"
    if path.startswith(SERVICE_ROLE_PATH):
        return f"service-linked role {name}"
    if path.startswith(RESERVED_ROLE_PATH):
        return f"AWS-reserved role {name}"
    return None


def rfc3339(value: Any) -> str | None:
    """A timestamp as the provider stores it (`time.RFC3339`, UTC, whole seconds)."""
    if isinstance(value, dt.datetime):
        when = value.astimezone(dt.UTC) if value.tzinfo else value
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value) if value else None


def boundary(item: Item) -> str:
    return str((item.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") or "")


def unless_deleted(fn: Callable[[Item, Scope], Item]) -> Callable[[Item, Scope], Item | None]:
    """A `details` function that drops the entity (None) when it was deleted since the listing."""

    @functools.wraps(fn)
    def wrapper(item: Item, scope: Scope) -> Item | None:
        try:
            return fn(item, scope)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return None
            raise

    return wrapper


# --- aws_iam_role ---------------------------------------------------------------------------------
def _roles(scope: Scope) -> Iterator[Item]:
    """ListRoles (description, session duration) joined with the authorization details (tags and
    permissions boundary). A role created between the two streams has no detail entry: its tags and
    boundary stay unknown rather than guessed empty."""
    iam = scope.client("iam")
    details = {str(d["RoleName"]): d for d in account_details(iam, "Role")}
    for role in iter_items(iam.get_paginator("list_roles").paginate(), "Roles"):
        detail = details.get(str(role["RoleName"]))
        if detail is not None:
            role = {**role, "_Detail": detail}
        yield role


def _role_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "arn": item.get("Arn"),
        "name": item.get("RoleName"),
        "path": item.get("Path", "/"),
        "description": item.get("Description", ""),
        "assume_role_policy": policy_json(item.get("AssumeRolePolicyDocument")),
        "max_session_duration": int(item.get("MaxSessionDuration", 3600)),
        "unique_id": item.get("RoleId"),
        "create_date": rfc3339(item.get("CreateDate")),
    }
    detail = item.get("_Detail")
    if detail is not None:
        attrs["permissions_boundary"] = boundary(detail)
        attrs["tags"] = tags(detail)
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_iam_role",
        service="iam",
        global_=True,
        collect=_roles,
        id_key="RoleName",
        to_attributes=_role_attributes,
        default_reason=lambda item, _s: role_default_reason(item.get("Path"), str(item["RoleName"])),
    ),
)


# --- aws_iam_policy (customer managed) --------------------------------------------------------------
@unless_deleted
def _policy_details(item: Item, scope: Scope) -> Item:
    """GetPolicy (description, tags) and the default version's document."""
    iam = scope.client("iam")
    policy: Item = iam.get_policy(PolicyArn=item["Arn"])["Policy"]
    version = iam.get_policy_version(PolicyArn=item["Arn"], VersionId=policy["DefaultVersionId"])
    return {**item, **policy, "_Document": version["PolicyVersion"].get("Document")}


def _policy_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    return {
        "arn": item.get("Arn"),
        "name": item.get("PolicyName"),
        "path": item.get("Path", "/"),
        "description": item.get("Description", ""),
        "policy": policy_json(item.get("_Document")),
        "policy_id": item.get("PolicyId"),
        "attachment_count": int(item.get("AttachmentCount", 0)),
        "tags": tags(item),
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_iam_policy",
        service="iam",
        global_=True,
        list_call="list_policies",
        list_kwargs={"Scope": "Local"},
        result_key="Policies",
        id_key="Arn",
        details=_policy_details,
        to_attributes=_policy_attributes,
    ),
)


# --- aws_iam_user -----------------------------------------------------------------------------------
def _user_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    return {
        "arn": item.get("Arn"),
        "name": item.get("UserName"),
        "path": item.get("Path", "/"),
        "permissions_boundary": boundary(item),
        "unique_id": item.get("UserId"),
        "tags": tags(item),
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_iam_user",
        service="iam",
        global_=True,
        collect=lambda scope: account_details(scope.client("iam"), "User"),
        id_key="UserName",
        to_attributes=_user_attributes,
    ),
)


# --- aws_iam_group ----------------------------------------------------------------------------------
register_type(
    "aws",
    ResourceType(
        tf_type="aws_iam_group",
        service="iam",
        global_=True,
        list_call="list_groups",
        result_key="Groups",
        id_key="GroupName",
        to_attributes=lambda item, _s: {
            "arn": item.get("Arn"),
            "name": item.get("GroupName"),
            "path": item.get("Path", "/"),
            "unique_id": item.get("GroupId"),
        },
    ),
)


# --- aws_iam_instance_profile -----------------------------------------------------------------------
@unless_deleted
def _profile_details(item: Item, scope: Scope) -> Item:
    """GetInstanceProfile: ListInstanceProfiles does not return tags."""
    profile: Item = scope.client("iam").get_instance_profile(InstanceProfileName=item["InstanceProfileName"])[
        "InstanceProfile"
    ]
    return profile


def _profile_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    roles = item.get("Roles") or []
    return {
        "arn": item.get("Arn"),
        "name": item.get("InstanceProfileName"),
        "path": item.get("Path", "/"),
        "role": str(roles[0]["RoleName"]) if roles else None,  # a profile holds at most one role
        "unique_id": item.get("InstanceProfileId"),
        "create_date": rfc3339(item.get("CreateDate")),
        "tags": tags(item),
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_iam_instance_profile",
        service="iam",
        global_=True,
        list_call="list_instance_profiles",
        result_key="InstanceProfiles",
        id_key="InstanceProfileName",
        details=_profile_details,
        to_attributes=_profile_attributes,
    ),
)
