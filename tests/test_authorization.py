"""Zero-trust by default: only cache nodes speak to cache nodes, plaintext is refused."""

from __future__ import annotations

import pytest
from harness import ProgramRun, run_program
from linkerd_crds import CRD_DIR, crd_schemas, problems_with

STS = "kubernetes:apps/v1:StatefulSet"
POLICY_KINDS = {
    "Server",
    "MeshTLSAuthentication",
    "AuthorizationPolicy",
    "HTTPRoute",
    "NetworkAuthentication",
}
PROBE_MATCHES = [
    {
        "path": {"type": "Exact", "value": "/ignite"},
        "method": "GET",
        "queryParams": [{"type": "Exact", "name": "cmd", "value": "probe"}],
    },
    {
        "path": {"type": "Exact", "value": "/ignite"},
        "method": "GET",
        "queryParams": [{"type": "Exact", "name": "cmd", "value": "version"}],
    },
]
OWN_IDENTITY = "ignite.ignite.serviceaccount.identity.linkerd.cluster.local"
CLIENT = "web.shop.serviceaccount.identity.linkerd.cluster.local"


def _cache(**fields) -> dict:
    return {"caches": [{"name": "ignite", **fields}]}


def _policy_objects(run: ProgramRun) -> list[dict]:
    return [o for o in run.kubernetes_objects() if o["kind"] in POLICY_KINDS]


def _by_name(run: ProgramRun, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in _policy_objects(run) if o["kind"] == kind}


def _pod_template(run: ProgramRun) -> dict:
    return run.one(STS, "ignite/ignite").kubernetes_object["spec"]["template"]


def _grants(run: ProgramRun) -> dict[int, list[tuple[str, list]]]:
    """Port -> what each AuthorizationPolicy on it (directly, or through an HTTPRoute on its
    Server) lets in: ("identities", [...]) or ("networks", [...]), with the route it covers."""
    servers = _by_name(run, "Server")
    routes = _by_name(run, "HTTPRoute")
    authns = {
        **{
            n: ("identities", o["spec"]["identities"])
            for n, o in _by_name(run, "MeshTLSAuthentication").items()
        },
        **{
            n: ("networks", [x["cidr"] for x in o["spec"]["networks"]])
            for n, o in _by_name(run, "NetworkAuthentication").items()
        },
    }
    grants: dict[int, list] = {}
    for policy in _by_name(run, "AuthorizationPolicy").values():
        target = policy["spec"]["targetRef"]
        if target["kind"] == "Server":
            server, route = servers[target["name"]], None
        else:
            route = routes[target["name"]]
            (parent,) = route["spec"]["parentRefs"]
            server = servers[parent["name"]]
        (authn_ref,) = policy["spec"]["requiredAuthenticationRefs"]
        kind, values = authns[authn_ref["name"]]
        grants.setdefault(server["spec"]["port"], []).append(
            (kind, values, route and route["metadata"]["name"])
        )
    return grants


def _admitted(run: ProgramRun) -> dict[int, list[str]]:
    """Port -> the mesh identities admitted to all of it (not just to probe routes)."""
    return {
        port: next(values for kind, values, route in grants if kind == "identities")
        for port, grants in _grants(run).items()
    }


def test_strict_is_the_default_and_puts_a_server_on_each_cache_port() -> None:
    servers = _by_name(run_program(), "Server")
    assert {s["spec"]["port"]: name for name, s in servers.items()} == {
        10800: "ignite-thinclient",
        47100: "ignite-communication",
        47500: "ignite-discovery",
        8080: "ignite-rest",
    }


def test_servers_select_the_statefulsets_pods_and_ports() -> None:
    run = run_program()
    template = _pod_template(run)
    container_ports = {p["containerPort"] for p in template["spec"]["containers"][0]["ports"]}
    servers = _by_name(run, "Server").values()
    assert len(servers) == 4
    for server in servers:
        selector = server["spec"]["podSelector"]["matchLabels"]
        assert selector.items() <= template["metadata"]["labels"].items()
        assert server["spec"]["port"] in container_ports
        assert server["metadata"]["namespace"] == "ignite"


def test_server_first_ports_stay_opaque_on_their_servers() -> None:
    protocols = {
        s["spec"]["port"]: s["spec"]["proxyProtocol"]
        for s in _by_name(run_program(), "Server").values()
    }
    assert protocols == {10800: "opaque", 47100: "opaque", 47500: "opaque", 8080: "HTTP/1"}


def test_strict_cluster_ports_admit_only_the_caches_own_identity() -> None:
    admitted = _admitted(run_program())
    assert admitted[47100] == [OWN_IDENTITY]
    assert admitted[47500] == [OWN_IDENTITY]


def test_strict_client_ports_admit_any_meshed_client_when_none_are_listed() -> None:
    admitted = _admitted(run_program())
    assert admitted[10800] == ["*"]
    assert admitted[8080] == ["*"]


def test_strict_client_ports_admit_only_the_listed_client_identities() -> None:
    admitted = _admitted(run_program(_cache(clientIdentities=[CLIENT])))
    assert admitted[10800] == [CLIENT]
    assert admitted[8080] == [CLIENT]
    assert admitted[47100] == [OWN_IDENTITY]


def test_identity_follows_the_trust_domain() -> None:
    admitted = _admitted(run_program({"linkerd": {"trustDomain": "example.org"}}))
    assert admitted[47100] == ["ignite.ignite.serviceaccount.identity.linkerd.example.org"]


def test_meshed_mode_admits_any_mesh_identity_on_every_port() -> None:
    admitted = _admitted(run_program(_cache(authorization="meshed")))
    assert admitted == {10800: ["*"], 47100: ["*"], 47500: ["*"], 8080: ["*"]}
    assert "ignite-any-meshed" in _by_name(
        run_program(_cache(authorization="meshed")), "MeshTLSAuthentication"
    )


@pytest.mark.parametrize("mode", ["strict", "meshed"])
def test_everything_else_is_refused_by_a_default_deny_inbound_policy(mode: str) -> None:
    annotations = _pod_template(run_program(_cache(authorization=mode)))["metadata"]["annotations"]
    assert annotations["config.linkerd.io/default-inbound-policy"] == "deny"
    assert annotations["cachemesh.io/authorization"] == mode


def test_no_server_opens_the_connector_port() -> None:
    ports = {s["spec"]["port"] for s in _by_name(run_program(), "Server").values()}
    assert 11211 not in ports


def test_nothing_but_mesh_identities_opens_the_cluster_and_thin_client_ports() -> None:
    grants = _grants(run_program())
    for port in (47100, 47500, 10800):
        assert [kind for kind, _, _ in grants[port]] == ["identities"], port


def test_rest_port_opens_only_the_probe_commands_to_the_probe_networks() -> None:
    run = run_program()
    rest = _grants(run)[8080]
    assert sorted((kind, route) for kind, _, route in rest) == [
        ("identities", "ignite-rest"),
        ("networks", "ignite-rest-probes"),
    ]
    probe_route = _by_name(run, "HTTPRoute")["ignite-rest-probes"]
    assert probe_route["spec"]["rules"] == [{"matches": PROBE_MATCHES}]
    assert next(v for k, v, _ in rest if k == "networks") == ["0.0.0.0/0", "::/0"]


def test_everything_else_on_the_rest_port_needs_a_client_identity() -> None:
    run = run_program(_cache(clientIdentities=[CLIENT]))
    route = _by_name(run, "HTTPRoute")["ignite-rest"]
    assert route["spec"]["rules"] == [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}]
    assert _admitted(run)[8080] == [CLIENT]


def test_probe_networks_can_be_narrowed_to_the_nodes() -> None:
    run = run_program(_cache(probes={"networks": ["10.0.0.0/16"]}))
    networks = _by_name(run, "NetworkAuthentication")["ignite-rest-probes"]["spec"]["networks"]
    assert networks == [{"cidr": "10.0.0.0/16"}]


def test_without_probes_no_network_is_let_in_anywhere() -> None:
    run = run_program(_cache(probes={"enabled": False}))
    assert "NetworkAuthentication" not in {o["kind"] for o in _policy_objects(run)}


def test_authorization_policies_use_the_current_api_not_legacy_objects() -> None:
    run = run_program()
    kinds = {
        o["kind"]
        for o in run.kubernetes_objects()
        if o["apiVersion"].startswith("policy.linkerd.io")
    }
    assert kinds == POLICY_KINDS
    for policy in _by_name(run, "AuthorizationPolicy").values():
        assert policy["spec"]["targetRef"]["kind"] in ("Server", "HTTPRoute")


def test_permissive_is_the_guide_with_no_policy_objects_and_a_warning() -> None:
    run = run_program(_cache(authorization="permissive"))
    annotations = _pod_template(run)["metadata"]["annotations"]
    assert _policy_objects(run) == []
    assert "config.linkerd.io/default-inbound-policy" not in annotations
    assert any("permissive" in w and "plaintext" in w for w in run.warnings())


def test_policy_objects_wait_for_the_linkerd_crds() -> None:
    run = run_program()
    crds = next(r for r in run.resources if r.name == "linkerd-crds")
    policy_objects = [
        r for r in run.resources if r.type.startswith("kubernetes:policy.linkerd.io/")
    ]
    assert len(policy_objects) >= len(POLICY_KINDS)
    for resource in policy_objects:
        assert crds.urn in run.waits_for(resource), resource.name


def test_pods_start_after_their_servers_exist() -> None:
    run = run_program()
    waits = run.waits_for(run.one(STS, "ignite/ignite"))
    servers = [r for r in run.resources if r.type.endswith(":Server")]
    assert servers and all(s.urn in waits for s in servers)


def test_unmeshed_caches_get_no_policy_objects() -> None:
    run = run_program({"linkerd": {"enabled": False}})
    assert _policy_objects(run) == []
    assert "config.linkerd.io/default-inbound-policy" not in (
        _pod_template(run)["metadata"].get("annotations") or {}
    )


@pytest.mark.skipif(not CRD_DIR.exists(), reason=f"Linkerd CRDs not found at {CRD_DIR}")
@pytest.mark.parametrize("mode", ["strict", "meshed"])
def test_policy_objects_match_the_crds_linkerd_installs(mode: str) -> None:
    schemas = crd_schemas()
    objects = _policy_objects(run_program(_cache(authorization=mode, clientIdentities=[CLIENT])))
    assert {o["kind"] for o in objects} == POLICY_KINDS
    for obj in objects:
        assert problems_with(obj, schemas) == [], obj["metadata"]["name"]


@pytest.mark.skipif(not CRD_DIR.exists(), reason=f"Linkerd CRDs not found at {CRD_DIR}")
def test_the_crd_check_catches_a_misspelt_field_and_a_wrongly_typed_one() -> None:
    schemas = crd_schemas()
    server = _by_name(run_program(), "Server")["ignite-discovery"]
    misspelt = {**server, "spec": {**server["spec"], "proxyProtocl": "opaque"}}
    bad = {**server, "spec": {**server["spec"], "podSelector": "app=ignite"}}
    assert problems_with(misspelt, schemas) == ["unknown field spec.proxyProtocl"]
    assert problems_with(bad, schemas)


@pytest.mark.skipif(not CRD_DIR.exists(), reason=f"Linkerd CRDs not found at {CRD_DIR}")
def test_the_httproute_crd_catches_a_misspelt_match_and_a_method_it_does_not_know() -> None:
    schemas = crd_schemas()
    route = _by_name(run_program(), "HTTPRoute")["ignite-rest-probes"]
    [rule] = route["spec"]["rules"]
    match = rule["matches"][0]
    misspelt = {
        "queryParam": match["queryParams"],
        **{k: v for k, v in match.items() if k != "queryParams"},
    }
    unknown_method = {**match, "method": "FETCH"}

    def with_match(changed: dict) -> dict:
        return {**route, "spec": {**route["spec"], "rules": [{**rule, "matches": [changed]}]}}

    assert problems_with(with_match(misspelt), schemas) == [
        "unknown field spec.rules[0].matches[0].queryParam"
    ]
    assert problems_with(with_match(unknown_method), schemas)


def test_readiness_and_liveness_probe_the_rest_port() -> None:
    container = _pod_template(run_program())["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ignite?cmd=probe", "port": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/ignite?cmd=version", "port": 8080}


def test_probes_can_be_turned_off() -> None:
    container = _pod_template(run_program(_cache(probes={"enabled": False})))["spec"]["containers"][
        0
    ]
    assert "readinessProbe" not in container
    assert "livenessProbe" not in container


def test_a_pod_disruption_budget_lets_one_node_go_at_a_time() -> None:
    pdb = (
        run_program()
        .one("kubernetes:policy/v1:PodDisruptionBudget", "ignite/ignite")
        .kubernetes_object
    )
    assert pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"app": "ignite", "type": "server"}},
    }


def test_the_budget_can_be_turned_off() -> None:
    run = run_program(_cache(podDisruptionBudget={"enabled": False}))
    assert run.of_type("kubernetes:policy/v1:PodDisruptionBudget") == []


def test_requests_default_to_the_limits() -> None:
    resources = _pod_template(run_program())["spec"]["containers"][0]["resources"]
    assert resources["requests"] == resources["limits"] == {"memory": "1536Mi", "cpu": "1"}


def test_pod_management_policy_and_grace_period_are_configurable() -> None:
    run = run_program(_cache(podManagementPolicy="Parallel", terminationGracePeriodSeconds=120))
    sts = run.one(STS, "ignite/ignite").kubernetes_object["spec"]
    assert sts["podManagementPolicy"] == "Parallel"
    assert sts["template"]["spec"]["terminationGracePeriodSeconds"] == 120


def test_defaults_keep_ordered_ready_and_the_guides_grace_period() -> None:
    sts = run_program().one(STS, "ignite/ignite").kubernetes_object["spec"]
    assert sts["podManagementPolicy"] == "OrderedReady"
    assert sts["template"]["spec"]["terminationGracePeriodSeconds"] == 60
