"""Data model of the mTLS check: what is expected, what was observed and what is reported.

Every model serialises with camelCase keys (`model_dump(by_alias=True)`) because the report is
read by the Pulumi component and by people, and the rest of the stack outputs are camelCase.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

PROXY_CONTAINER = "linkerd-proxy"

ProxyKind = Literal["sidecar", "native-sidecar"]
MetricsStatus = Literal["ok", "empty", "unparseable", "unavailable", "skipped"]
Status = Literal["verified", "not-verified", "cannot-run"]


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
    # Reserved for a later "strict authorization mode" (srv_name / authz_name labels and the
    # inbound_*_authz_deny_total counters). Refused until implemented: a field that is accepted but
    # silently not checked would let a report claim more than it proved.
    expected_server_names: tuple[str, ...] | None = None

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, ports: tuple[int, ...]) -> tuple[int, ...]:
        bad = [p for p in ports if not 0 < p < 65536]
        if bad:
            raise ValueError(f"ports out of range 1-65535: {bad}")
        return tuple(sorted(set(ports)))

    @field_validator("expected_server_names")
    @classmethod
    def _strict_mode_not_yet(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if names is not None:
            raise ValueError(
                "strict authorization mode (expectedServerNames) is not implemented yet"
            )
        return names

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
    # srv_name labels seen: collected now so a strict authorization mode can check them later.
    server_names: dict[str, int] = Field(default_factory=dict)


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


class Failure(_Model):
    """One reason the cluster is not verified, with the guide's likely cause and fix."""

    pod: str | None
    port: int | None
    problem: str
    likely_cause: str
    fix: str

    def as_reason(self) -> str:
        where = ": ".join(
            part for part in (self.pod, f"port {self.port}" if self.port else None) if part
        )
        return f"{where}: {self.problem}" if where else self.problem


class Report(_Model):
    verified: bool
    status: Status
    namespace: str
    statefulset: str
    expected_identity: str
    ports: tuple[int, ...]
    metrics_source: str | None = None
    checked_at: datetime
    attempts: int = 1
    elapsed_seconds: float = 0.0
    reasons: list[str] = Field(default_factory=list)
    pods: dict[str, PodReport] = Field(default_factory=dict)
    failures: list[Failure] = Field(default_factory=list)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)
