"""Evaluate every resource policy of the cachemesh pack over 10,000 generated workloads.

    .venv/bin/python bench/policy_bench.py [--count N] [--seed S]

Resources are the seven pod-template kinds, mixed, about a third of them carrying a planted
mistake (missing/short opaque-ports, inject on the controller, skipped cache port, injection
opt-out, garbage annotation). Prints resources per second for the resource policies (what the
engine calls once per resource) and the time of the stack policies over the whole stack.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policies"))

from cachemesh_policy.evaluate import evaluate, make_resource
from cachemesh_policy.pack import POLICIES
from pulumi_policy import (
    PolicyResource,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

KINDS: dict[str, str] = {
    "Pod": "kubernetes:core/v1:Pod",
    "Deployment": "kubernetes:apps/v1:Deployment",
    "StatefulSet": "kubernetes:apps/v1:StatefulSet",
    "DaemonSet": "kubernetes:apps/v1:DaemonSet",
    "ReplicaSet": "kubernetes:apps/v1:ReplicaSet",
    "Job": "kubernetes:batch/v1:Job",
    "CronJob": "kubernetes:batch/v1:CronJob",
}
IMAGES = ["apacheignite/ignite:2.16.0", "gridgain/enterprise:8.9.33-openjdk17-slim", "nginx:1.27"]
MISTAKES = [
    "none",
    "no-opaque",
    "short-opaque",
    "inject-on-controller",
    "skip",
    "disabled",
    "garbage",
]


def generate(index: int, rng: random.Random) -> PolicyResource:
    kind = rng.choice(list(KINDS))
    image = rng.choice(IMAGES)
    mistake = "none" if rng.random() < 0.66 else rng.choice(MISTAKES[1:])
    annotations: dict[str, str] = {
        "linkerd.io/inject": "enabled",
        "config.linkerd.io/opaque-ports": "10800,47100,47500",
    }
    own: dict[str, str] = {}
    if mistake == "no-opaque":
        del annotations["config.linkerd.io/opaque-ports"]
    elif mistake == "short-opaque":
        annotations["config.linkerd.io/opaque-ports"] = "10800, 47100"
    elif mistake == "inject-on-controller":
        own["linkerd.io/inject"] = annotations.pop("linkerd.io/inject")
    elif mistake == "skip":
        annotations["config.linkerd.io/skip-inbound-ports"] = "47000-47200"
    elif mistake == "disabled":
        annotations["linkerd.io/inject"] = "disabled"
    elif mistake == "garbage":
        annotations["config.linkerd.io/opaque-ports"] = "10800;47100,tcp_disc"
    ports = [{"containerPort": p} for p in (10800, 11211, 47100, 47500, 8080)]
    template: dict[str, Any] = {
        "metadata": {"labels": {"app": f"w{index}"}, "annotations": annotations},
        "spec": {"containers": [{"name": "c", "image": image, "ports": ports}]},
    }
    namespace = f"ns{index % 50}"
    metadata: dict[str, Any] = {"name": f"w{index}", "namespace": namespace}
    if own:
        metadata["annotations"] = own
    props: dict[str, Any] = {"metadata": metadata}
    if kind == "Pod":
        props["metadata"] = {**metadata, **template["metadata"]}
        if own:
            props["metadata"]["annotations"] = {**annotations, **own}
        props["spec"] = template["spec"]
    elif kind == "CronJob":
        props["spec"] = {"jobTemplate": {"spec": {"template": template}}}
    else:
        props["spec"] = {"template": template}
    return make_resource(KINDS[kind], props, f"{namespace}/w{index}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=6)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    resources = [generate(i, rng) for i in range(options.count)]
    resource_policies = [
        p for p in POLICIES if isinstance(p, ResourceValidationPolicy) and p.has_validation()
    ]
    stack_policies = [p for p in POLICIES if isinstance(p, StackValidationPolicy)]

    start = time.perf_counter()
    found = evaluate(resources, policies=resource_policies)
    elapsed = time.perf_counter() - start
    rate = len(resources) / elapsed
    print(
        f"resource policies: {len(resource_policies)} policies x {len(resources)} resources "
        f"in {elapsed:.3f}s -> {rate:,.0f} resources/s"
    )
    start = time.perf_counter()
    stack_found = evaluate(resources, policies=stack_policies)
    stack_elapsed = time.perf_counter() - start
    print(
        f"stack policies: {len(stack_policies)} policies over the {len(resources)}-resource stack "
        f"in {stack_elapsed:.3f}s"
    )
    counts = Counter(f"{v.policy} ({v.level})" for v in [*found, *stack_found])
    print("violations:", ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
