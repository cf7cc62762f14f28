"""Settings of the post-deploy mTLS check: `cachemesh:mtlsCheck`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from settings.base import SettingsModel


class MtlsCheckSettings(SettingsModel):
    enabled: bool = Field(
        default=True,
        description="Run the mTLS check as part of `pulumi up`, after the StatefulSets are ready.",
    )
    # How long the check keeps looking for inter-node mTLS after the StatefulSet is ready.
    timeout_seconds: int = Field(
        default=300,
        ge=10,
        le=3600,
        description="How long the check keeps looking for inter-node mTLS before it reports "
        "not verified.",
    )
    interval_seconds: int = Field(
        default=5, ge=1, le=300, description="Seconds between the check's rounds."
    )
    # A failed check fails `pulumi up`; without it the outputs say false and the update goes on.
    enforce: bool = Field(
        default=True,
        description="A failed check fails `pulumi up`. false: the outputs say not verified and "
        "the update goes on.",
    )
    # Where per-pod proxy metrics come from: the Linkerd CLI, or kubectl's API-server proxy; or
    # one aggregated query per round to a Prometheus that scrapes the proxies (checks/
    # mtls_prometheus.py), at `prometheusUrl` or through the API server at `prometheusService`.
    metrics_source: Literal["linkerd", "kubectl", "prometheus"] = Field(
        default="linkerd",
        description="Where per-pod proxy metrics come from: the Linkerd CLI, kubectl's API-server "
        "proxy (not with strict/meshed caches: default-deny refuses it), or one aggregated query "
        "per round to a Prometheus that scrapes the proxies (set prometheusUrl or "
        "prometheusService).",
    )
    prometheus_url: str | None = Field(
        default=None,
        min_length=1,
        description="With metricsSource prometheus: the Prometheus API's http(s) URL, e.g. "
        "http://prometheus.linkerd-viz.svc:9090.",
    )
    # NAMESPACE/NAME:PORT, e.g. linkerd-viz/prometheus:9090
    prometheus_service: str | None = Field(
        default=None,
        min_length=1,
        description="With metricsSource prometheus: the Prometheus Service as NAMESPACE/NAME:PORT "
        "(e.g. linkerd-viz/prometheus:9090), reached through the API server's service proxy.",
    )
    # The scrape job of the proxies' metrics; linkerd-viz's is `linkerd-proxy`.
    prometheus_job: str = Field(
        default="linkerd-proxy",
        min_length=1,
        description="The scrape job of the proxies' metrics in that Prometheus (linkerd-viz's is "
        "`linkerd-proxy`).",
    )
