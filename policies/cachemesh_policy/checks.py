"""Pure checks shared by the resource rules, the stack rules, the tests and the benchmark.

Each check takes a :class:`~.workloads.Workload` (or Service props) and
:class:`~.settings.Settings` and returns findings; nothing here knows about the SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .annotations import (
    INJECT,
    OPAQUE_PORTS,
    SKIP_PORT_ANNOTATIONS,
    PortList,
    merge_port_list,
    parse_port_list,
)
from .settings import Settings
from .workloads import (
    Workload,
    annotations_of,
    as_port,
    image_matches,
    mapping,
    metadata_of,
    name_of,
    namespace_of,
    sequence,
)

OPAQUE_APP_PROTOCOLS: frozenset[str] = frozenset({"linkerd.io/opaque", "linkerd.io/tcp"})


def fmt_ports(ports: Sequence[int]) -> str:
    return ",".join(str(p) for p in ports)


def is_cache_workload(workload: Workload, settings: Settings) -> bool:
    """Runs a cache image, or declares a cache port."""
    if any(image_matches(image, settings.cache_images) for image in workload.images()):
        return True
    return any(p in settings.cache_ports for p in workload.container_ports())


def required_opaque_ports(workload: Workload, settings: Settings) -> tuple[int, ...]:
    """Cache ports this workload serves: all of them for a cache image, else the declared ones."""
    if any(image_matches(image, settings.cache_images) for image in workload.images()):
        return settings.cache_ports
    declared = set(workload.container_ports())
    return tuple(p for p in settings.cache_ports if p in declared)


@dataclass(frozen=True)
class OpaqueFinding:
    """What opaque-ports found wrong and the value that fixes it."""

    message: str
    fixed_value: str


def check_opaque_ports(workload: Workload, settings: Settings) -> OpaqueFinding | None:
    """opaque-ports: every cache port the workload serves is in its effective opaque-ports list.

    Applies unless the pod template explicitly opts out of injection (``disabled``): a
    template without ``linkerd.io/inject`` may be meshed by its namespace, and
    cache-workloads-meshed requires cache workloads to be meshed anyway.
    """
    inject = workload.template_inject
    if inject is not None and not workload.template_meshed:
        return None
    required = required_opaque_ports(workload, settings)
    if not required:
        return None
    field = workload.annotation_field(OPAQUE_PORTS)
    value: Any = workload.template_annotations.get(OPAQUE_PORTS)
    source = field
    if value is None and settings.namespace_opaque_ports:
        ns_value = settings.namespace_opaque_ports.get(workload.namespace)
        if ns_value is not None:
            value, source = ns_value, f'Namespace {workload.namespace} annotation "{OPAQUE_PORTS}"'
    if value is None:
        fixed = fmt_ports(required)
        return OpaqueFinding(
            f"{workload.ref}: serves cache ports {fixed} but {field} is not set, so Linkerd runs "
            "protocol "
            f"detection on them and the cluster never forms (handshake timeouts). "
            f'Fix: set {field} = "{fixed}".',
            fixed,
        )
    parsed = parse_port_list(value)
    named = workload.named_ports()
    missing = [p for p in required if not parsed.covers(p, named)]
    problems: list[str] = []
    if missing:
        problems.append(f"does not list cache ports {fmt_ports(missing)}")
    if parsed.errors:
        problems.append("has entries Linkerd cannot parse: " + "; ".join(parsed.errors))
    unresolved = parsed.unresolved_names(named)
    if unresolved and missing:
        problems.append("names no container port: " + ", ".join(unresolved))
    if not problems:
        return None
    fixed = merge_port_list(value, missing)
    return OpaqueFinding(
        f'{workload.ref}: {source} = "{parsed.raw}" ' + " and ".join(problems) + ". "
        f'Fix: set {field} = "{fixed}" (existing entries kept).',
        fixed,
    )


def check_inject_on_pod_template(workload: Workload) -> str | None:
    """inject-on-pod-template: linkerd.io/inject on the controller's metadata, not its template."""
    if not workload.template_path:
        return None
    own = workload.own_annotations.get(INJECT)
    if own is None or workload.template_annotations.get(INJECT) is not None:
        return None
    field = workload.annotation_field(INJECT)
    return (
        f'{workload.ref}: metadata.annotations["{INJECT}"] = "{own}" is on the {workload.kind} '
        "itself, where the "
        f"proxy injector never looks, so pods start without a proxy (1/1 instead of 2/2). "
        f'Fix: set {field} = "{own}" (and drop it from metadata.annotations).'
    )


@dataclass(frozen=True)
class SkipFinding:
    """One skip-port annotation and what it does to the cache ports."""

    key: str
    field: str
    value: str
    parsed: PortList
    cache_ports_skipped: tuple[int, ...]

    @property
    def mandatory(self) -> bool:
        """Covers a cache port, or cannot be parsed (so it may)."""
        return bool(self.cache_ports_skipped) or not self.parsed.ok


def _skip_findings(
    annotations: Mapping[str, Any], field_of: Callable[[str], str], settings: Settings
) -> list[SkipFinding]:
    findings: list[SkipFinding] = []
    for key in SKIP_PORT_ANNOTATIONS:
        value = annotations.get(key)
        if value is None:
            continue
        parsed = parse_port_list(value, allow_names=False)
        skipped = tuple(p for p in settings.cache_ports if parsed.covers(p))
        findings.append(SkipFinding(key, field_of(key), parsed.raw, parsed, skipped))
    return findings


def find_skip_annotations(workload: Workload, settings: Settings) -> list[SkipFinding]:
    """The skip-port annotations on a workload's (or a workload patch's) pod template."""
    return _skip_findings(workload.template_annotations, workload.annotation_field, settings)


def find_namespace_skip_annotations(
    annotations: Mapping[str, Any], settings: Settings
) -> list[SkipFinding]:
    """The skip-port annotations on a Namespace. The proxy injector reads proxy settings from
    the pod and, where the pod sets none, from its namespace: the skip-port lists are among
    them (linkerd/linkerd2 pkg/inject/inject.go, 0005dded: ProxyAnnotations, "annotations that
    can be applied on a pod or namespace", including config.linkerd.io/skip-inbound-ports and
    skip-outbound-ports; getOverride: the pod's value, else the namespace's). linkerd-cni reads
    them the same way (linkerd/linkerd2-proxy-init cni-plugin/main.go, b6d932d8:
    getAnnotationOverride for config.linkerd.io/skip-inbound-ports and skip-outbound-ports, the
    pod's annotation, else the namespace's)."""
    return _skip_findings(annotations, lambda key: f'metadata.annotations["{key}"]', settings)


def remove_ports(parsed: PortList, ports: Sequence[int]) -> str:
    """The list without ``ports``: ranges are split around them, invalid entries dropped."""
    drop = set(ports)
    kept: list[str] = []
    for lo, hi in parsed.ranges:
        start = lo
        for port in sorted(d for d in drop if lo <= d <= hi):
            if start <= port - 1:
                kept.append(_range_str(start, port - 1))
            start = port + 1
        if start <= hi:
            kept.append(_range_str(start, hi))
    return ",".join(kept)


def _range_str(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def skip_message(ref: str, finding: SkipFinding) -> str:
    """``ref``: what carries the annotation, ``StatefulSet ignite/ignite`` or ``Namespace x``."""
    head = f'{ref}: {finding.field} = "{finding.value}"'
    if not finding.parsed.ok:
        return (
            f"{head} cannot be parsed ({'; '.join(finding.parsed.errors)}); proxy-init may skip "
            "more than "
            f"intended or fail. Fix: remove {finding.field}, or list only numeric non-cache ports."
        )
    if finding.cache_ports_skipped:
        rest = remove_ports(finding.parsed, finding.cache_ports_skipped)
        fix = f'set {finding.field} = "{rest}"' if rest else f"remove {finding.field}"
        return (
            f"{head} skips cache ports {fmt_ports(finding.cache_ports_skipped)}: that traffic "
            "bypasses the "
            f"proxy and travels in plaintext. Fix: {fix}."
        )
    return (
        f"{head} sends these ports around the Linkerd proxy (no mTLS); Linkerd documents skipping "
        "as a "
        f"debugging aid. Fix: remove {finding.field}, or mark server-first ports opaque instead."
    )


@dataclass(frozen=True)
class ServiceFinding:
    message: str
    fixed_value: str


def check_service_opaque_ports(
    props: Mapping[str, Any], fallback_name: str, settings: Settings
) -> ServiceFinding | None:
    """service-opaque-ports: Service ports that front cache ports are opaque."""
    spec = mapping(props.get("spec"))
    if not settings.include_headless and spec.get("clusterIP") == "None":
        return None
    annotations = annotations_of(metadata_of(props))
    value = annotations.get(OPAQUE_PORTS)
    parsed = parse_port_list(value) if value is not None else None
    named: dict[str, int] = {}
    for port in sequence(spec.get("ports")):
        port_map = mapping(port)
        number = as_port(port_map.get("port"))
        name = port_map.get("name")
        if isinstance(name, str) and number is not None:
            named[name] = number
    missing: list[int] = []
    details: list[str] = []
    for index, port in enumerate(sequence(spec.get("ports"))):
        port_map = mapping(port)
        number = as_port(port_map.get("port"))
        if number is None:
            continue
        target = as_port(port_map.get("targetPort"))
        fronted = target if target is not None else number
        if number not in settings.cache_ports and fronted not in settings.cache_ports:
            continue
        if port_map.get("appProtocol") in OPAQUE_APP_PROTOCOLS:
            continue
        if parsed is not None and parsed.covers(number, named):
            continue
        missing.append(number)
        details.append(f"spec.ports[{index}] (port {number} -> {fronted})")
    if not missing:
        return None
    ref = f"Service {namespace_of(props)}/{name_of(props, fallback_name)}"
    field = f'metadata.annotations["{OPAQUE_PORTS}"]'
    fixed = merge_port_list(value, missing)
    return ServiceFinding(
        f"{ref}: {', '.join(details)} front cache ports but are not opaque, so clients resolving "
        "through the "
        f'Service get protocol detection. Fix: set {field} = "{fixed}", or set appProtocol: '
        f'"linkerd.io/opaque" on each of those ports.',
        fixed,
    )
