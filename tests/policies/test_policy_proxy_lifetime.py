"""proxy-outlives-node: a meshed cache workload's proxy must outlive the node's GRACEFUL stop."""

from __future__ import annotations

from typing import Any

import pytest
from cachemesh_policy.proxy_lifetime import proxy_outlives_node
from policy_helpers import MESHED, violations, workload

from tests.harness import run_program

GA = "config.linkerd.io/proxy-enable-native-sidecar"
BETA = "config.beta.linkerd.io/proxy-enable-native-sidecar"
WAIT = "config.alpha.linkerd.io/proxy-wait-before-exit-seconds"


def _statefulset(annotations: dict[str, str], grace: int | None = None) -> tuple[str, Any]:
    rtype, props = workload("StatefulSet", {**MESHED, **annotations})
    if grace is not None:
        props["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = grace
    return rtype, props


def test_a_native_sidecar_passes():
    assert violations(proxy_outlives_node, *_statefulset({GA: "true"})) == []


def test_a_wait_of_the_whole_grace_period_passes():
    assert violations(proxy_outlives_node, *_statefulset({WAIT: "600"}, grace=600)) == []


def test_a_cache_workload_that_does_not_say_is_flagged_with_both_fixes():
    [message] = violations(proxy_outlives_node, *_statefulset({}, grace=120))
    assert "StatefulSet ignite/ignite" in message
    assert "may take up to 120 s" in message
    assert f'["{GA}"] = "true"' in message
    assert f'["{WAIT}"] = "120"' in message


def test_a_cluster_whose_linkerd_defaults_to_native_sidecars_needs_no_annotation():
    config = {"nativeSidecarByDefault": True}
    assert violations(proxy_outlives_node, *_statefulset({}), config) == []


def test_a_wait_shorter_than_the_grace_period_is_flagged():
    [message] = violations(proxy_outlives_node, *_statefulset({WAIT: "10"}, grace=60))
    assert "gets SIGTERM 10 s into the pod's stop" in message


def test_the_grace_period_defaults_to_the_pod_apis_30_seconds():
    assert violations(proxy_outlives_node, *_statefulset({WAIT: "30"})) == []


def test_the_newest_annotation_decides_as_the_injector_reads_them():
    [message] = violations(proxy_outlives_node, *_statefulset({GA: "false", BETA: "true"}))
    assert f"{GA} is false" in message


def test_a_native_sidecar_with_a_wait_is_flagged():
    [message] = violations(proxy_outlives_node, *_statefulset({BETA: "true", WAIT: "60"}))
    assert "refuses to inject the pair" in message
    assert f'remove spec.template.metadata.annotations["{WAIT}"]' in message


def test_an_unmeshed_workload_is_not_this_rules_business():
    rtype, props = workload("StatefulSet", {})
    assert violations(proxy_outlives_node, rtype, props) == []


def test_a_workload_that_is_not_a_cache_is_not_this_rules_business():
    rtype, props = workload("Deployment", MESHED, ports=(9090,), image="nginx:1.27")
    assert violations(proxy_outlives_node, rtype, props) == []


def _program_statefulset(config: dict[str, Any]) -> tuple[str, Any]:
    run = run_program(config)
    [sts] = [r for r in run.resources if r.type == "kubernetes:apps/v1:StatefulSet"]
    return sts.type, sts.inputs


@pytest.mark.parametrize("native", [True, False], ids=["native-sidecar", "wait-before-exit"])
def test_the_programs_cache_workload_passes_in_either_mode(native):
    config = {"linkerd": {"version": "2026.4.4", "nativeSidecar": native}}
    assert violations(proxy_outlives_node, *_program_statefulset(config)) == []


def test_the_programs_cache_workload_without_the_annotations_is_flagged():
    rtype, props = _program_statefulset({"linkerd": {"version": "2026.4.4"}})
    del props["spec"]["template"]["metadata"]["annotations"][BETA]
    [message] = violations(proxy_outlives_node, rtype, props)
    assert "may take up to 60 s" in message
