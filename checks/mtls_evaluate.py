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
    DeniedAttempts,
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
# Authorization counters of the inbound proxy (linkerd2-proxy linkerd/app/inbound/src/metrics/
# authz.rs and metrics/error/tcp.rs). allow/deny/terminate carry target_*, srv_* and tls labels
# (allow also authz_*); errors carry target_* and `error`.
_ALLOW_SAMPLE = "inbound_tcp_authz_allow_total"
_DENY_SAMPLE = "inbound_tcp_authz_deny_total"
_TERMINATE_SAMPLE = "inbound_tcp_authz_terminate_total"
_ERRORS_SAMPLE = "inbound_tcp_errors_total"
_AUTHZ_SAMPLES = frozenset({_ALLOW_SAMPLE, _DENY_SAMPLE, _TERMINATE_SAMPLE, _ERRORS_SAMPLE})
_KEPT_SAMPLES = frozenset({_OPEN_SAMPLE, *_AUTHZ_SAMPLES})
_UNAUTHORIZED = "unauthorized"  # inbound_tcp_errors_total error label for DeniedUnauthorized
# Connections between the app and its own proxy (or the app and itself) never leave the pod;
# the proxy labels them no_tls_reason="loopback" (see linkerd-metrics-samples/01). They are not
# plaintext on the wire, so they neither prove nor disprove anything.
_LOOPBACK = "loopback"


class MetricsError(ValueError):
    """The metrics text is empty or not Prometheus text."""

    def __init__(self, status: MetricsStatus, message: str) -> None:
        super().__init__(message)
        self.status: MetricsStatus = status


@dataclass(frozen=True, slots=True)
class Connection:
    """One `tcp_open_total` sample on a cache port, reduced to what the check needs."""

    direction: str  # "inbound" | "outbound"
    port: int
    tls: bool
    no_tls_reason: str | None
    identity: str | None  # client_id inbound, server_id outbound
    peer: str | None  # dst_pod (outbound) or None
    peer_statefulset: str | None
    peer_namespace: str | None
    server_name: str | None  # the srv_name label as written
    count: int
    server: str | None = None  # normalised `kind:name` of the Server/default policy (inbound)


@dataclass(frozen=True, slots=True)
class AuthzSample:
    """One inbound authorization counter sample on a checked port."""

    outcome: str  # "allow" | "deny" | "terminate" | "unauthorized"
    port: int
    server: str | None  # normalised `kind:name`
    authz: str | None  # normalised `kind:name` (allow only)
    client: str  # client_id, or `no_tls:<reason>`
    count: int


class Samples(NamedTuple):
    connections: list[Connection]
    authz: list[AuthzSample]


def _policy_ref(
    labels: Mapping[str, str], kind_key: str, name_keys: Sequence[str], default_kind: str
) -> str | None:
    """`kind:name` of the policy object a sample names, in either spelling the proxy has used.

    Since Linkerd 2.12 (linkerd2-proxy #1560) the kind has its own label: srv_kind="server",
    srv_name="N-communication" or srv_kind="default", srv_name="all-unauthenticated" (authz_kind /
    authz_name likewise). Before, the kind was a prefix of the name for defaults only
    (srv_name="default:all-unauthenticated", saz_name="default:..."), and a bare name was a
    resource of `default_kind` (the proxy's own fallback in server-policy/src/meta.rs).
    """
    for key in name_keys:
        name = labels.get(key)
        if not name:
            continue
        kind = labels.get(kind_key)
        if kind:
            return f"{kind}:{name}"
        prefix, sep, rest = name.partition(":")
        if sep and prefix and rest:
            return f"{prefix}:{rest}"
        return f"{default_kind}:{name}"
    return None


def server_ref(labels: Mapping[str, str]) -> str | None:
    return _policy_ref(labels, "srv_kind", ("srv_name",), "server")


def authz_ref(labels: Mapping[str, str]) -> str | None:
    # saz_name (Linkerd 2.11) only ever named ServerAuthorizations; it carries no kind, so a bare
    # name is marked `legacy` and matched on the name alone.
    if labels.get("authz_name"):
        return _policy_ref(labels, "authz_kind", ("authz_name",), "authorizationpolicy")
    return _policy_ref(labels, "", ("saz_name",), "legacy")


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
    """Keep the comment lines, tcp_open_total and the authorization counters for the parser.

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
        if name in _KEPT_SAMPLES:
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
    return extract_samples(text, ports).connections


def _count(name: str, value: float) -> int:
    if not math.isfinite(value) or value < 0:
        raise MetricsError("unparseable", f"{name} has value {value}")
    return int(value)


def _client(labels: Mapping[str, str]) -> str:
    if labels.get("tls") == "true":
        return labels.get("client_id") or "(no client_id)"
    return f"no_tls:{labels.get('no_tls_reason') or labels.get('tls') or 'unknown'}"


def sample_evidence(
    name: str, labels: Mapping[str, str], value: float, ports: frozenset[int]
) -> Connection | AuthzSample | None:
    """One counter sample (`name`, labels, value) as evidence on `ports`, or None when it is not
    evidence (another port, loopback, zero, another error). Shared by the direct scrape (one
    sample per proxy series) and the Prometheus source (one sample per aggregated series).
    Raises MetricsError when the value of a sample that is evidence is not a count."""
    if name in _AUTHZ_SAMPLES:
        port = _port_of(labels, ("target_port", "srv_port"))
        if port not in ports:
            return None
        if name == _ERRORS_SAMPLE:
            if labels.get("error") != _UNAUTHORIZED:
                return None
            outcome = "unauthorized"
        else:
            outcome = name.removeprefix("inbound_tcp_authz_").removesuffix("_total")
        count = _count(name, value)
        if not count:
            return None
        return AuthzSample(
            outcome=outcome,
            port=port,
            server=server_ref(labels),
            authz=authz_ref(labels) if outcome == "allow" else None,
            client=_client(labels),
            count=count,
        )
    if name != _OPEN_SAMPLE:
        return None
    direction = labels.get("direction")
    if direction == "inbound":
        port = _port_of(labels, ("target_port", "srv_port"))
    elif direction == "outbound":
        port = _port_of(labels, ("target_port",))
    else:
        return None
    if port not in ports:
        return None  # admin port 4191, app ports, ... are not cache traffic
    reason = labels.get("no_tls_reason") or None
    if reason == _LOOPBACK:
        return None
    count = _count(name, value)
    if count == 0:
        return None
    inbound = direction == "inbound"
    return Connection(
        direction=direction,
        port=port,
        tls=labels.get("tls") == "true" and reason is None,
        no_tls_reason=reason or _tls_reason(labels),
        identity=labels.get("client_id" if inbound else "server_id") or None,
        peer=None if inbound else labels.get("dst_pod") or labels.get("target_addr"),
        peer_statefulset=None if inbound else labels.get("dst_statefulset"),
        peer_namespace=None if inbound else labels.get("dst_namespace"),
        server_name=labels.get("srv_name") if inbound else None,
        count=count,
        server=server_ref(labels) if inbound else None,
    )


def extract_samples(text: str, ports: frozenset[int]) -> Samples:
    """Parse proxy metrics text: `tcp_open_total` connections and inbound TCP authorization
    counters on `ports`. Raises MetricsError when the text is empty or not Prometheus text."""
    if not text.strip():
        raise MetricsError("empty", "the proxy returned no metrics")
    selected, samples = _select_open_lines(text)
    if not samples:
        raise MetricsError("empty", "the metrics text holds no samples")
    found: list[Connection] = []
    authz: list[AuthzSample] = []
    try:
        for family in text_string_to_metric_families(selected):
            for sample in family.samples:
                if sample.name not in _KEPT_SAMPLES:
                    continue
                evidence = sample_evidence(sample.name, sample.labels, sample.value, ports)
                if isinstance(evidence, Connection):
                    found.append(evidence)
                elif evidence is not None:
                    authz.append(evidence)
    except MetricsError:
        raise
    except Exception as exc:  # the parser raises ValueError, but garbage can trip anything
        raise MetricsError("unparseable", f"not Prometheus text: {exc}") from exc
    return Samples(found, authz)


# --- advice from the guide's troubleshooting ------------------------------------------------------


def _opaque_ports(exp: Expectation) -> str:
    # The guide's value is "10800,47100,47500": the thin-client port plus the cache ports.
    return ",".join(str(p) for p in sorted({10800, *exp.ports}))


def _restart(exp: Expectation) -> str:
    # cachemesh's StatefulSets use updateStrategy OnDelete: `kubectl rollout restart` only marks a
    # new revision, and checks.rollout replaces the pods one at a time, each only when the cluster
    # is whole and rebalanced (README.md "Running the rollout by hand"). A pod template change
    # applied by `pulumi up` runs that rollout by itself.
    return (
        f"kubectl rollout restart statefulset/{exp.statefulset} -n {exp.namespace}, then "
        f"python -m checks.rollout --namespace {exp.namespace} --statefulset {exp.statefulset} "
        f"--replicas {exp.replicas}"
    )


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
    if kind == "default-policy":
        servers = ", ".join(f"{p}={n}" for p, n in sorted(exp.expected_servers.items()))
        return (
            "Connections on this port were admitted by a default inbound policy, not by the "
            "program's Server: the Server is missing (not created, or created in another "
            "namespace), or its spec.podSelector does not select these pods, or its spec.port "
            "names neither this port number nor the container port's name. A port no Server "
            "selects falls back to the default policy. A default that still admits traffic (e.g. "
            "all-unauthenticated) while the pod template says "
            "config.linkerd.io/default-inbound-policy: deny also means the pods were created "
            "before that annotation: the default policy is fixed when the proxy starts.",
            f"kubectl get server -n {ns} (expected: {servers}); kubectl get server/<name> -n {ns} "
            "-o yaml and compare spec.podSelector.matchLabels with the pods' labels "
            f"(kubectl get pods -n {ns} --show-labels) and spec.port with the container port; "
            "kubectl get authorizationpolicy -n "
            f"{ns}. Fix the Server (pulumi up re-creates the program's objects), then "
            f"{_restart(exp)} so the proxies start with the deny default.",
        )
    if kind == "wrong-server":
        return (
            "Another Server selects these pods on this port and the proxy uses it instead of the "
            "program's (Linkerd picks one Server per pod port; overlapping Servers are "
            "ambiguous), or --servers names the wrong Server.",
            f"kubectl get server -n {ns} -o yaml: remove the other Server or narrow its "
            "podSelector/port so only the program's Server covers the port; or pass the "
            "Server names the program created (stack output) to --servers.",
        )
    if kind == "wrong-authorization":
        return (
            "The connections were authorized by something other than the program's "
            "AuthorizationPolicy of the same name as the Server: another AuthorizationPolicy or "
            "a legacy ServerAuthorization targets the Server and let them in.",
            f"kubectl get authorizationpolicy,serverauthorization -n {ns}: remove the extra "
            "authorization that targets the program's Server; let applications in through "
            "the cache's clientIdentities instead.",
        )
    if kind == "no-server-label":
        return (
            "The proxy does not label inbound connections with the Server that admitted them "
            "(no srv_name label): a proxy from before Linkerd's policy support, or metrics "
            "from something that is not a Linkerd proxy.",
            "Upgrade Linkerd (the program's Server/AuthorizationPolicy objects need 2.12 or "
            "later) and restart the pods; until then only --authorization permissive can be "
            "checked.",
        )
    if kind == "stale-trust-roots":
        return (
            "The pod was injected with other trust roots than the current bundle (its "
            "linkerd.io/trust-root-sha256 annotation differs or is missing): it still runs with "
            "the old trust anchors, so during a trust-anchor rotation it will reject peers whose "
            "certificates chain to the new anchor.",
            f"Restart it so the injector gives it the current bundle: kubectl delete pod/{target} "
            f"-n {ns} (the StatefulSet re-creates it; `kubectl rollout restart` replaces no pod "
            "of an OnDelete StatefulSet). Delete several one at a time, the next only once the "
            "re-created pod is Ready and the cluster has rebalanced (python -m checks.rollout). "
            "List every meshed pod still on other trust roots with: python -m checks.trust_roots",
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
    admitted: dict[str, int] = field(default_factory=dict)  # inbound: `kind:name` -> count


@dataclass
class _Authz:
    authorized_by: dict[str, int] = field(default_factory=dict)
    allowed_by_server: dict[str, dict[str, int]] = field(default_factory=dict)
    denied: int = 0
    denied_by: dict[str, int] = field(default_factory=dict)
    unauthorized: int = 0
    terminated: int = 0

    @property
    def refused(self) -> int:
        # One refused connection can bump both the deny counter and the error counter.
        return max(self.denied, self.unauthorized)


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
            _bump(d.admitted, c.server or "(no srv_name)", c.count)
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


def _tally_authz(exp: Expectation, samples: list[AuthzSample]) -> dict[int, _Authz]:
    stats = {p: _Authz() for p in exp.ports}
    for a in samples:
        t = stats[a.port]
        if a.outcome == "allow":
            key = a.authz or "(no authz label)"
            _bump(t.authorized_by, key, a.count)
            _bump(t.allowed_by_server.setdefault(a.server or "(no srv_name)", {}), key, a.count)
        elif a.outcome == "deny":
            t.denied += a.count
            _bump(t.denied_by, a.client, a.count)
        elif a.outcome == "unauthorized":
            t.unauthorized += a.count
        elif a.outcome == "terminate":
            t.terminated += a.count
    return stats


def _ours(ref: str, expected: str) -> bool:
    """Whether a normalised `kind:name` server ref is the program's Server `expected`."""
    return ref == f"server:{expected}"


def _our_authz(ref: str, expected: str) -> bool:
    # AuthorizationPolicy since 2.12; a bare saz_name (2.11) carries no kind: name only.
    return ref in (f"authorizationpolicy:{expected}", f"legacy:{expected}")


def _strict_failures(
    exp: Expectation, name: str, port: int, inbound: _Dir, authz: _Authz
) -> list[Failure]:
    expected = exp.expected_servers[port]
    out: list[Failure] = []
    foreign = {ref: n for ref, n in inbound.admitted.items() if not _ours(ref, expected)}
    if foreign:
        seen = ", ".join(f"{ref} x{n}" for ref, n in sorted(foreign.items()))
        if all(ref.startswith("default:") for ref in foreign):
            kind, what = "default-policy", "the default inbound policy"
        elif "(no srv_name)" in foreign:
            kind, what = "no-server-label", "an unnamed policy"
        else:
            kind, what = "wrong-server", "another Server"
        out.append(
            _fail(
                exp,
                kind,
                name,
                port,
                f"{sum(foreign.values())} inbound mTLS connection(s) admitted by {what} ({seen}), "
                f"not by Server {expected}",
            )
        )
    # Authorization labels exist on inbound_tcp_authz_allow_total only; connections that another
    # Server admitted were reported above, so only our Server's authorizations are checked here.
    ours = authz.allowed_by_server.get(f"server:{expected}", {})
    wrong = {ref: n for ref, n in ours.items() if not _our_authz(ref, expected)}
    if wrong:
        seen = ", ".join(f"{ref} x{n}" for ref, n in sorted(wrong.items()))
        out.append(
            _fail(
                exp,
                "wrong-authorization",
                name,
                port,
                f"{sum(wrong.values())} inbound connection(s) on Server {expected} authorized by "
                f"{seen}, not by AuthorizationPolicy {expected}",
            )
        )
    return out


def _fail(exp: Expectation, kind: str, pod: str | None, port: int | None, problem: str) -> Failure:
    cause, fix = advice(kind, exp, pod)
    return Failure(pod=pod, port=port, problem=problem, likely_cause=cause, fix=fix)


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
    tallies: dict[str, dict[int, tuple[_Dir, _Dir]]] = {}
    authz_tallies: dict[str, dict[int, _Authz]] = {}

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
            elif exp.trust_roots_sha256 and info.trust_root_sha256 != exp.trust_roots_sha256:
                failures.append(
                    _fail(
                        exp,
                        "stale-trust-roots",
                        name,
                        None,
                        "pod runs with other trust roots: linkerd.io/trust-root-sha256 is "
                        f"{info.trust_root_sha256 or 'missing'}, the current bundle's is "
                        f"{exp.trust_roots_sha256}",
                    )
                )

        scraped = metrics_text_by_pod.get(name)
        status: MetricsStatus = "skipped"
        metrics_error: str | None = None
        if isinstance(scraped, ScrapeFailure):
            status, metrics_error = "unavailable", scraped.error
        elif isinstance(scraped, str | Samples):
            try:
                found = (
                    scraped
                    if isinstance(scraped, Samples)
                    else extract_samples(scraped, frozenset(exp.ports))
                )
                tallies[name] = _tally(exp, found.connections)
                authz_tallies[name] = _tally_authz(exp, found.authz)
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
            a = authz_tallies[name][port]
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
            trust_root_sha256=info.trust_root_sha256,
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

    # strict/meshed: every inbound mTLS connection admitted by the program's own Server and
    # authorized by its AuthorizationPolicy. Refused attempts are the policy working: reported only.
    denied = DeniedAttempts()
    by_pod: dict[str, dict[int, int]] = {}
    for name, by_port in tallies.items():
        for port, (i, _o) in by_port.items():
            a = authz_tallies[name][port]
            if a.refused:
                by_pod.setdefault(name, {})[port] = a.refused
            if exp.checks_servers:
                failures.extend(_strict_failures(exp, name, port, i, a))
    if by_pod:
        denied = DeniedAttempts(
            total=sum(n for ports in by_pod.values() for n in ports.values()), by_pod=by_pod
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
    return Report.about(
        exp,
        verified=verified,
        status="verified" if verified else "not-verified",
        metrics_source=metrics_source,
        checked_at=checked_at or datetime.now(UTC),
        reasons=[f.as_reason() for f in failures],
        pods=pod_reports,
        denied_attempts=denied,
        failures=failures,
    )
