"""The Linkerd proxy outlives the node's GRACEFUL stop: for every supported Linkerd version the
cache pods carry the annotation that version's injector reads (a native sidecar, or else a wait of
the whole grace period), and the rollout's stand-in stops the pod as the kubelet would."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from harness import ProgramRun, run_program
from test_rollout import FakeCluster, cluster, cluster_state  # noqa: F401  (fixture reuse)

from checks.rollout import GATE_POD_BACK
from settings import validate_settings
from settings.linkerd import LINKERD_CHARTS, proxy_lifetime_annotations

STS = "kubernetes:apps/v1:StatefulSet"
GA = "config.linkerd.io/proxy-enable-native-sidecar"
BETA = "config.beta.linkerd.io/proxy-enable-native-sidecar"
WAIT = "config.alpha.linkerd.io/proxy-wait-before-exit-seconds"
VERSIONS = sorted(LINKERD_CHARTS, key=lambda v: tuple(int(p) for p in v.split(".")))
# linkerd2 commit 009a25fa (first in edge-26.5.2) made config.linkerd.io/... the annotation the
# injector reads first; earlier tags read config.beta.linkerd.io/... first.
FIRST_GA = (2026, 5, 2)
# Pods Ready and the cluster rebalanced one listing / control.sh call after a restart.
FAST = {"readyAfterPolls": 1, "rebalanceAfterPolls": 1}


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def _annotations(version: str, native: bool = True, grace: int = 60) -> dict[str, str]:
    settings = validate_settings(
        {
            "linkerd": {"version": version, "nativeSidecar": native},
            "gatewayApi": {"version": LINKERD_CHARTS[version]},
        }
    )
    return proxy_lifetime_annotations(settings.linkerd, grace)


def _template(run: ProgramRun, name: str = "ignite/ignite") -> dict[str, Any]:
    return run.one(STS, name).kubernetes_object["spec"]["template"]


# --- what the pod template carries, per supported version ---------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_each_supported_version_gets_the_native_sidecar_annotation_its_injector_reads(version):
    key = GA if _version(version) >= FIRST_GA else BETA
    assert _annotations(version) == {key: "true"}


@pytest.mark.parametrize("version", VERSIONS)
def test_each_supported_version_falls_back_to_waiting_the_whole_grace_period(version):
    key = GA if _version(version) >= FIRST_GA else BETA
    assert _annotations(version, native=False, grace=90) == {key: "false", WAIT: "90"}


def test_the_cache_pod_template_keeps_the_proxy_as_a_native_sidecar():
    annotations = _template(run_program())["metadata"]["annotations"]
    assert annotations[GA] == "true"
    assert WAIT not in annotations


def test_the_fallback_waits_for_each_caches_own_grace_period():
    caches = [
        {"name": "orders", "namespace": "shop", "terminationGracePeriodSeconds": 300},
        {"name": "carts", "namespace": "shop", "terminationGracePeriodSeconds": 1800},
    ]
    run = run_program(
        {"caches": caches, "linkerd": {"version": "2026.4.4", "nativeSidecar": False}}
    )
    orders = _template(run, "shop/orders")["metadata"]["annotations"]
    carts = _template(run, "shop/carts")["metadata"]["annotations"]
    assert (orders[BETA], orders[WAIT]) == ("false", "300")
    assert (carts[BETA], carts[WAIT]) == ("false", "1800")


def test_unmeshed_caches_carry_no_proxy_lifetime_annotation():
    annotations = _template(run_program({"linkerd": {"enabled": False}}))["metadata"]["annotations"]
    assert not {GA, BETA, WAIT} & set(annotations)


# --- the rollout's stand-in stops the pod as the kubelet would ----------------------------------


@pytest.fixture
def stand_in(cluster: FakeCluster) -> FakeCluster:  # noqa: F811  (the rollout tests' stand-in)
    return cluster


def _simulated(
    annotations: dict[str, str],
    version: str,
    *,
    grace: int = 60,
    hand_over: int = 20,
    kubernetes: tuple[int, int] = (1, 31),
    **overrides: Any,
) -> dict[str, Any]:
    """A stand_in whose pods were injected by Linkerd `version` from a template with these
    annotations; each stopping node needs the mesh for `hand_over` seconds."""
    return cluster_state(
        podTemplate={"annotations": annotations, "terminationGracePeriodSeconds": grace},
        linkerdVersion=version,
        kubernetesVersion=list(kubernetes),
        handOverSeconds=hand_over,
        **overrides,
    )


def _delete_pod(stand_in: FakeCluster, pod: str = "ignite-2") -> dict[str, Any]:
    subprocess.run(
        ["kubectl", "-n", "ignite", "delete", "pod", pod], check=True, capture_output=True
    )
    return stand_in.state["evictions"][-1]


@pytest.mark.parametrize("native", [True, False], ids=["native-sidecar", "wait-before-exit"])
@pytest.mark.parametrize("version", VERSIONS)
def test_each_supported_version_keeps_the_proxy_up_for_the_hand_over(stand_in, version, native):
    stand_in.load(_simulated(_annotations(version, native=native), version))
    stop = _delete_pod(stand_in)
    assert stop["proxy"] == ("native-sidecar" if native else "sidecar")
    assert stop["handOver"] == "completed", stop
    assert stop["proxyStopsAt"] >= stop["handOverSeconds"]


def test_a_node_whose_proxy_stops_first_fails_its_hand_over(stand_in):
    # A template without the annotations, on a version whose injector defaults to a plain
    # sidecar: the kubelet sends the proxy SIGTERM with the node's.
    stand_in.load(_simulated({}, "2026.4.4"))
    stop = _delete_pod(stand_in)
    assert (stop["proxy"], stop["proxyStopsAt"]) == ("sidecar", 0)
    assert stop["handOver"] == "failed"


def test_a_wait_shorter_than_the_hand_over_fails_it(stand_in):
    stand_in.load(_simulated({BETA: "false", WAIT: "5"}, "2026.4.4", hand_over=20))
    assert _delete_pod(stand_in)["handOver"] == "failed"


def test_a_version_that_defaults_to_native_sidecars_keeps_an_unannotated_proxy_up(stand_in):
    stand_in.load(_simulated({}, "2026.8.1"))
    stop = _delete_pod(stand_in)
    assert (stop["proxy"], stop["handOver"]) == ("native-sidecar", "completed")


def _rollout_hand_overs(stand_in: FakeCluster, state: dict[str, Any]) -> list[str]:
    """Run a whole rollout of two pods; the hand-over of each pod it stopped."""
    stand_in.load(state)
    result = stand_in.run(replicas=2)
    assert result.rc == 0, result.stderr
    return [e["handOver"] for e in stand_in.state["evictions"]]


def test_a_rollout_with_native_sidecars_hands_over_completely(stand_in):
    state = _simulated(_annotations("2026.8.1"), "2026.8.1", replicas=2, **FAST)
    assert _rollout_hand_overs(stand_in, state) == ["completed"] * 2


def test_a_rollout_with_the_wait_fallback_hands_over_completely(stand_in):
    state = _simulated(_annotations("2026.4.4", native=False), "2026.4.4", replicas=2, **FAST)
    assert _rollout_hand_overs(stand_in, state) == ["completed"] * 2


def test_native_sidecars_on_a_cluster_without_sidecar_containers_never_start_the_pod(stand_in):
    # Kubernetes 1.28 drops the proxy's restartPolicy: an init container that never exits.
    state = _simulated(_annotations("2026.4.4"), "2026.4.4", kubernetes=(1, 28), replicas=2)
    stand_in.load(state)
    result = stand_in.run(timeout="1", replicas=2)
    assert (result.rc, result.report["failedGate"]) == (1, GATE_POD_BACK)
    assert stand_in.evicted() == ["ignite-1"]
    assert stand_in.state["evictions"][0]["proxy"] == "init-container-never-exits"


def test_the_wait_fallback_runs_on_a_cluster_without_sidecar_containers(stand_in):
    version = "2026.4.4"
    state = _simulated(
        _annotations(version, native=False), version, kubernetes=(1, 28), replicas=2, **FAST
    )
    assert _rollout_hand_overs(stand_in, state) == ["completed"] * 2


def test_both_annotations_leave_the_pod_without_a_proxy_before_edge_26_5_2(stand_in):
    # The template `fail`s, the webhook errs, and webhookFailurePolicy: Ignore admits the pod
    # unmeshed: why the program never writes both.
    stand_in.load(_simulated({BETA: "true", WAIT: "60"}, "2026.4.4"))
    stop = _delete_pod(stand_in)
    assert (stop["proxy"], stop["handOver"]) == ("none", "failed")
