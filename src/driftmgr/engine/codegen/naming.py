"""Readable, stable, unique Terraform resource names for codified resources.

A name comes from, in order:
1. the resource's `Name` tag;
2. a per-type rule (NAME_FROM) for types whose id and name say little — an attachment is named
   after what it joins (`aws_volume_attachment` → `<instance>_<device>`), where a part that is the
   id or ARN of a resource already named (managed, or codified in the same run) becomes that name;
3. a name-like attribute (`name`, `bucket`, …);
4. the id, ARNs in it shortened to their resource name.
It is lower-cased, every run of other characters than letters and digits becomes one `_`, it starts
with a letter (`r_` is put in front otherwise) and is cut at 64 characters. Two resources of one
type that would share a name get `_2`, `_3`, … in the order of their ids, so the same inputs always
give the same names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MAX_LENGTH = 64
# Attributes that name a resource, in order of preference, when it has no Name tag.
NAME_ATTRIBUTES = ("name", "bucket", "key_name", "function_name", "repository", "cluster_identifier",
                   "identifier", "alarm_name", "domain_name")  # fmt: skip
_NON_WORD = re.compile(r"[^a-z0-9]+")
_LB_KINDS = frozenset({"app", "net", "gwy"})
_ARN_IN_TEXT = re.compile(r"arn:[^,|\s]+")

# The parts a type's name is made of: attribute names, joined with `_`.
NAME_FROM: dict[str, tuple[str, ...]] = {
    "aws_kms_key": ("description",),
    "aws_sns_topic_subscription": ("topic_arn", "protocol"),
    "aws_iam_role_policy_attachment": ("role", "policy_arn"),
    "aws_iam_role_policy": ("role", "name"),
    "aws_iam_user_policy_attachment": ("user", "policy_arn"),
    "aws_iam_group_policy_attachment": ("group", "policy_arn"),
    "aws_route_table_association": ("subnet_id|gateway_id",),
    "aws_volume_attachment": ("instance_id", "device_name"),
    "aws_lambda_permission": ("function_name", "statement_id"),
    "aws_route53_record": ("fqdn|name", "type"),
    "aws_lb_listener": ("load_balancer_arn", "port"),
}

Lookup = Callable[[str], str | None]  # an id or ARN → the name already given to that resource


def sanitize(text: str) -> str:
    """`"Web Servers (prod)"` → `web_servers_prod`; `"/app/config"` → `app_config`."""
    name = _NON_WORD.sub("_", text.lower()).strip("_")
    if not name:
        return "this"
    if not name[0].isalpha():
        name = f"r_{name}"
    return name[:MAX_LENGTH].rstrip("_")


def arn_tail(text: str) -> str:
    """The readable part of an ARN or URL id: `arn:…:targetgroup/web/4de5` → `web`."""
    if text.startswith("arn:"):
        resource = text.split(":", 5)[-1]
        parts = [p for p in resource.split("/") if p]
        if len(parts) >= 3 and parts[1] in _LB_KINDS:  # loadbalancer/app/NAME/…, listener/app/NAME/…
            return parts[2]
        if len(parts) >= 3:  # type/name/random-suffix
            return parts[1]
        return parts[-1] if parts else text
    if "://" in text:
        return text.rstrip("/").rsplit("/", 1)[-1]
    return text


def _from_parts(spec: tuple[str, ...], attributes: Mapping[str, Any], lookup: Lookup) -> str | None:
    found: list[str] = []
    for part in spec:
        value = next((attributes.get(a) for a in part.split("|") if attributes.get(a)), None)
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        text = str(value)
        found.append(lookup(text) or arn_tail(text))
    return "_".join(found)


def base_name(tf_type: str, rid: str, attributes: Mapping[str, Any], lookup: Lookup = lambda _v: None) -> str:
    tags = attributes.get("tags")
    if isinstance(tags, Mapping):
        tag = tags.get("Name")
        if isinstance(tag, str) and tag.strip():
            return sanitize(tag)
    spec = NAME_FROM.get(tf_type)
    named = _from_parts(spec, attributes, lookup) if spec else None
    if named and named.strip("_"):
        return sanitize(named)
    for attr in NAME_ATTRIBUTES:
        v = attributes.get(attr)
        if isinstance(v, str) and v.strip():
            return sanitize(arn_tail(v))
    if rid.startswith("arn:") or "://" in rid:
        return sanitize(arn_tail(rid))
    return sanitize(_ARN_IN_TEXT.sub(lambda m: arn_tail(m.group(0)), rid))


def derived(tf_type: str) -> bool:
    """True when the type's names are made from other resources' (name those first)."""
    return tf_type in NAME_FROM


class Namer:
    """Hands out unique names per resource type; names already used in the configuration are taken."""

    def __init__(self, taken_addresses: Iterable[str] = ()) -> None:
        self._taken: set[tuple[str, str]] = set()
        for address in taken_addresses:
            parts = address.split(".")
            # `aws_vpc.main`, `module.m.aws_vpc.main`, `aws_vpc.main[0]`: only root addresses clash
            if len(parts) == 2 and not parts[0].startswith(("module", "data")):
                self._taken.add((parts[0], parts[1].split("[", 1)[0]))

    def name(self, tf_type: str, wanted: str) -> str:
        candidate, n = wanted, 1
        while (tf_type, candidate) in self._taken:
            n += 1
            suffix = f"_{n}"
            candidate = wanted[: MAX_LENGTH - len(suffix)] + suffix
        self._taken.add((tf_type, candidate))
        return candidate
