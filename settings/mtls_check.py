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
    # Where per-pod proxy metrics come from: the Linkerd CLI, or kubectl's API-server proxy; or
    # one aggregated query per round to a Prometheus that scrapes the proxies (checks/
    # mtls_prometheus.py), at `prometheusUrl` or through the API server at `prometheusService`.
    metrics_source: Literal["linkerd", "kubectl", "prometheus"] = "linkerd"
    prometheus_url: str | None = Field(default=None, min_length=1)
    # NAMESPACE/NAME:PORT, e.g. linkerd-viz/prometheus:9090
    prometheus_service: str | None = Field(default=None, min_length=1)
    # The scrape job of the proxies' metrics; linkerd-viz's is `linkerd-proxy`.
    prometheus_job: str = Field(default="linkerd-proxy", min_length=1)
