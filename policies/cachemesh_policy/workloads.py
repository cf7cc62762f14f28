"""Find the pod template of every workload kind and describe Kubernetes-shaped props.

Props are the resource's camelCase inputs as the policy SDK hands them over: plain dicts
in tests, read-only ``Mapping``/``Sequence`` proxies in the engine (numbers may arrive as
floats). Every read goes through ``.get()`` with a default; anything may be absent.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .annotations import INJECT, is_meshed_value

#: kind -> (API group, path of the pod template from the resource root). Pod and the pod
#: controllers Kyverno auto-generates its Pod rules for (kyverno/kyverno pkg/autogen,
#: PodControllers: DaemonSet, Deployment, Job, StatefulSet, ReplicaSet, ReplicationController,
#: CronJob).
WORKLOAD_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Pod": ("core", ()),
    "ReplicationController": ("core", ("spec", "template")),
    "Deployment": ("apps", ("spec", "template")),
    "StatefulSet": ("apps", ("spec", "template")),
    "DaemonSet": ("apps", ("spec", "template")),
    "ReplicaSet": ("apps", ("spec", "template")),
    "Job": ("batch", ("spec", "template")),
    "CronJob": ("batch", ("spec", "jobTemplate", "spec", "template")),
}

#: pulumi-kubernetes' server-side-apply patch types (``kubernetes:apps/v1:StatefulSetPatch`` …)
#: carry the same shape with every field optional: what they set, they set on the live object.
PATCH_SUFFIX = "Patch"

_EMPTY: Mapping[str, Any] = {}
DEFAULT_NAMESPACE = "default"


def split_type(resource_type: str) -> tuple[str, str, str]:
    """``kubernetes:apps/v1:StatefulSet`` -> (``kubernetes``, ``apps/v1``, ``StatefulSet``)."""
    parts = resource_type.split(":")
    if len(parts) != 3:
        return ("", "", "")
    return (parts[0], parts[1], parts[2])


def kind_of(resource_type: str, group: str | None = None) -> str | None:
    """The Kubernetes kind of a ``kubernetes:`` resource type, optionally checking its group."""
    pkg, api_version, kind = split_type(resource_type)
    if pkg != "kubernetes":
        return None
    if group is not None and api_version.split("/", 1)[0] != group:
        return None
    return kind


def workload_kind(resource_type: str) -> str | None:
    """The kind if ``resource_type`` is one of the eight pod-template workloads."""
    kind = kind_of(resource_type)
    if kind is None or kind not in WORKLOAD_KINDS:
        return None
    if kind_of(resource_type, WORKLOAD_KINDS[kind][0]) is None:
        return None
    return kind


def patched_workload_kind(resource_type: str) -> str | None:
    """``StatefulSet`` for ``kubernetes:apps/v1:StatefulSetPatch``: the kind a patch type of one
    of the eight workloads patches; ``None`` for anything else."""
    kind = kind_of(resource_type)
    if kind is None or not kind.endswith(PATCH_SUFFIX):
        return None
    base = kind.removesuffix(PATCH_SUFFIX)
    if base not in WORKLOAD_KINDS or kind_of(resource_type, WORKLOAD_KINDS[base][0]) is None:
        return None
    return base


def resource_type_for(api_version: str, kind: str) -> str:
    """The Pulumi type token for a manifest's ``apiVersion``/``kind`` (``v1`` -> ``core/v1``)."""
    if "/" not in api_version:
        api_version = f"core/{api_version}"
    return f"kubernetes:{api_version}:{kind}"


def mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else _EMPTY


def sequence(value: object) -> Sequence[Any]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return value
    return ()


def dig(root: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any]:
    node = root
    for key in path:
        node = mapping(node.get(key))
    return node


def as_port(value: object) -> int | None:
    """A port number from an int, an integral float (protobuf numbers) or a digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def metadata_of(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(props.get("metadata"))


def annotations_of(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(metadata.get("annotations"))


def labels_of(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(metadata.get("labels"))


def name_of(props: Mapping[str, Any], fallback: str) -> str:
    name = metadata_of(props).get("name")
    return name if isinstance(name, str) and name else fallback


def namespace_of(props: Mapping[str, Any]) -> str:
    namespace = metadata_of(props).get("namespace")
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE


@dataclass(frozen=True)
class Workload:
    """A workload's pod template, flattened for the rules."""

    kind: str
    name: str
    namespace: str
    props: Mapping[str, Any]
    template_path: tuple[str, ...]
    own_annotations: Mapping[str, Any]
    template_annotations: Mapping[str, Any]
    template_labels: Mapping[str, Any]
    containers: tuple[Mapping[str, Any], ...]
    init_containers: tuple[Mapping[str, Any], ...] = field(default=())
    # A <Kind>Patch: partial, so what it does not set says nothing about the patched object.
    patch: bool = False

    @property
    def ref(self) -> str:
        """``StatefulSet ignite/ignite``: kind, namespace and name for messages."""
        suffix = PATCH_SUFFIX if self.patch else ""
        return f"{self.kind}{suffix} {self.namespace}/{self.name}"

    @property
    def annotations_path(self) -> str:
        """Dotted path of the pod template's annotations, ``spec.template.metadata.annotations``."""
        return ".".join((*self.template_path, "metadata", "annotations"))

    def annotation_field(self, key: str) -> str:
        return f'{self.annotations_path}["{key}"]'

    @property
    def template_inject(self) -> str | None:
        value = self.template_annotations.get(INJECT)
        return value.strip() if isinstance(value, str) else None

    @property
    def template_meshed(self) -> bool:
        return is_meshed_value(self.template_inject)

    def container_ports(self) -> tuple[int, ...]:
        """Every declared ``containerPort`` of the (non-init) containers, in order, unique."""
        ports: list[int] = []
        for container in self.containers:
            for port in sequence(container.get("ports")):
                number = as_port(mapping(port).get("containerPort"))
                if number is not None and number not in ports:
                    ports.append(number)
        return tuple(ports)

    def named_ports(self) -> dict[str, int]:
        """Container port name -> number, for resolving named entries in port lists."""
        named: dict[str, int] = {}
        for container in (*self.containers, *self.init_containers):
            for port in sequence(container.get("ports")):
                port_map = mapping(port)
                name = port_map.get("name")
                number = as_port(port_map.get("containerPort"))
                if isinstance(name, str) and number is not None:
                    named.setdefault(name, number)
        return named

    def images(self) -> tuple[str, ...]:
        images: list[str] = []
        for container in self.containers:
            image = container.get("image")
            if isinstance(image, str):
                images.append(image)
        return tuple(images)


def get_workload(
    resource_type: str, props: Mapping[str, Any], fallback_name: str = ""
) -> Workload | None:
    """The workload view of a resource, or ``None`` when it has no pod template."""
    kind = workload_kind(resource_type)
    if kind is None:
        return None
    return _workload(kind, props, fallback_name)


def get_workload_patch(
    resource_type: str, props: Mapping[str, Any], fallback_name: str = ""
) -> Workload | None:
    """The workload view of a <Kind>Patch (``patch=True``), or ``None`` for anything else."""
    kind = patched_workload_kind(resource_type)
    if kind is None:
        return None
    return _workload(kind, props, fallback_name, patch=True)


def _workload(
    kind: str, props: Mapping[str, Any], fallback_name: str, patch: bool = False
) -> Workload:
    template_path = WORKLOAD_KINDS[kind][1]
    template = dig(props, template_path) if template_path else props
    template_meta = mapping(template.get("metadata"))
    pod_spec = mapping(template.get("spec"))
    own_meta = metadata_of(props)
    return Workload(
        kind=kind,
        name=name_of(props, fallback_name or "<unnamed>"),
        namespace=namespace_of(props),
        props=props,
        template_path=template_path,
        own_annotations=annotations_of(own_meta) if template_path else _EMPTY,
        template_annotations=annotations_of(template_meta),
        template_labels=labels_of(template_meta),
        containers=tuple(mapping(c) for c in sequence(pod_spec.get("containers"))),
        init_containers=tuple(mapping(c) for c in sequence(pod_spec.get("initContainers"))),
        patch=patch,
    )


def image_repository(image: str) -> str:
    """``docker.io/gridgain/enterprise:8.9@sha256:..`` -> ``gridgain/enterprise``."""
    repo = image.split("@", 1)[0]
    last_slash = repo.rfind("/")
    colon = repo.rfind(":")
    if colon > last_slash:
        repo = repo[:colon]
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix) :]
    if repo.startswith("library/"):
        repo = repo[len("library/") :]
    return repo


def image_matches(image: str, patterns: Sequence[str]) -> bool:
    """Whether ``image`` (tag and digest ignored) matches a glob in ``patterns``.

    A registry host in front (``registry.example.com/gridgain/enterprise``, a mirror) is
    also tried without the host, so ``gridgain/*`` matches mirrored images.
    """
    repo = image_repository(image)
    candidates = [repo]
    first, _, rest = repo.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        candidates.append(rest)
    return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns)
