"""Stack rules: namespace-aware meshing, overrides, Servers, AuthorizationPolicies, ordering."""

from typing import Any

import pytest
from cachemesh_policy.stack_rules import (
    cache_workloads_meshed,
    check_linkerd_authorizationpolicy,
    dependency_closure,
    linkerd_control_plane_first,
    no_injection_override,
    no_injection_override_elsewhere,
    require_linkerd_mesh_injection,
    require_linkerd_server,
)
from policy_helpers import KINDS, MESHED, OPAQUE, namespace, res, stack_violations, workload
from pulumi_policy import PolicyResource

kinds = pytest.mark.parametrize("kind", KINDS)
DISABLED = {"linkerd.io/inject": "disabled"}
OPAQUE_ONLY = {OPAQUE: "10800,47100,47500"}


def cache(kind: str, annotations: dict[str, str] | None, **kw: Any) -> PolicyResource:
    return res(*workload(kind, annotations, **kw))


# --- cache-workloads-meshed -------------------------------------------------------------------


@kinds
def test_cache_workload_meshed_on_its_pod_template_passes(kind: str) -> None:
    assert stack_violations(cache_workloads_meshed, [cache(kind, MESHED)]) == []


@kinds
def test_cache_workload_meshed_by_its_namespace_passes(kind: str) -> None:
    resources = [namespace("ignite", MESHED), cache(kind, OPAQUE_ONLY)]
    assert stack_violations(cache_workloads_meshed, resources) == []


@kinds
def test_cache_workload_meshed_nowhere_fails(kind: str) -> None:
    [(message, urn)] = stack_violations(cache_workloads_meshed, [cache(kind, OPAQUE_ONLY)])
    assert f"{kind} ignite/ignite" in message and '"linkerd.io/inject"] = "enabled"' in message
    assert urn is not None


@kinds
def test_cache_workload_opting_out_in_an_unmeshed_namespace_fails(kind: str) -> None:
    [(message, _)] = stack_violations(cache_workloads_meshed, [cache(kind, DISABLED)])
    assert "keeps it out of the mesh" in message


@kinds
def test_workload_exposing_a_cache_port_with_another_image_must_be_meshed(kind: str) -> None:
    resources = [cache(kind, {}, image="example/app:1", ports=(10800,))]
    assert len(stack_violations(cache_workloads_meshed, resources)) == 1


@kinds
def test_non_cache_workload_need_not_be_meshed(kind: str) -> None:
    resources = [cache(kind, {}, image="nginx:1", ports=(80,))]
    assert stack_violations(cache_workloads_meshed, resources) == []


def test_namespace_meshed_in_config_counts_as_meshed() -> None:
    resources = [cache("StatefulSet", OPAQUE_ONLY)]
    config = {"meshedNamespaces": ["ignite"]}
    assert stack_violations(cache_workloads_meshed, resources, config) == []


# --- no-injection-override / no-injection-override-elsewhere ---------------------------------


@kinds
def test_injection_disabled_in_a_meshed_namespace_is_mandatory(kind: str) -> None:
    resources = [namespace("ignite", MESHED), cache(kind, DISABLED, image="x/y", ports=(80,))]
    [(message, _)] = stack_violations(no_injection_override, resources)
    assert "which is meshed" in message
    assert stack_violations(no_injection_override_elsewhere, resources) == []
    assert stack_violations(cache_workloads_meshed, resources) == []


@kinds
def test_injection_disabled_elsewhere_is_advisory(kind: str) -> None:
    resources = [cache(kind, DISABLED, image="x/y", ports=(80,))]
    assert stack_violations(no_injection_override, resources) == []
    assert len(stack_violations(no_injection_override_elsewhere, resources)) == 1


@kinds
def test_cache_workload_opting_out_is_reported_once(kind: str) -> None:
    resources = [cache(kind, DISABLED)]
    assert stack_violations(no_injection_override, resources) == []
    assert stack_violations(no_injection_override_elsewhere, resources) == []
    assert len(stack_violations(cache_workloads_meshed, resources)) == 1


@kinds
def test_injection_ingress_mode_is_not_an_override(kind: str) -> None:
    resources = [namespace("ignite", MESHED), cache(kind, {"linkerd.io/inject": "ingress"})]
    assert stack_violations(no_injection_override, resources) == []


# --- require-linkerd-mesh-injection -----------------------------------------------------------


def test_namespace_holding_a_cache_workload_must_be_meshed() -> None:
    resources = [namespace("ignite"), cache("StatefulSet", MESHED)]
    [(message, _)] = stack_violations(require_linkerd_mesh_injection, resources)
    assert 'Namespace ignite: metadata.annotations["linkerd.io/inject"] is not set' in message
    assert '= "enabled"' in message


def test_every_namespace_is_in_scope_by_default_as_in_kyverno() -> None:
    [(message, _)] = stack_violations(require_linkerd_mesh_injection, [namespace("apps")])
    assert message.startswith('Namespace apps: metadata.annotations["linkerd.io/inject"] is not')


def test_narrowed_scope_covers_only_namespaces_holding_a_cache_workload() -> None:
    resources = [namespace("apps"), namespace("ignite"), cache("StatefulSet", MESHED)]
    found = stack_violations(require_linkerd_mesh_injection, resources, {"namespaces": []})
    assert [m.split(":")[0] for m, _ in found] == ["Namespace ignite"]


def test_namespaces_listed_in_config_are_the_scope() -> None:
    resources = [namespace("apps"), namespace("web")]
    found = stack_violations(require_linkerd_mesh_injection, resources, {"namespaces": ["app*"]})
    assert [m.split(":")[0] for m, _ in found] == ["Namespace apps"]


def test_linkerd_and_kube_namespaces_are_exempt_by_default() -> None:
    resources = [namespace("linkerd"), namespace("linkerd-viz"), namespace("kube-system")]
    assert stack_violations(require_linkerd_mesh_injection, resources) == []


def test_without_exemptions_linkerds_own_namespace_fails_as_in_kyverno() -> None:
    resources = [namespace("linkerd", {"linkerd.io/inject": "disabled"})]
    config = {"exemptNamespaces": []}
    assert len(stack_violations(require_linkerd_mesh_injection, resources, config)) == 1


# --- require-linkerd-server -------------------------------------------------------------------


def server(name: str, labels: dict[str, str], ns: str = "ignite") -> PolicyResource:
    props = {
        "apiVersion": "policy.linkerd.io/v1beta3",
        "kind": "Server",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"podSelector": {"matchLabels": labels}, "port": 47100},
    }
    return res("kubernetes:policy.linkerd.io/v1beta3:Server", props)


EVERY_KIND = {"workloadKinds": ["*"]}


@kinds
def test_workload_selected_by_a_server_passes(kind: str) -> None:
    resources = [server("s", {"app": "ignite"}), cache(kind, MESHED)]
    assert stack_violations(require_linkerd_server, resources, EVERY_KIND) == []


@kinds
def test_workload_of_a_checked_kind_not_selected_by_any_server_fails(kind: str) -> None:
    resources = [server("s", {"app": "other"}), cache(kind, MESHED)]
    [(message, _)] = stack_violations(require_linkerd_server, resources, EVERY_KIND)
    assert "no Server in namespace ignite" in message


def test_only_deployments_need_a_server_by_default_as_in_kyverno() -> None:
    resources = [cache(kind, MESHED, name=kind.lower()) for kind in KINDS]
    found = stack_violations(require_linkerd_server, resources)
    assert [m.split(":")[0] for m, _ in found] == ["Deployment ignite/deployment"]


def test_require_server_reports_a_stack_without_servers_unless_narrowed() -> None:
    resources = [cache("Deployment", MESHED)]
    assert len(stack_violations(require_linkerd_server, resources)) == 1
    narrowed = {"mode": "when-stack-has-servers"}
    assert stack_violations(require_linkerd_server, resources, narrowed) == []


def test_server_match_expressions_are_honoured() -> None:
    props = {
        "metadata": {"name": "s", "namespace": "ignite"},
        "spec": {
            "podSelector": {
                "matchExpressions": [{"key": "app", "operator": "In", "values": ["ignite"]}]
            }
        },
    }
    resources = [
        res("kubernetes:policy.linkerd.io/v1beta3:Server", props),
        cache("Deployment", MESHED),
    ]
    assert stack_violations(require_linkerd_server, resources) == []


# --- check-linkerd-authorizationpolicy --------------------------------------------------------


MATCH_KIND = {"matchTargetKind": True}


def route(name: str, group: str = "policy.linkerd.io", version: str = "v1beta3") -> PolicyResource:
    props = {
        "apiVersion": f"{group}/{version}",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "ignite"},
        "spec": {"parentRefs": [{"group": group, "kind": "Server", "name": "ignite-rest"}]},
    }
    return res(f"kubernetes:{group}/{version}:HTTPRoute", props)


def authz(target_kind: str, target: str) -> PolicyResource:
    props = {
        "metadata": {"name": "ap", "namespace": "ignite"},
        "spec": {"targetRef": {"group": "policy.linkerd.io", "kind": target_kind, "name": target}},
    }
    return res("kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy", props)


def test_authorization_policy_targeting_an_existing_server_passes() -> None:
    resources = [server("ignite-comm", {"app": "ignite"}), authz("Server", "ignite-comm")]
    assert stack_violations(check_linkerd_authorizationpolicy, resources) == []


def test_authorization_policy_targeting_a_missing_server_fails() -> None:
    resources = [server("ignite-comm", {"app": "ignite"}), authz("Server", "ignite-disco")]
    [(message, _)] = stack_violations(check_linkerd_authorizationpolicy, resources)
    assert 'names Server or HTTPRoute "ignite-disco"' in message
    assert "known: ignite-comm" in message


def test_authorization_policy_targeting_a_missing_server_of_that_kind_fails() -> None:
    resources = [route("ignite-disco"), authz("Server", "ignite-disco")]
    found = stack_violations(check_linkerd_authorizationpolicy, resources, MATCH_KIND)
    [(message, _)] = found
    assert 'names Server "ignite-disco"' in message


def test_target_name_counts_whatever_its_kind_as_in_kyverno() -> None:
    resources = [route("ignite-disco"), authz("Server", "ignite-disco")]
    assert stack_violations(check_linkerd_authorizationpolicy, resources) == []


def test_only_linkerds_http_routes_count_by_default_as_in_kyverno() -> None:
    gateway_route = route("ignite-rest", group="gateway.networking.k8s.io", version="v1")
    resources = [gateway_route, authz("HTTPRoute", "ignite-rest")]
    assert len(stack_violations(check_linkerd_authorizationpolicy, resources)) == 1
    assert stack_violations(check_linkerd_authorizationpolicy, resources, MATCH_KIND) == []


def test_authorization_policy_targeting_a_server_in_another_namespace_fails() -> None:
    resources = [
        server("ignite-comm", {"app": "ignite"}, ns="other"),
        authz("Server", "ignite-comm"),
    ]
    assert len(stack_violations(check_linkerd_authorizationpolicy, resources)) == 1


def test_authorization_policy_targeting_its_namespace_fails_as_in_kyverno() -> None:
    resources = [authz("Namespace", "ignite")]
    assert len(stack_violations(check_linkerd_authorizationpolicy, resources)) == 1


def test_authorization_policy_targeting_its_namespace_passes_when_kinds_are_matched() -> None:
    resources = [authz("Namespace", "ignite")]
    assert stack_violations(check_linkerd_authorizationpolicy, resources, MATCH_KIND) == []


# --- linkerd-control-plane-first --------------------------------------------------------------


def control_plane_release(parent: PolicyResource | None = None) -> PolicyResource:
    props = {"chart": "linkerd-control-plane", "namespace": "linkerd"}
    return res("kubernetes:helm.sh/v3:Release", props, "linkerd-control-plane", parent=parent)


def test_cache_depending_on_the_control_plane_passes() -> None:
    cp = control_plane_release()
    sts = res(*workload("StatefulSet", MESHED), dependencies=[cp])
    assert stack_violations(linkerd_control_plane_first, [cp, sts]) == []


def test_stack_without_a_control_plane_fails() -> None:
    [(message, _)] = stack_violations(linkerd_control_plane_first, [cache("StatefulSet", MESHED)])
    assert "installs no Linkerd control plane" in message


def test_cache_not_ordered_after_the_control_plane_fails() -> None:
    cp = control_plane_release()
    [(message, _)] = stack_violations(
        linkerd_control_plane_first, [cp, cache("StatefulSet", MESHED)]
    )
    assert "does not depend on the Linkerd control plane" in message and "depends_on" in message


def test_dependency_of_a_parent_component_counts() -> None:
    linkerd = res("cachemesh:index:LinkerdControlPlane", {}, "linkerd")
    cp = control_plane_release(parent=linkerd)
    component = res("cachemesh:index:MeshedCache", {}, "ignite", dependencies=[linkerd])
    sts = res(*workload("StatefulSet", MESHED), parent=component)
    assert stack_violations(linkerd_control_plane_first, [linkerd, cp, component, sts]) == []


def test_transitive_dependency_counts() -> None:
    cp = control_plane_release()
    gate = res("command:local:Command", {}, "wait-for-linkerd", dependencies=[cp])
    sts = res(*workload("StatefulSet", MESHED), dependencies=[gate])
    assert cp.urn in dependency_closure(sts)
    assert stack_violations(linkerd_control_plane_first, [cp, gate, sts]) == []


def test_proxy_injector_webhook_is_recognised_as_the_control_plane() -> None:
    props = {"metadata": {"name": "linkerd-proxy-injector-webhook-config"}}
    hook = res("kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration", props)
    sts = res(*workload("StatefulSet", MESHED), dependencies=[hook])
    assert stack_violations(linkerd_control_plane_first, [hook, sts]) == []


def test_the_read_of_the_clusters_existing_linkerd_counts_as_the_control_plane() -> None:
    existing = res("cachemesh:index:ExistingLinkerd", {}, "linkerd")
    sts = res(*workload("StatefulSet", MESHED), dependencies=[existing])
    assert stack_violations(linkerd_control_plane_first, [existing, sts]) == []


def test_a_cache_not_waiting_for_the_existing_linkerd_read_fails() -> None:
    existing = res("cachemesh:index:ExistingLinkerd", {}, "linkerd")
    [(message, _)] = stack_violations(
        linkerd_control_plane_first, [existing, cache("StatefulSet", MESHED)]
    )
    assert "ExistingLinkerd linkerd" in message


def test_unmeshed_cache_is_not_checked_for_ordering() -> None:
    assert stack_violations(linkerd_control_plane_first, [cache("StatefulSet", DISABLED)]) == []
