"""Settings of the alerts that keep watching after deploy day: `cachemesh:monitoring`."""

from __future__ import annotations

from pydantic import Field

from settings.base import SettingsModel

# Prometheus' duration syntax (what a PrometheusRule's range selectors take), e.g. 10m, 1h30m.
PROMETHEUS_DURATION = r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?$"


class MonitoringSettings(SettingsModel):
    # A PrometheusRule per cache (components/cache_alerts.py); needs the Prometheus Operator's CRD.
    prometheus_rules: bool = Field(
        default=False,
        description="Create a PrometheusRule `<cache>-mtls-alerts` per cache (needs the Prometheus "
        "Operator's CRD, e.g. kube-prometheus-stack). Refused while `linkerd.enabled` is false.",
    )
    # Counter alerts fire on an increase within this window.
    window: str = Field(
        default="10m",
        min_length=2,
        pattern=PROMETHEUS_DURATION,
        description="Counter alerts fire on an increase within this window (a Prometheus "
        "duration such as 10m or 1h30m).",
    )
    # The scrape job of the proxies' metrics; linkerd-viz's is `linkerd-proxy`.
    job: str = Field(
        default="linkerd-proxy",
        min_length=1,
        description="The scrape job of the Linkerd proxies' metrics (linkerd-viz's is "
        "`linkerd-proxy`); the rules select it with the cache's namespace and pods.",
    )
    # Labels on each PrometheusRule, for the operator's ruleSelector (kube-prometheus-stack
    # selects `release: <its release name>` by default).
    rule_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels on each PrometheusRule so the operator's ruleSelector picks it up "
        "(kube-prometheus-stack: `release: <its release name>`).",
    )
