"""The pure half of the mTLS check: proxy metrics text + pod states in, a `Report` out.

No subprocess, no clock except the default `checked_at`: this is what the benchmark times and
what other callers (the Pulumi component, a future strict mode) can reuse on metrics they fetched
themselves. The pieces, one concern each:

- `checks.mtls_evidence`: proxy metrics text -> connections and authorization samples;
- `checks.mtls_pod_state`: one pod's own state (there, running, ready, meshed, trust roots) and
  whether its metrics could be read;
- `checks.mtls_port_evidence`: connections per pod and port, plaintext and identities, and the
  cluster-wide traffic on each port;
- `checks.mtls_authorization`: which Server admitted and what authorized the connections;
- `checks.mtls_advice`: the likely cause and fix of every kind of failure, as a table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from checks.mtls_advice import advice, failure
from checks.mtls_authorization import (
    Authz,
    authorization_failures,
    denied_attempts,
    tally_authz,
)
from checks.mtls_evidence import (
    AuthzSample,
    Connection,
    MetricsError,
    Samples,
    authz_ref,
    extract_connections,
    extract_samples,
    sample_evidence,
    server_ref,
)
from checks.mtls_pod_state import pod_failures, read_metrics
from checks.mtls_port_evidence import (
    PortTally,
    connection_failures,
    tally,
    traffic_failures,
)
from checks.mtls_report import (
    Expectation,
    Failure,
    InboundStats,
    OutboundStats,
    PodInfo,
    PodReport,
    PortReport,
    Report,
    ScrapeFailure,
)

__all__ = [
    "AuthzSample",
    "Connection",
    "MetricsError",
    "Samples",
    "advice",
    "authz_ref",
    "evaluate",
    "extract_connections",
    "extract_samples",
    "sample_evidence",
    "server_ref",
]


def _port_reports(by_port: PortTally, authz: dict[int, Authz]) -> dict[int, PortReport]:
    ports: dict[int, PortReport] = {}
    for port, (i, o) in by_port.items():
        a = authz[port]
        ports[port] = PortReport(
            inbound=InboundStats(
                tls=i.tls,
                plaintext=i.plaintext,
                plaintext_reasons=i.plaintext_reasons,
                identities=i.identities,
                server_names=i.extra,
                admitted_by=i.admitted,
                authorized_by=a.authorized_by,
                denied=a.denied,
                denied_by=a.denied_by,
                unauthorized_errors=a.unauthorized,
                terminated=a.terminated,
            ),
            outbound=OutboundStats(
                tls=o.tls,
                plaintext=o.plaintext,
                plaintext_reasons=o.plaintext_reasons,
                identities=o.identities,
                peers=o.extra,
            ),
        )
    return ports


def evaluate(
    expectation: Expectation,
    pods: Mapping[str, PodInfo],
    metrics_text_by_pod: Mapping[str, str | Samples | ScrapeFailure],
    *,
    errors: Sequence[Failure] = (),
    checked_at: datetime | None = None,
    metrics_source: str | None = None,
) -> Report:
    """Decide whether the cluster's cache traffic is proven mutual TLS.

    `pods` maps pod name to what kubectl said (absent = pod missing); `metrics_text_by_pod` maps pod
    name to its proxy metrics text (or its evidence already extracted, `Samples`, as the Prometheus
    source gives it), or a ScrapeFailure, or nothing when it was not scraped. `errors`
    are failures found while collecting (kubectl failed, its JSON did not parse): any of them
    means "not verified". Only a cluster with no failure at all is verified.
    """
    exp = expectation
    failures: list[Failure] = list(errors)
    pod_reports: dict[str, PodReport] = {}
    tallies: dict[str, PortTally] = {}
    authz: dict[str, dict[int, Authz]] = {}

    for name in exp.pod_names:
        info = pods.get(name) or PodInfo(name=name, exists=False)
        failures.extend(pod_failures(exp, name, info))
        metrics = read_metrics(exp, name, info, metrics_text_by_pod.get(name))
        if metrics.samples is not None:
            tallies[name] = tally(exp, metrics.samples.connections)
            authz[name] = tally_authz(exp, metrics.samples.authz)
        if metrics.failure is not None:
            failures.append(metrics.failure)
        pod_reports[name] = PodReport(
            exists=info.exists,
            phase=info.phase,
            ready=info.ready,
            proxy_injected=info.proxy_injected,
            proxy=info.proxy,
            service_account=info.service_account,
            metrics=metrics.status,
            metrics_error=metrics.error,
            ports=_port_reports(tallies[name], authz[name]) if name in tallies else {},
            trust_root_sha256=info.trust_root_sha256,
        )

    for name, by_port in tallies.items():
        failures.extend(connection_failures(exp, name, by_port))
    failures.extend(authorization_failures(exp, tallies, authz))
    failures.extend(traffic_failures(exp, tallies))

    verified = not failures and len(tallies) == exp.replicas
    if not verified and not failures:  # belt and braces: never verified without full evidence
        failures.append(
            failure(exp, "metrics", None, None, "not every pod's metrics were evaluated")
        )
    return Report.about(
        exp,
        verified=verified,
        status="verified" if verified else "not-verified",
        metrics_source=metrics_source,
        checked_at=checked_at or datetime.now(UTC),
        reasons=[f.as_reason() for f in failures],
        pods=pod_reports,
        denied_attempts=denied_attempts(authz),
        failures=failures,
    )
