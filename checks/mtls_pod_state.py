"""Per-pod state for the mTLS check: is the pod there, running, ready, meshed, on the current
trust roots, and could its proxy's metrics be read. Pure: what kubectl and the scrape said in,
failures and the pod's metrics status out."""

from __future__ import annotations

from dataclasses import dataclass

from checks.mtls_advice import failure
from checks.mtls_evidence import MetricsError, Samples, extract_samples
from checks.mtls_report import Expectation, Failure, MetricsStatus, PodInfo, ScrapeFailure


def pod_failures(exp: Expectation, name: str, info: PodInfo) -> list[Failure]:
    """What is wrong with the pod itself, before any metric is read."""
    if not info.exists:
        return [failure(exp, "pod-missing", name, None, "pod does not exist")]
    out: list[Failure] = []
    if info.terminating:
        out.append(failure(exp, "pod-not-ready", name, None, "pod is terminating"))
    if info.phase != "Running":
        phase = f"pod phase is {info.phase or 'unknown'}, not Running"
        out.append(failure(exp, "pod-not-ready", name, None, phase))
    if not info.ready:
        out.append(failure(exp, "pod-not-ready", name, None, "pod is not Ready"))
    if not info.proxy_injected:
        problem = "pod has no linkerd-proxy container (proxy not injected)"
        out.append(failure(exp, "no-proxy", name, None, problem))
    elif exp.trust_roots_sha256 and info.trust_root_sha256 != exp.trust_roots_sha256:
        problem = (
            "pod runs with other trust roots: linkerd.io/trust-root-sha256 is "
            f"{info.trust_root_sha256 or 'missing'}, the current bundle's is "
            f"{exp.trust_roots_sha256}"
        )
        out.append(failure(exp, "stale-trust-roots", name, None, problem))
    return out


@dataclass(frozen=True, slots=True)
class PodMetrics:
    """What became of one pod's metrics: its status, the error, and the evidence when ok."""

    status: MetricsStatus
    error: str | None
    samples: Samples | None
    failure: Failure | None


def read_metrics(
    exp: Expectation,
    name: str,
    info: PodInfo,
    scraped: str | Samples | ScrapeFailure | None,
) -> PodMetrics:
    """The pod's evidence from its scrape (text, samples already extracted, or a failure)."""
    usable = info.exists and info.proxy_injected and info.phase == "Running"
    status: MetricsStatus = "skipped"
    error: str | None = None
    samples: Samples | None = None
    if isinstance(scraped, ScrapeFailure):
        status, error = "unavailable", scraped.error
    elif isinstance(scraped, str | Samples):
        try:
            samples = (
                scraped
                if isinstance(scraped, Samples)
                else extract_samples(scraped, frozenset(exp.ports))
            )
            status = "ok"
        except MetricsError as exc:
            status, error = exc.status, str(exc)
    elif usable:
        error = "metrics were not collected"
    # A pod that is missing or has no proxy already failed; its absent metrics add nothing.
    fail = None
    if status != "ok" and (usable or isinstance(scraped, str)):
        fail = failure(exp, "metrics", name, None, f"metrics {status}: {error}")
    return PodMetrics(status, error, samples, fail)
