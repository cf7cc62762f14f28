"""Builders for policy tests: resource args, workloads of each kind, stack resources."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from cachemesh_policy.evaluate import make_resource, settle
from cachemesh_policy.workloads import WORKLOAD_KINDS, resource_type_for
from pulumi_policy import (
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures"

KINDS: list[str] = list(WORKLOAD_KINDS)
API_VERSIONS: dict[str, str] = {
    "Pod": "v1",
    "ReplicationController": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}
CACHE_CONTAINER_PORTS: tuple[int, ...] = (10800, 11211, 47100, 47500, 8080)
MESHED = {"linkerd.io/inject": "enabled"}
OPAQUE = "config.linkerd.io/opaque-ports"


def type_of(kind: str) -> str:
    return resource_type_for(API_VERSIONS[kind], kind)


def workload(
    kind: str,
    template_annotations: Mapping[str, str] | None = None,
    own_annotations: Mapping[str, str] | None = None,
    ports: Iterable[int] = CACHE_CONTAINER_PORTS,
    image: str = "apacheignite/ignite:2.16.0",
    name: str = "ignite",
    namespace: str = "ignite",
    port_names: Mapping[int, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """(resource type, camelCase props) of a ``kind`` workload with one container."""
    container: dict[str, Any] = {"name": "node", "image": image}
    port_list = []
    for port in ports:
        entry: dict[str, Any] = {"containerPort": port}
        if port_names and port in port_names:
            entry["name"] = port_names[port]
        port_list.append(entry)
    if port_list:
        container["ports"] = port_list
    template: dict[str, Any] = {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [container]},
    }
    if template_annotations is not None:
        template["metadata"]["annotations"] = dict(template_annotations)
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if own_annotations is not None:
        metadata["annotations"] = dict(own_annotations)
    props: dict[str, Any] = {"apiVersion": API_VERSIONS[kind], "kind": kind, "metadata": metadata}
    if kind == "Pod":
        if template_annotations is not None:
            metadata.setdefault("annotations", {}).update(template_annotations)
        metadata["labels"] = {"app": name}
        props["spec"] = template["spec"]
    elif kind == "CronJob":
        props["spec"] = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "ReplicationController":  # core/v1: a plain equality selector
        props["spec"] = {"selector": {"app": name}, "template": template}
    else:
        props["spec"] = {"selector": {"matchLabels": {"app": name}}, "template": template}
    return type_of(kind), props


def annotations_path(kind: str) -> str:
    return {
        "Pod": "metadata.annotations",
        "CronJob": "spec.jobTemplate.spec.template.metadata.annotations",
    }.get(kind, "spec.template.metadata.annotations")


def template_annotations(kind: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    node: Any = props
    for key in annotations_path(kind).split("."):
        node = node.get(key, {})
    return node


def args(
    resource_type: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    name: str = "res",
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource_type,
        props,
        f"urn:pulumi:test::p::{resource_type}::{name}",
        name,
        None,
        None,
        config,
    )


def violations(
    policy: ResourceValidationPolicy,
    resource_type: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    found: list[str] = []
    policy.validate(args(resource_type, props, config), lambda m, urn=None: found.append(m))
    return found


def remediated(
    policy: ResourceValidationPolicy,
    resource_type: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> Any:
    """The new props the remediation gives (awaited, as the SDK does), or ``None``."""
    return settle(policy.remediate(args(resource_type, copy.deepcopy(props), config)))


def stack_violations(
    policy: StackValidationPolicy,
    resources: Iterable[PolicyResource],
    config: Mapping[str, Any] | None = None,
) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    policy.validate(
        StackValidationArgs(list(resources), config), lambda m, urn=None: found.append((m, urn))
    )
    return found


def res(
    resource_type: str,
    props: Mapping[str, Any],
    name: str | None = None,
    parent: PolicyResource | None = None,
    dependencies: list[PolicyResource] | None = None,
) -> PolicyResource:
    meta = props.get("metadata", {})
    label = name or f"{meta.get('namespace', 'default')}/{meta.get('name', 'unnamed')}"
    return make_resource(resource_type, props, label, None, parent, dependencies)


def namespace(name: str, annotations: Mapping[str, str] | None = None) -> PolicyResource:
    meta: dict[str, Any] = {"name": name}
    if annotations is not None:
        meta["annotations"] = dict(annotations)
    return res(
        "kubernetes:core/v1:Namespace",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": meta},
        name,
    )


def load_manifests(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def manifest_resource(doc: Mapping[str, Any]) -> PolicyResource:
    return res(resource_type_for(doc["apiVersion"], doc["kind"]), doc)
