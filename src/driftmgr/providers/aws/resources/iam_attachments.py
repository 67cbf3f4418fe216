"""What hangs off IAM roles: aws_iam_role_policy_attachment and aws_iam_role_policy.

Both come from one paginated GetAccountAuthorizationDetails stream (shared by the IAM types within a
run), which lists every role with its attached managed policies and its inline policy documents — no
call per role.

aws_iam_role_policy_attachment: provider 5.x stores a generated id (`<role>-<timestamp><counter>`)
that no live object carries. Discovery identifies a live attachment by its import id
`<role>/<policy-arn>` and carries `role` + `policy_arn`; `match_key` (the same pair, computed from
attributes on both sides) lets drift detection pair a state instance with its live attachment.

aws_iam_role_policy: id `<role>:<policy-name>`, as Terraform stores and imports it.

Attachments and inline policies of service-linked / AWS-reserved roles come with the role: defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from driftmgr.providers.aws.resources.common import policy_json
from driftmgr.providers.aws.resources.iam import account_details, role_default_reason
from driftmgr.providers.base import Item, ResourceType, Scope, register_type


def attachment_match_key(attributes: dict[str, Any]) -> tuple[str, str] | None:
    """(role, policy_arn): what identifies a role policy attachment, in state and live alike."""
    role, arn = attributes.get("role"), attributes.get("policy_arn")
    return (str(role), str(arn)) if role and arn else None


def _role_children(reason: str) -> Callable[[Item, Scope], str | None]:
    def default_reason(item: Item, _scope: Scope) -> str | None:
        role_reason = role_default_reason(item.get("RolePath"), str(item["RoleName"]))
        return f"{reason} of {role_reason}" if role_reason else None

    return default_reason


# --- aws_iam_role_policy_attachment -----------------------------------------------------------------
def _attachments(scope: Scope) -> Iterator[Item]:
    for role in account_details(scope.client("iam"), "Role"):
        for policy in role.get("AttachedManagedPolicies") or []:
            yield {
                "RoleName": role["RoleName"],
                "RolePath": role.get("Path"),
                "PolicyArn": policy["PolicyArn"],
            }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_iam_role_policy_attachment",
        service="iam",
        global_=True,
        collect=_attachments,
        id_key=lambda item: f"{item['RoleName']}/{item['PolicyArn']}",
        to_attributes=lambda item, _s: {"role": item["RoleName"], "policy_arn": item["PolicyArn"]},
        default_reason=_role_children("policy attachment"),
        match_key=attachment_match_key,
    ),
)


# --- aws_iam_role_policy (inline) -------------------------------------------------------------------
def _inline_policies(scope: Scope) -> Iterator[Item]:
    for role in account_details(scope.client("iam"), "Role"):
        for policy in role.get("RolePolicyList") or []:
            yield {
                "RoleName": role["RoleName"],
                "RolePath": role.get("Path"),
                "PolicyName": policy["PolicyName"],
                "PolicyDocument": policy.get("PolicyDocument"),
            }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_iam_role_policy",
        service="iam",
        global_=True,
        collect=_inline_policies,
        id_key=lambda item: f"{item['RoleName']}:{item['PolicyName']}",
        to_attributes=lambda item, _s: {
            "role": item["RoleName"],
            "name": item["PolicyName"],
            "policy": policy_json(item.get("PolicyDocument")),
        },
        default_reason=_role_children("inline policy"),
    ),
)
