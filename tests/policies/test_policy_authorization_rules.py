"""cache-ports-authorized(-permissive), cache-ports-legacy-authorization, server-opaque-protocol.

Hand-built stacks shaped like the program's strict mode (components/cache_authorization.py):
per cache port a Server `ignite-<key>` selecting {app: ignite, type: server} and an
AuthorizationPolicy of the same name targeting it.
"""

from __future__ import annotations

from typing import Any

import pytest
from cachemesh_policy.authorization_rules import (
    cache_ports_authorized,
    cache_ports_authorized_permissive,
    cache_ports_legacy_authorization,
    server_opaque_protocol,
    server_selects,
)
from policy_helpers import KINDS, MESHED, res, stack_violations, workload
from pulumi_policy import PolicyResource

KEYS = {10800: "thinclient", 47100: "communication", 47500: "discovery", 8080: "rest"}
OPAQUE_PORTS = (10800, 47100, 47500)
LABELS = {"app": "ignite", "type": "server"}


def cache(kind: str = "StatefulSet", mode: str | None = "strict", **kw: Any) -> PolicyResource:
    annotations = dict(MESHED)
    if mode is not None:
        annotations["cachemesh.io/authorization"] = mode
    rtype, props = workload(kind, annotations, **kw)
    template = props if kind == "Pod" else None
    if template is None:
        spec = props["spec"]
        tpl = spec["jobTemplate"]["spec"]["template"] if kind == "CronJob" else spec["template"]
        tpl["metadata"]["labels"] = dict(LABELS)
    else:
        props["metadata"]["labels"] = dict(LABELS)
    return res(rtype, props)


def server(
    port: int | str,
    name: str | None = None,
    *,
    version: str = "v1beta3",
    selector: dict[str, Any] | None = None,
    protocol: str | None = "opaque",
    namespace: str = "ignite",
    labels: dict[str, str] | None = None,
) -> PolicyResource:
    number = port if isinstance(port, int) else 0
    spec: dict[str, Any] = {
        "podSelector": selector if selector is not None else {"matchLabels": dict(LABELS)},
        "port": port,
    }
    if protocol is not None:
        spec["proxyProtocol"] = protocol
    meta: dict[str, Any] = {
        "name": name or f"ignite-{KEYS.get(number, port)}",
        "namespace": namespace,
    }
    if labels:
        meta["labels"] = labels
    return res(
        f"kubernetes:policy.linkerd.io/{version}:Server",
        {
            "apiVersion": f"policy.linkerd.io/{version}",
            "kind": "Server",
            "metadata": meta,
            "spec": spec,
        },
    )


def authz(target: str, name: str | None = None, kind: str = "Server") -> PolicyResource:
    return res(
        "kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy",
        {
            "apiVersion": "policy.linkerd.io/v1alpha1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": name or target, "namespace": "ignite"},
            "spec": {
                "targetRef": {"group": "policy.linkerd.io", "kind": kind, "name": target},
                "requiredAuthenticationRefs": [
                    {
                        "group": "policy.linkerd.io",
                        "kind": "MeshTLSAuthentication",
                        "name": "ignite-peers",
                    }
                ],
            },
        },
    )


def saz(server_ref: dict[str, Any], name: str = "legacy") -> PolicyResource:
    return res(
        "kubernetes:policy.linkerd.io/v1beta1:ServerAuthorization",
        {
            "apiVersion": "policy.linkerd.io/v1beta1",
            "kind": "ServerAuthorization",
            "metadata": {"name": name, "namespace": "ignite"},
            "spec": {"server": server_ref, "client": {"meshTLS": {"identities": ["*"]}}},
        },
    )


def program_like(
    ports: tuple[int, ...] = (10800, 47100, 47500, 8080), **kw: Any
) -> list[PolicyResource]:
    """Server + same-name AuthorizationPolicy per port, as the program's strict mode makes them."""
    out: list[PolicyResource] = []
    for port in ports:
        protocol = "opaque" if port in OPAQUE_PORTS else "HTTP/1"
        srv = server(port, protocol=protocol, **kw)
        out += [srv, authz(f"ignite-{KEYS[port]}")]
    return out


kinds = pytest.mark.parametrize("kind", KINDS)


# --- cache-ports-authorized -----------------------------------------------------------------


@kinds
def test_program_shaped_authorization_passes(kind: str) -> None:
    resources = [cache(kind), *program_like()]
    for policy in (
        cache_ports_authorized,
        cache_ports_authorized_permissive,
        server_opaque_protocol,
    ):
        assert stack_violations(policy, resources) == []


@pytest.mark.parametrize("version", ["v1beta1", "v1beta2", "v1beta3"])
def test_every_served_server_version_counts(version: str) -> None:
    resources = [cache(), *program_like(version=version)]
    assert stack_violations(cache_ports_authorized, resources) == []


@kinds
def test_no_server_at_all_fails_once_per_port(kind: str) -> None:
    found = stack_violations(cache_ports_authorized, [cache(kind)])
    assert len(found) == 4  # 10800, 47100, 47500 and REST 8080
    message = next(m for m, _ in found if "port 47100 " in m)
    assert f"{kind} ignite/ignite" in message
    assert "not covered by a Linkerd Server" in message
    assert "matchLabels: {app: ignite, type: server}" in message
    assert "port: 47100, proxyProtocol: opaque" in message
    assert "AuthorizationPolicy" in message
    rest = next(m for m, _ in found if "port 8080 " in m)
    assert "proxyProtocol" not in rest


def test_absent_mode_annotation_is_strict() -> None:
    assert len(stack_violations(cache_ports_authorized, [cache(mode=None)])) == 4
    assert stack_violations(cache_ports_authorized_permissive, [cache(mode=None)]) == []


def test_permissive_workload_is_reported_by_the_advisory_twin_only() -> None:
    resources = [cache(mode="permissive")]
    assert stack_violations(cache_ports_authorized, resources) == []
    found = stack_violations(cache_ports_authorized_permissive, resources)
    assert len(found) == 4 and all('"permissive"' in m for m, _ in found)


def test_server_without_authorization_policy_fails() -> None:
    resources = [cache(), *program_like((10800, 47500, 8080)), server(47100)]
    [(message, _)] = stack_violations(cache_ports_authorized, resources)
    assert "port 47100 is covered by Server ignite-communication" in message
    assert "no AuthorizationPolicy targets it" in message
    assert "{group: policy.linkerd.io, kind: Server, name: ignite-communication}" in message


def test_authorization_policy_targeting_another_kind_does_not_count() -> None:
    resources = [
        cache(),
        *program_like((10800, 47500, 8080)),
        server(47100),
        authz("ignite-communication", kind="HTTPRoute"),
    ]
    assert len(stack_violations(cache_ports_authorized, resources)) == 1


@pytest.mark.parametrize(
    "bad_server",
    [
        server(47100, selector={"matchLabels": {"app": "other"}}),
        server(47100, namespace="elsewhere"),
        server(47101, name="ignite-communication"),
        server("communication", name="ignite-communication"),  # the container port has no name
    ],
    ids=["selector", "namespace", "port-number", "unknown-port-name"],
)
def test_server_that_does_not_cover_the_port_fails(bad_server: PolicyResource) -> None:
    resources = [
        cache(),
        *program_like((10800, 47500, 8080)),
        bad_server,
        authz("ignite-communication"),
    ]
    [(message, _)] = stack_violations(cache_ports_authorized, resources)
    assert "port 47100 is not covered" in message


def test_server_port_by_container_port_name_counts() -> None:
    named = cache(port_names={47100: "communication"})
    resources = [
        named,
        *program_like((10800, 47500, 8080)),
        server("communication", name="ignite-communication"),
        authz("ignite-communication"),
    ]
    assert stack_violations(cache_ports_authorized, resources) == []


@pytest.mark.parametrize(
    ("selector", "selects"),
    [
        ({"matchLabels": {"app": "ignite"}}, True),
        ({}, True),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["ignite", "x"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["x"]}]}, False),
        ({"matchExpressions": [{"key": "type", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]}, False),
        ({"matchLabels": {"app": "ignite"},
          "matchExpressions": [{"key": "type", "operator": "In", "values": ["client"]}]}, False),
    ],
)  # fmt: skip
def test_server_pod_selector(selector: dict[str, Any], selects: bool) -> None:
    assert server_selects(selector, LABELS) is selects


def test_non_meshed_or_non_cache_workloads_are_not_checked() -> None:
    rtype, props = workload("Deployment", {}, image="example/app:1", ports=(9000,))
    unmeshed_type, unmeshed = workload("StatefulSet", {})
    resources = [res(rtype, props), res(unmeshed_type, unmeshed)]
    assert stack_violations(cache_ports_authorized, resources) == []


def test_extra_authorized_ports_are_configurable() -> None:
    config = {"extraAuthorizedPorts": []}
    resources = [cache(), *program_like((10800, 47100, 47500))]
    assert stack_violations(cache_ports_authorized, resources, config) == []
    assert len(stack_violations(cache_ports_authorized, resources)) == 1  # 8080


# --- cache-ports-legacy-authorization -------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [{"name": "ignite-communication"}, {"selector": {"matchLabels": {"cache": "ignite"}}}],
    ids=["by-name", "by-selector"],
)
def test_server_authorization_satisfies_the_rule_but_asks_for_migration(
    ref: dict[str, Any],
) -> None:
    resources = [
        cache(),
        *program_like((10800, 47500, 8080)),
        server(47100, labels={"cache": "ignite"}),
        saz(ref),
    ]
    assert stack_violations(cache_ports_authorized, resources) == []
    [(message, _)] = stack_violations(cache_ports_legacy_authorization, resources)
    assert "ServerAuthorization ignite/legacy authorizes Server ignite-communication" in message
    assert "replace it with an AuthorizationPolicy" in message


def test_no_legacy_authorization_no_advisory() -> None:
    resources = [cache(), *program_like()]
    assert stack_violations(cache_ports_legacy_authorization, resources) == []


# --- server-opaque-protocol -----------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["unknown", "HTTP/1", "TLS", None])
def test_server_on_an_opaque_cache_port_must_be_opaque(protocol: str | None) -> None:
    resources = [
        cache(),
        *program_like((10800, 47500, 8080)),
        server(47100, protocol=protocol),
        authz("ignite-communication"),
    ]
    [(message, _)] = stack_violations(server_opaque_protocol, resources)
    assert "Server ignite/ignite-communication covers cache port 47100" in message
    assert "supersedes the config.linkerd.io/opaque-ports" in message
    assert 'spec.proxyProtocol = "opaque"' in message
    assert stack_violations(cache_ports_authorized, resources) == []


def test_rest_port_server_need_not_be_opaque() -> None:
    resources = [cache(), *program_like()]  # 8080's Server says HTTP/1
    assert stack_violations(server_opaque_protocol, resources) == []


def test_opaque_protocol_applies_to_permissive_workloads_too() -> None:
    resources = [cache(mode="permissive"), server(47500, protocol="unknown")]
    assert len(stack_violations(server_opaque_protocol, resources)) == 1


def route(name: str, parent: str) -> PolicyResource:
    return res(
        "kubernetes:policy.linkerd.io/v1beta3:HTTPRoute",
        {
            "apiVersion": "policy.linkerd.io/v1beta3",
            "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": "ignite"},
            "spec": {
                "parentRefs": [{"group": "policy.linkerd.io", "kind": "Server", "name": parent}],
                "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}],
            },
        },
    )


def test_authorization_policy_on_a_route_of_the_server_counts() -> None:
    # Linkerd authorizes a Server that has routes per route: a policy on its route counts.
    resources = [
        cache(),
        *program_like((10800, 47100, 47500)),
        server(8080, protocol="HTTP/1"),
        route("ignite-rest", "ignite-rest"),
        authz("ignite-rest", kind="HTTPRoute"),
    ]
    assert stack_violations(cache_ports_authorized, resources) == []


def test_authorization_policy_on_a_route_of_another_server_does_not_count() -> None:
    resources = [
        cache(),
        *program_like((10800, 47100, 47500)),
        server(8080, protocol="HTTP/1"),
        route("ignite-rest", "some-other-server"),
        authz("ignite-rest", kind="HTTPRoute"),
    ]
    [(message, _)] = stack_violations(cache_ports_authorized, resources)
    assert "8080" in message
