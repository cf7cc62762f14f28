"""Zero-trust by default: only cache nodes speak to cache nodes, plaintext is refused."""

from __future__ import annotations

import pytest
from harness import ProgramRun, run_program
from linkerd_crds import CRD_DIR, crd_schemas, problems_with

STS = "kubernetes:apps/v1:StatefulSet"
POLICY_KINDS = {"Server", "MeshTLSAuthentication", "AuthorizationPolicy"}
# What Linkerd authorizes without a mesh identity, or for a probe declared on a port.
UNAUTHENTICATED_KINDS = {"NetworkAuthentication", "HTTPRoute", "ServerAuthorization"}
OWN_IDENTITY = "ignite.ignite.serviceaccount.identity.linkerd.cluster.local"
CLIENT = "web.shop.serviceaccount.identity.linkerd.cluster.local"
ADMIN = "ops.admin.serviceaccount.identity.linkerd.cluster.local"


def _cache(**fields) -> dict:
    return {"caches": [{"name": "ignite", **fields}]}


def _policy_objects(run: ProgramRun) -> list[dict]:
    return [o for o in run.kubernetes_objects() if o["kind"] in POLICY_KINDS]


def _by_name(run: ProgramRun, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in _policy_objects(run) if o["kind"] == kind}


def _pod_template(run: ProgramRun) -> dict:
    return run.one(STS, "ignite/ignite").kubernetes_object["spec"]["template"]


def _admitted(run: ProgramRun) -> dict[int, list[str]]:
    """Port -> the identities its Server's one AuthorizationPolicy admits."""
    servers = _by_name(run, "Server")
    identities = {
        n: o["spec"]["identities"] for n, o in _by_name(run, "MeshTLSAuthentication").items()
    }
    admitted: dict[int, list[str]] = {}
    for policy in _by_name(run, "AuthorizationPolicy").values():
        target = policy["spec"]["targetRef"]
        assert target["kind"] == "Server", policy["metadata"]["name"]
        port = servers[target["name"]]["spec"]["port"]
        (authn,) = policy["spec"]["requiredAuthenticationRefs"]
        assert authn["kind"] == "MeshTLSAuthentication" and port not in admitted
        admitted[port] = identities[authn["name"]]
    return admitted


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


def test_identity_follows_the_trust_domain() -> None:
    admitted = _admitted(run_program({"linkerd": {"trustDomain": "example.org"}}))
    assert admitted[47100] == ["ignite.ignite.serviceaccount.identity.linkerd.example.org"]


def test_meshed_mode_admits_any_mesh_identity_on_all_but_the_rest_port() -> None:
    admitted = _admitted(run_program(_cache(authorization="meshed")))
    assert admitted == {10800: ["*"], 47100: ["*"], 47500: ["*"], 8080: [OWN_IDENTITY]}
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


def test_nothing_but_mesh_identities_opens_any_port() -> None:
    objects = run_program().kubernetes_objects()
    assert not [o for o in objects if o["kind"] in UNAUTHENTICATED_KINDS]
    assert set(_admitted(run_program())) == {10800, 47100, 47500, 8080}


def test_the_rest_port_admits_no_client_without_a_mesh_identity() -> None:
    # Issue 19 §0: a probe HTTPRoute let `GET /ignite?cmd=put&...&cmd=probe` in from 0.0.0.0/0.
    assert _admitted(run_program())[8080] == [OWN_IDENTITY]


def test_the_pods_declare_no_network_probe_for_linkerd_to_authorize() -> None:
    # Linkerd authorizes a default probe route for every httpGet probe, unauthenticated.
    container = _pod_template(run_program())["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert not {"httpGet", "tcpSocket", "grpc"} & set(container.get(probe, {})), probe


def test_strict_without_client_identities_admits_only_the_cache_itself() -> None:
    admitted = _admitted(run_program())
    assert admitted[10800] == [OWN_IDENTITY]
    assert "*" not in [identity for ids in admitted.values() for identity in ids]


def test_strict_without_client_identities_says_so_in_the_log() -> None:
    infos = [m for level, m in run_program().logs if level == "info"]
    assert any("clientIdentities is empty" in m and "['*']" in m for m in infos)
    listed = run_program(_cache(clientIdentities=[CLIENT])).logs
    assert not any("clientIdentities is empty" in m for _, m in listed)


def test_client_identities_open_the_thin_client_port_not_the_rest_port() -> None:
    admitted = _admitted(run_program(_cache(clientIdentities=[CLIENT])))
    assert admitted[10800] == [CLIENT]
    assert admitted[8080] == [OWN_IDENTITY]


def test_admin_identities_open_the_rest_port_not_the_thin_client_port() -> None:
    admitted = _admitted(run_program(_cache(adminIdentities=[ADMIN])))
    assert admitted[8080] == [ADMIN]
    assert admitted[10800] == [OWN_IDENTITY]


def test_authorization_policies_use_the_current_api_not_legacy_objects() -> None:
    run = run_program()
    kinds = {
        o["kind"]
        for o in run.kubernetes_objects()
        if o["apiVersion"].startswith("policy.linkerd.io")
    }
    assert kinds == POLICY_KINDS
    for policy in _by_name(run, "AuthorizationPolicy").values():
        assert policy["spec"]["targetRef"]["kind"] == "Server"


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
    clients = {"clientIdentities": [CLIENT]} if mode == "strict" else {}
    objects = _policy_objects(
        run_program(_cache(authorization=mode, adminIdentities=[ADMIN], **clients))
    )
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


def test_readiness_and_liveness_ask_the_rest_api_over_loopback() -> None:
    container = _pod_template(run_program())["spec"]["containers"][0]
    readiness = container["readinessProbe"]["exec"]["command"]
    liveness = container["livenessProbe"]["exec"]["command"]
    assert readiness[0] == liveness[0] == "/bin/bash"
    assert readiness[-3:] == ["8080", "/ignite?cmd=probe", "5"]
    assert liveness[-3:] == ["8080", "/ignite?cmd=version", "5"]


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
