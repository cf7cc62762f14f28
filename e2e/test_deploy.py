"""One stack's story on the real engine: `pulumi up` on a new stack from the shipped dev stack,
the objects in the API server, a preview with nothing to change, the policy pack, the outputs,
and the documented removal (docs/getting-started.md "Uninstalling").

The tests of this module run in file order on one stack and one throwaway cluster (`make e2e`
runs one worker); each asserts one behaviour of that story."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.pulumi_cli import POLICY_PACK, Project, Result, program_clock
from settings.linkerd import CertificateSettings

# The top-level stack outputs a dashboard reads (docs/getting-started.md "Read the outputs"); the
# mock engine's tests check their contents, this checks the real engine exports exactly these.
OUTPUT_KEYS = {
    "caches",
    "linkerdHealthy",
    "linkerdIdentity",
    "mtls",
    "mtlsVerified",
    "rollout",
}


@pytest.fixture(scope="module")
def project(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = Project(tmp_path_factory.mktemp("deploy"), cluster)
    project.init()
    yield project


@pytest.fixture(scope="module")
def first_up(project: Project) -> Result:
    return project.up()


@pytest.fixture(scope="module")
def outputs(project: Project, first_up: Result) -> dict[str, Any]:
    return project.outputs()


def test_up_on_a_new_stack_from_the_dev_stack_succeeds(first_up: Result) -> None:
    assert first_up.returncode == 0


def test_the_cache_statefulset_has_the_linkerd_annotations_on_its_pod_template(
    cluster: Cluster, first_up: Result
) -> None:
    sts = cluster.get_json("statefulset", "ignite", "-n", "ignite")
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert annotations["linkerd.io/inject"] == "enabled"
    assert set(annotations["config.linkerd.io/opaque-ports"].split(",")) >= {
        "10800",
        "47100",
        "47500",
    }
    assert sts["spec"]["updateStrategy"]["type"] == "OnDelete"


def test_the_pods_run_on_the_fake_nodes_and_are_ready(cluster: Cluster, first_up: Result) -> None:
    pods = cluster.get_json("pods", "-n", "ignite")["items"]
    ready = {
        p["metadata"]["name"]: any(
            c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"]
        )
        for p in pods
    }
    assert ready == {"ignite-0": True, "ignite-1": True}


def node_zone(cluster: Cluster, pod: dict[str, Any]) -> tuple[str, str]:
    node = pod["spec"]["nodeName"]
    return node, cluster.nodes[node]


def test_the_real_scheduler_puts_the_cache_pods_on_different_nodes_and_zones(
    cluster: Cluster, first_up: Result
) -> None:
    pods = cluster.get_json("pods", "-n", "ignite", "-l", "app=ignite")["items"]
    placed = [node_zone(cluster, p) for p in pods]
    assert len(placed) == 2
    assert len({node for node, _ in placed}) == 2, placed
    assert len({zone for _, zone in placed}) == 2, placed


# The scenarios below copy the deployed cache's pod template (its spread constraints as the API
# server stored them) into a StatefulSet of their own namespace, limited by a required node
# affinity to the two nodes of zone-a and zone-b, and read where the real kube-scheduler binds
# the pods. No ServiceAccount or injection is copied: only placement is under test.
TWO_ZONES = ["zone-a", "zone-b"]


def placement_probe(
    cluster: Cluster,
    namespace: str,
    replicas: int,
    *,
    spread: bool = True,
    prefer_together: bool = False,
) -> None:
    sts = cluster.get_json("statefulset", "ignite", "-n", "ignite")
    template = copy.deepcopy(sts["spec"]["template"])
    template["metadata"]["annotations"] = {}
    spec = template["spec"]
    for key in ("serviceAccountName", "serviceAccount"):
        spec.pop(key, None)
    spec["automountServiceAccountToken"] = False
    if not spread:
        spec.pop("topologySpreadConstraints")
    own_pods = {"matchLabels": sts["spec"]["selector"]["matchLabels"]}
    affinity: dict[str, Any] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "topology.kubernetes.io/zone",
                                "operator": "In",
                                "values": TWO_ZONES,
                            }
                        ]
                    }
                ]
            }
        }
    }
    if prefer_together:
        # A user's `affinity` addition that pulls the cache's pods together as hard as a
        # preference can (weight 100).
        affinity["podAffinity"] = {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": own_pods,
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }
            ]
        }
    spec["affinity"] = affinity
    cluster.kubectl("create", "namespace", namespace)
    probe = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "serviceName": "probe",
            "podManagementPolicy": "Parallel",
            "selector": sts["spec"]["selector"],
            "template": template,
        },
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(probe))


def placed_pods(cluster: Cluster, namespace: str, count: int) -> list[dict[str, Any]]:
    """The probe's pods once `count` of them exist and each is bound or found unschedulable."""
    deadline = time.monotonic() + 60
    while True:
        pods = cluster.get_json("pods", "-n", namespace)["items"]
        decided = [
            p
            for p in pods
            if p["spec"].get("nodeName")
            or any(
                c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
                for c in p.get("status", {}).get("conditions", [])
            )
        ]
        if len(pods) == count and len(decided) == count:
            return sorted(pods, key=lambda p: p["metadata"]["name"])
        if time.monotonic() > deadline:
            raise AssertionError(f"pods of {namespace} not placed: {json.dumps(pods)[:2000]}")
        time.sleep(0.5)


def nodes_of(pods: list[dict[str, Any]]) -> list[str | None]:
    return [p["spec"].get("nodeName") for p in pods]


def test_the_spread_holds_against_an_affinity_that_pulls_the_pods_together(
    cluster: Cluster, first_up: Result
) -> None:
    placement_probe(cluster, "probe-spread", 2, prefer_together=True)
    nodes = nodes_of(placed_pods(cluster, "probe-spread", 2))
    assert None not in nodes and len(set(nodes)) == 2, nodes


def test_without_the_spread_that_affinity_puts_both_pods_on_one_node(
    cluster: Cluster, first_up: Result
) -> None:
    placement_probe(cluster, "probe-together", 2, spread=False, prefer_together=True)
    nodes = nodes_of(placed_pods(cluster, "probe-together", 2))
    assert None not in nodes and len(set(nodes)) == 1, nodes


def test_three_pods_on_two_nodes_land_two_and_one(cluster: Cluster, first_up: Result) -> None:
    placement_probe(cluster, "probe-three", 3)
    nodes = nodes_of(placed_pods(cluster, "probe-three", 3))
    assert None not in nodes
    assert sorted(nodes.count(n) for n in set(nodes)) == [1, 2], nodes


def test_a_cordoned_node_is_not_counted_so_a_drained_pod_joins_its_peer(
    cluster: Cluster, first_up: Result
) -> None:
    # nodeTaintsPolicy Honor: the cordoned node's node.kubernetes.io/unschedulable taint takes it
    # out of the skew, so the pod that leaves it is placed beside the other one (one node then
    # holds both) instead of staying Pending. docs/tasks/place-cache-pods.md says so.
    placement_probe(cluster, "probe-drain", 2)
    before = placed_pods(cluster, "probe-drain", 2)
    [(moved, node)] = [(p["metadata"]["name"], p["spec"]["nodeName"]) for p in before][1:]
    cluster.kubectl("cordon", node)
    try:
        taint_deadline = time.monotonic() + 30
        while not any(
            t["key"] == "node.kubernetes.io/unschedulable"
            for t in cluster.get_json("node", node)["spec"].get("taints", [])
        ):
            assert time.monotonic() < taint_deadline, f"{node} never got the cordon taint"
            time.sleep(0.5)
        old_uid = next(p for p in before if p["metadata"]["name"] == moved)["metadata"]["uid"]
        cluster.kubectl("delete", "pod", moved, "-n", "probe-drain", "--wait=false")
        deadline = time.monotonic() + 120
        while True:
            after = placed_pods(cluster, "probe-drain", 2)
            if all(p["metadata"]["uid"] != old_uid for p in after):
                break
            assert time.monotonic() < deadline, f"{moved} was never replaced"
            time.sleep(1)
        assert len(set(nodes_of(after))) == 1 and node not in nodes_of(after), nodes_of(after)
    finally:
        cluster.kubectl("uncordon", node)


def test_the_linkerd_policy_objects_were_accepted_by_the_crd_schemas(
    cluster: Cluster, first_up: Result
) -> None:
    # The stand-in linkerd-crds chart installs Linkerd's own CRDs
    # (../shared/reference/linkerd-crds): the API server validated each object against them.
    servers = cluster.get_json("servers.policy.linkerd.io", "-n", "ignite")["items"]
    ports = {s["metadata"]["name"]: s["spec"]["port"] for s in servers}
    assert {ports["ignite-discovery"], ports["ignite-communication"]} == {47500, 47100}
    assert cluster.exists("meshtlsauthentications.policy.linkerd.io", "ignite-peers", "ignite")
    policies = cluster.get_json("authorizationpolicies.policy.linkerd.io", "-n", "ignite")
    assert {p["spec"]["targetRef"]["name"] for p in policies["items"]} >= set(ports)


def test_the_trust_roots_configmap_holds_the_anchor_the_outputs_name(
    cluster: Cluster, outputs: dict[str, Any]
) -> None:
    roots = cluster.get_json("configmap", "linkerd-identity-trust-roots", "-n", "linkerd")
    pem = roots["data"]["ca-bundle.crt"]
    digest = hashlib.sha256(pem.encode()).hexdigest()
    assert digest == outputs["linkerdIdentity"]["trustRootsSha256"]


def test_the_outputs_have_the_documented_keys(outputs: dict[str, Any]) -> None:
    assert set(outputs) == OUTPUT_KEYS
    assert set(outputs["caches"]) == {"ignite"} == set(outputs["mtls"]) == set(outputs["rollout"])


def test_the_rollout_gate_ran_through_the_real_api_server(outputs: dict[str, Any]) -> None:
    # CacheRollout on create: both pods already on the update revision, then the final gate
    # (kubectl exec control.sh, answered by the stand-in through kwok).
    assert outputs["rollout"]["ignite"]["completed"] is True
    assert outputs["rollout"]["ignite"]["podsOnUpdateRevision"] == 2


def test_the_mtls_check_does_not_say_verified_without_proxies(outputs: dict[str, Any]) -> None:
    # kwok runs no containers: no Linkerd proxy, no metrics, and no linkerd CLI on this machine.
    mtls = outputs["mtls"]["ignite"]
    assert (mtls["verified"], mtls["status"]) == (False, "cannot-run")
    assert outputs["mtlsVerified"] is False


def test_a_preview_right_after_the_up_has_nothing_to_change(
    project: Project, first_up: Result
) -> None:
    project.pulumi("preview", "--expect-no-changes")


def _renewal_period_hours() -> int:
    # The dev stack sets no linkerd.certificates: the model's defaults decide.
    defaults = CertificateSettings()
    return defaults.validity_hours - defaults.early_renewal_hours


def _next_renewal(now: datetime) -> datetime:
    """When the generation of the issuer and webhook certificates deployed `now` ends."""
    period = _renewal_period_hours()
    generation = int(now.timestamp() // 3600) // period
    return datetime.fromtimestamp((generation + 1) * period * 3600, UTC)


def test_a_preview_a_day_later_has_nothing_to_change(project: Project, first_up: Result) -> None:
    now = datetime.now(UTC)
    # A day later, or the hour before the certificates' renewal when that falls within the day
    # (one day in 305: the next test is that case).
    later = min(now + timedelta(days=1), _next_renewal(now) - timedelta(hours=1))
    project.pulumi("preview", "--expect-no-changes", env=program_clock(later))


def test_a_preview_past_the_renewal_time_replaces_the_issuer_and_webhook_certificates(
    project: Project, first_up: Result
) -> None:
    # Also the proof that the moved clock reaches the program: only it decides on renewal.
    renewal = _next_renewal(datetime.now(UTC))
    planned = project.planned(env=program_clock(renewal + timedelta(hours=1)))
    generation = int(renewal.timestamp() // 3600) // _renewal_period_hours()
    created = {name for name, op in planned.items() if op == "create"}
    deleted = {name for name, op in planned.items() if op == "delete"}
    renamed = {re.sub(r"-g[0-9]+$", "", name) for name in created}
    assert created and all(name.endswith(f"-g{generation}") for name in created), planned
    assert {re.sub(r"-g[0-9]+$", "", name) for name in deleted} == renamed, planned
    assert all(name.endswith(f"-g{generation - 1}") for name in deleted), planned
    assert any("issuer" in name for name in created), planned
    # The control plane gets the new issuer; the caches are left alone (the proxies fetch
    # certificates from the new issuer without a restart: only the anchor's rotation rolls them).
    assert planned["linkerd-control-plane"] == "update"
    assert not [name for name in planned if name.startswith(("ignite", "gridgain"))], planned


def test_the_policy_pack_passes_the_stack(project: Project, first_up: Result) -> None:
    result = project.pulumi("preview", "--policy-pack", str(POLICY_PACK))
    # The pack ran (the engine lists it with its version) and reported no violation.
    assert re.search(r"cachemesh@v[0-9.]+ \(local: ", result.output), result.output
    assert "[mandatory]" not in result.output and "[advisory]" not in result.output


def test_without_the_last_outputs_the_statefulset_itself_refuses_a_replacement(
    project: Project, cluster: Cluster, first_up: Result
) -> None:
    # As if the last `up` had failed before writing outputs: the program's own guard
    # (settings/immutable.py) then has no deployed cache to compare with, and what refuses the
    # replacement a podManagementPolicy change means is the StatefulSet's `protect`.
    before = project.pulumi("stack", "export").json()
    without_outputs = copy.deepcopy(before)
    [root] = [
        r for r in without_outputs["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack"
    ]
    root.pop("outputs", None)
    exported = project.directory / "without-outputs.json"
    exported.write_text(json.dumps(without_outputs))
    project.pulumi("stack", "import", "--file", str(exported))
    uid = cluster.get_json("statefulset", "ignite", "-n", "ignite")["metadata"]["uid"]
    project.set_config("caches[0].podManagementPolicy", "Parallel")
    try:
        result = project.up(check=False)
    finally:
        project.pulumi("config", "rm", "--path", "caches[0].podManagementPolicy")
        exported.write_text(json.dumps(before))
        project.pulumi("stack", "import", "--file", str(exported))
    assert result.returncode != 0
    assert "marked for protection" in result.output, result.output[-3000:]
    assert cluster.get_json("statefulset", "ignite", "-n", "ignite")["metadata"]["uid"] == uid


def test_a_plain_destroy_refuses_at_the_protected_statefulset_and_deletes_nothing(
    project: Project, cluster: Cluster, first_up: Result
) -> None:
    result = project.pulumi("destroy", "--yes", check=False)
    assert result.returncode != 0
    assert "cannot be deleted\nbecause it is protected" in result.output.replace("    ", "")
    assert cluster.exists("statefulset", "ignite", "ignite")
    assert cluster.exists("deployment", "linkerd-identity", "linkerd")


def test_the_documented_removal_empties_the_stack_and_keeps_the_gateway_crds(
    project: Project, cluster: Cluster, first_up: Result
) -> None:
    # docs/getting-started.md "Uninstalling", steps 1 to 5.
    project.set_config("caches[0].allowReplacement", "true")
    project.up()
    project.pulumi("destroy", "--exclude-protected", "--yes")
    project.pulumi("state", "unprotect", "--all", "--yes")
    project.pulumi("destroy", "--yes")
    resources = project.pulumi("stack", "export").json()["deployment"].get("resources") or []
    assert resources == []
    project.pulumi("stack", "rm", "--yes")
    assert not cluster.exists("statefulset", "ignite", "ignite")
    assert not cluster.exists("deployment", "linkerd-identity", "linkerd")
    assert cluster.exists("crd", "httproutes.gateway.networking.k8s.io")
