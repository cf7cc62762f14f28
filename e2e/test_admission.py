"""The admission policies on the real kube-apiserver (v1.31): `pulumi up` with
`cachemesh:admission.enabled` creates them, the API server type-checks their CEL, and then judges
objects applied with kubectl outside Pulumi: the guide's mistakes are denied with our message,
a correct workload and the program's own objects are admitted.

Requests are made with `--dry-run=server`: admission runs in full (validating admission policies
included), nothing is stored, so each test leaves the cluster as it found it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.cluster import Cluster
from e2e.pulumi_cli import Project, Result

NAMESPACE = "ignite"
POLICIES = (
    "cachemesh-opaque-ports",
    "cachemesh-inject-on-pod-template",
    "cachemesh-no-port-skipping",
    "cachemesh-cache-server-unauthenticated",
)
OPAQUE = "config.linkerd.io/opaque-ports"
# The API server starts enforcing a new policy once its informer has it (a second or so).
ENFORCED_WITHIN_SECONDS = 30


@pytest.fixture(scope="module")
def project(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = Project(tmp_path_factory.mktemp("admission"), cluster)
    project.init({"cachemesh:admission": {"enabled": True}})
    yield project


@pytest.fixture(scope="module")
def up(project: Project) -> Result:
    return project.up()


def statefulset(annotations: dict[str, str], name: str = "rogue") -> dict[str, Any]:
    """A cache StatefulSet as someone might apply it by hand: the guide's image and ports."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {
                    "containers": [
                        {
                            "name": "node",
                            "image": "apacheignite/ignite:2.16.0",
                            "ports": [{"containerPort": p} for p in (10800, 47100, 47500)],
                        }
                    ]
                },
            },
        },
    }


def apply(cluster: Cluster, obj: dict[str, Any]) -> Any:
    return cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=json.dumps(obj), check=False
    )


def denied(cluster: Cluster, obj: dict[str, Any]) -> str:
    """The API server's refusal of `obj`, waiting for the policies to be enforced."""
    deadline = time.monotonic() + ENFORCED_WITHIN_SECONDS
    while True:
        result = apply(cluster, obj)
        if result.returncode != 0:
            return str(result.stderr)
        assert time.monotonic() < deadline, f"admitted: {result.stdout}"
        time.sleep(1)


def test_up_with_admission_policies_succeeds(up: Result) -> None:
    assert up.returncode == 0


def test_the_api_server_type_checks_every_policy_without_a_warning(
    cluster: Cluster, up: Result
) -> None:
    deadline = time.monotonic() + ENFORCED_WITHIN_SECONDS
    while True:
        policies = {
            p["metadata"]["name"]: p
            for p in cluster.get_json("validatingadmissionpolicies")["items"]
        }
        checked = {
            name: p.get("status", {}).get("typeChecking")
            for name, p in policies.items()
            if p.get("status", {}).get("observedGeneration")
        }
        if set(checked) >= set(POLICIES) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(checked) >= set(POLICIES), policies.keys()
    assert {name: (c or {}).get("expressionWarnings") for name, c in checked.items()} == {
        name: None for name in checked
    }


def test_a_cache_statefulset_without_opaque_ports_is_denied_with_the_fix(
    cluster: Cluster, up: Result
) -> None:
    message = denied(cluster, statefulset({"linkerd.io/inject": "enabled"}))
    assert "cachemesh-opaque-ports" in message
    assert f'spec.template.metadata.annotations["{OPAQUE}"]' in message
    assert "Fix: list 10800,47100,47500" in message


def test_a_cache_pod_with_a_port_missing_is_denied(cluster: Cluster, up: Result) -> None:
    sts = statefulset({"linkerd.io/inject": "enabled", OPAQUE: "10800,47100"})
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "rogue-0",
            "namespace": NAMESPACE,
            **sts["spec"]["template"]["metadata"],
        },
        "spec": sts["spec"]["template"]["spec"],
    }
    message = denied(cluster, pod)
    assert "does not list cache ports 47500" in message


def test_injection_on_the_workload_instead_of_its_template_is_denied(
    cluster: Cluster, up: Result
) -> None:
    sts = statefulset({OPAQUE: "10800,47100,47500"})
    sts["metadata"]["annotations"] = {"linkerd.io/inject": "enabled"}
    message = denied(cluster, sts)
    assert "cachemesh-inject-on-pod-template" in message


def test_a_skip_annotation_on_the_namespace_is_denied(cluster: Cluster, up: Result) -> None:
    namespace = cluster.get_json("namespace", NAMESPACE)
    namespace["metadata"].setdefault("annotations", {})["config.linkerd.io/skip-inbound-ports"] = (
        "47000-48000"
    )
    message = denied(cluster, namespace)
    assert "skips cache ports 47100,47500" in message


def test_an_authorization_policy_without_a_mesh_identity_is_denied(
    cluster: Cluster, up: Result
) -> None:
    policy = {
        "apiVersion": "policy.linkerd.io/v1alpha1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "open", "namespace": NAMESPACE},
        "spec": {
            "targetRef": {
                "group": "policy.linkerd.io",
                "kind": "Server",
                "name": "ignite-discovery",
            },
            "requiredAuthenticationRefs": [
                {"group": "policy.linkerd.io", "kind": "NetworkAuthentication", "name": "all"}
            ],
        },
    }
    message = denied(cluster, policy)
    assert "cachemesh-cache-server-unauthenticated" in message


def test_a_correct_cache_statefulset_is_admitted(cluster: Cluster, up: Result) -> None:
    denied(cluster, statefulset({"linkerd.io/inject": "enabled"}))  # the policies are enforced
    good = statefulset({"linkerd.io/inject": "enabled", OPAQUE: "10800,47100,47500"})
    result = apply(cluster, good)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("kind", "name"),
    [("statefulset", "ignite"), ("pod", "ignite-0"), ("namespace", NAMESPACE)],
)
def test_the_programs_own_objects_are_admitted(
    cluster: Cluster, up: Result, kind: str, name: str
) -> None:
    denied(cluster, statefulset({"linkerd.io/inject": "enabled"}))  # the policies are enforced
    args = ("-n", NAMESPACE) if kind != "namespace" else ()
    live = cluster.get_json(kind, name, *args)
    result = cluster.kubectl(
        "replace", "--dry-run=server", "-f", "-", input=json.dumps(live), check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_control_planes_namespace_is_never_judged(cluster: Cluster, up: Result) -> None:
    denied(cluster, statefulset({"linkerd.io/inject": "enabled"}))  # the policies are enforced
    rogue = statefulset({"linkerd.io/inject": "enabled"})
    rogue["metadata"]["namespace"] = "linkerd"
    result = apply(cluster, rogue)
    assert result.returncode == 0, result.stderr
