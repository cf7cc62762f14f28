"""Pack configuration: one set of defaults, the JSON schemas that expose them, and a reader.

Pulumi policy config is per policy (``--policy-pack-config`` maps policy name -> object), so
every policy that needs the cache ports declares the same ``cachePorts`` property, built
here from the one constant :data:`DEFAULT_CACHE_PORTS`. Values may be absent (unit tests,
no config file) and numbers may arrive as floats (protobuf); :func:`read_settings` copes.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .workloads import as_port, sequence

#: Ignite 2 / GridGain 8 ports that must be opaque: thin client, communication SPI, discovery SPI.
DEFAULT_CACHE_PORTS: tuple[int, ...] = (10800, 47100, 47500)
#: Images that run a cache node (globs over the repository, tag and registry ignored).
DEFAULT_CACHE_IMAGES: tuple[str, ...] = ("apacheignite/ignite", "gridgain/*")
#: Namespaces never asked to be meshed (the mesh itself, the cluster's own).
DEFAULT_EXEMPT_NAMESPACES: tuple[str, ...] = ("linkerd*", "kube-*")
#: Namespaces (globs) the namespace rules cover: every one, as Kyverno's Linkerd policies do.
DEFAULT_NAMESPACES: tuple[str, ...] = ("*",)
#: Kinds require-linkerd-server checks: Kyverno's require-linkerd-server matches Deployment only.
DEFAULT_SERVER_WORKLOAD_KINDS: tuple[str, ...] = ("Deployment",)
#: Chart names that install the Linkerd control plane.
DEFAULT_CONTROL_PLANE_CHARTS: tuple[str, ...] = ("linkerd-control-plane", "linkerd2")
#: Resource types that stand for a control plane the stack uses but does not install: cachemesh's
#: `linkerd.controlPlane: existing` registers this component only after reading the cluster's
#: Linkerd (its CRDs, trust roots and an available proxy injector), and every cache waits for it.
DEFAULT_EXISTING_CONTROL_PLANE_TYPES: tuple[str, ...] = ("cachemesh:index:ExistingLinkerd",)


def _port_list(default: tuple[int, ...], description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": 65535},
        "default": list(default),
        "description": description,
    }


def _string_list(default: tuple[str, ...], description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string"},
        "default": list(default),
        "description": description,
    }


_PORTS_SCHEMA = _port_list(
    DEFAULT_CACHE_PORTS,
    (
        "Server-first cache ports that must be opaque (default Ignite 2 / GridGain 8: "
        "10800,47100,47500)."
    ),
)
_IMAGES_SCHEMA = _string_list(
    DEFAULT_CACHE_IMAGES,
    ("Glob patterns of cache images (repository only; tag, digest and registry host are ignored)."),
)
_MESHED_NAMESPACES_SCHEMA = _string_list(
    (),
    (
        "Namespaces annotated linkerd.io/inject=enabled outside this stack (resource rules cannot "
        "see them)."
    ),
)
_NAMESPACE_OPAQUE_PORTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "default": {},
    "description": (
        "Namespace name -> its config.linkerd.io/opaque-ports value, for namespaces outside this "
        "stack."
    ),
}
_NAMESPACES_SCHEMA = _string_list(
    DEFAULT_NAMESPACES,
    'Namespaces (globs) this rule applies to; ["*"] (default, as Kyverno): every one not exempt.',
)
_INCLUDE_CACHE_NAMESPACES_SCHEMA: dict[str, Any] = {
    "type": "boolean",
    "default": True,
    "description": (
        "Also apply to every namespace that holds a cache workload (what counts when "
        "`namespaces` is narrowed, e.g. to [])."
    ),
}
_EXEMPT_SCHEMA = _string_list(
    DEFAULT_EXEMPT_NAMESPACES,
    "Namespaces (globs) exempt from this rule.",
)
_SERVER_MODE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": ["when-stack-has-servers", "always"],
    "default": "always",
    "description": (
        "always (default, Kyverno's behaviour): every workload with ports and every Service "
        "needs a Server; when-stack-has-servers: only once the stack declares a Linkerd Server."
    ),
}
_SERVER_WORKLOAD_KINDS_SCHEMA = _string_list(
    DEFAULT_SERVER_WORKLOAD_KINDS,
    (
        'Workload kinds (globs) that need a Server when they declare ports; ["Deployment"] '
        '(default) as Kyverno, ["*"]: every pod-template kind.'
    ),
)
_MATCH_TARGET_KIND_SCHEMA: dict[str, Any] = {
    "type": "boolean",
    "default": False,
    "description": (
        "false (default, Kyverno's behaviour): spec.targetRef.name must name a Server or a "
        "policy.linkerd.io HTTPRoute, whatever targetRef.kind says; true: the target must exist "
        "as the kind it names (Server, HTTPRoute or GRPCRoute of either API group), and a "
        "Namespace target always passes."
    ),
}
_INCLUDE_HEADLESS_SCHEMA: dict[str, Any] = {
    "type": "boolean",
    "default": False,
    "description": (
        "Also check headless Services (clusterIP None); Linkerd resolves those to pod IPs, "
        "so the pod template's annotation (opaque-ports rule) is what counts."
    ),
}
#: Ports besides the cache ports that a meshed cache workload declaring them must put behind a
#: Server + authorization: the HTTP REST API (ignite-rest-http) reads and writes cache data.
DEFAULT_EXTRA_AUTHORIZED_PORTS: tuple[int, ...] = (8080,)
_EXTRA_AUTHORIZED_PORTS_SCHEMA = _port_list(
    DEFAULT_EXTRA_AUTHORIZED_PORTS,
    (
        "Ports besides cachePorts that need a Server and an authorization when the cache "
        "workload declares them (default 8080, the REST API)."
    ),
)
_CONTROL_PLANE_CHARTS_SCHEMA = _string_list(
    DEFAULT_CONTROL_PLANE_CHARTS,
    "Helm chart names that install the Linkerd control plane.",
)

_EXISTING_CONTROL_PLANE_TYPES_SCHEMA = _string_list(
    DEFAULT_EXISTING_CONTROL_PLANE_TYPES,
    "Resource types that stand for a Linkerd control plane the stack uses but does not install "
    "(read from the cluster before the caches).",
)

CACHE_PROPERTIES: dict[str, dict[str, Any]] = {
    "cachePorts": _PORTS_SCHEMA,
    "cacheImages": _IMAGES_SCHEMA,
}
NAMESPACE_PROPERTIES: dict[str, dict[str, Any]] = {"meshedNamespaces": _MESHED_NAMESPACES_SCHEMA}
OPAQUE_PROPERTIES: dict[str, dict[str, Any]] = {
    **CACHE_PROPERTIES,
    **NAMESPACE_PROPERTIES,
    "namespaceOpaquePorts": _NAMESPACE_OPAQUE_PORTS_SCHEMA,
}
SCOPE_PROPERTIES: dict[str, dict[str, Any]] = {
    "namespaces": _NAMESPACES_SCHEMA,
    "includeCacheNamespaces": _INCLUDE_CACHE_NAMESPACES_SCHEMA,
    "exemptNamespaces": _EXEMPT_SCHEMA,
}
SERVER_PROPERTIES: dict[str, dict[str, Any]] = {
    "mode": _SERVER_MODE_SCHEMA,
    "workloadKinds": _SERVER_WORKLOAD_KINDS_SCHEMA,
}
TARGET_PROPERTIES: dict[str, dict[str, Any]] = {"matchTargetKind": _MATCH_TARGET_KIND_SCHEMA}
SERVICE_PROPERTIES: dict[str, dict[str, Any]] = {
    **CACHE_PROPERTIES,
    "includeHeadless": _INCLUDE_HEADLESS_SCHEMA,
}
AUTHORIZED_PROPERTIES: dict[str, dict[str, Any]] = {
    **CACHE_PROPERTIES,
    **NAMESPACE_PROPERTIES,
    "extraAuthorizedPorts": _EXTRA_AUTHORIZED_PORTS_SCHEMA,
}
CONTROL_PLANE_PROPERTIES: dict[str, dict[str, Any]] = {
    **CACHE_PROPERTIES,
    **NAMESPACE_PROPERTIES,
    "controlPlaneCharts": _CONTROL_PLANE_CHARTS_SCHEMA,
    "existingControlPlaneTypes": _EXISTING_CONTROL_PLANE_TYPES_SCHEMA,
}


@dataclass(frozen=True)
class Settings:
    """Effective configuration of one policy evaluation."""

    cache_ports: tuple[int, ...] = DEFAULT_CACHE_PORTS
    cache_images: tuple[str, ...] = DEFAULT_CACHE_IMAGES
    meshed_namespaces: frozenset[str] = frozenset()
    namespace_opaque_ports: Mapping[str, str] = field(default_factory=dict)
    namespaces: tuple[str, ...] = DEFAULT_NAMESPACES
    include_cache_namespaces: bool = True
    exempt_namespaces: tuple[str, ...] = DEFAULT_EXEMPT_NAMESPACES
    server_mode: str = "always"
    server_workload_kinds: tuple[str, ...] = DEFAULT_SERVER_WORKLOAD_KINDS
    match_target_kind: bool = False
    include_headless: bool = False
    control_plane_charts: tuple[str, ...] = DEFAULT_CONTROL_PLANE_CHARTS
    existing_control_plane_types: tuple[str, ...] = DEFAULT_EXISTING_CONTROL_PLANE_TYPES
    extra_authorized_ports: tuple[int, ...] = DEFAULT_EXTRA_AUTHORIZED_PORTS

    def is_exempt(self, namespace: str) -> bool:
        return any(fnmatch.fnmatchcase(namespace, p) for p in self.exempt_namespaces)

    def listed(self, namespace: str) -> bool:
        return any(fnmatch.fnmatchcase(namespace, p) for p in self.namespaces)

    def needs_server(self, kind: str) -> bool:
        return any(fnmatch.fnmatchcase(kind, p) for p in self.server_workload_kinds)


def _strings(value: object, default: Sequence[str]) -> tuple[str, ...]:
    if value is None:
        return tuple(default)
    return tuple(s for s in sequence(value) if isinstance(s, str))


def _ports(value: object, default: tuple[int, ...] = DEFAULT_CACHE_PORTS) -> tuple[int, ...]:
    if value is None:
        return default
    ports = [as_port(p) for p in sequence(value)]
    return tuple(sorted({p for p in ports if p is not None}))


def read_settings(config: Mapping[str, Any] | None) -> Settings:
    """Settings from a policy's config, defaults for anything absent."""
    config = config or {}
    opaque = config.get("namespaceOpaquePorts")
    mode = config.get("mode")
    include_cache = config.get("includeCacheNamespaces")
    include_headless = config.get("includeHeadless")
    match_target_kind = config.get("matchTargetKind")
    return Settings(
        cache_ports=_ports(config.get("cachePorts")),
        cache_images=_strings(config.get("cacheImages"), DEFAULT_CACHE_IMAGES),
        meshed_namespaces=frozenset(_strings(config.get("meshedNamespaces"), ())),
        namespace_opaque_ports=(
            {k: v for k, v in opaque.items() if isinstance(v, str)}
            if isinstance(opaque, Mapping)
            else {}
        ),
        namespaces=_strings(config.get("namespaces"), DEFAULT_NAMESPACES),
        include_cache_namespaces=include_cache if isinstance(include_cache, bool) else True,
        exempt_namespaces=_strings(config.get("exemptNamespaces"), DEFAULT_EXEMPT_NAMESPACES),
        server_mode=mode if mode in ("when-stack-has-servers", "always") else "always",
        server_workload_kinds=_strings(config.get("workloadKinds"), DEFAULT_SERVER_WORKLOAD_KINDS),
        match_target_kind=match_target_kind if isinstance(match_target_kind, bool) else False,
        include_headless=include_headless if isinstance(include_headless, bool) else False,
        control_plane_charts=_strings(
            config.get("controlPlaneCharts"), DEFAULT_CONTROL_PLANE_CHARTS
        ),
        existing_control_plane_types=_strings(
            config.get("existingControlPlaneTypes"), DEFAULT_EXISTING_CONTROL_PLANE_TYPES
        ),
        extra_authorized_ports=_ports(
            config.get("extraAuthorizedPorts"), DEFAULT_EXTRA_AUTHORIZED_PORTS
        ),
    )
