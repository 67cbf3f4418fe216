"""Backend settings → the SRC URL DriftMgr reads the state from.

One function per Terraform backend type turns the (already evaluated) settings of a `backend`
block, a `cloud` block, a `.terraform/terraform.tfstate` file or a Terragrunt `remote_state`
into a `StateLocation`. Only options the DriftMgr backends understand travel in the URL query;
secrets (access keys, SAS tokens, passwords in `http` settings) never do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from driftmgr.models import StateLocation

DEFAULT_TFC_HOST = "app.terraform.io"
_KEY_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 path characters, as the backends write them
_HTTP_OPTIONS = ("lock_address", "unlock_address", "lock_method", "unlock_method", "update_method")

# Settings without which a backend block does not name one state (Terraform asks for them on init).
REQUIRED: dict[str, tuple[str, ...]] = {
    "s3": ("bucket", "key"),
    "azurerm": ("storage_account_name", "container_name", "key"),
    "gcs": ("bucket",),
    "http": ("address",),
    "remote": ("organization", "workspaces"),
    "cloud": ("organization", "workspaces"),
    "pg": ("conn_str",),
    "local": (),
}

# Settings that shape the location: an unresolvable expression in one of these is reported.
USED_SETTINGS: dict[str, frozenset[str]] = {
    "s3": frozenset(
        {
            "bucket",
            "key",
            "region",
            "dynamodb_table",
            "use_lockfile",
            "workspace_key_prefix",
            "profile",
            "endpoint",
            "endpoints",
            "use_path_style",
            "force_path_style",
        }
    ),
    "azurerm": frozenset({"storage_account_name", "container_name", "key"}),
    "gcs": frozenset({"bucket", "prefix"}),
    "http": frozenset({"address", *_HTTP_OPTIONS}),
    "remote": frozenset({"organization", "hostname", "workspaces"}),
    "cloud": frozenset({"organization", "hostname", "workspaces"}),
    "pg": frozenset({"conn_str", "schema_name"}),
    "local": frozenset({"path", "workspace_dir"}),
}

# Environment variables Terraform reads when a setting is absent from the block.
ENV_FALLBACK: dict[str, dict[str, tuple[str, ...]]] = {
    "s3": {"region": ("AWS_REGION", "AWS_DEFAULT_REGION")},
    "azurerm": {},
    "gcs": {},
    "http": {"address": ("TF_HTTP_ADDRESS",)},
    "remote": {},
    "cloud": {
        "organization": ("TF_CLOUD_ORGANIZATION",),
        "hostname": ("TF_CLOUD_HOSTNAME",),
        "project": ("TF_CLOUD_PROJECT",),
    },
    "pg": {"conn_str": ("PG_CONN_STR",), "schema_name": ("PG_SCHEMA_NAME",)},
    "local": {},
}


class LocationError(Exception):
    """The settings do not name a state DriftMgr can read (message says why)."""


@dataclass(frozen=True)
class Target:
    """Where the settings came from, and which workspace is meant."""

    origin: str
    base_dir: str  # the directory relative `local` paths are resolved against
    workspace: str = "default"
    note: str = ""


def missing_settings(backend_type: str, config: Mapping[str, Any]) -> list[str]:
    """The required settings that are neither in `config` nor in Terraform's environment variables."""
    missing = []
    for key in REQUIRED.get(backend_type, ()):
        if _present(config.get(key)):
            continue
        if backend_type == "cloud" and key == "workspaces" and os.environ.get("TF_WORKSPACE"):
            continue
        if any(os.environ.get(env) for env in ENV_FALLBACK.get(backend_type, {}).get(key, ())):
            continue
        missing.append(key)
    return missing


def with_env(backend_type: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` with absent settings filled from the environment variables Terraform honours."""
    out = {k: v for k, v in config.items() if v is not None}
    for key, names in ENV_FALLBACK.get(backend_type, {}).items():
        if _present(out.get(key)):
            continue
        for name in names:
            if os.environ.get(name):
                out[key] = os.environ[name]
                break
    return out


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _str(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise LocationError(f"setting '{key}' is not a string")


def _query(pairs: list[tuple[str, str]], workspace: str) -> str:
    pairs = [(k, v) for k, v in pairs if v]
    if workspace and workspace != "default":
        pairs.append(("workspace", workspace))
    return ("?" + urlencode(pairs, safe="/:")) if pairs else ""


def _flag(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    return "true" if value is True or str(value).lower() == "true" else ""


def _s3(config: Mapping[str, Any], target: Target) -> StateLocation:
    bucket, key = _str(config, "bucket"), _str(config, "key").lstrip("/")
    endpoints = config.get("endpoints")
    if isinstance(endpoints, list):
        endpoints = endpoints[0] if endpoints else {}
    query = _query(
        [
            ("region", _str(config, "region")),
            ("dynamodb_table", _str(config, "dynamodb_table")),
            ("use_lockfile", _flag(config, "use_lockfile")),
            ("workspace_key_prefix", _str(config, "workspace_key_prefix")),
            ("profile", _str(config, "profile")),
            ("endpoint", _str(config, "endpoint")),
            ("endpoints.s3", _str(endpoints, "s3") if isinstance(endpoints, dict) else ""),
            ("use_path_style", _flag(config, "use_path_style")),
            ("force_path_style", _flag(config, "force_path_style")),
        ],
        target.workspace,
    )
    return _loc(f"s3://{bucket}/{quote(key, safe=_KEY_SAFE)}{query}", "s3", target)


def _azurerm(config: Mapping[str, Any], target: Target) -> StateLocation:
    account, container = _str(config, "storage_account_name"), _str(config, "container_name")
    key = _str(config, "key").lstrip("/")
    url = f"azurerm://{account}/{container}/{quote(key, safe=_KEY_SAFE)}{_query([], target.workspace)}"
    return _loc(url, "azurerm", target)


def _gcs(config: Mapping[str, Any], target: Target) -> StateLocation:
    bucket, prefix = _str(config, "bucket"), _str(config, "prefix").strip("/")
    path = "/" + quote(prefix, safe=_KEY_SAFE) if prefix else ""
    return _loc(f"gs://{bucket}{path}{_query([], target.workspace)}", "gcs", target)


def _http(config: Mapping[str, Any], target: Target) -> StateLocation:
    address = _str(config, "address")
    if urlsplit(address).scheme not in ("http", "https"):
        raise LocationError(f"http backend address {address!r} is not an http(s) URL")
    # Lock/update settings travel as query options; username/password never do.
    options = _query([(k, _str(config, k)) for k in _HTTP_OPTIONS], "default").lstrip("?")
    if options:
        address += ("&" if urlsplit(address).query else "?") + options
    return _loc(address, "http", target)


def _tfc_url(organization: str, workspace: str, hostname: str) -> str:
    query = f"?hostname={hostname}" if hostname and hostname != DEFAULT_TFC_HOST else ""
    return f"tfc://{organization}/{workspace}{query}"


def _workspaces_block(config: Mapping[str, Any]) -> dict[str, Any]:
    ws = config.get("workspaces")
    if isinstance(ws, list):
        ws = ws[0] if ws else {}
    return ws if isinstance(ws, dict) else {}


def _remote(config: Mapping[str, Any], target: Target) -> StateLocation:
    org, host = _str(config, "organization"), _str(config, "hostname")
    ws = _workspaces_block(config)
    name = _str(ws, "name")
    if not name:
        prefix = _str(ws, "prefix")
        if not prefix:
            raise LocationError("the workspaces block names neither 'name' nor 'prefix'")
        if target.workspace == "default":
            raise LocationError(
                f"remote backend selects workspaces by prefix {prefix!r}: "
                f"run `driftmgr state discover tfc://{org}` to list them"
            )
        name = prefix + target.workspace
    return _tfc(org, name, host, target)


def _cloud(config: Mapping[str, Any], target: Target) -> StateLocation:
    org, host = _str(config, "organization"), _str(config, "hostname")
    ws = _workspaces_block(config)
    name = _str(ws, "name") or os.environ.get("TF_WORKSPACE", "")
    if not name and target.workspace != "default":
        name = target.workspace  # tags/project mode: the selected workspace is the real name
    if not name:
        tags = ws.get("tags")
        how = f"tags {tags!r}" if tags else "project or tags"
        raise LocationError(
            f"cloud block selects workspaces by {how}: run `driftmgr state discover tfc://{org}` to list them"
        )
    return _tfc(org, name, host, target)


def _tfc(org: str, name: str, host: str, target: Target) -> StateLocation:
    return StateLocation(
        url=_tfc_url(org, name, host), kind="remote", workspace=name, origin=target.origin, note=target.note
    )


def _pg(config: Mapping[str, Any], target: Target) -> StateLocation:
    conn = _str(config, "conn_str")
    parts = urlsplit(conn)
    if parts.scheme in ("postgres", "postgresql"):
        base, query = f"pg://{parts.netloc}{parts.path}", parts.query
    elif "=" in conn and "://" not in conn:
        fields = dict(item.split("=", 1) for item in conn.split() if "=" in item)
        user = fields.pop("user", "")
        password = fields.pop("password", "")
        auth = f"{quote(user, safe='')}{':' + quote(password, safe='') if password else ''}@" if user else ""
        host = fields.pop("host", "") + (":" + fields.pop("port") if "port" in fields else "")
        base, query = f"pg://{auth}{host}/{fields.pop('dbname', '')}", urlencode(sorted(fields.items()))
    else:
        raise LocationError("pg backend conn_str is not a postgres:// URL or a key=value string")
    extra = _query([("schema_name", _str(config, "schema_name"))], target.workspace).lstrip("?")
    joined = "&".join(q for q in (query, extra) if q)
    return _loc(base + ("?" + joined if joined else ""), "pg", target)


def _local(config: Mapping[str, Any], target: Target) -> StateLocation:
    path = _str(config, "path")
    if target.workspace == "default":
        rel = path or "terraform.tfstate"
    else:
        rel = os.path.join(
            _str(config, "workspace_dir") or "terraform.tfstate.d", target.workspace, "terraform.tfstate"
        )
    full = os.path.normpath(os.path.join(target.base_dir, os.path.expanduser(rel)))
    loc = _loc(full, "local", target)
    loc.exists = os.path.isfile(full)
    return loc


def _loc(url: str, kind: str, target: Target) -> StateLocation:
    return StateLocation(
        url=url, kind=kind, workspace=target.workspace, origin=target.origin, note=target.note
    )


BUILDERS: dict[str, Callable[[Mapping[str, Any], Target], StateLocation]] = {
    "s3": _s3,
    "azurerm": _azurerm,
    "gcs": _gcs,
    "http": _http,
    "remote": _remote,
    "cloud": _cloud,
    "pg": _pg,
    "local": _local,
}


def location_for(backend_type: str, config: Mapping[str, Any], target: Target) -> StateLocation:
    """The location the settings name; LocationError when unsupported or incomplete."""
    build = BUILDERS.get(backend_type)
    if build is None:
        raise LocationError(f"backend type '{backend_type}' is not supported by DriftMgr")
    config = with_env(backend_type, config)
    missing = missing_settings(backend_type, config)
    if missing:
        raise LocationError(f"backend '{backend_type}' is missing {', '.join(missing)}")
    return build(config, target)
