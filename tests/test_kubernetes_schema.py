"""Every Kubernetes object the program registers is valid against the Kubernetes 1.31 schema."""

from __future__ import annotations

import kubernetes_validate
import pytest
from harness import run_program
from manifests import FIXTURES

KUBERNETES_VERSION = "1.31.0"
LICENSE_XML = (FIXTURES / "gridgain-license.xml").read_text()

STACKS = {
    "default-ignite2": ({}, None),
    "gridgain8": (
        {"caches": [{"name": "ignite", "product": "gridgain8"}]},
        {"gridgainLicense": LICENSE_XML},
    ),
    # The readiness probe of GridGain 8.9.35+ (cmd=probe&kind=readiness), OnDelete, preStop.
    "gridgain8-readiness-probe": (
        {
            "caches": [
                {
                    "name": "ignite",
                    "product": "gridgain8",
                    "image": "gridgain/enterprise:8.9.35-openjdk17-slim",
                }
            ]
        },
        {"gridgainLicense": LICENSE_XML},
    ),
    "several-caches": (
        {
            "caches": [
                {
                    "name": "a",
                    "replicas": 3,
                    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                },
                {"name": "b", "namespace": "other", "product": "gridgain8"},
            ]
        },
        {"gridgainLicense": LICENSE_XML},
    ),
    "unmeshed": ({"linkerd": {"enabled": False}}, None),
    # Every scheduling knob and the downward-API node name (issue 22).
    "scheduling-knobs": (
        {
            "caches": [
                {
                    "name": "ignite",
                    "nodeSelector": {"node.kubernetes.io/pool": "caches"},
                    "tolerations": [
                        {"key": "dedicated", "value": "caches", "effect": "NoSchedule"},
                        {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
                    ],
                    "affinity": {
                        "nodeAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 10,
                                    "preference": {
                                        "matchExpressions": [
                                            {"key": "disk", "operator": "Gt", "values": ["100"]}
                                        ]
                                    },
                                }
                            ]
                        },
                        "podAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "labelSelector": {
                                        "matchExpressions": [{"key": "app", "operator": "Exists"}]
                                    },
                                    "topologyKey": "topology.kubernetes.io/zone",
                                    "namespaces": ["clients"],
                                }
                            ]
                        },
                    },
                    "priorityClassName": "cache-critical",
                    "imagePullSecrets": ["gridgain-registry"],
                    "serviceAccount": {"annotations": {"iam.gke.io/gcp-service-account": "x@y"}},
                }
            ]
        },
        None,
    ),
}


def _core_objects(config: dict, secrets: dict | None) -> list[dict]:
    """Objects of the core Kubernetes API (CRs of other APIs are checked against their CRDs)."""
    return [
        o
        for o in run_program(config, secrets=secrets).kubernetes_objects()
        if "." not in o["apiVersion"].split("/")[0]
        or o["apiVersion"].startswith(("apps/", "batch/", "policy/", "rbac.authorization.k8s.io/"))
    ]


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_every_registered_kubernetes_object_validates_strictly(stack: str) -> None:
    config, secrets = STACKS[stack]
    objects = _core_objects(config, secrets)
    assert objects, "the program registered no Kubernetes objects"
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_an_unknown_field() -> None:
    run = run_program()
    sts = run.one("kubernetes:apps/v1:StatefulSet", "ignite/ignite").kubernetes_object
    broken = {**sts, "spec": {**sts["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
