"""Where a cache's pods run, as pod-template fields (MeshedCache's helper).

Spreading. Without constraints of its own a pod gets the scheduler's system defaults, which only
*prefer* spreading (ScheduleAnyway, maxSkew 3 per node and 5 per zone: kubernetes/kubernetes
pkg/scheduler/framework/plugins/podtopologyspread/plugin.go `systemDefaultConstraints`), so two
cache pods may share a node and one node failure loses the partitions whose primary and backup
were both there. Each cache therefore gets its own topologySpreadConstraints on the node name and
on the zone (settings/scheduling.py Placement), selecting its own pods. `nodeTaintsPolicy: Honor`
leaves out nodes whose taints the pods do not tolerate (a control-plane node), which would
otherwise count as empty domains and, under DoNotSchedule, block pods that could run elsewhere
(the default is Ignore: k8s.io/api core/v1 TopologySpreadConstraint.NodeTaintsPolicy; honoured by
the scheduler since NodeInclusionPolicyInPodTopologySpread, beta and on from Kubernetes 1.26).

Backups. The scheduler alone cannot keep a partition's copies apart when there are fewer nodes
than pods, so Ignite is told too: each node gets the name of its Kubernetes node as an environment
variable (downward API `spec.nodeName`), hence as a node attribute, and every PARTITIONED cache a
backup filter on that attribute (settings/products.py BackupFilter, components/ignite_xml.py).

Everything here is plain data in the pod template, so any change is part of the pod template
fingerprint and restarts the pods through the gated rollout (docs/tasks/change-a-running-cache.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pulumi_kubernetes as k8s

from components.kube import selector_labels
from settings.caches import CacheSettings
from settings.products import BackupFilter
from settings.scheduling import HOSTNAME_KEY, ZONE_KEY, as_kubernetes

# Pod-template annotation that changes with the ServiceAccount's annotations: tokens and cloud
# identities (eks.amazonaws.com/role-arn, iam.gke.io/gcp-service-account) are injected when a pod
# is created, so the pods must restart for a change to reach them.
SERVICE_ACCOUNT_CHECKSUM = "cachemesh.io/service-account-sha256"
NODE_NAME_FIELD = "spec.nodeName"
# The `caches` output key that records whether the cache was deployed with the backup filter.
BACKUPS_ON_OTHER_NODES = "backupsOnOtherNodes"


def topology_spread(cache: CacheSettings) -> list[dict[str, Any]]:
    placement = cache.placement
    constraints: list[dict[str, Any]] = []
    for key, policy in (
        (HOSTNAME_KEY, placement.spread_across_nodes),
        (ZONE_KEY, placement.spread_across_zones),
    ):
        if policy == "off":
            continue
        constraints.append(
            {
                "max_skew": placement.max_skew,
                "topology_key": key,
                "when_unsatisfiable": policy,
                "label_selector": {"match_labels": selector_labels(cache.name)},
                "node_taints_policy": "Honor",
            }
        )
    return constraints


def backup_filter(cache: CacheSettings) -> BackupFilter | None:
    return cache.product_spec.backup_filter if cache.placement.backups_on_other_nodes else None


def node_name_env(cache: CacheSettings) -> list[k8s.core.v1.EnvVarArgsDict]:
    """The node attribute the backup filter compares: the pod's Kubernetes node name."""
    spec = backup_filter(cache)
    if spec is None:
        return []
    return [{"name": spec.attribute, "value_from": {"field_ref": {"field_path": NODE_NAME_FIELD}}}]


def pod_scheduling(cache: CacheSettings) -> dict[str, Any]:
    """Pod spec fields (pulumi-kubernetes snake_case names); unset knobs are left out."""
    spec: dict[str, Any] = {}
    spread = topology_spread(cache)
    if spread:
        spec["topology_spread_constraints"] = spread
    if cache.node_selector:
        spec["node_selector"] = dict(cache.node_selector)
    if cache.tolerations:
        spec["tolerations"] = [as_kubernetes(t) for t in cache.tolerations]
    if cache.affinity is not None:
        spec["affinity"] = as_kubernetes(cache.affinity)
    if cache.priority_class_name is not None:
        spec["priority_class_name"] = cache.priority_class_name
    if cache.image_pull_secrets:
        spec["image_pull_secrets"] = [{"name": n} for n in cache.image_pull_secrets]
    return spec


def service_account_annotations(cache: CacheSettings) -> dict[str, str] | None:
    return dict(cache.service_account.annotations) or None


def template_annotations(cache: CacheSettings) -> dict[str, str]:
    """Pod-template annotations for the knobs outside the pod spec (none when unset, so the pod
    templates of stacks that set nothing stay as they were)."""
    annotations = service_account_annotations(cache)
    if annotations is None:
        return {}
    text = json.dumps(annotations, sort_keys=True)
    return {SERVICE_ACCOUNT_CHECKSUM: hashlib.sha256(text.encode()).hexdigest()}


def backup_filter_change(
    key: str, cache: CacheSettings, deployed: Mapping[str, Any] | None
) -> str | None:
    """A warning when `placement.backupsOnOtherNodes` differs from what the running cache was
    deployed with (`deployed`: its entry of the last deployment's `caches` output; deployed
    before the key existed = without the filter). A cache's affinity function is fixed
    cluster-wide when the cache is created, so the changed XML reaches the pods (they restart
    through the rollout) but not the running cache. Observed with ignite-core 2.16.0: every node
    that created the cache without the filter replaced, one by one, by nodes with it, and 378 of
    1024 partitions still had both copies on nodes of one attribute value
    (docs/tasks/place-cache-pods.md#ignite-places-backups-on-other-nodes)."""
    if deployed is None:
        return None
    was = bool(deployed.get(BACKUPS_ON_OTHER_NODES, False))
    now = cache.placement.backups_on_other_nodes
    if was == now:
        return None
    what = "keeps backups off the primary's node" if now else "lets both copies share a node"
    return (
        f"cachemesh:caches[{key}].placement.backupsOnOtherNodes is now {str(now).lower()}: the "
        f"new configuration {what}, but a running cache keeps the placement it was created with "
        "(Ignite fixes a cache's affinity function cluster-wide). The pods restart through the "
        "rollout with the new configuration; the change reaches the cache only when it is "
        "created again, after every node has stopped (an in-memory cache loses its data then)"
    )
