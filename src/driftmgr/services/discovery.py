"""DiscoveryService: what really runs, through the provider registry."""

from __future__ import annotations

from typing import Any

from driftmgr.providers.base import DiscoveryResult, ProgressFn, get_provider


class DiscoveryService:
    def __init__(self, provider_options: dict[str, Any] | None = None) -> None:
        self._options = provider_options or {}

    def discover(
        self,
        provider: str,
        *,
        regions: list[str] | None = None,
        types: list[str] | None = None,
        progress: ProgressFn | None = None,
    ) -> DiscoveryResult:
        return get_provider(provider, **self._options).discover(
            regions=regions, types=types, progress=progress
        )
