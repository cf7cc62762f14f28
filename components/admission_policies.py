"""The policy pack's one-object mandatory rules as ValidatingAdmissionPolicies
(`cachemesh:admission`).

The pack judges this program's resources before deploy. These policies judge, in the API server,
every object that reaches the covered namespaces, whoever applies it: a cache workload applied
with kubectl, a Helm chart, an operator, a skip-ports annotation put on the Namespace. Each rule
is the pack rule of the same name, written in CEL (admissionregistration.k8s.io/v1, GA in
Kubernetes 1.30), with a message that names the field and the fix as the pack's does. The cache
ports and the cache images come from the product data (settings/products.py), which the pack's
defaults are held to (tests/policies/test_policy_defaults_match_products.py).

CEL beyond the standard library: `split` and `trim` (cel-go ext/strings.go) read a port list
as Linkerd does, `findAll` (Kubernetes' regex library, k8s.io/apiserver/pkg/cel/library/regex.go)
takes a range apart, and `join` (cel-go ext/strings.go) lists the missing ports in a message; all
are in Kubernetes' CEL environment. What the real API server accepts is tried in the e2e tier.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.cluster_read import KubectlReadFailed, kubectl_read
from components.kube import LINKERD_INJECT, LINKERD_OPAQUE_PORTS
from settings.admission import PROTECTED_NAMESPACES, AdmissionSettings
from settings.loader import SettingsError

API_VERSION = "admissionregistration.k8s.io/v1"
SKIP_PORT_ANNOTATIONS = (
    "config.linkerd.io/skip-inbound-ports",
    "config.linkerd.io/skip-outbound-ports",
)
# linkerd.io/inject values that add a proxy (`ingress` is a proxy in ingress mode).
MESHED_INJECT_VALUES = ("enabled", "ingress")
MESHED_INJECT = r"^\s*(" + "|".join(MESHED_INJECT_VALUES) + r")\s*$"
LABEL = {"app.kubernetes.io/part-of": "cachemesh", "app.kubernetes.io/managed-by": "pulumi"}

# Every kind with a pod template the pack judges (policies/cachemesh_policy/workloads.py
# WORKLOAD_KINDS), by API group: {group: {resource: kind}}.
WORKLOAD_RESOURCES: dict[str, dict[str, str]] = {
    "": {"pods": "Pod", "replicationcontrollers": "ReplicationController"},
    "apps": {
        "deployments": "Deployment",
        "statefulsets": "StatefulSet",
        "daemonsets": "DaemonSet",
        "replicasets": "ReplicaSet",
    },
    "batch": {"jobs": "Job", "cronjobs": "CronJob"},
}


def _cel_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _cel_list(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _cel_strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(_cel_string(v) for v in values) + "]"


def _glob_regex(glob: str) -> str:
    """A repository glob (`gridgain/*`) as RE2; `*` and `?` stay within one path component."""
    return "".join("[^/:@]*" if c == "*" else "[^/:@]" if c == "?" else re.escape(c) for c in glob)


def image_pattern(repositories: Sequence[str]) -> str:
    """An RE2 pattern matching an image of one of `repositories` (globs, as the pack takes them),
    with or without a registry host in front, with any tag or digest: the pack's
    `image_matches` (policies/cachemesh_policy/workloads.py) as one regular expression."""
    alternatives = "|".join(_glob_regex(r) for r in repositories)
    # A first path component with a dot or a colon, or `localhost`, is a registry host.
    return rf"^(([^/]*[.:][^/]*|localhost)/)?({alternatives})([:@].*)?$"


# --- CEL building blocks ------------------------------------------------------------------------

# The pod template of any matched kind, and the path to its annotations for messages.
TEMPLATE = (
    "object.kind == 'Pod' ? object : "
    "object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template"
)
ANNOTATIONS_FIELD = (
    "(object.kind == 'Pod' ? 'metadata' : object.kind == 'CronJob' ? "
    "'spec.jobTemplate.spec.template.metadata' : 'spec.template.metadata') + '.annotations'"
)
REF = (
    "(object.kind == 'Namespace' ? 'Namespace ' + object.metadata.name : object.kind + ' ' + "
    "request.namespace + '/' + (has(object.metadata.name) ? object.metadata.name : "
    "object.metadata.generateName))"
)


def _annotations(of: str) -> str:
    return (
        f"has({of}.metadata) && has({of}.metadata.annotations) ? {of}.metadata.annotations : {{}}"
    )


def _port_list_entries(value: str) -> str:
    # As Linkerd reads a port list (linkerd/linkerd2 pkg/util/parsing.go GetPortRanges): split
    # on commas, each entry trimmed; empty entries are nothing.
    return f"{value}.split(',').map(e, e.trim()).filter(e, e != '')"


# One entry of a port list: a port, a range, a port name (IANA_SVC_NAME, as Kubernetes checks a
# container port's name: 1-15 of [a-z0-9-], a letter, no leading, trailing or double hyphen).
PORT_ENTRY = "e.matches('^[0-9]{1,5}$') && int(e) >= 1 && int(e) <= 65535"
RANGE_ENTRY = (
    "e.matches('^[0-9]{1,5}-[0-9]{1,5}$') && int(e.findAll('[0-9]+')[0]) >= 1 && "
    "int(e.findAll('[0-9]+')[1]) <= 65535 && "
    "int(e.findAll('[0-9]+')[0]) <= int(e.findAll('[0-9]+')[1])"
)
NAME_ENTRY = "size(e) <= 15 && e.matches('^[a-z0-9]([a-z0-9]|-[a-z0-9])*$') && e.matches('[a-z]')"


def _covers(port: str, named: bool) -> str:
    """CEL: entry `e` covers `port` (a CEL int expression)."""
    cover = (
        f"({PORT_ENTRY} && int(e) == {port}) || ({RANGE_ENTRY} && "
        f"int(e.findAll('[0-9]+')[0]) <= {port} && {port} <= int(e.findAll('[0-9]+')[1]))"
    )
    if named:
        cover += (
            f" || variables.containers.exists(c, has(c.ports) && c.ports.exists(q, "
            f"has(q.name) && q.name == e && q.containerPort == {port}))"
        )
    return cover


# --- the rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdmissionRule:
    """One ValidatingAdmissionPolicy: the pack rule it carries, what it matches, its CEL."""

    name: str  # the pack rule's name
    resources: dict[str, dict[str, str]]
    variables: tuple[tuple[str, str], ...]
    validations: tuple[dict[str, str], ...]

    @property
    def policy_name(self) -> str:
        return f"cachemesh-{self.name}"

    def spec(self) -> dict[str, Any]:
        return {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [group],
                        # Every version: Linkerd's policy kinds are v1alpha1 (AuthorizationPolicy)
                        # to v1beta3 (Server), and a rule must not miss a version it was not
                        # written for (observed: ["v1"] let an AuthorizationPolicy through).
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": sorted(resources),
                    }
                    for group, resources in self.resources.items()
                ]
            },
            "variables": [{"name": n, "expression": e} for n, e in self.variables],
            "validations": [dict(v) for v in self.validations],
        }


def _template_variables() -> tuple[tuple[str, str], ...]:
    return (
        ("template", TEMPLATE),
        ("annotations", _annotations("variables.template")),
        (
            "containers",
            "variables.template.spec.containers + (has(variables.template.spec.initContainers) "
            "? variables.template.spec.initContainers : [])",
        ),
    )


def opaque_ports_rule(
    cache_ports: Sequence[int], image_repositories: Sequence[str]
) -> AdmissionRule:
    """opaque-ports: every cache port a meshed pod template serves is in its opaque-ports list
    (the template's, else its Namespace's, as the proxy injector reads it). A cache image serves
    every cache port; another image the cache ports its containers declare."""
    ports = _cel_list(sorted(cache_ports))
    return AdmissionRule(
        name="opaque-ports",
        resources=WORKLOAD_RESOURCES,
        variables=(
            *_template_variables(),
            (
                "cacheImage",
                "variables.template.spec.containers.exists(c, has(c.image) && "
                f"c.image.matches({_cel_string(image_pattern(image_repositories))}))",
            ),
            (
                "required",
                f"{ports}.filter(p, variables.cacheImage || variables.template.spec.containers"
                ".exists(c, has(c.ports) && c.ports.exists(q, q.containerPort == p)))",
            ),
            # An explicit opt-out of injection (any other inject value) leaves the pod unmeshed.
            (
                "optedOut",
                f"{_cel_string(LINKERD_INJECT)} in variables.annotations && "
                f"!variables.annotations[{_cel_string(LINKERD_INJECT)}].matches("
                f"{_cel_string(MESHED_INJECT)})",
            ),
            (
                "opaqueValue",
                f"{_cel_string(LINKERD_OPAQUE_PORTS)} in variables.annotations ? "
                f"variables.annotations[{_cel_string(LINKERD_OPAQUE_PORTS)}] : "
                # Every matched kind is namespaced: namespaceObject is never null here.
                "has(namespaceObject.metadata.annotations) && "
                f"{_cel_string(LINKERD_OPAQUE_PORTS)} in namespaceObject.metadata.annotations ? "
                f"namespaceObject.metadata.annotations[{_cel_string(LINKERD_OPAQUE_PORTS)}] : ''",
            ),
            ("entries", _port_list_entries("variables.opaqueValue")),
            (
                "missing",
                "variables.required.filter(p, !variables.entries.exists(e, "
                f"{_covers('p', named=True)}))",
            ),
            (
                "invalid",
                f"variables.entries.filter(e, !(({PORT_ENTRY}) || ({RANGE_ENTRY}) || "
                f"({NAME_ENTRY})))",
            ),
        ),
        validations=(
            {
                "expression": "variables.optedOut || size(variables.required) == 0 || "
                "(size(variables.missing) == 0 && size(variables.invalid) == 0)",
                "messageExpression": f"{REF} + ': serves cache ports ' + "
                "variables.required.map(p, string(p)).join(',') + ' but ' + "
                f'{ANNOTATIONS_FIELD} + \'["{LINKERD_OPAQUE_PORTS}"] = "\' + '
                "variables.opaqueValue + '\"' + (size(variables.missing) > 0 ? ' does not list "
                "cache ports ' + variables.missing.map(p, string(p)).join(',') : '') + "
                "(size(variables.invalid) > 0 ? ' has entries Linkerd cannot parse: ' + "
                "variables.invalid.join(',') : '') + ', so Linkerd runs protocol detection on "
                "them and the cluster never forms (handshake timeouts). Fix: list ' + "
                "variables.required.map(p, string(p)).join(',') + ' in ' + "
                f'{ANNOTATIONS_FIELD} + \'["{LINKERD_OPAQUE_PORTS}"] (cachemesh rule '
                "opaque-ports).'",
                "reason": "Forbidden",
            },
        ),
    )


def inject_on_pod_template_rule() -> AdmissionRule:
    """inject-on-pod-template: linkerd.io/inject on a controller's metadata but not on its pod
    template, where the proxy injector never looks."""
    inject = _cel_string(LINKERD_INJECT)
    controllers = {
        g: {r: k for r, k in rs.items() if k != "Pod"} for g, rs in WORKLOAD_RESOURCES.items()
    }
    return AdmissionRule(
        name="inject-on-pod-template",
        resources=controllers,
        variables=(
            *_template_variables(),
            ("own", _annotations("object")),
        ),
        validations=(
            {
                "expression": f"!({inject} in variables.own) || {inject} in variables.annotations",
                "messageExpression": f'{REF} + \': metadata.annotations["{LINKERD_INJECT}"] = "\' '
                f"+ variables.own[{inject}] + '\" is on the ' + object.kind + ' itself, where the "
                "proxy injector never looks, so pods start without a proxy (1/1 instead of 2/2). "
                f"Fix: set ' + {ANNOTATIONS_FIELD} + '[\"{LINKERD_INJECT}\"] = \"' + "
                f"variables.own[{inject}] + '\" (cachemesh rule inject-on-pod-template).'",
                "reason": "Forbidden",
            },
        ),
    )


def no_port_skipping_rule(cache_ports: Sequence[int]) -> AdmissionRule:
    """no-port-skipping (and its Namespace form): no skip-inbound/outbound-ports list on a pod
    template, a Pod or a Namespace covers a cache port, or cannot be parsed (so it may). Names
    are not allowed there: proxy-init programs iptables with numbers and ranges only."""
    ports = _cel_list(sorted(cache_ports))
    resources = {**WORKLOAD_RESOURCES, "": {**WORKLOAD_RESOURCES[""], "namespaces": "Namespace"}}
    validations = []
    for key in SKIP_PORT_ANNOTATIONS:
        k = _cel_string(key)
        entries = _port_list_entries(f"variables.annotations[{k}]")
        skipped = f"{ports}.filter(p, {entries}.exists(e, {_covers('p', named=False)}))"
        invalid = f"{entries}.filter(e, !(({PORT_ENTRY}) || ({RANGE_ENTRY})))"
        validations.append(
            {
                # A conditional, not `||`: the lookup is not even tried without the key.
                "expression": f"{k} in variables.annotations ? "
                f"(size({skipped}) == 0 && size({invalid}) == 0) : true",
                "messageExpression": f"{REF} + ': ' + "
                f"variables.field + '[\"{key}\"] = \"' + variables.annotations[{k}] + '\"' + "
                f"(size({skipped}) > 0 ? ' skips cache ports ' + {skipped}.map(p, string(p))"
                ".join(',') + ', so their traffic bypasses the proxy: plaintext, no identity' : "
                f"' has entries proxy-init cannot parse: ' + {invalid}.join(',')) + '. Fix: "
                "remove the cache ports from it, or the annotation (cachemesh rule "
                "no-port-skipping).'",
                "reason": "Forbidden",
            }
        )
    return AdmissionRule(
        name="no-port-skipping",
        resources=resources,
        variables=(
            (
                "annotations",
                "object.kind == 'Namespace' ? ("
                + _annotations("object")
                + ") : ("
                + _annotations(f"({TEMPLATE})")
                + ")",
            ),
            (
                "field",
                f"object.kind == 'Namespace' ? 'metadata.annotations' : {ANNOTATIONS_FIELD}",
            ),
        ),
        validations=tuple(validations),
    )


MESH_AUTHENTICATION_KINDS = ("MeshTLSAuthentication", "ServiceAccount")
OPEN_ACCESS_POLICIES = ("all-unauthenticated", "cluster-unauthenticated", "audit")


def cache_server_unauthenticated_rule() -> AdmissionRule:
    """cache-server-unauthenticated, for one object: in the covered namespaces no
    AuthorizationPolicy admits clients without a mesh identity (it must require a
    MeshTLSAuthentication or a ServiceAccount), and no Server opens its port to them through
    spec.accessPolicy. Admission sees one object, never the Server a policy targets, so every
    Server of a covered namespace counts as a cache Server: cover only namespaces cachemesh owns."""
    refs = (
        "(has(object.spec.requiredAuthenticationRefs) ? "
        "object.spec.requiredAuthenticationRefs : [])"
    )
    return AdmissionRule(
        name="cache-server-unauthenticated",
        resources={
            "policy.linkerd.io": {
                "authorizationpolicies": "AuthorizationPolicy",
                "servers": "Server",
            }
        },
        variables=(),
        validations=(
            {
                "expression": f"object.kind != 'AuthorizationPolicy' || {refs}.exists(r, "
                f"r.kind in {_cel_strings(MESH_AUTHENTICATION_KINDS)})",
                "messageExpression": f"{REF} + ' requires ' + ({refs}.exists(r, r.kind == "
                "'NetworkAuthentication') ? 'only a NetworkAuthentication' : 'no authentication "
                "at all') + ', no mesh identity: clients without one, plaintext included, get in. "
                "Fix: require a MeshTLSAuthentication of the identities allowed in (spec."
                "requiredAuthenticationRefs), or delete it; the cache\\'s probes need no network "
                "rule (cachemesh rule cache-server-unauthenticated).'",
                "reason": "Forbidden",
            },
            {
                "expression": "object.kind != 'Server' || !has(object.spec.accessPolicy) || "
                f"!(object.spec.accessPolicy in {_cel_strings(OPEN_ACCESS_POLICIES)})",
                "messageExpression": f"{REF} + ' says spec.accessPolicy: \"' + "
                "object.spec.accessPolicy + '\", which lets clients without a mesh identity in. "
                "Fix: set spec.accessPolicy to deny (its default), or leave it out (cachemesh "
                "rule cache-server-unauthenticated).'",
                "reason": "Forbidden",
            },
        ),
    )


def admission_rules(
    cache_ports: Sequence[int], image_repositories: Sequence[str]
) -> tuple[AdmissionRule, ...]:
    return (
        opaque_ports_rule(cache_ports, image_repositories),
        inject_on_pod_template_rule(),
        no_port_skipping_rule(cache_ports),
        cache_server_unauthenticated_rule(),
    )


def binding_spec(
    policy_name: str, settings: AdmissionSettings, namespaces: Sequence[str]
) -> dict[str, Any]:
    return {
        "policyName": policy_name,
        "validationActions": [a.value for a in settings.validation_actions],
        "matchResources": {
            "namespaceSelector": {
                "matchExpressions": [
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "In",
                        "values": sorted(namespaces),
                    },
                    # No lock-out, whatever the list says: never the control plane's namespaces
                    # nor Kubernetes' own (settings refuse them too).
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "NotIn",
                        "values": sorted(PROTECTED_NAMESPACES),
                    },
                ]
            }
        },
    }


# --- the cluster serves the v1 API -------------------------------------------------------------

ENABLED_KEY = "cachemesh:admission.enabled"
TURN_OFF = "pulumi config set --path admission.enabled false"


def api_read_command(kube_context: str | None) -> str:
    """The API server's own list of the v1 admissionregistration resources (discovery); the
    kubeconfig is never on the command line (it is quoted in pulumi-command's errors)."""
    argv = ["kubectl", "get", "--raw", f"/apis/{API_VERSION}"]
    if kube_context:
        argv += ["--context", kube_context]
    return shlex.join(argv)


def serves_admission_policies(discovery: str) -> bool:
    """Whether an APIResourceList of admissionregistration.k8s.io/v1 has
    validatingadmissionpolicies (Kubernetes 1.30+; 1.26-1.29 serve it in v1alpha1/v1beta1 only,
    behind a feature gate)."""
    resources = json.loads(discovery).get("resources") or []
    names = {r.get("name") for r in resources if isinstance(r, dict)}
    return {"validatingadmissionpolicies", "validatingadmissionpolicybindings"} <= names


def require_admission_api(kube_context: str | None, kubeconfig: str | None) -> None:
    """Refuse, before anything is registered, a cluster whose API server does not serve
    ValidatingAdmissionPolicy in admissionregistration.k8s.io/v1."""
    try:
        discovery = kubectl_read(api_read_command(kube_context), kubeconfig)
    except KubectlReadFailed as failed:
        raise SettingsError(
            [
                f"{ENABLED_KEY}: could not ask the cluster whether it serves "
                f"ValidatingAdmissionPolicy ({API_VERSION}) with kubectl: {failed.output}. Check "
                "that kubectl reaches the cluster the stack deploys to (kubernetes:context), or "
                f"turn the policies off: {TURN_OFF}"
            ]
        ) from None
    try:
        served = serves_admission_policies(discovery)
    except (ValueError, AttributeError) as error:
        raise SettingsError(
            [
                f"{ENABLED_KEY}: kubectl printed no API resource list for {API_VERSION} "
                f"({error}). Check that kubernetes:context names the cluster, or turn the "
                f"policies off: {TURN_OFF}"
            ]
        ) from None
    if not served:
        raise SettingsError(
            [
                f"{ENABLED_KEY}: the cluster's API server does not serve ValidatingAdmissionPolicy "
                f"in {API_VERSION} (Kubernetes 1.30 and later do). Upgrade the cluster, or turn "
                f"the policies off: {TURN_OFF}"
            ]
        )


@dataclass(frozen=True)
class AdmissionPoliciesArgs:
    settings: AdmissionSettings
    namespaces: tuple[str, ...]
    cache_ports: tuple[int, ...]
    image_repositories: tuple[str, ...]


class AdmissionPolicies(pulumi.ComponentResource):
    """A ValidatingAdmissionPolicy and its binding per rule."""

    policy_names: list[str]

    def __init__(
        self, name: str, args: AdmissionPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:AdmissionPolicies", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.policy_names = []
        for rule in admission_rules(args.cache_ports, args.image_repositories):
            policy = k8s.apiextensions.CustomResource(
                rule.policy_name,
                api_version=API_VERSION,
                kind="ValidatingAdmissionPolicy",
                metadata={"name": rule.policy_name, "labels": LABEL},
                spec=rule.spec(),
                opts=child,
            )
            k8s.apiextensions.CustomResource(
                f"{rule.policy_name}-binding",
                api_version=API_VERSION,
                kind="ValidatingAdmissionPolicyBinding",
                metadata={"name": rule.policy_name, "labels": LABEL},
                spec=binding_spec(rule.policy_name, args.settings, args.namespaces),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
            self.policy_names.append(rule.policy_name)
        self.register_outputs({"policies": self.policy_names})
