"""service-opaque-ports, and every REMEDIATE function (including the Kyverno mutations)."""

from typing import Any

import pytest
from cachemesh_policy.evaluate import make_resource, remediate, settle
from cachemesh_policy.rules import (
    add_linkerd_mesh_injection,
    add_linkerd_policy_annotation,
    inject_on_pod_template,
    opaque_ports,
    service_opaque_ports,
)
from policy_helpers import (
    KINDS,
    MESHED,
    OPAQUE,
    args,
    remediated,
    template_annotations,
    violations,
    workload,
)
from pulumi_policy import Secret
from pulumi_policy.proxy import unknown_checking_proxy
from pulumi_policy.secret import secrets_preserving_proxy

SERVICE = "kubernetes:core/v1:Service"


def service(
    ports: list[dict[str, Any]], annotations: dict[str, str] | None = None, headless: bool = False
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "ignite", "namespace": "ignite"}
    if annotations is not None:
        meta["annotations"] = annotations
    spec: dict[str, Any] = {"ports": ports, "selector": {"app": "ignite"}}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


CACHE_PORTS = [{"port": 10800, "name": "thin"}, {"port": 47100}, {"port": 47500}]


# --- service-opaque-ports ---------------------------------------------------------------------


def test_service_opaque_ports_fails_a_cluster_ip_service_fronting_cache_ports() -> None:
    [message] = violations(service_opaque_ports, SERVICE, service(CACHE_PORTS))
    assert "Service ignite/ignite" in message
    assert 'set metadata.annotations["config.linkerd.io/opaque-ports"] = "10800,47100,47500"' in (
        message
    )


def test_service_opaque_ports_accepts_the_service_annotation() -> None:
    props = service(CACHE_PORTS, {OPAQUE: "10800,47100,47500"})
    assert violations(service_opaque_ports, SERVICE, props) == []


def test_service_opaque_ports_accepts_app_protocol_opaque() -> None:
    ports = [{**p, "appProtocol": "linkerd.io/opaque"} for p in CACHE_PORTS]
    assert violations(service_opaque_ports, SERVICE, service(ports)) == []


def test_service_opaque_ports_resolves_named_service_ports() -> None:
    props = service(CACHE_PORTS, {OPAQUE: "thin,47100,47500"})
    assert violations(service_opaque_ports, SERVICE, props) == []


def test_service_opaque_ports_checks_the_target_port() -> None:
    props = service([{"port": 80, "targetPort": 10800}])
    [message] = violations(service_opaque_ports, SERVICE, props)
    assert "spec.ports[0] (port 80 -> 10800)" in message


def test_service_opaque_ports_skips_headless_services_by_default() -> None:
    props = service(CACHE_PORTS, headless=True)
    assert violations(service_opaque_ports, SERVICE, props) == []
    assert len(violations(service_opaque_ports, SERVICE, props, {"includeHeadless": True})) == 1


def test_service_opaque_ports_ignores_services_without_cache_ports() -> None:
    assert violations(service_opaque_ports, SERVICE, service([{"port": 80}])) == []


# --- remediation ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_opaque_ports_remediation_adds_the_annotation(kind: str) -> None:
    rtype, props = workload(kind, MESHED)
    fixed = remediated(opaque_ports, rtype, props)
    assert template_annotations(kind, fixed)[OPAQUE] == "10800,47100,47500"
    assert violations(opaque_ports, rtype, fixed) == []


@pytest.mark.parametrize("kind", KINDS)
def test_opaque_ports_remediation_preserves_existing_entries(kind: str) -> None:
    rtype, props = workload(kind, {**MESHED, OPAQUE: "8080,47100"})
    fixed = remediated(opaque_ports, rtype, props)
    assert template_annotations(kind, fixed)[OPAQUE] == "8080,47100,10800,47500"


def test_opaque_ports_remediation_leaves_a_compliant_workload_alone() -> None:
    rtype, props = workload("StatefulSet", {**MESHED, OPAQUE: "10800,47100,47500"})
    assert remediated(opaque_ports, rtype, props) is None


def test_opaque_ports_remediation_keeps_other_annotations_and_fields() -> None:
    rtype, props = workload("StatefulSet", {**MESHED, "a": "b"}, own_annotations={"x": "y"})
    fixed = remediated(opaque_ports, rtype, props)
    assert fixed["spec"]["template"]["metadata"]["annotations"]["a"] == "b"
    assert fixed["metadata"]["annotations"] == {"x": "y"}
    assert fixed["spec"]["template"]["spec"] == props["spec"]["template"]["spec"]


def test_opaque_ports_remediation_creates_missing_metadata() -> None:
    rtype, props = workload("Deployment", None)
    del props["spec"]["template"]["metadata"]
    fixed = remediated(opaque_ports, rtype, props)
    assert fixed["spec"]["template"]["metadata"]["annotations"] == {OPAQUE: "10800,47100,47500"}


def test_opaque_ports_remediation_keeps_secrets_wrapped_through_sdk_proxies() -> None:
    rtype, props = workload("StatefulSet", MESHED)
    container = props["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "PASSWORD", "value": Secret("s3cret")}]
    proxied = unknown_checking_proxy(secrets_preserving_proxy(props))
    fixed = settle(opaque_ports.remediate(args(rtype, proxied)))
    env = fixed["spec"]["template"]["spec"]["containers"][0]["env"][0]
    assert isinstance(env["value"], Secret) and env["value"].value == "s3cret"
    assert fixed["spec"]["template"]["metadata"]["annotations"][OPAQUE] == "10800,47100,47500"


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "Pod"])
def test_inject_on_pod_template_remediation_copies_the_annotation(kind: str) -> None:
    rtype, props = workload(kind, {}, own_annotations=MESHED)
    fixed = remediated(inject_on_pod_template, rtype, props)
    assert template_annotations(kind, fixed)["linkerd.io/inject"] == "enabled"


def test_service_opaque_ports_remediation_merges_the_service_annotation() -> None:
    fixed = remediated(service_opaque_ports, SERVICE, service(CACHE_PORTS, {OPAQUE: "8080"}))
    assert fixed["metadata"]["annotations"][OPAQUE] == "8080,10800,47100,47500"


def test_remediations_chain_in_pack_order_at_level_remediate() -> None:
    rtype, props = workload("StatefulSet", {}, own_annotations=MESHED)
    config = {
        "opaque-ports": {"enforcementLevel": "remediate"},
        "inject-on-pod-template": {"enforcementLevel": "remediate"},
    }
    fixed = remediate(make_resource(rtype, props, "ignite"), config)
    annotations = fixed["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {OPAQUE: "10800,47100,47500", "linkerd.io/inject": "enabled"}


def test_remediations_do_not_run_below_level_remediate() -> None:
    rtype, props = workload("StatefulSet", MESHED)
    assert remediate(make_resource(rtype, props, "ignite")) is props


NAMESPACE = "kubernetes:core/v1:Namespace"


def ns(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def test_add_mesh_injection_skips_exempt_namespaces() -> None:
    assert remediated(add_linkerd_mesh_injection, NAMESPACE, ns("linkerd")) is None
    assert remediated(add_linkerd_mesh_injection, NAMESPACE, ns("kube-system")) is None


def test_add_mesh_injection_is_limited_to_configured_namespaces() -> None:
    config = {"namespaces": ["ignite"]}
    assert remediated(add_linkerd_mesh_injection, NAMESPACE, ns("apps"), config) is None
    assert remediated(add_linkerd_mesh_injection, NAMESPACE, ns("ignite"), config) is not None


def test_mutation_policies_are_disabled_until_set_to_remediate() -> None:
    assert add_linkerd_mesh_injection.enforcement_level.value == "disabled"
    assert add_linkerd_policy_annotation.enforcement_level.value == "disabled"
