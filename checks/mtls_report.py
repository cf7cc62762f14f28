"""Data model of the mTLS check: what is expected, what was observed and what is reported.

Every model serialises with camelCase keys (`model_dump(by_alias=True)`) because the report is
read by the Pulumi component and by people, and the rest of the stack outputs are camelCase.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

PROXY_CONTAINER = "linkerd-proxy"
# Set by Linkerd's injector on every meshed pod: hex(sha256(the trust bundle it injected))
# (linkerd/linkerd2 pkg/inject/inject.go injectObjectMeta, commit b24cd40).
TRUST_ROOT_ANNOTATION = "linkerd.io/trust-root-sha256"

ProxyKind = Literal["sidecar", "native-sidecar"]
MetricsStatus = Literal["ok", "empty", "unparseable", "unavailable", "skipped"]
Status = Literal["verified", "not-verified", "cannot-run", "interrupted"]
#: The program's `cachemesh:caches[].authorization`. permissive = the guide (default policy
#: all-unauthenticated, no Server objects); strict/meshed = a Server + AuthorizationPolicy per port.
Authorization = Literal["strict", "meshed", "permissive"]
AUTHORIZATION_MODES: tuple[str, ...] = ("strict", "meshed", "permissive")


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class Expectation(_Model):
    """What a verified cluster looks like: the pods of one StatefulSet talking mTLS on `ports`."""

    namespace: str = Field(min_length=1)
    statefulset: str = Field(min_length=1)
    replicas: int = Field(ge=1)
    ports: tuple[int, ...] = Field(min_length=1)
    identity: str = Field(min_length=1)
    # strict/meshed: inbound connections on every port must be admitted by the program's own Server
    # (port -> Server name; its AuthorizationPolicy has the same name). permissive: not checked.
    authorization: Authorization = "permissive"
    expected_servers: dict[int, str] = Field(default_factory=dict)
    # When set, every pod's linkerd.io/trust-root-sha256 must equal it: the pod was injected with
    # the current trust bundle (docs/tasks/rotate-the-trust-anchor.md).
    trust_roots_sha256: str | None = None

    @field_validator("trust_roots_sha256")
    @classmethod
    def _sha256(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError("must be a SHA-256 in lower-case hex (64 characters)")
        return value

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, ports: tuple[int, ...]) -> tuple[int, ...]:
        bad = [p for p in ports if not 0 < p < 65536]
        if bad:
            raise ValueError(f"ports out of range 1-65535: {bad}")
        return tuple(sorted(set(ports)))

    @model_validator(mode="after")
    def _servers_match_mode(self) -> Expectation:
        servers = self.expected_servers
        if self.authorization == "permissive":
            # A Server name that is accepted but never checked would let a report claim more than
            # it proved.
            if servers:
                raise ValueError(
                    "expected servers only apply to the strict and meshed authorization modes"
                )
            return self
        missing = [p for p in self.ports if p not in servers]
        if missing:
            raise ValueError(
                f"{self.authorization} authorization needs the expected Server of every port; "
                f"missing for port(s) {', '.join(map(str, missing))} "
                "(e.g. --servers 47100=NAME-communication,47500=NAME-discovery)"
            )
        extra = sorted(p for p in servers if p not in self.ports)
        if extra:
            raise ValueError(
                f"expected servers name port(s) {', '.join(map(str, extra))} that are not in ports"
            )
        empty = sorted(p for p, name in servers.items() if not name.strip())
        if empty:
            raise ValueError(f"empty Server name for port(s) {', '.join(map(str, empty))}")
        return self

    @property
    def checks_servers(self) -> bool:
        return self.authorization in ("strict", "meshed")

    @property
    def pod_names(self) -> list[str]:
        """StatefulSet pods are named NAME-0 .. NAME-(replicas-1)."""
        return [f"{self.statefulset}-{i}" for i in range(self.replicas)]


class PodInfo(_Model):
    """One pod as kubectl reported it (input to `evaluate`)."""

    name: str
    exists: bool = True
    phase: str | None = None
    ready: bool = False
    terminating: bool = False
    proxy: ProxyKind | None = None
    service_account: str | None = None
    # The pod's linkerd.io/trust-root-sha256 annotation (set by Linkerd's injector).
    trust_root_sha256: str | None = None

    @property
    def proxy_injected(self) -> bool:
        return self.proxy is not None


class ScrapeFailure(_Model):
    """A pod whose metrics could not be fetched (input to `evaluate`, in place of the text)."""

    error: str


class InboundStats(_Model):
    tls: int = 0
    plaintext: int = 0
    plaintext_reasons: dict[str, int] = Field(default_factory=dict)
    # Inbound peers are named by the client identity the proxy verified.
    identities: dict[str, int] = Field(default_factory=dict)
    # srv_name label values as the proxy wrote them (`N-communication`, `all-unauthenticated`, or
    # `default:all-unauthenticated` from pre-2.12 proxies) -> connections.
    server_names: dict[str, int] = Field(default_factory=dict)
    # The same, normalised to `kind:name` (`server:N-communication`, `default:all-unauthenticated`):
    # what admitted the connections (tcp_open_total srv_kind/srv_name).
    admitted_by: dict[str, int] = Field(default_factory=dict)
    # inbound_tcp_authz_allow_total authz_kind/authz_name (saz_name on old proxies) as `kind:name`.
    authorized_by: dict[str, int] = Field(default_factory=dict)
    # Refused connection attempts: inbound_tcp_authz_deny_total (by client_id, or `no_tls:<reason>`
    # for clients without mTLS), inbound_tcp_errors_total{error="unauthorized"}, and connections
    # cut by a policy change (inbound_tcp_authz_terminate_total). Reported, never a failure.
    denied: int = 0
    denied_by: dict[str, int] = Field(default_factory=dict)
    unauthorized_errors: int = 0
    terminated: int = 0


class OutboundStats(_Model):
    tls: int = 0
    plaintext: int = 0
    plaintext_reasons: dict[str, int] = Field(default_factory=dict)
    identities: dict[str, int] = Field(default_factory=dict)
    # Named by dst_pod (falling back to target_addr) so the report says who talked to whom.
    peers: dict[str, int] = Field(default_factory=dict)


class PortReport(_Model):
    inbound: InboundStats = Field(default_factory=InboundStats)
    outbound: OutboundStats = Field(default_factory=OutboundStats)


class PodReport(_Model):
    exists: bool
    phase: str | None
    ready: bool
    proxy_injected: bool
    proxy: ProxyKind | None
    service_account: str | None
    metrics: MetricsStatus
    metrics_error: str | None = None
    ports: dict[int, PortReport] = Field(default_factory=dict)
    trust_root_sha256: str | None = None


#: The troubleshooting page of the check's failures: one heading per kind of failure
#: (docs/troubleshooting/mtls-check.md, generated from checks/mtls_advice.py ADVICE).
FAILURES_PAGE = "docs/troubleshooting/mtls-check.md"


class Failure(_Model):
    """One reason the cluster is not verified, with the guide's likely cause and fix, and the
    docs entry that explains it."""

    pod: str | None
    port: int | None
    problem: str
    likely_cause: str
    fix: str
    docs: str = f"{FAILURES_PAGE}#anything-else"

    def as_reason(self) -> str:
        where = ": ".join(
            part for part in (self.pod, f"port {self.port}" if self.port else None) if part
        )
        return f"{where}: {self.problem}" if where else self.problem


class DeniedAttempts(_Model):
    """Connection attempts the authorization policy refused on the checked ports, per pod and port.

    A pod/port's count is the larger of inbound_tcp_authz_deny_total and
    inbound_tcp_errors_total{error="unauthorized"}: one refused connection can show in both.
    """

    total: int = 0
    by_pod: dict[str, dict[int, int]] = Field(default_factory=dict)


class Report(_Model):
    verified: bool
    status: Status
    namespace: str
    statefulset: str
    expected_identity: str
    ports: tuple[int, ...]
    authorization: Authorization = "permissive"
    expected_servers: dict[int, str] = Field(default_factory=dict)
    expected_trust_roots_sha256: str | None = None
    metrics_source: str | None = None
    checked_at: datetime
    attempts: int = 1
    elapsed_seconds: float = 0.0
    reasons: list[str] = Field(default_factory=list)
    pods: dict[str, PodReport] = Field(default_factory=dict)
    denied_attempts: DeniedAttempts = Field(default_factory=DeniedAttempts)
    failures: list[Failure] = Field(default_factory=list)

    @classmethod
    def about(cls, exp: Expectation, **fields: Any) -> Report:
        """A report on what `exp` expects (namespace, pods, ports, identity, mode) plus `fields`."""
        return cls(
            namespace=exp.namespace,
            statefulset=exp.statefulset,
            expected_identity=exp.identity,
            ports=exp.ports,
            authorization=exp.authorization,
            expected_servers=exp.expected_servers,
            expected_trust_roots_sha256=exp.trust_roots_sha256,
            **fields,
        )

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)
