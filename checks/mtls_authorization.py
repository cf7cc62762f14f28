"""Authorization evidence for the mTLS check: which Server admitted and which authorization let in
each inbound connection (strict/meshed modes), and the attempts the policy refused (reported,
never a failure: a refused attempt is the policy working)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from checks.mtls_advice import failure
from checks.mtls_evidence import AuthzSample
from checks.mtls_port_evidence import Direction, PortTally, bump
from checks.mtls_report import DeniedAttempts, Expectation, Failure


@dataclass
class Authz:
    """The inbound authorization counters of one pod on one port."""

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


def tally_authz(exp: Expectation, samples: list[AuthzSample]) -> dict[int, Authz]:
    stats = {p: Authz() for p in exp.ports}
    for a in samples:
        t = stats[a.port]
        if a.outcome == "allow":
            key = a.authz or "(no authz label)"
            bump(t.authorized_by, key, a.count)
            bump(t.allowed_by_server.setdefault(a.server or "(no srv_name)", {}), key, a.count)
        elif a.outcome == "deny":
            t.denied += a.count
            bump(t.denied_by, a.client, a.count)
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


def _admission_failure(
    exp: Expectation, name: str, port: int, inbound: Direction
) -> Failure | None:
    """Inbound mTLS connections admitted by anything but the program's Server for `port`."""
    expected = exp.expected_servers[port]
    foreign = {ref: n for ref, n in inbound.admitted.items() if not _ours(ref, expected)}
    if not foreign:
        return None
    seen = ", ".join(f"{ref} x{n}" for ref, n in sorted(foreign.items()))
    if all(ref.startswith("default:") for ref in foreign):
        kind, what = "default-policy", "the default inbound policy"
    elif "(no srv_name)" in foreign:
        kind, what = "no-server-label", "an unnamed policy"
    else:
        kind, what = "wrong-server", "another Server"
    problem = (
        f"{sum(foreign.values())} inbound mTLS connection(s) admitted by {what} ({seen}), "
        f"not by Server {expected}"
    )
    return failure(exp, kind, name, port, problem)


def _authorization_failure(exp: Expectation, name: str, port: int, authz: Authz) -> Failure | None:
    """Connections on our Server let in by anything but its AuthorizationPolicy.

    Authorization labels exist on inbound_tcp_authz_allow_total only; connections that another
    Server admitted are `_admission_failure`'s, so only our Server's authorizations count here.
    """
    expected = exp.expected_servers[port]
    ours = authz.allowed_by_server.get(f"server:{expected}", {})
    wrong = {ref: n for ref, n in ours.items() if not _our_authz(ref, expected)}
    if not wrong:
        return None
    seen = ", ".join(f"{ref} x{n}" for ref, n in sorted(wrong.items()))
    problem = (
        f"{sum(wrong.values())} inbound connection(s) on Server {expected} authorized by "
        f"{seen}, not by AuthorizationPolicy {expected}"
    )
    return failure(exp, "wrong-authorization", name, port, problem)


def authorization_failures(
    exp: Expectation, tallies: Mapping[str, PortTally], authz: Mapping[str, dict[int, Authz]]
) -> list[Failure]:
    """strict/meshed: every inbound mTLS connection admitted by the program's own Server and
    authorized by its AuthorizationPolicy. permissive: nothing to check."""
    if not exp.checks_servers:
        return []
    out: list[Failure] = []
    for name, by_port in tallies.items():
        for port, (inbound, _outbound) in by_port.items():
            for found in (
                _admission_failure(exp, name, port, inbound),
                _authorization_failure(exp, name, port, authz[name][port]),
            ):
                if found is not None:
                    out.append(found)
    return out


def denied_attempts(authz: Mapping[str, dict[int, Authz]]) -> DeniedAttempts:
    """Refused attempts per pod and port."""
    by_pod: dict[str, dict[int, int]] = {}
    for name, by_port in authz.items():
        for port, a in by_port.items():
            if a.refused:
                by_pod.setdefault(name, {})[port] = a.refused
    if not by_pod:
        return DeniedAttempts()
    total = sum(n for ports in by_pod.values() for n in ports.values())
    return DeniedAttempts(total=total, by_pod=by_pod)
