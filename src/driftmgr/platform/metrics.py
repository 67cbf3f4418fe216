"""Prometheus metrics of one process, in a registry of its own (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.discovery_duration = Histogram(
            "driftmgr_discovery_duration_seconds",
            "Discovery duration by provider",
            ["provider"],
            registry=r,
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
        )
        self.cache_hit_ratio = Gauge("driftmgr_cache_hit_ratio", "Cache hits / lookups", registry=r)
        self.queue_depth = Gauge("driftmgr_job_queue_depth", "Queued jobs by kind", ["kind"], registry=r)
        self.api_latency = Histogram(
            "driftmgr_api_request_duration_seconds",
            "API latency",
            ["method", "route", "status"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.errors = Counter(
            "driftmgr_errors_total", "Errors by operation", ["operation", "code"], registry=r
        )
        self.resources = Gauge(
            "driftmgr_resources",
            "Resources of the latest scan by type and status",
            ["type", "status"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
