"""Evidence from a proxy's metrics: the `tcp_open_total` connections and inbound authorization
counters on the cache ports, parsed out of Prometheus text (or one sample at a time, as the
Prometheus source gives them). Pure: text in, `Samples` out. `checks.mtls_evaluate` judges them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from prometheus_client.parser import text_string_to_metric_families

from checks.mtls_report import MetricsStatus

# The parser strips `_total` from a counter family's name when a TYPE line says "counter"; without a
# TYPE line the family keeps the full name. Samples always keep `_total`, so samples are matched.
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
        return _authz_evidence(name, labels, value, ports)
    if name == _OPEN_SAMPLE:
        return _connection_evidence(name, labels, value, ports)
    return None


def _authz_evidence(
    name: str, labels: Mapping[str, str], value: float, ports: frozenset[int]
) -> AuthzSample | None:
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


def _connection_evidence(
    name: str, labels: Mapping[str, str], value: float, ports: frozenset[int]
) -> Connection | None:
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
