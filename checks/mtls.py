"""Prove that a StatefulSet's cache traffic is mutual TLS under Linkerd.

    python -m checks.mtls --namespace ignite --statefulset ignite --replicas 2 \\
        --ports 47100,47500 --timeout 300 --interval 5 \\
        --identity default.ignite.serviceaccount.identity.linkerd.cluster.local

Prints one JSON report on stdout (top-level `verified`) and exits 0 when verified, 1 when not
verified by the timeout, 2 when the check cannot run, 3 when a SIGTERM or SIGINT stopped it
(`"status": "interrupted"`; no kubectl or linkerd call outlives it: checks/interrupt.py). Progress
goes to stderr.

The work is split in two: `checks.mtls_evaluate.evaluate` (pure: pods + metrics text -> Report)
and `checks.mtls_tools` (kubectl / linkerd calls). This module runs rounds of the two until
verified or timeout.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from pydantic import ValidationError

from checks.interrupt import Interrupted, interruptible
from checks.mtls_evaluate import Samples, advice, evaluate, extract_connections
from checks.mtls_prometheus import (
    DEFAULT_JOB,
    PrometheusClient,
    PrometheusEndpoint,
    PrometheusEvidence,
    parse_service,
    parse_url,
)
from checks.mtls_report import (
    AUTHORIZATION_MODES,
    DeniedAttempts,
    Expectation,
    Failure,
    PodInfo,
    PodReport,
    Report,
    ScrapeFailure,
    Status,
)
from checks.mtls_tools import (
    CannotRun,
    ListingFailed,
    MetricsSource,
    Tools,
    add_cluster_arguments,
    cluster_tools,
    get_pods,
    non_negative_seconds,
    parse_pods,
    scrape_all,
)

__all__ = [
    "EXIT_CANNOT_RUN",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_VERIFIED",
    "EXIT_VERIFIED",
    "CannotRun",
    "DeniedAttempts",
    "Expectation",
    "Failure",
    "PodInfo",
    "PodReport",
    "PrometheusEndpoint",
    "Report",
    "ScrapeFailure",
    "Tools",
    "advice",
    "check_round",
    "evaluate",
    "extract_connections",
    "main",
    "parse_pods",
    "run_check",
]

EXIT_VERIFIED = 0
EXIT_NOT_VERIFIED = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 3

# A round's metrics for the named pods, from somewhere other than a scrape per pod (Prometheus).
Collector = Callable[[list[str]], Mapping[str, str | Samples | ScrapeFailure]]


def check_round(
    exp: Expectation,
    tools: Tools,
    source: MetricsSource,
    *,
    first: bool = False,
    max_parallel: int = 32,
    collect: Collector | None = None,
) -> Report:
    """One round: list the pods, scrape every pod that can have proxy metrics at once (or ask
    `collect` for their evidence), evaluate."""
    try:
        pods, errors = get_pods(tools, exp, first_call=first)
    except ListingFailed as failed:
        # kubectl failed: nothing is known about the pods, so none is reported missing, and the
        # round is "cannot run" (the last round's status decides the exit code).
        return _unverified_report(exp, source, [failed.failure], "cannot-run")
    if errors and not pods:
        # An answer that could not be read: not verified, and still no pod reported missing.
        return _unverified_report(exp, source, errors, "not-verified")
    # Only a running pod with a proxy has an admin endpoint; scraping the others would just add
    # failures that repeat what the pod check already says.
    targets = [
        name
        for name in exp.pod_names
        if (p := pods.get(name)) and p.proxy_injected and p.phase == "Running"
    ]
    metrics: Mapping[str, str | Samples | ScrapeFailure] = (
        collect(targets) if collect else scrape_all(tools, exp, source, targets, max_parallel)
    )
    return evaluate(exp, pods, metrics, errors=errors, metrics_source=source)


def _unverified_report(
    exp: Expectation, source: str, failures: list[Failure], status: Status, **fields: Any
) -> Report:
    """A report that verifies nothing: a round whose pod listing failed, or a check that could
    not run or was interrupted (`fields`: attempts, elapsed seconds)."""
    return Report.about(
        exp,
        verified=False,
        status=status,
        metrics_source=source,
        checked_at=datetime.now(UTC),
        reasons=[f.as_reason() for f in failures],
        failures=failures,
        **fields,
    )


def run_check(
    exp: Expectation,
    tools: Tools,
    source: MetricsSource = "linkerd",
    *,
    timeout: float = 300.0,
    interval: float = 5.0,
    max_parallel: int = 32,
    log: Callable[[str], None] = lambda _msg: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    prometheus: PrometheusEndpoint | None = None,
) -> Report:
    """Run rounds until verified or until the next round would start past `timeout`.

    Returns the last round's report with `attempts` and `elapsedSeconds` filled in. Raises CannotRun
    when a tool is missing or the cluster (or, for source "prometheus", the Prometheus API named by
    `prometheus`) is unreachable on the first call. A last round whose pod listing failed has the
    status "cannot-run".
    """
    tools.require(source)
    collect: Collector | None = None
    if source == "prometheus":
        if prometheus is None:
            raise CannotRun(
                "--metrics-source prometheus needs --prometheus-url or --prometheus-service"
            )
        evidence = PrometheusEvidence(PrometheusClient(prometheus, tools), exp)
        evidence.start()  # only what Prometheus scrapes from now on counts
        collect = evidence.collect
    start = clock()
    deadline = start + timeout
    attempt = 0
    while True:
        attempt += 1
        report = check_round(
            exp, tools, source, first=attempt == 1, max_parallel=max_parallel, collect=collect
        )
        report = report.model_copy(
            update={"attempts": attempt, "elapsed_seconds": round(clock() - start, 3)}
        )
        if report.verified:
            log(f"attempt {attempt}: verified")
            return report
        log(f"attempt {attempt}: not verified: " + "; ".join(report.reasons[:3]))
        if clock() + interval >= deadline:
            return report
        sleep(interval)


def _cannot_run_report(
    exp: Expectation, source: str, message: str, start: float, status: Status = "cannot-run"
) -> Report:
    failure = Failure(
        pod=None,
        port=None,
        problem=message,
        likely_cause=(
            "A SIGTERM or SIGINT stopped the check (Ctrl-C, a CI job's timeout)."
            if status == "interrupted"
            else "The check's tools are missing or cannot reach the cluster."
        ),
        fix=message,
        docs="docs/tasks/run-the-mtls-check.md#exit-codes",
    )
    return _unverified_report(
        exp,
        source,
        [failure],
        status,
        attempts=0,
        elapsed_seconds=round(time.monotonic() - start, 3),
    )


def _ports(text: str) -> tuple[int, ...]:
    try:
        ports = tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of ports: {text!r}") from None
    if not ports:
        raise argparse.ArgumentTypeError("at least one port is required")
    return ports


def _servers(text: str) -> dict[int, str]:
    """`47100=ignite-communication,47500=ignite-discovery` -> {47100: ..., 47500: ...}."""
    servers: dict[int, str] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        port, sep, name = entry.partition("=")
        if not sep or not port.strip().isdigit() or not name.strip():
            raise argparse.ArgumentTypeError(
                f"not PORT=SERVER: {entry!r} (e.g. 47100=ignite-communication)"
            )
        number = int(port)
        if number in servers and servers[number] != name.strip():
            raise argparse.ArgumentTypeError(f"port {number} is given two Servers")
        servers[number] = name.strip()
    if not servers:
        raise argparse.ArgumentTypeError("at least one PORT=SERVER is required")
    return servers


def _prometheus_url(text: str) -> str:
    try:
        return parse_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _prometheus_service(text: str) -> str:
    try:
        parse_service(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def prometheus_endpoint(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> PrometheusEndpoint | None:
    """The Prometheus endpoint of `--metrics-source prometheus`; contradictions are usage errors."""
    url, service = args.prometheus_url, args.prometheus_service
    if args.metrics_source != "prometheus":
        if url or service:
            parser.error("--prometheus-url/--prometheus-service need --metrics-source prometheus")
        return None
    if bool(url) == bool(service):
        parser.error(
            "--metrics-source prometheus needs exactly one of --prometheus-url or "
            "--prometheus-service"
        )
    if not args.prometheus_job.strip():
        parser.error("--prometheus-job must not be empty")
    return PrometheusEndpoint(url=url, service=service, job=args.prometheus_job.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m checks.mtls",
        description="Prove that a StatefulSet's inter-node traffic is mutual TLS under Linkerd.",
        epilog="Exit codes: 0 verified, 1 not verified by the timeout, 2 cannot run, 3 interrupted "
        "(SIGTERM/SIGINT).",
    )
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--statefulset", required=True)
    parser.add_argument("--replicas", required=True, type=int)
    parser.add_argument(
        "--ports", type=_ports, default=(47100, 47500), help="cache ports (default 47100,47500)"
    )
    parser.add_argument(
        "--identity",
        required=True,
        help="expected Linkerd identity, e.g. "
        "default.ignite.serviceaccount.identity.linkerd.cluster.local",
    )
    parser.add_argument(
        "--authorization",
        choices=AUTHORIZATION_MODES,
        default="permissive",
        help="the cache's authorization mode (default permissive: the guide's behaviour, no "
        "Server check). strict/meshed: inbound connections must be admitted by the program's "
        "own Server and AuthorizationPolicy (see --servers)",
    )
    parser.add_argument(
        "--servers",
        type=_servers,
        default={},
        metavar="PORT=SERVER,...",
        help="expected Linkerd Server per port, e.g. "
        "47100=ignite-communication,47500=ignite-discovery (required for strict/meshed)",
    )
    parser.add_argument(
        "--trust-roots-sha256",
        metavar="HEX",
        help="SHA-256 of the current Linkerd trust bundle (stack output "
        "linkerdIdentity.trustRootsSha256): every pod's linkerd.io/trust-root-sha256 must equal "
        "it, or the pod still runs with old trust roots and is reported",
    )
    parser.add_argument(
        "--timeout", type=non_negative_seconds, default=300.0, help="seconds (default 300)"
    )
    parser.add_argument(
        "--interval",
        type=non_negative_seconds,
        default=5.0,
        help="seconds between rounds (default 5)",
    )
    parser.add_argument(
        "--metrics-source",
        choices=("linkerd", "kubectl", "prometheus"),
        default="linkerd",
        help="linkerd (default) or kubectl: scrape every proxy; prometheus: one aggregated query "
        "per round to --prometheus-url or --prometheus-service",
    )
    parser.add_argument(
        "--prometheus-url",
        type=_prometheus_url,
        help="Prometheus-compatible API base URL (linkerd-viz's, your own, Thanos, Mimir)",
    )
    parser.add_argument(
        "--prometheus-service",
        type=_prometheus_service,
        metavar="NAMESPACE/NAME:PORT",
        help="Prometheus Service reached through the API server (kubectl get --raw), e.g. "
        "linkerd-viz/prometheus:9090",
    )
    parser.add_argument(
        "--prometheus-job",
        default=DEFAULT_JOB,
        help=f"the scrape job of the proxies' metrics (default {DEFAULT_JOB}, linkerd-viz's)",
    )
    add_cluster_arguments(parser, passed_to="kubectl and linkerd", call_timeout=30.0)
    parser.add_argument(
        "--max-parallel", type=int, default=32, help="concurrent scrapes (default 32)"
    )
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        exp = Expectation(
            namespace=args.namespace,
            statefulset=args.statefulset,
            replicas=args.replicas,
            ports=args.ports,
            identity=args.identity,
            authorization=args.authorization,
            expected_servers=args.servers,
            trust_roots_sha256=args.trust_roots_sha256,
        )
    except ValidationError as exc:
        parser.error(
            "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
        )
    prometheus = prometheus_endpoint(parser, args)

    def log(msg: str) -> None:
        print(f"checks.mtls: {msg}", file=err, flush=True)

    start = time.monotonic()
    try:
        with interruptible(), cluster_tools(args, 30.0) as tools:
            report = run_check(
                exp,
                tools,
                args.metrics_source,
                timeout=args.timeout,
                interval=args.interval,
                max_parallel=max(1, args.max_parallel),
                log=log,
                prometheus=prometheus,
            )
    except Interrupted as exc:
        message = (
            f"interrupted by {exc.signal} after {time.monotonic() - start:.1f}s, before the check "
            "finished: nothing is verified (the running kubectl/linkerd calls were stopped). "
            "Re-run the check."
        )
        log(message)
        report = _cannot_run_report(exp, args.metrics_source, message, start, "interrupted")
        print(report.to_json(), file=out)
        return EXIT_INTERRUPTED
    except CannotRun as exc:
        log(f"cannot run: {exc}")
        print(_cannot_run_report(exp, args.metrics_source, str(exc), start).to_json(), file=out)
        return EXIT_CANNOT_RUN
    except Exception as exc:  # last resort: the promise is a report, never a traceback
        log(f"internal error: {type(exc).__name__}: {exc}")
        report = _cannot_run_report(exp, args.metrics_source, f"internal error: {exc}", start)
        print(report.model_copy(update={"status": "not-verified"}).to_json(), file=out)
        return EXIT_NOT_VERIFIED
    if report.status == "cannot-run":
        # The last round's kubectl call failed: nothing was observed at the end, so the verdict
        # is not "not verified" (a mesh problem) but "cannot run".
        log(f"cannot run: {'; '.join(report.reasons)}")
        print(report.to_json(), file=out)
        return EXIT_CANNOT_RUN
    for failed in report.failures:
        log(f"not verified: {failed.as_reason()} (cause and fix: {failed.docs})")
    print(report.to_json(), file=out)
    return EXIT_VERIFIED if report.verified else EXIT_NOT_VERIFIED


if __name__ == "__main__":
    sys.exit(main())
