"""The pure half of the mTLS check: proxy metrics text + pod states in, a `Report` out.

No subprocess, no clock except the default `checked_at`: this is what the benchmark times and
what other callers (the Pulumi component, a future strict mode) can reuse on metrics they fetched
themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from prometheus_client.parser import text_string_to_metric_families

from checks.mtls_report import (
    Expectation,
    Failure,
    InboundStats,
    MetricsStatus,
    OutboundStats,
    PodInfo,
    PodReport,
    PortReport,
    Report,
    ScrapeFailure,
)

# The parser strips `_total` from a counter family's name when a TYPE line says "counter"; without a
# TYPE line the family keeps the full name. Samples always keep `_total`.
_OPEN_FAMILIES = frozenset({"tcp_open", "tcp_open_total"})
_OPEN_SAMPLE = "tcp_open_total"
# Connections between the app and its own proxy (or the app and itself) never leave the pod;
# the proxy labels them no_tls_reason="loopback" (see linkerd-metrics-samples/01). They are not
# plaintext on the wire, so they neither prove nor disprove anything.
_LOOPBACK = "loopback"


class MetricsError(ValueError):
    """The metrics text is empty or not Prometheus text."""

    def __init__(self, status: MetricsStatus, message: str) -> None:
        super().__init__(message)
        self.status: MetricsStatus = status


class Connection(NamedTuple):
    """One `tcp_open_total` sample on a cache port, reduced to what the check needs."""

    direction: str  # "inbound" | "outbound"
    port: int
    tls: bool
    no_tls_reason: str | None
    identity: str | None  # client_id inbound, server_id outbound
    peer: str | None  # dst_pod (outbound) or None
    peer_statefulset: str | None
    peer_namespace: str | None
    server_name: str | None
    count: int


def _port_of(labels: Mapping[str, str], keys: Sequence[str]) -> int | None:
    for key in keys:
        value = labels.get(key)
        if value:
            try:
                return int(value)
            except ValueError:
                return None
    addr = labels.get("target_addr", "")
    _, sep, tail = addr.rpartition(":")
    if sep and tail.isdigit():
        return int(tail)
    return None


def _tls_reason(labels: Mapping[str, str]) -> str | None:
    tls = labels.get("tls")
    if tls == "true":
        return None
    return f"tls={tls}" if tls is not None else "no tls label"


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")


def _select_open_lines(text: str) -> tuple[str, int]:
    """Keep the comment lines and the tcp_open_total samples for the Prometheus parser.

    Why: the parser costs ~50-75 us per labelled line, and a 200-pod mesh gives each proxy thousands
    of lines of byte counters and gauges the check never reads (see bench/mtls_bench.py). Every
    other sample line still gets a structural check, so garbage anywhere (HTML, a truncated line,
    binary) still makes the whole text unparseable. Returns (selected text, sample line count).
    """
    keep: list[str] = []
    samples = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] == "#":
            keep.append(line)
            continue
        samples += 1
        brace, space = line.find("{"), line.find(" ")
        cut = min(i for i in (brace, space, len(line)) if i >= 0)
        name = line[:cut]
        if not name or name[0].isdigit() or not _NAME_CHARS.issuperset(name):
            raise MetricsError(
                "unparseable", f"not Prometheus text at line {number}: {line[:80]!r}"
            )
        if name == _OPEN_SAMPLE:
            keep.append(line)
            continue
        # Not needed, but must still look like `name{labels} value [timestamp]`.
        head, _, value = line.rpartition(" ")
        try:
            float(value)
        except ValueError:
            raise MetricsError(
                "unparseable", f"not Prometheus text at line {number}: {line[:80]!r}"
            ) from None
        unbalanced = (line.count('"') - line.count('\\"')) % 2
        if not head or unbalanced or (brace == cut and head.rfind("}") < brace):
            raise MetricsError(
                "unparseable", f"not Prometheus text at line {number}: {line[:80]!r}"
            )
    return "\n".join(keep) + "\n", samples


def extract_connections(text: str, ports: frozenset[int]) -> list[Connection]:
    """Parse proxy metrics text and return the `tcp_open_total` samples on `ports`.

    Raises MetricsError when the text is empty or is not valid Prometheus exposition text.
    """
    if not text.strip():
        raise MetricsError("empty", "the proxy returned no metrics")
    selected, samples = _select_open_lines(text)
    if not samples:
        raise MetricsError("empty", "the metrics text holds no samples")
    found: list[Connection] = []
    try:
        for family in text_string_to_metric_families(selected):
            if family.name not in _OPEN_FAMILIES:
                continue
            for sample in family.samples:
                if sample.name != _OPEN_SAMPLE:
                    continue
                labels = sample.labels
                direction = labels.get("direction")
                if direction == "inbound":
                    port = _port_of(labels, ("target_port", "srv_port"))
                elif direction == "outbound":
                    port = _port_of(labels, ("target_port",))
                else:
                    continue
                if port not in ports:
                    continue  # admin port 4191, app ports, ... are not cache traffic
                reason = labels.get("no_tls_reason") or None
                if reason == _LOOPBACK:
                    continue
                if not math.isfinite(sample.value) or sample.value < 0:
                    raise MetricsError("unparseable", f"{sample.name} has value {sample.value}")
                count = int(sample.value)
                if count == 0:
                    continue
                inbound = direction == "inbound"
                found.append(
                    Connection(
                        direction=direction,
                        port=port,
                        tls=labels.get("tls") == "true" and reason is None,
                        no_tls_reason=reason or _tls_reason(labels),
                        identity=labels.get("client_id" if inbound else "server_id") or None,
                        peer=None
                        if inbound
                        else labels.get("dst_pod") or labels.get("target_addr"),
                        peer_statefulset=None if inbound else labels.get("dst_statefulset"),
                        peer_namespace=None if inbound else labels.get("dst_namespace"),
                        server_name=labels.get("srv_name") if inbound else None,
                        count=count,
                    )
                )
    except MetricsError:
        raise
    except Exception as exc:  # the parser raises ValueError, but garbage can trip anything
        raise MetricsError("unparseable", f"not Prometheus text: {exc}") from exc
    return found


# --- advice from the guide's troubleshooting ------------------------------------------------------


def _opaque_ports(exp: Expectation) -> str:
    # The guide's value is "10800,47100,47500": the thin-client port plus the cache ports.
    return ",".join(str(p) for p in sorted({10800, *exp.ports}))


def _restart(exp: Expectation) -> str:
    return f"kubectl rollout restart statefulset/{exp.statefulset} -n {exp.namespace}"


def advice(kind: str, exp: Expectation, pod: str | None = None) -> tuple[str, str]:
    """(likely cause, fix) for a kind of failure, worded after the guide's troubleshooting."""
    ns, sts, target = exp.namespace, exp.statefulset, pod or f"{exp.statefulset}-0"
    opaque = (
        "Confirm the pod template carries config.linkerd.io/opaque-ports: "
        f'"{_opaque_ports(exp)}" under '
        f"spec.template.metadata.annotations, then restart the StatefulSet: {_restart(exp)}."
    )
    inject = (
        "Put linkerd.io/inject: enabled under spec.template.metadata.annotations (the pod "
        "template, not "
        f"the StatefulSet's own metadata), reapply, then {_restart(exp)}."
    )
    if kind == "pod-missing":
        return (
            "The StatefulSet has not created this pod (still scaling up, fewer replicas than "
            "expected, "
            "or the pod was deleted).",
            f"Compare --replicas with kubectl get statefulset/{sts} -n {ns}; look at its events "
            "with "
            f"kubectl describe statefulset/{sts} -n {ns}.",
        )
    if kind == "pod-not-ready":
        return (
            "The pod is still starting, crash-looping or failing readiness. A crash loop in the "
            "proxy-init/linkerd-init container points at missing iptables kernel modules "
            "(xt_multiport, "
            "xt_comment, xt_owner); handshake timeouts in the node log point at missing opaque "
            "ports.",
            f"kubectl describe pod/{target} -n {ns} and kubectl logs {target} -n {ns} "
            "--all-containers; "
            "wait until every pod is Running and READY 2/2. " + opaque,
        )
    if kind == "no-proxy":
        return (
            "The Linkerd proxy was not injected (the pod shows 1/1 instead of 2/2): the inject "
            "annotation "
            "is missing or sits on the StatefulSet instead of its pod template, or the "
            "namespace/pod "
            "disables injection.",
            inject,
        )
    if kind == "plaintext":
        return (
            "A peer reached this port without a Linkerd proxy on one side: a cache pod without "
            "the proxy "
            "(not injected), a config.linkerd.io/skip-inbound-ports or skip-outbound-ports "
            "annotation that "
            "lists the port, or a non-meshed client or TCP probe.",
            inject
            + " Remove the port from any skip-inbound-ports/skip-outbound-ports annotation and "
            "keep "
            "non-meshed clients off the cache ports.",
        )
    if kind == "wrong-identity":
        return (
            "The peers run under a different ServiceAccount than the expected identity names, or "
            "the mesh "
            "uses a different trust domain. A Linkerd identity reads "
            "<serviceAccount>.<namespace>.serviceaccount.identity.linkerd.<trustDomain>.",
            f"Check the pods' serviceAccountName (kubectl get pods -n {ns} -o "
            "jsonpath='{.items[*].spec.serviceAccountName}') and the trust domain the control "
            "plane "
            "was installed with; fix the pod template's serviceAccountName or pass the right "
            "--identity.",
        )
    if kind in ("no-traffic", "not-participating"):
        return (
            "The nodes have not formed a cluster over the mesh: without the opaque-ports "
            "annotation "
            "Linkerd's protocol detection stalls on the server-first discovery/communication "
            "protocols "
            "and the nodes' handshakes time out. Or the cluster is still forming and has sent no "
            "traffic yet.",
            opaque + f" Check the node logs for handshake timeouts: kubectl logs {target} -n {ns}.",
        )
    if kind == "direction-missing":
        return (
            "Connections on this port are seen from one end only: the other end's proxy is "
            "bypassed "
            "(skip-inbound-ports/skip-outbound-ports), or a proxy restarted and its counters were "
            "reset.",
            "Remove the port from any skip-*-ports annotation on the pod template, then "
            f"{_restart(exp)}; "
            "re-run the check once traffic has flowed again. " + opaque,
        )
    if kind == "metrics":
        return (
            "The proxy's admin endpoint (port 4191) could not be read or did not return Prometheus "
            "text: the proxy is not up yet, the pod is going away, or the CLI cannot reach it.",
            f"Run the scrape by hand: linkerd diagnostics proxy-metrics -n {ns} po/{target} (or "
            "kubectl "
            f"get --raw /api/v1/namespaces/{ns}/pods/{target}:4191/proxy/metrics) and "
            f"linkerd check --proxy -n {ns}.",
        )
    return ("The check could not observe the cluster.", "Re-run the check; see the problem text.")


# --- evaluation ----------------------------------------------------------------------


@dataclass
class _Dir:
    tls: int = 0
    plaintext: int = 0
    plaintext_reasons: dict[str, int] = field(default_factory=dict)
    identities: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)  # server names (in) / peers (out)
    good: int = 0  # TLS with the expected identity, with a cache node
    wrong: dict[str, int] = field(default_factory=dict)  # identity -> count


def _bump(d: dict[str, int], key: str, n: int) -> None:
    d[key] = d.get(key, 0) + n


def _tally(exp: Expectation, conns: list[Connection]) -> dict[int, tuple[_Dir, _Dir]]:
    stats = {p: (_Dir(), _Dir()) for p in exp.ports}
    for c in conns:
        inbound, outbound = stats[c.port]
        d = inbound if c.direction == "inbound" else outbound
        if not c.tls:
            d.plaintext += c.count
            _bump(d.plaintext_reasons, c.no_tls_reason or "unknown", c.count)
            continue
        d.tls += c.count
        ident = c.identity or "(none)"
        _bump(d.identities, ident, c.count)
        if c.direction == "inbound":
            if c.server_name:
                _bump(d.extra, c.server_name, c.count)
        else:
            _bump(d.extra, c.peer or "(unknown)", c.count)
        if c.identity != exp.identity:
            _bump(d.wrong, ident, c.count)
            continue
        # An outbound connection counts towards "talks to the other cache nodes" only when the proxy
        # did not name a different workload as its destination.
        foreign = c.direction == "outbound" and (
            (c.peer_statefulset is not None and c.peer_statefulset != exp.statefulset)
            or (c.peer_namespace is not None and c.peer_namespace != exp.namespace)
        )
        if not foreign:
            d.good += c.count
    return stats


def _fail(exp: Expectation, kind: str, pod: str | None, port: int | None, problem: str) -> Failure:
    cause, fix = advice(kind, exp, pod)
    return Failure(pod=pod, port=port, problem=problem, likely_cause=cause, fix=fix)


def evaluate(
    expectation: Expectation,
    pods: Mapping[str, PodInfo],
    metrics_text_by_pod: Mapping[str, str | ScrapeFailure],
    *,
    errors: Sequence[Failure] = (),
    checked_at: datetime | None = None,
    metrics_source: str | None = None,
) -> Report:
    """Decide whether the cluster's cache traffic is proven mutual TLS.

    `pods` maps pod name to what kubectl said (absent = pod missing); `metrics_text_by_pod` maps pod
    name to its proxy metrics text, or a ScrapeFailure, or nothing when it was not scraped. `errors`
    are failures found while collecting (kubectl failed, its JSON did not parse): any of them
    means "not verified". Only a cluster with no failure at all is verified.
    """
    exp = expectation
    failures: list[Failure] = list(errors)
    pod_reports: dict[str, PodReport] = {}
    tallies: dict[str, dict[int, tuple[_Dir, _Dir]]] = {}

    for name in exp.pod_names:
        info = pods.get(name) or PodInfo(name=name, exists=False)
        usable = info.exists and info.proxy_injected and info.phase == "Running"
        if not info.exists:
            failures.append(_fail(exp, "pod-missing", name, None, "pod does not exist"))
        else:
            if info.terminating:
                failures.append(_fail(exp, "pod-not-ready", name, None, "pod is terminating"))
            if info.phase != "Running":
                failures.append(
                    _fail(
                        exp,
                        "pod-not-ready",
                        name,
                        None,
                        f"pod phase is {info.phase or 'unknown'}, not Running",
                    )
                )
            if not info.ready:
                failures.append(_fail(exp, "pod-not-ready", name, None, "pod is not Ready"))
            if not info.proxy_injected:
                failures.append(
                    _fail(
                        exp,
                        "no-proxy",
                        name,
                        None,
                        "pod has no linkerd-proxy container (proxy not injected)",
                    )
                )

        scraped = metrics_text_by_pod.get(name)
        status: MetricsStatus = "skipped"
        metrics_error: str | None = None
        if isinstance(scraped, ScrapeFailure):
            status, metrics_error = "unavailable", scraped.error
        elif isinstance(scraped, str):
            try:
                tallies[name] = _tally(exp, extract_connections(scraped, frozenset(exp.ports)))
                status = "ok"
            except MetricsError as exc:
                status, metrics_error = exc.status, str(exc)
        elif usable:
            metrics_error = "metrics were not collected"
        # A pod that is missing or has no proxy already failed; its absent metrics add nothing.
        if status != "ok" and (usable or isinstance(scraped, str)):
            failures.append(_fail(exp, "metrics", name, None, f"metrics {status}: {metrics_error}"))

        ports: dict[int, PortReport] = {}
        for port, (i, o) in tallies.get(name, {}).items():
            ports[port] = PortReport(
                inbound=InboundStats(
                    tls=i.tls,
                    plaintext=i.plaintext,
                    plaintext_reasons=i.plaintext_reasons,
                    identities=i.identities,
                    server_names=i.extra,
                ),
                outbound=OutboundStats(
                    tls=o.tls,
                    plaintext=o.plaintext,
                    plaintext_reasons=o.plaintext_reasons,
                    identities=o.identities,
                    peers=o.extra,
                ),
            )
        pod_reports[name] = PodReport(
            exists=info.exists,
            phase=info.phase,
            ready=info.ready,
            proxy_injected=info.proxy_injected,
            proxy=info.proxy,
            service_account=info.service_account,
            metrics=status,
            metrics_error=metrics_error,
            ports=ports,
        )

    # Per pod and port: plaintext and wrong identities fail outright, whatever else was seen.
    for name, by_port in tallies.items():
        for port, (i, o) in by_port.items():
            for label, d in (("inbound", i), ("outbound", o)):
                if d.plaintext:
                    why = ", ".join(f"{r}={n}" for r, n in sorted(d.plaintext_reasons.items()))
                    failures.append(
                        _fail(
                            exp,
                            "plaintext",
                            name,
                            port,
                            f"{d.plaintext} plaintext {label} connection(s) ({why})",
                        )
                    )
                if d.wrong:
                    key = "client_id" if label == "inbound" else "server_id"
                    seen = ", ".join(f"{ident} x{n}" for ident, n in sorted(d.wrong.items()))
                    failures.append(
                        _fail(
                            exp,
                            "wrong-identity",
                            name,
                            port,
                            f"{label} TLS connection(s) with {key} {seen}, expected {exp.identity}",
                        )
                    )

    # Per port across the cluster: traffic seen, from both ends, with every pod taking part.
    if tallies:
        no_traffic_ports: list[int] = []
        for port in exp.ports:
            good_in = sum(t[port][0].good for t in tallies.values())
            good_out = sum(t[port][1].good for t in tallies.values())
            if good_in == 0 and good_out == 0:
                no_traffic_ports.append(port)
                continue
            if good_in == 0 or good_out == 0:
                missing, present = (
                    ("inbound", "outbound") if good_in == 0 else ("outbound", "inbound")
                )
                failures.append(
                    _fail(
                        exp,
                        "direction-missing",
                        None,
                        port,
                        f"one direction missing: {present} mTLS connections seen but no pod "
                        f"reports {missing} ones",
                    )
                )
            for name, by_port in tallies.items():
                i, o = by_port[port]
                # A pod whose only traffic here is plaintext or wrong-identity already has a failure
                # that says so; "takes no part" is for a pod with no connection at all.
                if i.tls + i.plaintext + o.tls + o.plaintext == 0:
                    failures.append(
                        _fail(
                            exp,
                            "not-participating",
                            name,
                            port,
                            "pod takes no part in this port's traffic (no mTLS connection in or "
                            "out "
                            f"with {exp.identity})",
                        )
                    )
        if no_traffic_ports:
            failures.append(
                _fail(
                    exp,
                    "no-traffic",
                    None,
                    None,
                    "no traffic observed on port(s) "
                    + ", ".join(map(str, no_traffic_ports))
                    + " (no tcp_open_total mTLS connection between cache nodes)",
                )
            )

    verified = not failures and len(tallies) == exp.replicas
    if not verified and not failures:  # belt and braces: never verified without full evidence
        failures.append(_fail(exp, "metrics", None, None, "not every pod's metrics were evaluated"))
    return Report(
        verified=verified,
        status="verified" if verified else "not-verified",
        namespace=exp.namespace,
        statefulset=exp.statefulset,
        expected_identity=exp.identity,
        ports=exp.ports,
        metrics_source=metrics_source,
        checked_at=checked_at or datetime.now(UTC),
        reasons=[f.as_reason() for f in failures],
        pods=pod_reports,
        failures=failures,
    )
