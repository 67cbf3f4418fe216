"""`--format sarif`: SARIF 2.1.0 for code-scanning UIs (GitHub, GitLab, Azure DevOps).

One result per drifted, missing or unmanaged resource; `ruleId` by status, `level` by severity
(critical/high → error, medium → warning, low → note). Each result points at the state file it
came from (unmanaged ones at the first state of the run), carries the resource as a logical
location and a stable `partialFingerprints` entry so alerts match across runs.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from driftmgr import __version__
from driftmgr.engine.render.common import format_change, label
from driftmgr.engine.report import DriftReport
from driftmgr.models import DriftItem

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
RULES: dict[str, dict[str, Any]] = {
    "drifted": {
        "id": "driftmgr/drifted",
        "name": "ResourceDrifted",
        "shortDescription": {"text": "A managed resource differs from its Terraform state"},
        "fullDescription": {
            "text": "The live resource exists but one or more attributes differ from the values "
            "recorded in the Terraform state (changed outside Terraform)."
        },
        "help": {"text": "Apply the configuration again, or update the code and state to accept the change."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["drift", "terraform"]},
    },
    "missing": {
        "id": "driftmgr/missing",
        "name": "ResourceMissing",
        "shortDescription": {"text": "A resource in the Terraform state no longer exists"},
        "fullDescription": {"text": "The state records the resource but the cloud has no such resource."},
        "help": {"text": "Re-create it with terraform apply, or remove it from the state."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["drift", "terraform"]},
    },
    "unmanaged": {
        "id": "driftmgr/unmanaged",
        "name": "ResourceUnmanaged",
        "shortDescription": {"text": "A live resource is not managed by any Terraform state"},
        "fullDescription": {"text": "The resource exists in the cloud but no given state records it."},
        "help": {"text": "Import it into Terraform, delete it, or add it to .driftignore."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["drift", "terraform"]},
    },
}
_RULE_INDEX = {status: i for i, status in enumerate(RULES)}


def _fingerprint(item: DriftItem) -> str:
    key = "\x1f".join(
        [item.status, item.provider, item.account or "", item.type, item.id or "", item.address or ""]
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _message(item: DriftItem) -> str:
    name = label(item)
    ident = f" ({item.id})" if item.address and item.id else ""
    if item.status == "drifted":
        changes = "; ".join(format_change(c, 200) for c in item.changes)
        return f"{name}{ident} drifted: {changes}"
    if item.status == "missing":
        return f"{name}{ident} is in the state but missing from the cloud"
    return f"{item.type} {item.id} exists in the cloud but in no state"


def render_sarif(report: DriftReport, *, default_uri: str | None = None) -> str:
    """The SARIF log; `default_uri` is where results without a state source point."""
    fallback = default_uri or (report.sources[0].state if report.sources else "terraform.tfstate")
    results: list[dict[str, Any]] = []
    for item in report.resources:
        if item.status not in RULES:
            continue
        logical: dict[str, Any] = {"name": label(item), "fullyQualifiedName": label(item), "kind": "resource"}
        results.append(
            {
                "ruleId": RULES[item.status]["id"],
                "ruleIndex": _RULE_INDEX[item.status],
                "level": LEVELS.get(item.severity or "medium", "warning"),
                "message": {"text": _message(item)},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": item.source or fallback},
                            "region": {"startLine": 1},
                        },
                        "logicalLocations": [logical],
                    }
                ],
                "partialFingerprints": {"driftmgrResource/v1": _fingerprint(item)},
                "properties": {
                    "status": item.status,
                    "severity": item.severity,
                    "type": item.type,
                    "id": item.id,
                    "provider": item.provider,
                    "account": item.account,
                    "region": item.region,
                    "changes": [
                        {"path": c.path, "expected": c.expected, "actual": c.actual, "severity": c.severity}
                        for c in item.changes
                    ],
                },
            }
        )
    notifications = [
        {
            "level": "error",
            "message": {
                "text": f"{e.provider} {e.service} {e.region or ''}: {e.kind}: {e.message}".replace("  ", " ")
            },
        }
        for e in report.errors
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "driftmgr",
                        "semanticVersion": __version__,
                        "version": __version__,
                        "rules": list(RULES.values()),
                    }
                },
                "invocations": [
                    {"executionSuccessful": not report.partial, "toolExecutionNotifications": notifications}
                ],
                "results": results,
                "properties": {"summary": report.summary.to_dict()},
            }
        ],
    }
    return (
        orjson.dumps(log, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    )
