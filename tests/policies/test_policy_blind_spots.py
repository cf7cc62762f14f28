"""Blind spots found in review (issue 19 §0d), each with a failing case and its fixed twin:

- workload patches (`StatefulSetPatch`, `DeploymentPatch`, …) that skip cache ports, turn a cache
  workload's injection off, or drop cache ports from its opaque-ports;
- skip-ports annotations on a Namespace (Linkerd reads proxy-init's port lists from the
  namespace when the pod does not set them);
- an extra authorization that admits clients without a mesh identity (a NetworkAuthentication,
  no authentication at all, a legacy unauthenticated ServerAuthorization) on a cache Server;
- and, from §0, an httpGet probe on the REST port, which Linkerd authorizes by itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from cachemesh_policy.authorization_rules import (
    cache_rest_probes_over_network,
    cache_server_extra_authorization,
    cache_server_unauthenticated,
)
from cachemesh_policy.rules import no_port_skipping, no_port_skipping_other_ports
from cachemesh_policy.stack_rules import cache_workload_patches
from policy_helpers import MESHED, OPAQUE, res, stack_violations, violations, workload
from pulumi_policy import PolicyResource
from test_policy_authorization_rules import LABELS, cache, program_like, route, server

SKIP_IN = "config.linkerd.io/skip-inbound-ports"
PATCH_TYPES = {
    "StatefulSet": "kubernetes:apps/v1:StatefulSetPatch",
    "Deployment": "kubernetes:apps/v1:DeploymentPatch",
}
POLICY_GROUP = "policy.linkerd.io"


def patch(
    kind: str, annotations: dict[str, str] | None = None, **spec: Any
) -> tuple[str, dict[str, Any]]:
    """A pulumi-kubernetes <Kind>Patch of workload ignite/ignite: only what it sets."""
    template: dict[str, Any] = {"metadata": {"annotations": dict(annotations or {})}}
    if spec:
        template["spec"] = spec
    props = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "ignite", "namespace": "ignite"},
        "spec": {"template": template},
    }
    return PATCH_TYPES[kind], props


def namespace_resource(kind: str, annotations: dict[str, str]) -> tuple[str, dict[str, Any]]:
    props = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ignite", "annotations": annotations},
    }
    return f"kubernetes:core/v1:{kind}", props


# --- workload patches -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(PATCH_TYPES))
def test_a_patch_that_skips_a_cache_port_fails(kind: str) -> None:
    [message] = violations(no_port_skipping, *patch(kind, {SKIP_IN: "47100"}))
    assert f"{kind}Patch ignite/ignite" in message
    assert "skips cache ports 47100" in message


@pytest.mark.parametrize("kind", sorted(PATCH_TYPES))
def test_a_patch_that_skips_no_port_passes(kind: str) -> None:
    assert violations(no_port_skipping, *patch(kind, {"example.com/note": "x"})) == []


def _stack_with_patch(kind: str, annotations: dict[str, str]) -> list[PolicyResource]:
    base = workload(kind, {**MESHED, OPAQUE: "10800,47100,47500"})
    return [res(*base), res(*patch(kind, annotations), name="ignite/ignite-patch")]


@pytest.mark.parametrize("kind", sorted(PATCH_TYPES))
def test_a_patch_that_turns_off_injection_on_a_cache_workload_fails(kind: str) -> None:
    [(message, _)] = stack_violations(
        cache_workload_patches, _stack_with_patch(kind, {"linkerd.io/inject": "disabled"})
    )
    assert f"{kind}Patch ignite/ignite" in message
    assert "plaintext" in message


@pytest.mark.parametrize("kind", sorted(PATCH_TYPES))
def test_a_patch_that_keeps_injection_on_passes(kind: str) -> None:
    stack = _stack_with_patch(kind, {"linkerd.io/inject": "enabled"})
    assert stack_violations(cache_workload_patches, stack) == []


def test_a_patch_that_drops_cache_ports_from_opaque_ports_fails() -> None:
    [(message, _)] = stack_violations(
        cache_workload_patches, _stack_with_patch("StatefulSet", {OPAQUE: "10800"})
    )
    assert "does not list cache ports 47100,47500" in message


def test_a_patch_that_keeps_every_cache_port_opaque_passes() -> None:
    stack = _stack_with_patch("StatefulSet", {OPAQUE: "10800,47100,47500"})
    assert stack_violations(cache_workload_patches, stack) == []


def test_a_patch_that_sets_nothing_linkerd_reads_passes() -> None:
    # A patch is partial: what it does not set, the patched object keeps.
    stack = [
        *_stack_with_patch("StatefulSet", {}),
        res(*patch("StatefulSet", None, containers=[{"name": "node", "image": "x:1"}]), "p2"),
    ]
    assert stack_violations(cache_workload_patches, stack) == []


def test_a_patch_of_a_workload_that_is_no_cache_is_not_judged() -> None:
    base = workload("Deployment", MESHED, ports=(9000,), image="nginx:1.27")
    stack = [res(*base), res(*patch("Deployment", {"linkerd.io/inject": "disabled"}), "p")]
    assert stack_violations(cache_workload_patches, stack) == []


# --- skip-ports on the Namespace ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Namespace", "NamespacePatch"])
def test_a_namespace_that_skips_cache_ports_fails(kind: str) -> None:
    [message] = violations(no_port_skipping, *namespace_resource(kind, {SKIP_IN: "47100,47500"}))
    assert "Namespace ignite" in message
    assert "skips cache ports 47100,47500" in message


@pytest.mark.parametrize("kind", ["Namespace", "NamespacePatch"])
def test_a_namespace_without_skip_ports_passes(kind: str) -> None:
    resource = namespace_resource(kind, {"linkerd.io/inject": "enabled"})
    assert violations(no_port_skipping, *resource) == []
    assert violations(no_port_skipping_other_ports, *resource) == []


def test_a_namespace_that_skips_other_ports_is_advisory_only() -> None:
    resource = namespace_resource("Namespace", {SKIP_IN: "9999"})
    assert violations(no_port_skipping, *resource) == []
    [message] = violations(no_port_skipping_other_ports, *resource)
    assert 'metadata.annotations["config.linkerd.io/skip-inbound-ports"]' in message


# --- unauthenticated authorization on a cache Server -------------------------------------------


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"group": POLICY_GROUP, "kind": kind, "name": name}


def _policy(name: str, target: dict[str, str], *authns: dict[str, str]) -> PolicyResource:
    return res(
        "kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy",
        {
            "apiVersion": "policy.linkerd.io/v1alpha1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": name, "namespace": "ignite"},
            "spec": {"targetRef": target, "requiredAuthenticationRefs": list(authns)},
        },
    )


NETWORKS = _ref("NetworkAuthentication", "anywhere")
MESH = _ref("MeshTLSAuthentication", "ops")


def test_the_program_shaped_authorization_admits_no_unauthenticated_client() -> None:
    assert stack_violations(cache_server_unauthenticated, [cache(), *program_like()]) == []


def test_a_network_authentication_on_a_cache_server_fails() -> None:
    extra = _policy("open-rest", _ref("Server", "ignite-rest"), NETWORKS)
    [(message, urn)] = stack_violations(
        cache_server_unauthenticated, [cache(), *program_like(), extra]
    )
    assert "AuthorizationPolicy ignite/open-rest" in message
    assert "NetworkAuthentication anywhere" in message
    assert "cache port 8080" in message
    assert urn == extra.urn


def test_a_network_authentication_next_to_a_mesh_identity_passes() -> None:
    # ALL required authentications must be satisfied (the CRD's own description).
    extra = _policy("ops-from-office", _ref("Server", "ignite-rest"), NETWORKS, MESH)
    assert stack_violations(cache_server_unauthenticated, [cache(), *program_like(), extra]) == []


def test_a_policy_requiring_no_authentication_fails() -> None:
    extra = _policy("anyone", _ref("Server", "ignite-thinclient"))
    [(message, _)] = stack_violations(
        cache_server_unauthenticated, [cache(), *program_like(), extra]
    )
    assert "requires no authentication" in message


def test_a_namespace_wide_network_authentication_fails() -> None:
    extra = _policy("ns-open", {"kind": "Namespace", "name": "ignite"}, NETWORKS)
    found = stack_violations(cache_server_unauthenticated, [cache(), *program_like(), extra])
    assert found and all("AuthorizationPolicy ignite/ns-open" in m for m, _ in found)


def test_a_probe_route_opened_to_the_network_fails() -> None:
    # The shape the program itself had before issue 19: an HTTPRoute on the REST Server,
    # authorized by a NetworkAuthentication.
    extra = [
        route("ignite-rest-probes", "ignite-rest"),
        _policy("ignite-rest-probes", _ref("HTTPRoute", "ignite-rest-probes"), NETWORKS),
    ]
    [(message, _)] = stack_violations(
        cache_server_unauthenticated, [cache(), *program_like(), *extra]
    )
    assert "HTTPRoute ignite-rest-probes" in message


def test_a_legacy_unauthenticated_server_authorization_fails() -> None:
    legacy = res(
        "kubernetes:policy.linkerd.io/v1beta1:ServerAuthorization",
        {
            "apiVersion": "policy.linkerd.io/v1beta1",
            "kind": "ServerAuthorization",
            "metadata": {"name": "legacy-open", "namespace": "ignite"},
            "spec": {"server": {"name": "ignite-discovery"}, "client": {"unauthenticated": True}},
        },
    )
    [(message, _)] = stack_violations(
        cache_server_unauthenticated, [cache(), *program_like(), legacy]
    )
    assert "ServerAuthorization ignite/legacy-open" in message


@pytest.mark.parametrize("access", ["all-unauthenticated", "cluster-unauthenticated", "audit"])
def test_a_cache_server_open_by_its_access_policy_fails(access: str) -> None:
    stack = [cache(), *program_like()]
    rest = next(
        r for r in stack if r.props.get("kind") == "Server" and r.props["spec"]["port"] == 8080
    )
    rest.props["spec"]["accessPolicy"] = access
    [(message, urn)] = stack_violations(cache_server_unauthenticated, stack)
    assert message.startswith("Server ignite-rest (cache port 8080 of StatefulSet ignite/ignite)")
    assert f'says spec.accessPolicy: "{access}"' in message
    assert urn == rest.urn


def test_a_cache_server_whose_access_policy_denies_passes() -> None:
    stack = [cache(), *program_like()]
    for resource in stack:
        if resource.props.get("kind") == "Server":
            resource.props["spec"]["accessPolicy"] = "deny"
    assert stack_violations(cache_server_unauthenticated, stack) == []


def test_a_server_that_selects_no_cache_pod_is_not_judged() -> None:
    other = server(9000, name="web", selector={"matchLabels": {"app": "web"}}, protocol=None)
    extra = _policy("web-open", _ref("Server", "web"), NETWORKS)
    assert (
        stack_violations(cache_server_unauthenticated, [cache(), *program_like(), other, extra])
        == []
    )


def test_a_second_mesh_authorization_on_a_cache_server_is_advisory() -> None:
    extra = _policy("ops-on-rest", _ref("Server", "ignite-rest"), MESH)
    stack = [cache(), *program_like(), extra]
    assert stack_violations(cache_server_unauthenticated, stack) == []
    [(message, _)] = stack_violations(cache_server_extra_authorization, stack)
    assert (
        "Server ignite-rest (cache port 8080 of StatefulSet ignite/ignite) in namespace ignite"
        in message
    )
    assert "ignite-rest (Server ignite-rest), ops-on-rest (Server ignite-rest)" in message


def test_one_authorization_per_cache_server_passes_the_advisory() -> None:
    stack = [cache(), *program_like()]
    assert stack_violations(cache_server_extra_authorization, stack) == []


# --- httpGet probes on the REST port (issue 19 §0) --------------------------------------------


def _cache_probed(probe: dict[str, Any], mode: str = "strict") -> PolicyResource:
    rtype, props = workload("StatefulSet", {**MESHED, "cachemesh.io/authorization": mode})
    template = props["spec"]["template"]
    template["metadata"]["labels"] = dict(LABELS)
    template["spec"]["containers"][0]["readinessProbe"] = probe
    return res(rtype, props)


HTTP_PROBE = {"httpGet": {"path": "/ignite?cmd=probe", "port": 8080}}
EXEC_PROBE = {"exec": {"command": ["/bin/bash", "-c", "exit 0"]}}


def test_an_http_probe_on_the_rest_port_fails() -> None:
    stack = [_cache_probed(HTTP_PROBE), *program_like()]
    [(message, _)] = stack_violations(cache_rest_probes_over_network, stack)
    assert "readinessProbe is httpGet /ignite?cmd=probe on port 8080" in message
    assert "GET /ignite, the query dropped" in message


def test_an_exec_probe_over_loopback_passes() -> None:
    stack = [_cache_probed(EXEC_PROBE), *program_like()]
    assert stack_violations(cache_rest_probes_over_network, stack) == []


def test_an_http_probe_of_a_permissive_cache_is_not_judged() -> None:
    stack = [_cache_probed(HTTP_PROBE, mode="permissive"), *program_like()]
    assert stack_violations(cache_rest_probes_over_network, stack) == []
