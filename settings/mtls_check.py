"""Settings of the post-deploy mTLS check: `cachemesh:mtlsCheck`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from settings.base import SettingsModel


class MtlsCheckSettings(SettingsModel):
    enabled: bool = True
    # How long the check keeps looking for inter-node mTLS after the StatefulSet is ready.
    timeout_seconds: int = Field(default=300, ge=10, le=3600)
    interval_seconds: int = Field(default=5, ge=1, le=300)
    # A failed check fails `pulumi up`; without it the outputs say false and the update goes on.
    enforce: bool = True
    # Where per-pod proxy metrics come from: the Linkerd CLI, or kubectl's API-server proxy.
    metrics_source: Literal["linkerd", "kubectl"] = "linkerd"
