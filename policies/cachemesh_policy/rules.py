"""Resource rules: each looks at one resource (the only view that can remediate).

Namespace facts a resource rule cannot see come from config (``meshedNamespaces``,
``namespaceOpaquePorts``); the namespace-aware rules live in :mod:`.stack_rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .annotations import DEFAULT_INBOUND_POLICY, INJECT, OPAQUE_PORTS, PROXY_AWAIT
from .checks import (
    SkipFinding,
    check_inject_on_pod_template,
    check_opaque_ports,
    check_service_opaque_ports,
    find_namespace_skip_annotations,
    find_skip_annotations,
    skip_message,
)
from .remediation import as_remediation, with_annotations
from .settings import (
    CACHE_PROPERTIES,
    OPAQUE_PROPERTIES,
    SCOPE_PROPERTIES,
    SERVICE_PROPERTIES,
    read_settings,
)
from .workloads import (
    annotations_of,
    get_workload,
    get_workload_patch,
    kind_of,
    metadata_of,
    name_of,
)

Props = Mapping[str, Any]

_SCOPE_EXEMPT_SCHEMA = PolicyConfigSchema(
    properties={k: SCOPE_PROPERTIES[k] for k in ("namespaces", "exemptNamespaces")}
)


# --- opaque-ports ---------------------------------------------------------------------------


def _validate_opaque_ports(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    workload = get_workload(args.resource_type, args.props, args.name)
    if workload is None:
        return
    finding = check_opaque_ports(workload, read_settings(args.get_config()))
    if finding is not None:
        report_violation(finding.message, None)


def _remediate_opaque_ports(args: ResourceValidationArgs) -> Props | None:
    workload = get_workload(args.resource_type, args.props, args.name)
    if workload is None:
        return None
    finding = check_opaque_ports(workload, read_settings(args.get_config()))
    if finding is None:
        return None
    return with_annotations(args.props, workload.template_path, {OPAQUE_PORTS: finding.fixed_value})


opaque_ports = ResourceValidationPolicy(
    name="opaque-ports",
    description="Cache ports (server-first Ignite/GridGain protocols) must be listed in the pod "
    "template's "
    "config.linkerd.io/opaque-ports.",
    validate=_validate_opaque_ports,
    remediate=as_remediation(_remediate_opaque_ports),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties=OPAQUE_PROPERTIES),
    severity=Severity.CRITICAL,
    remediation_steps="Add the cache ports to "
    'spec.template.metadata.annotations["config.linkerd.io/opaque-ports"], '
    "keeping existing entries; the REMEDIATE level does it for you.",
    tags=["linkerd", "ignite", "gridgain"],
)


# --- inject-on-pod-template -----------------------------------------------------------------


def _validate_inject_on_pod_template(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    workload = get_workload(args.resource_type, args.props, args.name)
    if workload is None:
        return
    message = check_inject_on_pod_template(workload)
    if message is not None:
        report_violation(message, None)


def _remediate_inject_on_pod_template(args: ResourceValidationArgs) -> Props | None:
    workload = get_workload(args.resource_type, args.props, args.name)
    if workload is None or check_inject_on_pod_template(workload) is None:
        return None
    value = str(workload.own_annotations.get(INJECT))
    return with_annotations(args.props, workload.template_path, {INJECT: value})


inject_on_pod_template = ResourceValidationPolicy(
    name="inject-on-pod-template",
    description="linkerd.io/inject belongs on the pod template "
    "(spec.template.metadata.annotations), "
    "not on the workload's own metadata.",
    validate=_validate_inject_on_pod_template,
    remediate=as_remediation(_remediate_inject_on_pod_template),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps="Move the annotation to the pod template; the REMEDIATE level copies it "
    "there.",
    tags=["linkerd"],
)


# --- no-port-skipping (mandatory on cache ports) / no-port-skipping-other-ports (advisory) ----


def _skip_findings(args: ResourceValidationArgs) -> tuple[str, list[SkipFinding]] | None:
    """What carries skip-port annotations and what they skip: a workload's pod template, a
    workload patch's (it sets them on the live object), or a Namespace (or NamespacePatch),
    whose lists apply to every pod there that sets none."""
    settings = read_settings(args.get_config())
    workload = get_workload(args.resource_type, args.props, args.name) or get_workload_patch(
        args.resource_type, args.props, args.name
    )
    if workload is not None:
        return workload.ref, find_skip_annotations(workload, settings)
    if kind_of(args.resource_type, "core") in ("Namespace", "NamespacePatch"):
        ref = f"Namespace {name_of(args.props, args.name)}"
        annotations = annotations_of(metadata_of(args.props))
        return ref, find_namespace_skip_annotations(annotations, settings)
    return None


def _validate_port_skipping(mandatory: bool) -> Any:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        found = _skip_findings(args)
        if found is None:
            return
        ref, findings = found
        for finding in findings:
            if finding.mandatory == mandatory:
                report_violation(skip_message(ref, finding), None)

    return validate


no_port_skipping = ResourceValidationPolicy(
    name="no-port-skipping",
    description="config.linkerd.io/skip-inbound-ports / skip-outbound-ports must not cover a "
    "cache port (nor be unparseable) on a pod template, a workload patch or a Namespace: skipped "
    "ports bypass the proxy, in plaintext.",
    validate=_validate_port_skipping(mandatory=True),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties=CACHE_PROPERTIES),
    severity=Severity.HIGH,
    remediation_steps="Remove the cache ports from config.linkerd.io/skip-inbound-ports "
    "and skip-outbound-ports, keeping the other entries (the message gives the value, "
    "ranges split around the cache ports), or remove the annotation; on a Namespace (or "
    "NamespacePatch) remove it there. A value that is not port numbers and ranges, such as "
    '"true", must go too.',
    tags=["linkerd", "kyverno:prevent-linkerd-port-skipping"],
)

no_port_skipping_other_ports = ResourceValidationPolicy(
    name="no-port-skipping-other-ports",
    description="config.linkerd.io/skip-inbound-ports / skip-outbound-ports on non-cache ports "
    "(pod template, workload patch or Namespace) exempt them from mTLS; avoid outside debugging.",
    validate=_validate_port_skipping(mandatory=False),
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(properties=CACHE_PROPERTIES),
    severity=Severity.MEDIUM,
    remediation_steps="Remove the config.linkerd.io/skip-inbound-ports / "
    "skip-outbound-ports annotation once the debugging it was for is over, so every port "
    "goes through the proxy again; keep an entry only for a port that must bypass the mesh, "
    "knowing its traffic is plaintext.",
    tags=["linkerd", "kyverno:prevent-linkerd-port-skipping"],
)


# --- service-opaque-ports -------------------------------------------------------------------


def _is_service(resource_type: str) -> bool:
    return kind_of(resource_type, "core") == "Service"


def _validate_service_opaque_ports(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if not _is_service(args.resource_type):
        return
    finding = check_service_opaque_ports(args.props, args.name, read_settings(args.get_config()))
    if finding is not None:
        report_violation(finding.message, None)


def _remediate_service_opaque_ports(args: ResourceValidationArgs) -> Props | None:
    if not _is_service(args.resource_type):
        return None
    finding = check_service_opaque_ports(args.props, args.name, read_settings(args.get_config()))
    if finding is None:
        return None
    return with_annotations(args.props, (), {OPAQUE_PORTS: finding.fixed_value})


service_opaque_ports = ResourceValidationPolicy(
    name="service-opaque-ports",
    description="A Service fronting cache ports should mark them opaque "
    "(config.linkerd.io/opaque-ports on the "
    "Service, or appProtocol linkerd.io/opaque on the port).",
    validate=_validate_service_opaque_ports,
    remediate=as_remediation(_remediate_service_opaque_ports),
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(properties=SERVICE_PROPERTIES),
    severity=Severity.MEDIUM,
    remediation_steps="Set the Service's "
    'metadata.annotations["config.linkerd.io/opaque-ports"] to the cache ports it fronts '
    "(the message gives the value; the REMEDIATE level sets it), or set appProtocol: "
    "linkerd.io/opaque on each of those ports.",
    tags=["linkerd"],
)


# --- add-linkerd-mesh-injection / add-linkerd-policy-annotation (Kyverno mutations) ---------


def _namespace_in_scope(args: ResourceValidationArgs) -> bool:
    if kind_of(args.resource_type, "core") != "Namespace":
        return False
    settings = read_settings(args.get_config())
    name = name_of(args.props, args.name)
    if settings.is_exempt(name):
        return False
    return settings.listed(name)


def _add_if_absent(args: ResourceValidationArgs, wanted: Mapping[str, str]) -> Props | None:
    if not _namespace_in_scope(args):
        return None
    present = annotations_of(metadata_of(args.props))
    missing = {k: v for k, v in wanted.items() if k not in present}
    if not missing:
        return None
    return with_annotations(args.props, (), missing)


add_linkerd_mesh_injection = ResourceValidationPolicy(
    name="add-linkerd-mesh-injection",
    description="Remediation: add linkerd.io/inject=enabled and "
    "config.linkerd.io/proxy-await=enabled to "
    "Namespaces that lack them (Kyverno add-linkerd-mesh-injection). Set the level to remediate "
    "to use it.",
    remediate=as_remediation(
        lambda args: _add_if_absent(args, {INJECT: "enabled", PROXY_AWAIT: "enabled"})
    ),
    enforcement_level=EnforcementLevel.DISABLED,
    config_schema=_SCOPE_EXEMPT_SCHEMA,
    remediation_steps="A remediation, not a check: set its level to remediate and it "
    "adds linkerd.io/inject: enabled and config.linkerd.io/proxy-await: enabled to every "
    "Namespace in scope that lacks them (namespaces minus exemptNamespaces); or add the "
    "annotations to the Namespace yourself.",
    tags=["linkerd", "kyverno:add-linkerd-mesh-injection"],
)

add_linkerd_policy_annotation = ResourceValidationPolicy(
    name="add-linkerd-policy-annotation",
    description="Remediation: add config.linkerd.io/default-inbound-policy=deny to Namespaces "
    "that lack it "
    "(Kyverno add-linkerd-policy-annotation). Set the level to remediate to use it.",
    remediate=as_remediation(lambda args: _add_if_absent(args, {DEFAULT_INBOUND_POLICY: "deny"})),
    enforcement_level=EnforcementLevel.DISABLED,
    config_schema=_SCOPE_EXEMPT_SCHEMA,
    remediation_steps="A remediation, not a check: set its level to remediate and it "
    "adds config.linkerd.io/default-inbound-policy: deny to every Namespace in scope that "
    "lacks it (namespaces minus exemptNamespaces); or add the annotation to the Namespace "
    "yourself.",
    tags=["linkerd", "kyverno:add-linkerd-policy-annotation"],
)

RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    opaque_ports,
    inject_on_pod_template,
    no_port_skipping,
    no_port_skipping_other_ports,
    service_opaque_ports,
    add_linkerd_mesh_injection,
    add_linkerd_policy_annotation,
]
