"""Stack rules: checks that need more than one resource.

A workload's namespace decides whether it is meshed when its pod template says nothing,
and Servers, AuthorizationPolicies and the Linkerd control plane are other resources;
only the stack view (``StackValidationArgs.resources``) sees them all. Namespaces that
live outside the stack can be described in config (``meshedNamespaces``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .annotations import INJECT, OPAQUE_PORTS, is_meshed_value
from .checks import check_opaque_ports, is_cache_workload
from .settings import (
    CACHE_PROPERTIES,
    CONTROL_PLANE_PROPERTIES,
    NAMESPACE_PROPERTIES,
    OPAQUE_PROPERTIES,
    SCOPE_PROPERTIES,
    SERVER_PROPERTIES,
    TARGET_PROPERTIES,
    Settings,
    read_settings,
)
from .workloads import (
    Workload,
    annotations_of,
    get_workload,
    get_workload_patch,
    kind_of,
    mapping,
    metadata_of,
    name_of,
    namespace_of,
    sequence,
    split_type,
)

POLICY_GROUP = "policy.linkerd.io"
CONTROL_PLANE_OBJECTS: frozenset[tuple[str, str]] = frozenset(
    {
        ("Deployment", "linkerd-proxy-injector"),
        ("MutatingWebhookConfiguration", "linkerd-proxy-injector-webhook-config"),
    }
)
_HELM_TYPES: frozenset[str] = frozenset(
    {"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v4:Chart"}
)


@dataclass
class StackView:
    """The stack's resources, indexed for the rules."""

    namespaces: dict[str, tuple[PolicyResource, Mapping[str, Any]]] = field(default_factory=dict)
    workloads: list[tuple[PolicyResource, Workload]] = field(default_factory=list)
    # <Kind>Patch resources: partial pod templates applied to a live workload.
    patches: list[tuple[PolicyResource, Workload]] = field(default_factory=list)
    services: list[PolicyResource] = field(default_factory=list)
    servers: list[PolicyResource] = field(default_factory=list)
    routes: list[PolicyResource] = field(default_factory=list)
    authorization_policies: list[PolicyResource] = field(default_factory=list)
    server_authorizations: list[PolicyResource] = field(default_factory=list)
    control_planes: list[PolicyResource] = field(default_factory=list)


def _group(resource: PolicyResource) -> str:
    """The API group (``core`` for the core group) of a resource's type token."""
    return split_type(resource.resource_type)[1].split("/", 1)[0]


def build_view(resources: Iterable[PolicyResource], settings: Settings) -> StackView:
    view = StackView()
    for resource in resources:
        rtype = resource.resource_type
        props = resource.props
        workload = get_workload(rtype, props, resource.name)
        if workload is not None:
            view.workloads.append((resource, workload))
            if (workload.kind, workload.name) in CONTROL_PLANE_OBJECTS:
                view.control_planes.append(resource)
            continue
        patch = get_workload_patch(rtype, props, resource.name)
        if patch is not None:
            view.patches.append((resource, patch))
            continue
        if rtype in settings.existing_control_plane_types:
            view.control_planes.append(resource)
            continue
        if rtype in _HELM_TYPES:
            if _chart_name(props.get("chart")) in settings.control_plane_charts:
                view.control_planes.append(resource)
            continue
        kind = kind_of(rtype)
        if kind is None:
            continue
        group = _group(resource)
        if kind == "Namespace" and group == "core":
            name = name_of(props, resource.name)
            view.namespaces[name] = (resource, annotations_of(metadata_of(props)))
        elif kind == "Service" and group == "core":
            view.services.append(resource)
        elif kind == "Server" and group == POLICY_GROUP:
            view.servers.append(resource)
        elif kind in ("HTTPRoute", "GRPCRoute") and group in (
            POLICY_GROUP,
            "gateway.networking.k8s.io",
        ):
            view.routes.append(resource)
        elif kind == "AuthorizationPolicy" and group == POLICY_GROUP:
            view.authorization_policies.append(resource)
        elif kind == "ServerAuthorization" and group == POLICY_GROUP:
            view.server_authorizations.append(resource)
        elif (kind, name_of(props, resource.name)) in CONTROL_PLANE_OBJECTS:
            view.control_planes.append(resource)
    return view


def _chart_name(chart: object) -> str:
    """``linkerd/linkerd-control-plane``, ``oci://host/linkerd-control-plane``: the last part."""
    return chart.rstrip("/").rsplit("/", 1)[-1] if isinstance(chart, str) else ""


def namespace_inject(view: StackView, settings: Settings, namespace: str) -> str | None:
    """The namespace's ``linkerd.io/inject`` from the stack, else ``enabled`` if config lists it."""
    if namespace in view.namespaces:
        value = view.namespaces[namespace][1].get(INJECT)
        if isinstance(value, str):
            return value.strip()
    if namespace in settings.meshed_namespaces:
        return "enabled"
    return None


def effective_inject(workload: Workload, view: StackView, settings: Settings) -> str | None:
    """What the proxy injector decides: the pod template's annotation wins over the namespace's."""
    return (
        workload.template_inject
        if workload.template_inject is not None
        else (namespace_inject(view, settings, workload.namespace))
    )


def _settings_and_view(args: StackValidationArgs) -> tuple[Settings, StackView]:
    settings = read_settings(args.get_config())
    return settings, build_view(args.resources, settings)


# --- cache-workloads-meshed -----------------------------------------------------------------


def _validate_cache_workloads_meshed(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    for resource, workload in view.workloads:
        if not is_cache_workload(workload, settings):
            continue
        inject = effective_inject(workload, view, settings)
        if is_meshed_value(inject):
            continue
        field = workload.annotation_field(INJECT)
        if workload.template_inject is not None:
            if is_meshed_value(namespace_inject(view, settings, workload.namespace)):
                continue  # an override inside a meshed namespace: no-injection-override reports it
            why = f'{field} = "{workload.template_inject}" keeps it out of the mesh'
        else:
            why = (
                f"neither its pod template nor Namespace {workload.namespace} sets {INJECT}=enabled"
            )
        report_violation(
            f"{workload.ref}: a cache workload that is not meshed ({why}); its cache traffic "
            "travels in "
            f'plaintext. Fix: set {field} = "enabled".',
            resource.urn,
        )


cache_workloads_meshed = StackValidationPolicy(
    name="cache-workloads-meshed",
    description="A workload running a cache image or exposing the cache ports must be meshed by "
    "Linkerd.",
    validate=_validate_cache_workloads_meshed,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties={**CACHE_PROPERTIES, **NAMESPACE_PROPERTIES}),
    severity=Severity.CRITICAL,
    remediation_steps='Set spec.template.metadata.annotations["linkerd.io/inject"] = '
    '"enabled" on the cache workload, or mesh its Namespace (linkerd.io/inject: enabled on '
    "a Namespace in the stack, or list it in meshedNamespaces when it lives elsewhere); its "
    "pods get the proxy when they restart.",
    tags=["linkerd", "ignite", "gridgain"],
)


# --- cache-workload-patches -----------------------------------------------------------------
# A pulumi-kubernetes <Kind>Patch (server-side apply) sets what it names on the live object, so
# a patch can undo what the workload rules checked on the workload itself. A patch is partial:
# only what it sets is judged. Skip-port lists on a patch are no-port-skipping's (a resource
# rule); this rule judges what needs to know the patched workload is a cache one (its own
# image or ports, or the workload of that kind, namespace and name in this stack).


def _patched_workload(view: StackView, patch: Workload) -> Workload | None:
    return next(
        (
            w
            for _, w in view.workloads
            if (w.kind, w.namespace, w.name) == (patch.kind, patch.namespace, patch.name)
        ),
        None,
    )


def patch_findings(view: StackView, patch: Workload, settings: Settings) -> list[str]:
    """What a patch of a cache workload breaks: the guide's mistakes, made through a patch."""
    target = _patched_workload(view, patch)
    if not is_cache_workload(patch, settings) and not (
        target is not None and is_cache_workload(target, settings)
    ):
        return []
    findings: list[str] = []
    field_name = patch.annotation_field(INJECT)
    if patch.template_inject is not None and not patch.template_meshed:
        findings.append(
            f'{patch.ref}: sets {field_name} = "{patch.template_inject}" on a cache workload: its '
            "pods restart without a proxy and their cache traffic travels in plaintext. Fix: "
            f'set {field_name} = "enabled" in the patch, or leave the annotation out of it.'
        )
    if OPAQUE_PORTS in patch.template_annotations:
        # Judged as the patched object would be: the patch's annotations over the workload's,
        # the workload's containers when the patch names none.
        base = target if target is not None and not patch.containers else patch
        merged = replace(
            base,
            kind=patch.kind,
            name=patch.name,
            namespace=patch.namespace,
            template_path=patch.template_path,
            patch=True,
            template_annotations={**base.template_annotations, **patch.template_annotations},
        )
        finding = check_opaque_ports(merged, settings)
        if finding is not None:
            findings.append(finding.message)
    return findings


def _validate_cache_workload_patches(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    for resource, patch in view.patches:
        for message in patch_findings(view, patch, settings):
            report_violation(message, resource.urn)


cache_workload_patches = StackValidationPolicy(
    name="cache-workload-patches",
    description="A workload patch (StatefulSetPatch, DeploymentPatch, …) of a cache workload must "
    "not turn its injection off or drop cache ports from its opaque-ports.",
    validate=_validate_cache_workload_patches,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties=OPAQUE_PROPERTIES),
    severity=Severity.CRITICAL,
    remediation_steps='In the patch, set linkerd.io/inject to "enabled" (or leave it '
    "out of the patch), and give config.linkerd.io/opaque-ports every cache port the "
    "patched workload serves, keeping its other entries (or leave that annotation out of "
    "the patch).",
    tags=["linkerd", "ignite", "gridgain", "patch"],
)


# --- no-injection-override (mandatory) / no-injection-override-elsewhere (advisory) ---------


def _validate_injection_override(in_meshed_namespace: bool) -> Any:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings, view = _settings_and_view(args)
        for resource, workload in view.workloads:
            if workload.template_inject != "disabled":
                continue
            ns_meshed = is_meshed_value(namespace_inject(view, settings, workload.namespace))
            if ns_meshed != in_meshed_namespace:
                continue
            if not ns_meshed and is_cache_workload(workload, settings):
                continue  # cache-workloads-meshed reports it, mandatory
            field = workload.annotation_field(INJECT)
            where = (
                f"in Namespace {workload.namespace}, which is meshed"
                if ns_meshed
                else "(Linkerd injection opt-out)"
            )
            report_violation(
                f'{workload.ref}: {field} = "disabled" {where}: its pods run without a proxy, so '
                "their "
                f'traffic is neither encrypted nor authenticated. Fix: set {field} = "enabled", '
                "or remove it.",
                resource.urn,
            )

    return validate


_OVERRIDE_SCHEMA = PolicyConfigSchema(properties={**CACHE_PROPERTIES, **NAMESPACE_PROPERTIES})

no_injection_override = StackValidationPolicy(
    name="no-injection-override",
    description='A pod template must not set linkerd.io/inject: "disabled" in a namespace that is '
    "meshed.",
    validate=_validate_injection_override(in_meshed_namespace=True),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_OVERRIDE_SCHEMA,
    severity=Severity.HIGH,
    remediation_steps='Set the pod template\'s linkerd.io/inject to "enabled", or remove '
    "the annotation so the meshed namespace's injection applies.",
    tags=["linkerd", "kyverno:prevent-linkerd-pod-injection-override"],
)

no_injection_override_elsewhere = StackValidationPolicy(
    name="no-injection-override-elsewhere",
    description='linkerd.io/inject: "disabled" on a pod template outside a meshed namespace '
    "(Kyverno prevent-linkerd-pod-injection-override).",
    validate=_validate_injection_override(in_meshed_namespace=False),
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_OVERRIDE_SCHEMA,
    severity=Severity.MEDIUM,
    remediation_steps='Set the pod template\'s linkerd.io/inject to "enabled", or remove '
    "the annotation; a workload that must stay outside the mesh keeps it, and this advisory "
    "rule reports it.",
    tags=["linkerd", "kyverno:prevent-linkerd-pod-injection-override"],
)


# --- require-linkerd-mesh-injection ---------------------------------------------------------
# Kyverno's require-linkerd-mesh-injection (kyverno/policies linkerd/require-linkerd-mesh-
# injection/require-linkerd-mesh-injection.yaml @ b9c4317) validates every Namespace: pattern
# metadata.annotations["linkerd.io/inject"] == "enabled". The default scope here is the same
# (namespaces ["*"]) minus exemptNamespaces (linkerd*, kube-*); namespaces [] keeps only the
# namespaces that hold a cache workload (includeCacheNamespaces).


def _validate_require_mesh_injection(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    cache_namespaces = (
        {w.namespace for _, w in view.workloads if is_cache_workload(w, settings)}
        if settings.include_cache_namespaces
        else set()
    )
    for name, (resource, ns_annotations) in view.namespaces.items():
        if settings.is_exempt(name):
            continue
        if not settings.listed(name) and name not in cache_namespaces:
            continue
        value = ns_annotations.get(INJECT)
        if value == "enabled":
            continue
        field = f'metadata.annotations["{INJECT}"]'
        state = f'is "{value}"' if value is not None else "is not set"
        reason = (
            "it holds a cache workload"
            if name in cache_namespaces
            else "this rule's namespaces config covers it (default: every namespace, as Kyverno)"
        )
        report_violation(
            f"Namespace {name}: {field} {state}; {reason}, so every pod in it should be meshed. "
            f'Fix: set {field} = "enabled", or list the namespace in this rule\'s '
            "exemptNamespaces.",
            resource.urn,
        )


require_linkerd_mesh_injection = StackValidationPolicy(
    name="require-linkerd-mesh-injection",
    description="Every Namespace (config: namespaces, exemptNamespaces linkerd*, kube-*) must set "
    "linkerd.io/inject: enabled (Kyverno require-linkerd-mesh-injection).",
    validate=_validate_require_mesh_injection,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(properties={**CACHE_PROPERTIES, **SCOPE_PROPERTIES}),
    severity=Severity.MEDIUM,
    remediation_steps='Set metadata.annotations["linkerd.io/inject"] = "enabled" on the '
    "Namespace (the add-linkerd-mesh-injection remediation does it), or take the Namespace "
    "out of the rule's scope: exemptNamespaces, or namespaces: [] with "
    "includeCacheNamespaces for only the namespaces that hold a cache workload.",
    tags=["linkerd", "kyverno:require-linkerd-mesh-injection"],
)


# --- require-linkerd-server -----------------------------------------------------------------


def server_selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether a Server's ``podSelector`` selects pods with ``labels``.

    ``matchLabels`` and ``matchExpressions`` with ``In``, ``NotIn``, ``Exists`` and
    ``DoesNotExist`` (the Kubernetes label-selector operators). Anything else (an unknown
    operator, a malformed expression) is treated as not selecting: the rule then asks for a
    Server rather than trusting one it cannot read. An empty ``podSelector`` selects every pod
    of the namespace, as in Linkerd.
    """
    for label, value in mapping(selector.get("matchLabels")).items():
        if labels.get(label) != value:
            return False
    for expression in sequence(selector.get("matchExpressions")):
        expr = mapping(expression)
        key = expr.get("key")
        operator = expr.get("operator")
        values = [v for v in sequence(expr.get("values")) if isinstance(v, str)]
        if not isinstance(key, str):
            return False
        present = key in labels
        if operator == "In":
            if not (present and labels.get(key) in values):
                return False
        elif operator == "NotIn":
            if present and labels.get(key) in values:
                return False
        elif operator == "Exists":
            if not present:
                return False
        elif operator == "DoesNotExist":
            if present:
                return False
        else:
            return False
    return True


def _servers_in(view: StackView, namespace: str) -> list[PolicyResource]:
    return [s for s in view.servers if namespace_of(s.props) == namespace]


def _has_server(view: StackView, namespace: str, labels: Mapping[str, Any]) -> bool:
    return any(
        server_selects(mapping(mapping(s.props.get("spec")).get("podSelector")), labels)
        for s in _servers_in(view, namespace)
    )


# Kyverno's require-linkerd-server (linkerd/require-linkerd-server/require-linkerd-server.yaml
# @ b9c4317): a Deployment whose containers declare a port, and every Service, need a Server in
# their namespace whose podSelector.matchLabels label_match the pod template labels / the
# Service selector. Same defaults here (mode always, workloadKinds ["Deployment"]); selectors
# are read as Linkerd reads them (matchExpressions too, where Kyverno reads matchLabels only).


def _validate_require_server(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    settings, view = _settings_and_view(args)
    if settings.server_mode != "always" and not view.servers:
        return
    fix = (
        "Fix: add a policy.linkerd.io Server in namespace {ns} whose spec.podSelector.matchLabels "
        "selects {labels}."
    )
    for resource, workload in view.workloads:
        if not settings.needs_server(workload.kind):
            continue
        if not any(sequence(c.get("ports")) for c in workload.containers):
            continue
        labels = workload.template_labels
        if _has_server(view, workload.namespace, labels):
            continue
        report_violation(
            f"{workload.ref}: declares container ports but no Server in namespace "
            f"{workload.namespace} selects "
            f"its pod labels ({_path(workload, 'labels')}). "
            + fix.format(ns=workload.namespace, labels=dict(labels)),
            resource.urn,
        )
    for service in view.services:
        selector = mapping(mapping(service.props.get("spec")).get("selector"))
        if not selector:
            continue
        namespace = namespace_of(service.props)
        if _has_server(view, namespace, selector):
            continue
        report_violation(
            f"Service {namespace}/{name_of(service.props, service.name)}: no Server in namespace "
            f"{namespace} selects "
            f"the pods of spec.selector. " + fix.format(ns=namespace, labels=dict(selector)),
            service.urn,
        )


def _path(workload: Workload, leaf: str) -> str:
    return ".".join((*workload.template_path, "metadata", leaf))


require_linkerd_server = StackValidationPolicy(
    name="require-linkerd-server",
    description="Deployments declaring ports (config: workloadKinds) and Services need a Linkerd "
    "Server selecting their pods (Kyverno require-linkerd-server).",
    validate=_validate_require_server,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(properties=SERVER_PROPERTIES),
    severity=Severity.LOW,
    remediation_steps="Add a Linkerd Server (policy.linkerd.io) in the same namespace "
    "whose spec.podSelector (matchLabels and matchExpressions, read as Linkerd reads them) "
    "selects the workload's or Service's pods, with the port they serve; or narrow the rule "
    "with workloadKinds, or mode: when-stack-has-servers for a stack that uses no Linkerd "
    "authorization policy.",
    tags=["linkerd", "kyverno:require-linkerd-server"],
)


# --- check-linkerd-authorizationpolicy ------------------------------------------------------
# Kyverno's check-linkerd-authorizationpolicy (linkerd/check-linkerd-authorizationpolicy/
# check-linkerd-authorizationpolicy.yaml @ b9c4317) denies an AuthorizationPolicy whose
# spec.targetRef.name is neither a Server's name nor a policy.linkerd.io HTTPRoute's name in its
# namespace, whatever targetRef.kind says. That is the default here; matchTargetKind: true
# checks the kind it names instead (Server, HTTPRoute/GRPCRoute of either group; a Namespace
# target passes).


def _names(resources: Sequence[PolicyResource], namespace: str) -> list[str]:
    return sorted(name_of(r.props, r.name) for r in resources if namespace_of(r.props) == namespace)


def _target_candidates(
    view: StackView, namespace: str, kind: object, match_kind: bool
) -> tuple[list[str], str] | None:
    """Names the target may have and what they are; ``None``: the target needs no lookup."""
    servers = _names(view.servers, namespace)
    if not match_kind:
        linkerd_http_routes = [
            r
            for r in view.routes
            if _group(r) == POLICY_GROUP and kind_of(r.resource_type) == "HTTPRoute"
        ]
        return servers + _names(linkerd_http_routes, namespace), "Server or HTTPRoute"
    if kind == "Namespace":
        return None
    routes = _names(view.routes, namespace)
    if kind == "Server":
        return servers, "Server"
    if kind in ("HTTPRoute", "GRPCRoute"):
        return routes, str(kind)
    return servers + routes, "Server or HTTPRoute"


def _validate_authorization_policy(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    for policy in view.authorization_policies:
        namespace = namespace_of(policy.props)
        target = mapping(mapping(policy.props.get("spec")).get("targetRef"))
        name = target.get("name")
        found = _target_candidates(view, namespace, target.get("kind"), settings.match_target_kind)
        if found is None:
            continue
        candidates, what = found
        if isinstance(name, str) and name in candidates:
            continue
        known = ", ".join(candidates) or "none"
        report_violation(
            f"AuthorizationPolicy {namespace}/{name_of(policy.props, policy.name)}: "
            f"spec.targetRef names {what} "
            f'"{name}", which does not exist in namespace {namespace} in this stack (known: '
            f"{known}), so the "
            f"policy authorizes nothing. Fix: create that {what} or set spec.targetRef.name to an "
            "existing one.",
            policy.urn,
        )


check_linkerd_authorizationpolicy = StackValidationPolicy(
    name="check-linkerd-authorizationpolicy",
    description="Every AuthorizationPolicy must target a Server or HTTPRoute that exists "
    "(Kyverno check-linkerd-authorizationpolicy).",
    validate=_validate_authorization_policy,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(properties=TARGET_PROPERTIES),
    severity=Severity.MEDIUM,
    remediation_steps="Point spec.targetRef.name at a Server or policy.linkerd.io "
    "HTTPRoute of the policy's namespace in this stack (with matchTargetKind: true, at a "
    "target of the kind it names: Server, HTTPRoute or GRPCRoute), or create that target in "
    "the stack; a target another stack manages is reported too, which is why the rule is "
    "advisory.",
    tags=["linkerd", "kyverno:check-linkerd-authorizationpolicy"],
)


# --- linkerd-control-plane-first ------------------------------------------------------------


def _ancestors(resource: PolicyResource) -> list[PolicyResource]:
    chain: list[PolicyResource] = []
    node = resource.parent
    while node is not None and node not in chain:
        chain.append(node)
        node = node.parent
    return chain


def dependency_closure(resource: PolicyResource) -> set[str]:
    """URNs of everything ``resource`` waits for: its dependencies, its ancestors' dependencies
    (a component's ``depends_on`` is recorded on the component), transitively."""
    seen: set[str] = set()
    stack: list[PolicyResource] = [resource, *_ancestors(resource)]
    expanded: set[str] = set()
    while stack:
        node = stack.pop()
        if node.urn in expanded:
            continue
        expanded.add(node.urn)
        for dep in node.dependencies:
            seen.add(dep.urn)
            stack.append(dep)
            stack.extend(_ancestors(dep))
    return seen


def _waits_for(closure: set[str], marker: PolicyResource) -> bool:
    return marker.urn in closure or any(a.urn in closure for a in _ancestors(marker))


def _validate_control_plane_first(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    for resource, workload in view.workloads:
        if (workload.kind, workload.name) in CONTROL_PLANE_OBJECTS:
            continue
        if not is_cache_workload(workload, settings):
            continue
        if not is_meshed_value(effective_inject(workload, view, settings)):
            continue
        if not view.control_planes:
            report_violation(
                f"{workload.ref}: meshed cache workload, but this stack installs no Linkerd "
                "control plane "
                "(no linkerd-control-plane Helm chart/release, no linkerd-proxy-injector, no "
                "ExistingLinkerd read of the cluster's own). Without the injector "
                "its pods start 1/1, unmeshed. Fix: install Linkerd in this stack and add "
                "depends_on on it; if the cluster already runs Linkerd, use cachemesh's "
                "linkerd.controlPlane existing (or add depends_on on a resource of a type in "
                "existingControlPlaneTypes); if another stack installs it, set this policy's "
                "enforcementLevel to disabled.",
                resource.urn,
            )
            continue
        closure = dependency_closure(resource)
        if any(_waits_for(closure, marker) for marker in view.control_planes):
            continue
        names = ", ".join(
            sorted(f"{m.resource_type.split(':')[-1]} {m.name}" for m in view.control_planes)
        )
        report_violation(
            f"{workload.ref}: meshed cache workload that does not depend on the Linkerd control "
            f"plane ({names}); "
            "Pulumi may create its pods before the proxy injector exists, leaving them 1/1. Fix: "
            "add "
            "opts=ResourceOptions(depends_on=[<control plane>]) to the workload or to its parent "
            "component.",
            resource.urn,
        )


linkerd_control_plane_first = StackValidationPolicy(
    name="linkerd-control-plane-first",
    description="A meshed cache workload needs the Linkerd control plane in the same stack, "
    "ordered before it.",
    validate=_validate_control_plane_first,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(properties=CONTROL_PLANE_PROPERTIES),
    severity=Severity.HIGH,
    remediation_steps="Make the workload, or the component it belongs to, wait for the "
    "control plane: opts=ResourceOptions(depends_on=[<the linkerd-control-plane Release, or "
    "the ExistingLinkerd component with linkerd.controlPlane: existing>]). If another stack "
    "installs Linkerd, set this rule's level to disabled.",
    tags=["linkerd", "ordering"],
)

STACK_POLICIES: list[StackValidationPolicy] = [
    cache_workloads_meshed,
    cache_workload_patches,
    no_injection_override,
    no_injection_override_elsewhere,
    require_linkerd_mesh_injection,
    require_linkerd_server,
    check_linkerd_authorizationpolicy,
    linkerd_control_plane_first,
]
