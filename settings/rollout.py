"""Settings of a cache's data-safe rollout: `cachemesh:caches[i].rollout`
(docs/tasks/change-a-running-cache.md)."""

from __future__ import annotations

from pydantic import Field

from settings.base import SettingsModel


class RolloutSettings(SettingsModel):
    # Seconds each gate may take: the cluster whole and rebalanced, an eviction the
    # PodDisruptionBudget admits, a restarted pod back and Ready. Size it for the longest
    # rebalance of this cache's data; a gate that does not pass stops the rollout (and `up`).
    timeout_seconds: int = Field(
        default=900,
        ge=10,
        le=86400,
        description="Seconds each rollout gate may take (cluster whole and rebalanced, eviction "
        "admitted, restarted pod Ready); size it for the longest rebalance. A gate that does not "
        "pass stops the rollout and `pulumi up`.",
    )
    # Seconds between polls; the rebalanced gate must pass on two polls this far apart.
    interval_seconds: int = Field(
        default=10,
        ge=1,
        le=600,
        description="Seconds between polls; the rebalanced gate must pass on two polls this far "
        "apart.",
    )
