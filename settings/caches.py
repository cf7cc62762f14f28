"""Settings of one cache cluster: `cachemesh:caches[i]`."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from settings.base import Quantity, SettingsModel, dns1123_label
from settings.products import PRODUCTS, Product, ProductKey
from settings.rollout import RolloutSettings
from settings.scheduling import (
    Affinity,
    LabelValue,
    Placement,
    PriorityClassName,
    QualifiedName,
    SecretName,
    ServiceAccountSettings,
    Toleration,
)

# A StatefulSet's pods carry a `controller-revision-hash` label of NAME-<10 chars>, which must stay
# a 63-character label; Kubernetes therefore caps StatefulSet names at 52 in practice.
MAX_CACHE_NAME = 52


class CacheMode(StrEnum):
    PARTITIONED = "PARTITIONED"
    REPLICATED = "REPLICATED"


class AtomicityMode(StrEnum):
    ATOMIC = "ATOMIC"
    TRANSACTIONAL = "TRANSACTIONAL"


class CacheConfiguration(SettingsModel):
    """One Ignite `CacheConfiguration` bean."""

    name: str = Field(min_length=1)
    cache_mode: CacheMode = CacheMode.PARTITIONED
    backups: int = Field(default=1, ge=0)
    atomicity_mode: AtomicityMode | None = None


class ResourceList(SettingsModel):
    memory: Quantity | None = None
    cpu: Annotated[Quantity | None, BeforeValidator(lambda v: None if v is None else str(v))] = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("memory", self.memory), ("cpu", self.cpu)) if v is not None}


class Resources(SettingsModel):
    limits: ResourceList = ResourceList(memory="1536Mi", cpu="1")
    # Unset requests are written out equal to the limits (Guaranteed QoS: the scheduler reserves
    # what the JVM will use, and the node evicts the cache last).
    requests: ResourceList | None = None

    def as_dict(self) -> dict[str, dict[str, str]]:
        requests = self.requests if self.requests is not None else self.limits
        out = {"limits": self.limits.as_dict(), "requests": requests.as_dict()}
        return {k: v for k, v in out.items() if v}


class AuthorizationMode(StrEnum):
    # Only the cache's own identity on the cluster ports, `clientIdentities` on the thin-client
    # port, `adminIdentities` on REST (each: the cache's own identity when empty), everything
    # else refused (default-deny).
    STRICT = "strict"
    # Any authenticated mesh identity on the cluster and thin-client ports, `adminIdentities` on
    # REST; everything else refused.
    MESHED = "meshed"
    # The guide's behaviour: mTLS when both sides are meshed, but plaintext is still let in.
    PERMISSIVE = "permissive"


# sa.namespace.serviceaccount.identity.linkerd.<trust domain>; `*` for the service account (any
# in the namespace) or the whole identity (any meshed client), as MeshTLSAuthentication accepts.
_IDENTITY = re.compile(
    r"^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    r"\.serviceaccount\.identity\.linkerd\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


def linkerd_identity_pattern(value: str) -> str:
    if value != "*" and not _IDENTITY.match(value):
        raise ValueError(
            f"{value!r} is not a Linkerd identity: write "
            "<serviceaccount>.<namespace>.serviceaccount.identity.linkerd.<trust domain> "
            "(the service account may be *), or * for any meshed client"
        )
    return value


class Probes(SettingsModel):
    """Readiness and liveness: exec probes that ask the node's REST API over loopback, which the
    Linkerd proxy does not intercept, so no network rule opens the REST port for them
    (components/meshed_cache.py `probes`)."""

    enabled: bool = True
    readiness_initial_delay_seconds: int = Field(default=10, ge=0)
    liveness_initial_delay_seconds: int = Field(default=60, ge=0)
    period_seconds: int = Field(default=10, ge=1)
    timeout_seconds: int = Field(default=5, ge=1)
    failure_threshold: int = Field(default=3, ge=1)


class DisruptionBudget(SettingsModel):
    enabled: bool = True
    # One node at a time: with backups >= 1 every partition keeps a copy during a drain.
    max_unavailable: int = Field(default=1, ge=1)


DEFAULT_CACHE_CONFIGURATIONS = (CacheConfiguration(name="PERSON"),)


class CacheSettings(SettingsModel):
    name: Annotated[str, AfterValidator(lambda v: dns1123_label(v, MAX_CACHE_NAME))]
    product: ProductKey = ProductKey.IGNITE2
    namespace: Annotated[str, AfterValidator(dns1123_label)] = "ignite"
    replicas: int = Field(default=2, ge=1)
    image: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")
    resources: Resources = Resources()
    cache_configurations: tuple[CacheConfiguration, ...] = Field(
        default=DEFAULT_CACHE_CONFIGURATIONS, min_length=1
    )
    authorization: AuthorizationMode = AuthorizationMode.STRICT
    # strict: who may use the thin-client port; empty admits only the cache's own identity (no
    # client at all), `*` any meshed workload.
    client_identities: tuple[Annotated[str, AfterValidator(linkerd_identity_pattern)], ...] = ()
    # strict and meshed: who may use the REST port, Ignite's admin API (setstate, put, destroy…);
    # empty admits only the cache's own identity.
    admin_identities: tuple[Annotated[str, AfterValidator(linkerd_identity_pattern)], ...] = ()
    probes: Probes = Probes()
    pod_disruption_budget: DisruptionBudget = DisruptionBudget()
    # OrderedReady (the guide's default) lets node 0 form the cluster and the rest join it.
    pod_management_policy: Literal["OrderedReady", "Parallel"] = "OrderedReady"
    # The StatefulSet is Pulumi-protected, so Pulumi refuses to replace (every pod at once) or
    # delete it; true lifts that for one deliberate replacement or removal (settings/immutable.py).
    allow_replacement: bool = False
    termination_grace_period_seconds: int = Field(default=60, ge=0)
    # How CacheRollout restarts the pods after a pod template change (README "Day 2").
    rollout: RolloutSettings = RolloutSettings()
    # Where the pods run (settings/scheduling.py, README "Scheduling"): all of it goes into the
    # pod template, so a change restarts the pods through the gated rollout.
    placement: Placement = Placement()
    node_selector: dict[QualifiedName, LabelValue] = Field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    affinity: Affinity | None = None
    priority_class_name: PriorityClassName | None = None
    image_pull_secrets: tuple[SecretName, ...] = ()
    service_account: ServiceAccountSettings = ServiceAccountSettings()

    @field_validator("cache_configurations")
    @classmethod
    def _unique_cache_names(
        cls, value: tuple[CacheConfiguration, ...]
    ) -> tuple[CacheConfiguration, ...]:
        names = [c.name for c in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"cache names must be unique, {', '.join(dupes)} appear twice")
        return value

    @property
    def product_spec(self) -> Product:
        return PRODUCTS[self.product]

    @property
    def effective_image(self) -> str:
        return self.image or self.product_spec.default_image

    @property
    def restart_loses_data(self) -> str | None:
        """Why restarting any one pod of this cache loses data whatever the rollout does, or None.
        The data is in memory: only a copy on another node survives a restart."""
        if self.replicas < 2:
            return f"replicas is {self.replicas}: a restarted node's data has no copy elsewhere"
        unbacked = [
            c.name
            for c in self.cache_configurations
            if c.cache_mode is CacheMode.PARTITIONED and c.backups == 0
        ]
        if unbacked:
            return f"PARTITIONED cache(s) {', '.join(unbacked)} have backups: 0"
        return None

    @property
    def readiness_probe_path(self) -> str:
        """The readiness request for this cache's image version (settings/products.py)."""
        return self.product_spec.readiness_probe_path_for(self.effective_image)
