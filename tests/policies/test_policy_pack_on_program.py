"""The whole pack over every resource the real program registers (mock engine, tests/harness.py),
for Ignite 2 and GridGain 8: clean as generated, and one mandatory violation per planted mistake."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from cachemesh_policy.evaluate import Violation, evaluate, make_resource
from policy_helpers import OPAQUE, REFERENCE
from pulumi_policy import PolicyResource

from tests.harness import ProgramRun, run_program

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
INJECT = "linkerd.io/inject"
CONFIGS: dict[str, tuple[dict[str, Any], dict[str, str] | None]] = {
    "ignite2": ({}, None),
    "gridgain8": (
        {"caches": [{"name": "ignite", "product": "gridgain8"}]},
        {"gridgainLicense": (REFERENCE / "gridgain-license.xml").read_text()},
    ),
}
_RUNS: dict[str, ProgramRun] = {}


def program(product: str) -> ProgramRun:
    if product not in _RUNS:
        config, secrets = CONFIGS[product]
        _RUNS[product] = run_program(config, secrets=secrets)
    return _RUNS[product]


def policy_resources(
    run: ProgramRun, mutate: Callable[[str, dict[str, Any]], None] | None = None
) -> list[PolicyResource]:
    """The run's resources as the engine hands them to stack policies (parents, dependencies)."""
    by_urn: dict[str, PolicyResource] = {}
    for record in run.resources:
        inputs = copy.deepcopy(record.inputs)
        if mutate is not None:
            mutate(record.type, inputs)
        by_urn[record.urn] = make_resource(record.type, inputs, record.name, record.urn)
    for record in run.resources:
        resource = by_urn[record.urn]
        resource.parent = by_urn.get(record.parent)
        resource.dependencies = [by_urn[d] for d in record.dependencies if d in by_urn]
    return list(by_urn.values())


def mandatory(found: list[Violation]) -> list[str]:
    return sorted(v.policy for v in found if v.level == "mandatory")


def template_annotations(inputs: dict[str, Any]) -> dict[str, Any]:
    return inputs["spec"]["template"]["metadata"]["annotations"]


def drop_opaque(rtype: str, inputs: dict[str, Any]) -> None:
    if rtype == STATEFULSET:
        del template_annotations(inputs)[OPAQUE]


def drop_a_port(rtype: str, inputs: dict[str, Any]) -> None:
    if rtype == STATEFULSET:
        template_annotations(inputs)[OPAQUE] = "10800,47100"


def move_inject_to_statefulset(rtype: str, inputs: dict[str, Any]) -> None:
    if rtype == STATEFULSET:
        value = template_annotations(inputs).pop(INJECT)
        inputs["metadata"].setdefault("annotations", {})[INJECT] = value


def skip_a_cache_port(rtype: str, inputs: dict[str, Any]) -> None:
    if rtype == STATEFULSET:
        template_annotations(inputs)["config.linkerd.io/skip-inbound-ports"] = "47100"


products = pytest.mark.parametrize("product", list(CONFIGS))


@products
def test_pack_finds_nothing_wrong_with_the_program(product: str) -> None:
    run = program(product)
    found = evaluate(policy_resources(run))
    assert found == [], [v.message for v in found]


@products
def test_cache_not_ordered_after_linkerd_gets_the_ordering_advisory(product: str) -> None:
    resources = policy_resources(program(product))
    [sts] = [r for r in resources if r.resource_type == STATEFULSET]
    node: PolicyResource | None = sts
    while node is not None:  # forget every depends_on of the StatefulSet and its components
        node.dependencies = []
        node = node.parent
    found = evaluate(resources)
    assert [(v.policy, v.level) for v in found] == [("linkerd-control-plane-first", "advisory")]
    assert "does not depend on the Linkerd control plane" in found[0].message


def test_pack_finds_nothing_wrong_with_the_program_on_an_existing_linkerd(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from existing_linkerd_testing import DEPLOYMENT, RUN, KubectlCluster, linkerd_objects

    from tests import harness

    cluster = KubectlCluster(linkerd_objects())
    monkeypatch.setitem(harness.CALL_FAKERS, RUN, cluster)
    monkeypatch.setitem(harness.READ_FAKERS, DEPLOYMENT, cluster.read)
    run = run_program({"linkerd": {"controlPlane": "existing"}})
    assert not [r for r in run.resources if r.type.startswith("kubernetes:helm.sh")]
    found = evaluate(policy_resources(run))
    assert found == [], [v.message for v in found]


@products
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (drop_opaque, "opaque-ports"),
        (drop_a_port, "opaque-ports"),
        (move_inject_to_statefulset, "inject-on-pod-template"),
        (skip_a_cache_port, "no-port-skipping"),
    ],
    ids=["opaque-ports-removed", "port-dropped", "inject-on-statefulset", "skip-port"],
)
def test_each_planted_mistake_gives_its_mandatory_violation(
    product: str, mutate: Callable[[str, dict[str, Any]], None], expected: str
) -> None:
    found = evaluate(policy_resources(program(product), mutate))
    assert mandatory(found) == [expected], [v.message for v in found]
    [violation] = [v for v in found if v.policy == expected]
    assert "StatefulSet ignite/ignite" in violation.message


# --- Linkerd authorization (issue 7): the program's Server/AuthorizationPolicy objects ----------

SERVER = "kubernetes:policy.linkerd.io/v1beta3:Server"
AUTHORIZATION_POLICY = "kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy"


def _program_with(product: str, extra: dict[str, Any]) -> ProgramRun:
    key = f"{product}:{sorted(extra.items())}"
    if key not in _RUNS:
        config, secrets = CONFIGS[product]
        caches = config.get("caches", [{"name": "ignite"}])
        _RUNS[key] = run_program(
            {**config, "caches": [{**c, **extra} for c in caches]}, secrets=secrets
        )
    return _RUNS[key]


def server_of_port(port: int, change: Callable[[dict[str, Any]], None]) -> Callable[..., None]:
    def mutate(rtype: str, inputs: dict[str, Any]) -> None:
        if rtype == SERVER and inputs["spec"]["port"] == port:
            change(inputs)

    return mutate


def retarget_policy_of_port(port: int) -> Callable[..., None]:
    suffix = {10800: "thinclient", 47100: "communication", 47500: "discovery", 8080: "rest"}[port]

    def mutate(rtype: str, inputs: dict[str, Any]) -> None:
        if rtype == AUTHORIZATION_POLICY and inputs["metadata"]["name"].endswith(f"-{suffix}"):
            inputs["spec"]["targetRef"]["name"] = "nothing"

    return mutate


@products
def test_the_program_covers_every_cache_port_with_a_server_and_its_policy(product: str) -> None:
    resources = policy_resources(program(product))
    servers = {r.props["spec"]["port"] for r in resources if r.resource_type == SERVER}
    assert {10800, 47100, 47500, 8080} <= servers
    found = evaluate(resources)
    assert not [v for v in found if v.policy.startswith(("cache-ports", "server-opaque"))]


@products
@pytest.mark.parametrize(
    ("mutate", "expected", "where"),
    [
        (server_of_port(47100, lambda i: i["spec"].pop("proxyProtocol")), "server-opaque-protocol",
         "covers cache port 47100"),
        (server_of_port(47500, lambda i: i["spec"].update(port=47501)), "cache-ports-authorized",
         "cache port 47500 is not covered"),
        (server_of_port(10800, lambda i: i["spec"]["podSelector"]["matchLabels"].update(type="x")),
         "cache-ports-authorized", "cache port 10800 is not covered"),
        (retarget_policy_of_port(47100), "cache-ports-authorized",
         "no AuthorizationPolicy targets it"),
    ],
    ids=["server-not-opaque", "server-wrong-port", "server-wrong-selector", "policy-retargeted"],
)  # fmt: skip
def test_broken_program_authorization_is_mandatory(
    product: str, mutate: Callable[[str, dict[str, Any]], None], expected: str, where: str
) -> None:
    found = evaluate(policy_resources(program(product), mutate))
    assert mandatory(found) == [expected], [v.message for v in found]
    [violation] = [v for v in found if v.policy == expected]
    assert where in violation.message and "ignite/ignite" in violation.message


@products
def test_permissive_program_gets_only_the_advisory(product: str) -> None:
    run = _program_with(product, {"authorization": "permissive"})
    found = evaluate(policy_resources(run))
    assert mandatory(found) == [], [v.message for v in found]
    ports = sorted(
        int(v.message.split("cache port ")[1].split()[0])
        for v in found
        if v.policy == "cache-ports-authorized-permissive"
    )
    assert ports == [8080, 10800, 47100, 47500]
    assert all(v.level == "advisory" for v in found)
