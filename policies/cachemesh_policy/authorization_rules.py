"""Stack rules for Linkerd authorization of the cache ports (issue 7).

A meshed cache workload's cache ports must each be covered by a Linkerd ``Server`` that an
``AuthorizationPolicy`` targets; otherwise the pods' default inbound policy decides, and the
guide's default (``all-unauthenticated``) lets any client in, plaintext included. Pulumi sets one
enforcement level per policy, so the rule is split like ``no-port-skipping``: mandatory for
workloads in the strict/meshed modes (or that do not say), advisory for pod templates that say
``cachemesh.io/authorization: permissive``. Two more rules share the same view:
``cache-ports-legacy-authorization`` (advisory: a ``ServerAuthorization`` should become an
``AuthorizationPolicy``) and ``server-opaque-protocol`` (mandatory: a Server's ``proxyProtocol``
supersedes the opaque-ports annotation, so a cache port's Server must say ``opaque``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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

from .annotations import is_meshed_value
from .checks import is_cache_workload, required_opaque_ports
from .settings import AUTHORIZED_PROPERTIES, CACHE_PROPERTIES, NAMESPACE_PROPERTIES, Settings
from .stack_rules import (
    POLICY_GROUP,
    StackView,
    _settings_and_view,
    effective_inject,
    server_selects,
)
from .workloads import Workload, as_port, mapping, name_of, namespace_of, sequence

AUTHORIZATION_MODE = "cachemesh.io/authorization"
OPAQUE = "opaque"


def workload_mode(workload: Workload) -> str:
    """The pod template's ``cachemesh.io/authorization``; absent means the program's default."""
    value = workload.template_annotations.get(AUTHORIZATION_MODE)
    return value.strip() if isinstance(value, str) and value.strip() else "strict"


def server_port_matches(port_value: object, number: int, name: str | None) -> bool:
    """A Server's ``spec.port`` is the port number or the container port's name."""
    as_number = as_port(port_value)
    if as_number is not None:
        return as_number == number
    return isinstance(port_value, str) and name is not None and port_value == name


def _spec(resource: PolicyResource) -> Mapping[str, Any]:
    return mapping(resource.props.get("spec"))


def _name(resource: PolicyResource) -> str:
    return name_of(resource.props, resource.name)


def covering_servers(view: StackView, workload: Workload, number: int) -> list[PolicyResource]:
    """The Servers in the workload's namespace that select its pods on port ``number``."""
    port_name = next((n for n, p in workload.named_ports().items() if p == number), None)
    return [
        server
        for server in view.servers
        if namespace_of(server.props) == workload.namespace
        and server_selects(mapping(_spec(server).get("podSelector")), workload.template_labels)
        and server_port_matches(_spec(server).get("port"), number, port_name)
    ]


def routes_on(view: StackView, server: PolicyResource) -> set[str]:
    """Names of the HTTPRoutes in the Server's namespace whose parentRefs name the Server."""
    namespace, name = namespace_of(server.props), _name(server)
    return {
        _name(route)
        for route in view.routes
        if namespace_of(route.props) == namespace
        and any(
            mapping(ref).get("kind") == "Server" and mapping(ref).get("name") == name
            for ref in sequence(_spec(route).get("parentRefs"))
        )
    }


def authorization_policies_for(view: StackView, server: PolicyResource) -> list[PolicyResource]:
    """AuthorizationPolicies targeting the Server, or an HTTPRoute attached to it (once a Server
    has routes, Linkerd authorizes per route)."""
    namespace, name = namespace_of(server.props), _name(server)
    route_names = routes_on(view, server)
    found = []
    for policy in view.authorization_policies:
        target = mapping(_spec(policy).get("targetRef"))
        kind, target_name = target.get("kind"), target.get("name")
        if namespace_of(policy.props) != namespace:
            continue
        on_server = (
            kind == "Server"
            and target.get("group") in (None, "", POLICY_GROUP)
            and target_name == name
        )
        on_route = kind == "HTTPRoute" and target_name in route_names
        if on_server or on_route:
            found.append(policy)
    return found


def server_authorizations_for(view: StackView, server: PolicyResource) -> list[PolicyResource]:
    """Legacy ServerAuthorizations naming the Server, or selecting it by its labels."""
    namespace, name = namespace_of(server.props), _name(server)
    server_labels = mapping(mapping(server.props.get("metadata")).get("labels"))
    found = []
    for saz in view.server_authorizations:
        if namespace_of(saz.props) != namespace:
            continue
        target = mapping(_spec(saz).get("server"))
        selector = mapping(target.get("selector"))
        if target.get("name") == name or (selector and server_selects(selector, server_labels)):
            found.append(saz)
    return found


def ports_to_authorize(workload: Workload, settings: Settings) -> tuple[int, ...]:
    """The cache ports it serves, plus the extra ports (REST 8080) it declares."""
    declared = set(workload.container_ports())
    extra = [p for p in settings.extra_authorized_ports if p in declared]
    return tuple(sorted({*required_opaque_ports(workload, settings), *extra}))


@dataclass(frozen=True)
class _Cache:
    resource: PolicyResource
    workload: Workload
    mode: str


def _meshed_caches(view: StackView, settings: Settings) -> Iterator[_Cache]:
    for resource, workload in view.workloads:
        if not is_cache_workload(workload, settings):
            continue
        if not is_meshed_value(effective_inject(workload, view, settings)):
            continue  # cache-workloads-meshed asks for the mesh first
        yield _Cache(resource, workload, workload_mode(workload))


def _port_label(workload: Workload, number: int) -> str:
    name = next((n for n, p in workload.named_ports().items() if p == number), None)
    return f"{number} ({name})" if name else str(number)


def _selector_text(workload: Workload) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in workload.template_labels.items()) + "}"


def _validate_cache_ports_authorized(permissive: bool) -> Any:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings, view = _settings_and_view(args)
        for cache in _meshed_caches(view, settings):
            if (cache.mode == "permissive") != permissive:
                continue
            w = cache.workload
            why = (
                f' (its pod template says {AUTHORIZATION_MODE}: "permissive": the default '
                "inbound policy, all-unauthenticated in the guide, admits any client, plaintext "
                "included)"
                if permissive
                else ""
            )
            opaque = set(required_opaque_ports(w, settings))
            for number in ports_to_authorize(w, settings):
                port = _port_label(w, number)
                servers = covering_servers(view, w, number)
                protocol = ", proxyProtocol: opaque" if number in opaque else ""
                if not servers:
                    report_violation(
                        f"{w.ref}: cache port {port} is not covered by a Linkerd Server{why}; the "
                        "pods' default inbound policy decides who gets in. Fix: add a Server "
                        f"(policy.linkerd.io/v1beta3) in namespace {w.namespace} with "
                        f"spec: {{podSelector: {{matchLabels: {_selector_text(w)}}}, "
                        f"port: {number}{protocol}}}, and an AuthorizationPolicy whose targetRef "
                        "is that Server (group: policy.linkerd.io, kind: Server) with "
                        "requiredAuthenticationRefs to a MeshTLSAuthentication of the identities "
                        "allowed in.",
                        cache.resource.urn,
                    )
                    continue
                if any(
                    authorization_policies_for(view, s) or server_authorizations_for(view, s)
                    for s in servers
                ):
                    continue  # legacy ServerAuthorization: cache-ports-legacy-authorization
                names = ", ".join(sorted(_name(s) for s in servers))
                first = sorted(_name(s) for s in servers)[0]
                report_violation(
                    f"{w.ref}: cache port {port} is covered by Server {names} in namespace "
                    f"{w.namespace}, but no AuthorizationPolicy targets it{why}, so the port "
                    "admits nobody (or, in older Linkerd, falls back to the default policy). Fix: "
                    f"add an AuthorizationPolicy in namespace {w.namespace} with spec.targetRef "
                    f"{{group: policy.linkerd.io, kind: Server, name: {first}}} and "
                    "requiredAuthenticationRefs to a MeshTLSAuthentication of the identities "
                    "allowed in.",
                    cache.resource.urn,
                )

    return validate


_AUTHZ_SCHEMA = PolicyConfigSchema(properties=AUTHORIZED_PROPERTIES)

cache_ports_authorized = StackValidationPolicy(
    name="cache-ports-authorized",
    description="Every cache port of a meshed cache workload must be covered by a Linkerd Server "
    "that an AuthorizationPolicy targets.",
    validate=_validate_cache_ports_authorized(permissive=False),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_AUTHZ_SCHEMA,
    severity=Severity.HIGH,
    remediation_steps="For each uncovered port, add a Server "
    "(policy.linkerd.io/v1beta3) in the workload's namespace whose spec.podSelector selects "
    "the pod template's labels, with spec.port the cache port (its number or the container "
    "port's name) and proxyProtocol: opaque, and an AuthorizationPolicy whose targetRef is "
    "that Server (group policy.linkerd.io, kind Server) and whose "
    "requiredAuthenticationRefs name a MeshTLSAuthentication of the identities allowed in. "
    "A Server no AuthorizationPolicy targets needs that policy (the message gives its "
    "targetRef). cachemesh creates both in strict and meshed mode.",
    tags=["linkerd", "authorization", "ignite", "gridgain"],
)

cache_ports_authorized_permissive = StackValidationPolicy(
    name="cache-ports-authorized-permissive",
    description="cache-ports-authorized for pod templates that say cachemesh.io/authorization: "
    "permissive (the guide's behaviour): advisory.",
    validate=_validate_cache_ports_authorized(permissive=True),
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_AUTHZ_SCHEMA,
    severity=Severity.MEDIUM,
    remediation_steps="As for cache-ports-authorized: a Server and an "
    "AuthorizationPolicy for each uncovered cache port. For a cachemesh cache, set "
    "cachemesh:caches[i].authorization to strict (or meshed) and pulumi up; or keep the "
    "guide's permissive behaviour on purpose, which this advisory rule then reports.",
    tags=["linkerd", "authorization", "ignite", "gridgain"],
)


def _validate_legacy_authorization(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    reported: set[tuple[str, str]] = set()
    for cache in _meshed_caches(view, settings):
        w = cache.workload
        for number in ports_to_authorize(w, settings):
            for server in covering_servers(view, w, number):
                for saz in server_authorizations_for(view, server):
                    key = (saz.urn, server.urn)
                    if key in reported:
                        continue
                    reported.add(key)
                    report_violation(
                        f"ServerAuthorization {namespace_of(saz.props)}/{_name(saz)} authorizes "
                        f"Server {_name(server)} (cache port {_port_label(w, number)} of "
                        f"{w.ref}): ServerAuthorization is Linkerd's legacy form. Fix: replace it "
                        "with an AuthorizationPolicy (policy.linkerd.io/v1alpha1) whose "
                        f"targetRef is {{group: policy.linkerd.io, kind: Server, name: "
                        f"{_name(server)}}} and whose requiredAuthenticationRefs name a "
                        "MeshTLSAuthentication of the same identities.",
                        saz.urn,
                    )


cache_ports_legacy_authorization = StackValidationPolicy(
    name="cache-ports-legacy-authorization",
    description="A cache port's Server should be authorized by an AuthorizationPolicy, not the "
    "legacy ServerAuthorization.",
    validate=_validate_legacy_authorization,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_AUTHZ_SCHEMA,
    severity=Severity.LOW,
    remediation_steps="Replace the ServerAuthorization with an AuthorizationPolicy "
    "whose targetRef is the Server (group policy.linkerd.io, kind Server) and whose "
    "requiredAuthenticationRefs name a MeshTLSAuthentication of the same identities, then "
    "delete the ServerAuthorization.",
    tags=["linkerd", "authorization"],
)


def _validate_server_opaque_protocol(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    reported: set[str] = set()
    for cache in _meshed_caches(view, settings):
        w = cache.workload
        for number in required_opaque_ports(w, settings):
            for server in covering_servers(view, w, number):
                protocol = _spec(server).get("proxyProtocol")
                if protocol == OPAQUE or server.urn in reported:
                    continue
                reported.add(server.urn)
                shown = f'"{protocol}"' if isinstance(protocol, str) else "not set (unknown)"
                report_violation(
                    f"Server {namespace_of(server.props)}/{_name(server)} covers cache port "
                    f"{_port_label(w, number)} of {w.ref}, but its spec.proxyProtocol is {shown}. "
                    "A Server's proxyProtocol supersedes the config.linkerd.io/opaque-ports "
                    "annotation, so Linkerd runs protocol detection on this server-first port "
                    "and the nodes' handshakes stall again. Fix: set spec.proxyProtocol = "
                    '"opaque".',
                    server.urn,
                )


server_opaque_protocol = StackValidationPolicy(
    name="server-opaque-protocol",
    description="A Server that covers an opaque cache port must set proxyProtocol: opaque.",
    validate=_validate_server_opaque_protocol,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties={**CACHE_PROPERTIES, **NAMESPACE_PROPERTIES}),
    severity=Severity.CRITICAL,
    remediation_steps="Set the Server's spec.proxyProtocol to \"opaque\" (the REST port's "
    "Server keeps HTTP/1).",
    tags=["linkerd", "authorization", "opaque-ports"],
)

# --- cache-server-unauthenticated -------------------------------------------------------------
# An AuthorizationPolicy admits a client only when ALL its requiredAuthenticationRefs are
# satisfied (the CRD's own description, linkerd/linkerd2 charts/linkerd-crds/templates/policy/
# authorization-policy.yaml, b24cd405). One that requires no mesh identity — only
# NetworkAuthentications, or nothing at all — therefore admits clients without one, plaintext
# included: the guide's all-unauthenticated default again, on a port the program closed. It may
# target the Server, an HTTPRoute attached to it, or the Namespace. A legacy ServerAuthorization
# says the same with client.unauthenticated: true. And the Server itself may: its accessPolicy
# (default deny) applies to "traffic that doesn't match any of the policy rules" (the Server CRD,
# charts/linkerd-crds/templates/policy/server.yaml, b24cd405), and takes the default-policy
# values, so all-unauthenticated, cluster-unauthenticated or audit (all-unauthenticated, flagged)
# lets anyone in (linkerd/website linkerd.io/content/2.19/reference/authorization-policy.md,
# df68cad3: "accessPolicy", "Default policies").

MESH_AUTHENTICATION_KINDS = ("MeshTLSAuthentication", "ServiceAccount")
OPEN_ACCESS_POLICIES = ("all-unauthenticated", "cluster-unauthenticated", "audit")


def unauthenticated_reason(policy: PolicyResource) -> str | None:
    """Why an AuthorizationPolicy admits clients without a mesh identity, or None."""
    refs = [mapping(r) for r in sequence(_spec(policy).get("requiredAuthenticationRefs"))]
    if any(r.get("kind") in MESH_AUTHENTICATION_KINDS for r in refs):
        return None
    networks = sorted(str(r.get("name")) for r in refs if r.get("kind") == "NetworkAuthentication")
    if networks:
        names = ", ".join(f"NetworkAuthentication {n}" for n in networks)
        return f"requires only {names}, no mesh identity"
    if not refs:
        return "requires no authentication at all"
    return None


def namespace_policies_for(view: StackView, server: PolicyResource) -> list[PolicyResource]:
    """AuthorizationPolicies targeting the Server's whole Namespace."""
    namespace = namespace_of(server.props)
    return [
        policy
        for policy in view.authorization_policies
        if namespace_of(policy.props) == namespace
        and mapping(_spec(policy).get("targetRef")).get("kind") == "Namespace"
        and mapping(_spec(policy).get("targetRef")).get("name") == namespace
        and mapping(_spec(policy).get("targetRef")).get("group") in (None, "", "core")
    ]


def _target_text(policy: PolicyResource) -> str:
    target = mapping(_spec(policy).get("targetRef"))
    return f"{target.get('kind')} {target.get('name')}"


@dataclass(frozen=True)
class _CacheServer:
    """A Server covering a cache port of a strict/meshed cache workload."""

    server: PolicyResource
    where: str  # "Server S (cache port P of Kind ns/name)", for messages
    policies: tuple[PolicyResource, ...]  # the AuthorizationPolicies that apply to it


def _closed_cache_servers(view: StackView, settings: Settings) -> Iterator[_CacheServer]:
    """Every Server covering a port of a cache workload that is not permissive (a permissive one
    admits anyone by its own choice: cache-ports-authorized-permissive), with the policies on
    the Server, on a route of it, or on its Namespace."""
    for cache in _meshed_caches(view, settings):
        if cache.mode == "permissive":
            continue
        w = cache.workload
        for number in ports_to_authorize(w, settings):
            for server in covering_servers(view, w, number):
                where = f"Server {_name(server)} (cache port {_port_label(w, number)} of {w.ref})"
                policies = (
                    *authorization_policies_for(view, server),
                    *namespace_policies_for(view, server),
                )
                yield _CacheServer(server, where, policies)


def _validate_cache_server_unauthenticated(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    reported: set[tuple[str, str]] = set()
    for closed in _closed_cache_servers(view, settings):
        server, where = closed.server, closed.where
        found: list[tuple[PolicyResource, str]] = []  # (what opens it, subject + reason)
        for policy in closed.policies:
            reason = unauthenticated_reason(policy)
            if reason is not None:
                found.append(
                    (
                        policy,
                        f"AuthorizationPolicy {namespace_of(policy.props)}/{_name(policy)} "
                        f"applies to {where} through its targetRef {_target_text(policy)} and "
                        f"{reason}",
                    )
                )
        for legacy in server_authorizations_for(view, server):
            if mapping(_spec(legacy).get("client")).get("unauthenticated") is True:
                found.append(
                    (
                        legacy,
                        f"ServerAuthorization {namespace_of(legacy.props)}/{_name(legacy)} "
                        f"applies to {where} and says unauthenticated: true",
                    )
                )
        access = _spec(server).get("accessPolicy")
        if access in OPEN_ACCESS_POLICIES:
            found.append((server, f'{where} says spec.accessPolicy: "{access}" for the rest'))
        for resource, what in found:
            if (resource.urn, server.urn) in reported:
                continue
            reported.add((resource.urn, server.urn))
            report_violation(
                f"{what}: clients without a mesh identity, plaintext included, get in (Linkerd "
                "admits a client only when ALL required authentications are satisfied). Fix: "
                "require a MeshTLSAuthentication of the identities allowed in, or delete it (on "
                "a Server: spec.accessPolicy deny, or leave it out); the cache's probes need no "
                "network rule (they run over loopback).",
                resource.urn,
            )


cache_server_unauthenticated = StackValidationPolicy(
    name="cache-server-unauthenticated",
    description="No AuthorizationPolicy (on a cache Server, a route of it or its Namespace), "
    "ServerAuthorization or Server accessPolicy may admit clients without a mesh identity to a "
    "cache port of a strict/meshed cache workload.",
    validate=_validate_cache_server_unauthenticated,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_AUTHZ_SCHEMA,
    severity=Severity.CRITICAL,
    remediation_steps="Make the AuthorizationPolicy require a MeshTLSAuthentication (or "
    "a ServiceAccount reference) of the identities allowed in, beside or instead of its "
    "NetworkAuthentication, or delete it; remove client.unauthenticated: true from a "
    "ServerAuthorization; set a Server's spec.accessPolicy back to deny (its default). In "
    "cachemesh, admit clients through clientIdentities and adminIdentities.",
    tags=["linkerd", "authorization", "ignite", "gridgain"],
)

# --- cache-server-extra-authorization (advisory) ----------------------------------------------
# Linkerd admits a client that ANY authorization applying to the Server allows (what does not
# conform to any of "the authorization policies associated to the Server" meets its accessPolicy:
# linkerd/website linkerd.io/content/2.19/reference/authorization-policy.md, df68cad3), so a second
# policy on a cache Server widens who gets in even when it requires a mesh identity (a `*`
# MeshTLSAuthentication on a cluster port lets any meshed workload join as a node). Not
# necessarily a mistake (a team may add its own clients), hence advisory; the unauthenticated
# case is cache-server-unauthenticated's.


def _validate_cache_server_extra_authorization(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    reported: set[str] = set()
    for closed in _closed_cache_servers(view, settings):
        policies = [p for p in closed.policies if unauthenticated_reason(p) is None]
        if len(policies) < 2 or closed.server.urn in reported:
            continue
        reported.add(closed.server.urn)
        names = ", ".join(sorted(f"{_name(p)} ({_target_text(p)})" for p in policies))
        report_violation(
            f"{closed.where} in namespace {namespace_of(closed.server.props)} is authorized by "
            f"several AuthorizationPolicies: {names}. Linkerd admits a client that any one of "
            "them allows, so each widens who gets in. Fix: keep one policy per cache port and "
            "list every admitted identity in its MeshTLSAuthentication (in cachemesh: "
            "clientIdentities/adminIdentities), or delete the extra ones.",
            closed.server.urn,
        )


cache_server_extra_authorization = StackValidationPolicy(
    name="cache-server-extra-authorization",
    description="A cache port's Server should be authorized by one AuthorizationPolicy: Linkerd "
    "admits what any of them allows.",
    validate=_validate_cache_server_extra_authorization,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_AUTHZ_SCHEMA,
    severity=Severity.MEDIUM,
    remediation_steps="Keep one AuthorizationPolicy per cache port's Server, with every "
    "identity you admit in its MeshTLSAuthentication (in cachemesh: clientIdentities for "
    "the thin-client port, adminIdentities for REST), and delete the others.",
    tags=["linkerd", "authorization", "ignite", "gridgain"],
)


# --- cache-rest-probes-over-network ----------------------------------------------------------
# Linkerd authorizes the kubelet's HTTP probes by itself: for a port without a Server, or whose
# Server has no HTTPRoute, it adds a route matching GET on the probe's path — the path only, the
# query dropped (linkerd2 policy-controller/k8s/index/src/inbound/workload.rs) — authorized from
# the probe networks, 0.0.0.0/0 unless configured (linkerd.io/2-edge/features/server-policy,
# "Default authorizations"), with no identity. Ignite's REST API is one path, /ignite, with the
# command in the query, so an httpGet probe on it opens every REST command to anyone.

PROBE_KEYS = ("readinessProbe", "livenessProbe", "startupProbe")


def _validate_rest_probes_over_network(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    settings, view = _settings_and_view(args)
    for cache in _meshed_caches(view, settings):
        if cache.mode == "permissive":
            continue  # it admits anyone by its own choice
        w = cache.workload
        named = w.named_ports()
        for container in w.containers:
            for key in PROBE_KEYS:
                http = mapping(mapping(container.get(key)).get("httpGet"))
                port_value = http.get("port")
                number = as_port(port_value)
                if number is None and isinstance(port_value, str):
                    number = named.get(port_value)
                if not http or number not in settings.extra_authorized_ports:
                    continue
                if any(routes_on(view, s) for s in covering_servers(view, w, number)):
                    continue  # no default probe route; cache-server-unauthenticated judges routes
                path = str(http.get("path") or "/")
                report_violation(
                    f"{w.ref}: container {container.get('name')}'s {key} is httpGet {path} on "
                    f"port {_port_label(w, number)}. Linkerd authorizes it with a default probe "
                    f"route — GET {path.split('?', 1)[0]}, the query dropped — from its probe "
                    "networks (0.0.0.0/0 unless configured), without a mesh identity; on Ignite's "
                    "REST API, one path with the command in the query, that opens every command "
                    "(cmd=setstate, put, destroycache…) to anyone. Fix: probe with exec over "
                    f"loopback (e.g. bash's /dev/tcp to 127.0.0.1:{number}, as cachemesh does), "
                    "which the proxy does not intercept.",
                    cache.resource.urn,
                )


cache_rest_probes_over_network = StackValidationPolicy(
    name="cache-rest-probes-over-network",
    description="A strict/meshed cache workload must not probe its REST port with httpGet: "
    "Linkerd's default probe route opens the probe path, the whole Ignite REST API, to the "
    "probe networks without a mesh identity.",
    validate=_validate_rest_probes_over_network,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_AUTHZ_SCHEMA,
    severity=Severity.CRITICAL,
    remediation_steps="Replace the httpGet probe on the REST port with an exec probe "
    "that asks the REST API over loopback (bash's /dev/tcp to 127.0.0.1:8080, as cachemesh "
    "renders it: components/rest_probe.py), which never reaches the proxy and opens "
    "nothing.",
    tags=["linkerd", "authorization", "ignite", "gridgain", "probes"],
)

AUTHORIZATION_POLICIES: list[StackValidationPolicy] = [
    cache_ports_authorized,
    cache_server_unauthenticated,
    cache_server_extra_authorization,
    cache_rest_probes_over_network,
    cache_ports_authorized_permissive,
    cache_ports_legacy_authorization,
    server_opaque_protocol,
]
