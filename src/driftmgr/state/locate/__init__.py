"""Locating states: in directories (state files, workspaces, `.terraform` backend settings,
`backend`/`cloud` blocks, Terragrunt units) and under bucket/container prefixes.

    result = locate("infra/")            # → LocateResult(locations=[StateLocation...], warnings=[...])
    result = locate("s3://acme-tfstate/prod/")
"""

from __future__ import annotations

from driftmgr.state.locate.core import LocateResult, locate

__all__ = ["LocateResult", "locate"]
