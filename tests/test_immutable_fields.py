"""A change Kubernetes cannot make to a running cache's StatefulSet is refused before anything is
registered, judged against the last deployment's `caches` output (settings/immutable.py)."""

from __future__ import annotations

from typing import Any

import pytest
from harness import run_program

from settings import validate_settings
from settings.immutable import replacement_problems

ORDERS = {"name": "orders", "namespace": "shop", "replicas": 3}
STATEFULSET = "kubernetes:apps/v1:StatefulSet"


def _deployed(**cache: Any) -> dict[str, Any]:
    """The stack outputs of a deployment of ORDERS (with `cache` overriding its settings)."""
    return run_program({"caches": [{**ORDERS, **cache}]}).outputs


def test_changing_pod_management_policy_of_a_deployed_cache_is_refused_with_nothing_registered():
    previous = _deployed()
    with pytest.raises(Exception, match=r"caches\[0\]\.podManagementPolicy") as info:
        run_program(
            {"caches": [{**ORDERS, "podManagementPolicy": "Parallel"}]}, previous_outputs=previous
        )
    assert info.value.registered == []  # type: ignore[attr-defined]
    message = str(info.value)
    assert "shop/orders runs with 'OrderedReady'" in message
    assert "pulumi config set --path 'caches[0].podManagementPolicy' OrderedReady" in message


def test_the_same_pod_management_policy_deploys_again():
    previous = _deployed(podManagementPolicy="Parallel")
    run = run_program(
        {"caches": [{**ORDERS, "podManagementPolicy": "Parallel"}]}, previous_outputs=previous
    )
    spec = run.one(STATEFULSET, "shop/orders").inputs["spec"]
    assert spec["podManagementPolicy"] == "Parallel"


def test_a_new_cache_may_choose_any_pod_management_policy():
    previous = _deployed()
    config = {
        "caches": [
            ORDERS,
            {"name": "carts", "namespace": "shop", "podManagementPolicy": "Parallel"},
        ]
    }
    run = run_program(config, previous_outputs=previous)
    assert run.one(STATEFULSET, "shop/carts").inputs["spec"]["podManagementPolicy"] == "Parallel"


def test_the_first_deployment_accepts_any_pod_management_policy():
    run = run_program({"caches": [{**ORDERS, "podManagementPolicy": "Parallel"}]})
    assert run.one(STATEFULSET, "shop/orders").inputs["spec"]["podManagementPolicy"] == "Parallel"


def test_a_cache_moved_to_another_namespace_is_a_new_cache_to_this_check():
    # Moving is deleting one cache and creating another (other resource names); the guard is
    # about one StatefulSet changing in place.
    caches = validate_settings(
        {"caches": [{**ORDERS, "namespace": "store", "podManagementPolicy": "Parallel"}]}
    ).caches
    previous = {"orders": {"namespace": "shop", "podManagementPolicy": "OrderedReady"}}
    assert replacement_problems(caches, previous) == []


def test_a_deployment_that_did_not_record_the_policy_is_not_judged():
    # Stacks deployed before the output carried podManagementPolicy.
    caches = validate_settings({"caches": [{**ORDERS, "podManagementPolicy": "Parallel"}]}).caches
    assert replacement_problems(caches, {"orders": {"namespace": "shop"}}) == []
