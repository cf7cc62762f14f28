"""proxy-outlives-node (advisory): a meshed cache workload whose Linkerd proxy would stop before
its node has finished its GRACEFUL stop.

A node that stops (rollout, drain, scale-down) may still need its peers through the proxy until
its partitions have copies elsewhere; once the proxy gets SIGTERM it refuses new connections
(linkerd.io/2/tasks/graceful-shutdown). Two things keep it up (linkerd/linkerd2
pkg/inject/inject.go, charts/partials/templates/_proxy.tpl, edge-26.1.1 d22fbc71 to edge-26.8.3
19a0d90d):

- a native sidecar, which the kubelet stops only after the app containers have exited
  (kubernetes/kubernetes pkg/kubelet/kuberuntime/kuberuntime_termination_order.go). The first of
  ``config.linkerd.io/`` (from edge-26.5.2), ``config.beta.linkerd.io/`` and
  ``config.alpha.linkerd.io/proxy-enable-native-sidecar`` that is present decides, read as Go's
  ``strconv.ParseBool``; without one the chart's ``proxy.nativeSidecar`` does (true from
  edge-26.5.2, config ``nativeSidecarByDefault``);
- ``config.alpha.linkerd.io/proxy-wait-before-exit-seconds``, a preStop sleep before the proxy's
  SIGTERM, which keeps it up for the whole stop only when it is at least
  ``terminationGracePeriodSeconds`` (30 when unset). With a native sidecar it is refused (before
  edge-26.5.2, the pod is then admitted without a proxy) or ignored.

The rule looks at the pod template only; namespace annotations are not seen.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .checks import is_cache_workload
from .settings import CACHE_PROPERTIES, read_settings
from .workloads import Workload, get_workload, mapping

NATIVE_SIDECAR_ANNOTATIONS: tuple[str, ...] = (
    "config.linkerd.io/proxy-enable-native-sidecar",
    "config.beta.linkerd.io/proxy-enable-native-sidecar",
    "config.alpha.linkerd.io/proxy-enable-native-sidecar",
)
WAIT_BEFORE_EXIT = "config.alpha.linkerd.io/proxy-wait-before-exit-seconds"
# The Pod API's default terminationGracePeriodSeconds.
DEFAULT_GRACE_SECONDS = 30
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")

PROPERTIES: dict[str, dict[str, Any]] = {
    **CACHE_PROPERTIES,
    "nativeSidecarByDefault": {
        "type": "boolean",
        "default": False,
        "description": (
            "Whether the cluster's Linkerd injects proxies as native sidecars when the pod "
            "template does not say: true for edge-26.5.2 and later with the chart's default "
            "proxy.nativeSidecar; false (default) asks every cache workload to say so itself."
        ),
    },
}


def _native_sidecar(workload: Workload, by_default: bool) -> tuple[bool, str | None]:
    """(native sidecar?, the annotation that decided, or None for the default)."""
    for key in NATIVE_SIDECAR_ANNOTATIONS:
        if key in workload.template_annotations:
            value = str(workload.template_annotations[key]).strip()
            if value in _TRUE:
                return True, key
            if value in _FALSE:
                return False, key
            return by_default, key
    return by_default, None


def _wait_seconds(workload: Workload) -> int:
    raw = str(workload.template_annotations.get(WAIT_BEFORE_EXIT, "")).strip()
    return int(raw) if raw.isascii() and raw.isdigit() else 0


def _grace_seconds(workload: Workload) -> int:
    template = mapping(workload.props)
    for part in workload.template_path:
        template = mapping(template.get(part))
    grace = mapping(template.get("spec")).get("terminationGracePeriodSeconds")
    return int(grace) if isinstance(grace, int | float) else DEFAULT_GRACE_SECONDS


def check_proxy_outlives_node(workload: Workload, config: Any) -> str | None:
    """Why this workload's proxy would stop before its node, or None."""
    settings = read_settings(config)
    if not workload.template_meshed or not is_cache_workload(workload, settings):
        return None
    by_default = bool(mapping(config).get("nativeSidecarByDefault", False))
    native, decided_by = _native_sidecar(workload, by_default)
    wait = _wait_seconds(workload)
    grace = _grace_seconds(workload)
    native_field = workload.annotation_field(NATIVE_SIDECAR_ANNOTATIONS[0])
    wait_field = workload.annotation_field(WAIT_BEFORE_EXIT)
    if native and wait:
        return (
            f"{workload.ref}: {wait_field} is set with a native sidecar "
            f"({decided_by or 'the default'}): Linkerd before edge-26.5.2 refuses to inject the "
            "pair (the pod then runs without a proxy), later versions ignore the wait. Fix: "
            f"remove {wait_field}"
        )
    if native:
        return None
    if wait >= grace:
        return None
    why = f"{decided_by} is false" if decided_by else "no annotation asks for a native sidecar"
    return (
        f"{workload.ref}: the Linkerd proxy gets SIGTERM {wait} s into the pod's stop and then "
        f"refuses new connections, while the cache node may take up to {grace} s "
        f"(terminationGracePeriodSeconds) to hand its partitions over ({why}; {wait_field} is "
        f'{wait or "not set"}). Fix: set {native_field} = "true" (Kubernetes 1.29 or later; '
        "config.beta.linkerd.io/proxy-enable-native-sidecar for Linkerd before edge-26.5.2), "
        f'or else {wait_field} = "{grace}"'
    )


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    workload = get_workload(args.resource_type, args.props, args.name)
    if workload is None:
        return
    message = check_proxy_outlives_node(workload, args.get_config())
    if message is not None:
        report_violation(message, None)


proxy_outlives_node = ResourceValidationPolicy(
    name="proxy-outlives-node",
    description="A meshed cache workload's Linkerd proxy must outlive the node's GRACEFUL stop: "
    "a native sidecar, or proxy-wait-before-exit-seconds of at least the grace period.",
    validate=_validate,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(properties=PROPERTIES),
    severity=Severity.MEDIUM,
    remediation_steps="Set "
    'spec.template.metadata.annotations["config.linkerd.io/proxy-enable-native-sidecar"] = '
    '"true" (Kubernetes 1.29 or later; config.beta.linkerd.io/ before Linkerd edge-26.5.2), '
    "or else config.alpha.linkerd.io/proxy-wait-before-exit-seconds = the pod's "
    "terminationGracePeriodSeconds (30 when unset); never both. In cachemesh, "
    "cachemesh:linkerd.nativeSidecar chooses.",
    tags=["linkerd", "ignite", "gridgain"],
)
