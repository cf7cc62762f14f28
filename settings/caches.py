"""Settings of one cache cluster: `cachemesh:caches[i]`."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema, field_validator

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

    name: str = Field(min_length=1, description="The cache's name, unique within the cluster.")
    cache_mode: CacheMode = Field(
        default=CacheMode.PARTITIONED,
        description="PARTITIONED spreads entries over the nodes (with `backups` copies); "
        "REPLICATED keeps every entry on every node.",
    )
    backups: int = Field(
        default=1,
        ge=0,
        description="Backup copies of each partition. 0 means a restarted node loses its data: "
        "`pulumi up` warns about such a cache, and its rollout still restarts it.",
    )
    atomicity_mode: AtomicityMode | None = Field(
        default=None, description="ATOMIC or TRANSACTIONAL; unset: the product's default."
    )


class ResourceList(SettingsModel):
    memory: Quantity | None = Field(
        default=None, description="Memory as a Kubernetes quantity, e.g. 1536Mi or 2Gi."
    )
    # A number is taken too (`cpu: 1` in YAML), and so the stack-file schema says.
    cpu: Annotated[
        Quantity | None,
        BeforeValidator(lambda v: None if v is None else str(v)),
        WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]}),
    ] = Field(default=None, description='CPU as a Kubernetes quantity, e.g. "1" or 500m.')

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("memory", self.memory), ("cpu", self.cpu)) if v is not None}


class Resources(SettingsModel):
    limits: ResourceList = Field(
        default=ResourceList(memory="1536Mi", cpu="1"),
        description="Resource limits of the cache container.",
    )
    # Unset requests are written out equal to the limits (Guaranteed QoS: the scheduler reserves
    # what the JVM will use, and the node evicts the cache last).
    requests: ResourceList | None = Field(
        default=None,
        description="Resource requests; unset: equal to the limits (Guaranteed QoS).",
    )

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

    enabled: bool = Field(
        default=True,
        description="Readiness and liveness probes (exec, the REST API over loopback).",
    )
    readiness_initial_delay_seconds: int = Field(
        default=10, ge=0, description="Seconds before the first readiness probe."
    )
    liveness_initial_delay_seconds: int = Field(
        default=60, ge=0, description="Seconds before the first liveness probe."
    )
    period_seconds: int = Field(default=10, ge=1, description="Seconds between probes.")
    timeout_seconds: int = Field(default=5, ge=1, description="Seconds a probe may take.")
    failure_threshold: int = Field(
        default=3, ge=1, description="Failed probes in a row before the pod is unready/restarted."
    )


class DisruptionBudget(SettingsModel):
    enabled: bool = Field(
        default=True, description="Create a PodDisruptionBudget for the cache's pods."
    )
    # One node at a time: with backups >= 1 every partition keeps a copy during a drain.
    max_unavailable: int = Field(
        default=1,
        ge=1,
        description="Pods a voluntary disruption (a node drain) may take down at once.",
    )


DEFAULT_CACHE_CONFIGURATIONS = (CacheConfiguration(name="PERSON"),)


class CacheSettings(SettingsModel):
    name: Annotated[str, AfterValidator(lambda v: dns1123_label(v, MAX_CACHE_NAME))] = Field(
        description="The cluster's name (StatefulSet, Services, pods NAME-0..): a DNS-1123 label "
        f"of at most {MAX_CACHE_NAME} characters, unique within its namespace."
    )
    product: ProductKey = Field(
        default=ProductKey.IGNITE2,
        description="Which engine: ignite2 (Apache Ignite 2) or gridgain8 (GridGain 8, needs "
        "gridgainLicense).",
    )
    namespace: Annotated[str, AfterValidator(dns1123_label)] = Field(
        default="ignite", description="The Kubernetes namespace (a DNS-1123 label)."
    )
    replicas: int = Field(default=2, ge=1, description="Number of cache nodes (pods).")
    image: str | None = Field(
        default=None,
        min_length=1,
        pattern=r"^\S+$",
        description="Container image; unset: the product's pinned image.",
    )
    resources: Resources = Field(
        default=Resources(), description="CPU and memory of the cache container."
    )
    cache_configurations: tuple[CacheConfiguration, ...] = Field(
        default=DEFAULT_CACHE_CONFIGURATIONS,
        min_length=1,
        description="The caches the nodes start with (Ignite CacheConfiguration beans); names "
        "unique.",
    )
    authorization: AuthorizationMode = Field(
        default=AuthorizationMode.STRICT,
        description="Who may connect: strict (the cache's own identity on the cluster ports, "
        "clientIdentities on the thin-client port, adminIdentities on REST, everything else "
        "refused), meshed (any meshed identity on the cache ports, adminIdentities on REST), or "
        "permissive (the guide's: plaintext still let in).",
    )
    client_identities: tuple[Annotated[str, AfterValidator(linkerd_identity_pattern)], ...] = Field(
        default=(),
        description="strict mode: Linkerd identities allowed on the thin-client port 10800, "
        "<sa>.<ns>.serviceaccount.identity.linkerd.<trust domain> (sa may be *), or * for any "
        "meshed workload. Empty: only the cache's own identity (no client at all).",
    )
    admin_identities: tuple[Annotated[str, AfterValidator(linkerd_identity_pattern)], ...] = Field(
        default=(),
        description="strict and meshed modes: Linkerd identities allowed on the REST port 8080, "
        "Ignite's admin API (setstate, put, destroy...), kept apart from clientIdentities. "
        "Empty: only the cache's own identity.",
    )
    probes: Probes = Field(
        default=Probes(),
        description="Readiness and liveness: exec probes asking the REST API over loopback.",
    )
    pod_disruption_budget: DisruptionBudget = Field(
        default=DisruptionBudget(), description="The PodDisruptionBudget that guards node drains."
    )
    # OrderedReady (the guide's default) lets node 0 form the cluster and the rest join it.
    pod_management_policy: Literal["OrderedReady", "Parallel"] = Field(
        default="OrderedReady",
        description="OrderedReady: node 0 forms the cluster and the rest join one by one; "
        "Parallel starts all pods at once. Cannot change on a running cache.",
    )
    # The StatefulSet is Pulumi-protected, so Pulumi refuses to replace (every pod at once) or
    # delete it; true lifts that for one deliberate replacement or removal (settings/immutable.py).
    allow_replacement: bool = Field(
        default=False,
        description="Lift the StatefulSet's protection for one deliberate replacement (a "
        "podManagementPolicy change) or removal; every pod stops at once and in-memory data is "
        "lost.",
    )
    termination_grace_period_seconds: int = Field(
        default=60,
        ge=0,
        description="Time a node gets to stop, including the graceful shutdown's wait for backups.",
    )
    # How CacheRollout restarts the pods after a pod template change
    # (docs/tasks/change-a-running-cache.md).
    rollout: RolloutSettings = Field(
        default=RolloutSettings(),
        description="How the pods are restarted after a pod template change.",
    )
    # Where the pods run (settings/scheduling.py, docs/tasks/place-cache-pods.md): all of it goes
    # into the pod template, so a change restarts the pods through the gated rollout.
    placement: Placement = Field(
        default=Placement(),
        description="Spreading over nodes and zones, and Ignite's backups on other nodes.",
    )
    node_selector: dict[QualifiedName, LabelValue] = Field(
        default_factory=dict, description="Node labels the pods must run on (pod nodeSelector)."
    )
    tolerations: tuple[Toleration, ...] = Field(
        default=(),
        description="Taints the pods tolerate: Kubernetes core/v1 Tolerations (key, operator, "
        "value, effect, tolerationSeconds).",
    )
    affinity: Affinity | None = Field(
        default=None,
        description="A Kubernetes core/v1 Affinity (nodeAffinity, podAffinity, podAntiAffinity) "
        "added to the pod template.",
    )
    priority_class_name: PriorityClassName | None = Field(
        default=None, description="The pods' PriorityClass."
    )
    image_pull_secrets: tuple[SecretName, ...] = Field(
        default=(),
        description="Secrets (in the cache's namespace) to pull the image with, e.g. a private "
        "GridGain registry.",
    )
    service_account: ServiceAccountSettings = Field(
        default=ServiceAccountSettings(),
        description="The cache's ServiceAccount (its annotations, e.g. for cloud IAM).",
    )

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
