"""Per-port evidence for the mTLS check: one pod's connections on each cache port tallied by
direction, the failures one pod/port shows on its own (plaintext, wrong identity), and the ones
only the whole cluster shows (no traffic, one direction missing, a pod taking no part)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from checks.mtls_advice import failure
from checks.mtls_evidence import Connection
from checks.mtls_report import Expectation, Failure


@dataclass
class Direction:
    """One direction (inbound or outbound) of one pod's connections on one port."""

    tls: int = 0
    plaintext: int = 0
    plaintext_reasons: dict[str, int] = field(default_factory=dict)
    identities: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)  # server names (in) / peers (out)
    good: int = 0  # TLS with the expected identity, with a cache node
    wrong: dict[str, int] = field(default_factory=dict)  # identity -> count
    admitted: dict[str, int] = field(default_factory=dict)  # inbound: `kind:name` -> count


#: port -> (inbound, outbound) of one pod.
PortTally = dict[int, tuple[Direction, Direction]]


def bump(d: dict[str, int], key: str, n: int) -> None:
    d[key] = d.get(key, 0) + n


def tally(exp: Expectation, conns: list[Connection]) -> PortTally:
    stats = {p: (Direction(), Direction()) for p in exp.ports}
    for c in conns:
        inbound, outbound = stats[c.port]
        d = inbound if c.direction == "inbound" else outbound
        if not c.tls:
            d.plaintext += c.count
            bump(d.plaintext_reasons, c.no_tls_reason or "unknown", c.count)
            continue
        d.tls += c.count
        ident = c.identity or "(none)"
        bump(d.identities, ident, c.count)
        if c.direction == "inbound":
            if c.server_name:
                bump(d.extra, c.server_name, c.count)
            bump(d.admitted, c.server or "(no srv_name)", c.count)
        else:
            bump(d.extra, c.peer or "(unknown)", c.count)
        if c.identity != exp.identity:
            bump(d.wrong, ident, c.count)
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


def connection_failures(exp: Expectation, name: str, by_port: PortTally) -> list[Failure]:
    """Plaintext and wrong identities fail outright, whatever else was seen."""
    out: list[Failure] = []
    for port, (i, o) in by_port.items():
        for label, d in (("inbound", i), ("outbound", o)):
            if d.plaintext:
                why = ", ".join(f"{r}={n}" for r, n in sorted(d.plaintext_reasons.items()))
                problem = f"{d.plaintext} plaintext {label} connection(s) ({why})"
                out.append(failure(exp, "plaintext", name, port, problem))
            if d.wrong:
                key = "client_id" if label == "inbound" else "server_id"
                seen = ", ".join(f"{ident} x{n}" for ident, n in sorted(d.wrong.items()))
                problem = f"{label} TLS connection(s) with {key} {seen}, expected {exp.identity}"
                out.append(failure(exp, "wrong-identity", name, port, problem))
    return out


def traffic_failures(exp: Expectation, tallies: Mapping[str, PortTally]) -> list[Failure]:
    """Per port across the cluster: traffic seen, from both ends, with every pod taking part."""
    if not tallies:
        return []
    out: list[Failure] = []
    no_traffic_ports: list[int] = []
    for port in exp.ports:
        good_in = sum(t[port][0].good for t in tallies.values())
        good_out = sum(t[port][1].good for t in tallies.values())
        if good_in == 0 and good_out == 0:
            no_traffic_ports.append(port)
            continue
        if good_in == 0 or good_out == 0:
            missing, present = ("inbound", "outbound") if good_in == 0 else ("outbound", "inbound")
            problem = (
                f"one direction missing: {present} mTLS connections seen but no pod "
                f"reports {missing} ones"
            )
            out.append(failure(exp, "direction-missing", None, port, problem))
        for name, by_port in tallies.items():
            i, o = by_port[port]
            # A pod whose only traffic here is plaintext or wrong-identity already has a failure
            # that says so; "takes no part" is for a pod with no connection at all.
            if i.tls + i.plaintext + o.tls + o.plaintext == 0:
                problem = (
                    "pod takes no part in this port's traffic (no mTLS connection in or out "
                    f"with {exp.identity})"
                )
                out.append(failure(exp, "not-participating", name, port, problem))
    if no_traffic_ports:
        problem = (
            "no traffic observed on port(s) "
            + ", ".join(map(str, no_traffic_ports))
            + " (no tcp_open_total mTLS connection between cache nodes)"
        )
        out.append(failure(exp, "no-traffic", None, None, problem))
    return out
