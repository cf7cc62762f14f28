"""Where a cache's pods may run: `cachemesh:caches[i].placement` (spreading across nodes and zones,
backups on other nodes) and the scheduling keys every production cache needs (`nodeSelector`,
`tolerations`, `affinity`, `priorityClassName`, `imagePullSecrets`, `serviceAccount`).

Each model mirrors its Kubernetes core/v1 type (k8s.io/api/core/v1/types.go: Toleration,
NodeSelectorRequirement, NodeSelectorTerm, NodeAffinity, PodAffinityTerm, WeightedPodAffinityTerm,
LabelSelector) and refuses what the API server's validation refuses
(pkg/apis/core/validation/validation.go ValidateTolerations, ValidateNodeSelectorRequirement,
validatePodAffinityTerm; apimachinery ValidateLabelSelector), so a mistake is reported with its
config key before anything deploys rather than by the API server in the middle of an `up`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from settings.base import SettingsModel, dns1123_label, dns_subdomain

HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEY = "topology.kubernetes.io/zone"

# k8s.io/apimachinery/pkg/util/validation IsQualifiedName: [prefix/]name, the name at most 63
# characters of alphanumerics, '-', '_', '.', starting and ending alphanumeric; the prefix a DNS
# subdomain. Label values: the same name pattern, at most 63, or empty.
_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def _is_dns_subdomain(value: str) -> bool:
    try:
        dns_subdomain(value)
    except ValueError:
        return False
    return True


def qualified_name(value: str) -> str:
    prefix, sep, name = value.rpartition("/")
    bad_prefix = bool(sep) and not _is_dns_subdomain(prefix)
    if bad_prefix or not name or len(name) > 63 or not _NAME.match(name):
        raise ValueError(
            f"{value!r} is not a Kubernetes label or annotation key: write [prefix/]name, the "
            "name at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
            "or digit, the prefix a DNS name (for example node.kubernetes.io/instance-type)"
        )
    return value


def label_value(value: str) -> str:
    if value and (len(value) > 63 or not _NAME.match(value)):
        raise ValueError(
            f"{value!r} is not a Kubernetes label value: at most 63 letters, digits, '-', '_' "
            "or '.', starting and ending with a letter or digit"
        )
    return value


QualifiedName = Annotated[str, AfterValidator(qualified_name)]
LabelValue = Annotated[str, AfterValidator(label_value)]
SpreadPolicy = Literal["DoNotSchedule", "ScheduleAnyway", "off"]
# JSON Schema mark of a model that restates a Kubernetes API type: the generated configuration
# reference links to Kubernetes' own documentation instead of describing each nested field.
KUBERNETES_TYPE = "x-kubernetes-type"


class Placement(SettingsModel):
    """`caches[i].placement`: how the pods of one cache are spread, and where Ignite puts backups.

    Defaults: across nodes `DoNotSchedule` (a pod stays Pending rather than join a node that
    already holds more of this cache's pods than another eligible node plus maxSkew); across
    zones `ScheduleAnyway` (a preference: with DoNotSchedule a node without the zone label is
    not eligible at all, so a cluster without zones, kind for one, could run no cache pod).
    docs/tasks/place-cache-pods.md#spreading-a-cache-across-nodes-and-zones has the trade-offs."""

    spread_across_nodes: SpreadPolicy = Field(
        default="DoNotSchedule",
        description="Spread the pods over nodes (topologySpreadConstraints on "
        "kubernetes.io/hostname): DoNotSchedule leaves a pod Pending rather than stack it; "
        "ScheduleAnyway only prefers; off writes no constraint.",
    )
    spread_across_zones: SpreadPolicy = Field(
        default="ScheduleAnyway",
        description="Spread the pods over zones (topology.kubernetes.io/zone); ScheduleAnyway "
        "by default because under DoNotSchedule a node without the zone label is not eligible.",
    )
    max_skew: int = Field(
        default=1, ge=1, description="How uneven the spread may be (pods per node or zone)."
    )
    # Ignite places each partition's backup copies on other Kubernetes nodes than its primary
    # (a backup filter on the node name; off: Ignite may put both copies on one machine).
    backups_on_other_nodes: bool = Field(
        default=True,
        description="Ignite keeps each partition's backups off its primary's Kubernetes node "
        "(an affinity backup filter on the node name). Takes effect for caches created after it.",
    )


class Toleration(SettingsModel):
    """Kubernetes' core/v1 Toleration, field for field (documented there)."""

    model_config = ConfigDict(json_schema_extra={KUBERNETES_TYPE: "core/v1 Toleration"})

    key: QualifiedName | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: LabelValue | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Toleration:
        # ValidateTolerations: an empty key needs operator Exists; Exists takes no value;
        # tolerationSeconds only with effect NoExecute.
        if self.key is None and self.operator != "Exists":
            raise ValueError("a toleration without a key must have operator Exists")
        if self.operator == "Exists" and self.value:
            raise ValueError("a toleration with operator Exists takes no value")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise ValueError("tolerationSeconds is only allowed with effect NoExecute")
        return self


def _values_match_operator(operator: str, values: tuple[str, ...]) -> None:
    if operator in ("In", "NotIn") and not values:
        raise ValueError(f"operator {operator} needs at least one value")
    if operator in ("Exists", "DoesNotExist") and values:
        raise ValueError(f"operator {operator} takes no values")
    if operator in ("Gt", "Lt") and (len(values) != 1 or not values[0].lstrip("-").isdigit()):
        raise ValueError(f"operator {operator} needs exactly one integer value")


class LabelSelectorRequirement(SettingsModel):
    key: QualifiedName
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: tuple[LabelValue, ...] = ()

    @model_validator(mode="after")
    def _values(self) -> LabelSelectorRequirement:
        _values_match_operator(self.operator, self.values)
        return self


class LabelSelector(SettingsModel):
    match_labels: dict[QualifiedName, LabelValue] = Field(default_factory=dict)
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()


class NodeSelectorRequirement(SettingsModel):
    key: QualifiedName
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _values(self) -> NodeSelectorRequirement:
        _values_match_operator(self.operator, self.values)
        return self


class NodeSelectorTerm(SettingsModel):
    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    match_fields: tuple[NodeSelectorRequirement, ...] = ()


class NodeSelector(SettingsModel):
    node_selector_terms: tuple[NodeSelectorTerm, ...] = Field(min_length=1)


class PreferredSchedulingTerm(SettingsModel):
    weight: int = Field(ge=1, le=100)
    preference: NodeSelectorTerm


class NodeAffinity(SettingsModel):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: tuple[PreferredSchedulingTerm, ...] = ()


class PodAffinityTerm(SettingsModel):
    label_selector: LabelSelector | None = None
    topology_key: QualifiedName
    namespaces: tuple[Annotated[str, AfterValidator(dns1123_label)], ...] = ()


class WeightedPodAffinityTerm(SettingsModel):
    weight: int = Field(ge=1, le=100)
    pod_affinity_term: PodAffinityTerm


class PodAffinity(SettingsModel):
    required_during_scheduling_ignored_during_execution: tuple[PodAffinityTerm, ...] = ()
    preferred_during_scheduling_ignored_during_execution: tuple[WeightedPodAffinityTerm, ...] = ()


class Affinity(SettingsModel):
    """Kubernetes' core/v1 Affinity, field for field (documented there). Added to the pod
    template as given (cachemesh spreads with topologySpreadConstraints, so it writes no
    affinity of its own)."""

    model_config = ConfigDict(json_schema_extra={KUBERNETES_TYPE: "core/v1 Affinity"})

    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAffinity | None = None


class ServiceAccountSettings(SettingsModel):
    """`caches[i].serviceAccount`: annotations for the cache's own ServiceAccount (for example a
    cloud IAM role: eks.amazonaws.com/role-arn, iam.gke.io/gcp-service-account)."""

    annotations: dict[QualifiedName, str] = Field(
        default_factory=dict,
        description="Annotations of the cache's ServiceAccount (e.g. a cloud IAM role).",
    )


def as_kubernetes(model: SettingsModel) -> dict[str, Any]:
    """The model as pulumi-kubernetes input: snake_case keys (the SDK's own names for them),
    fields left unset or at their Kubernetes default (empty lists, operator Equal) left out."""
    return model.model_dump(exclude_none=True, exclude_defaults=True)


PriorityClassName = Annotated[str, AfterValidator(dns_subdomain)]
SecretName = Annotated[str, AfterValidator(dns_subdomain)]
