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


# --- issue 19 §0b: the guard cannot be bypassed -----------------------------------------------


def test_a_same_named_cache_elsewhere_does_not_hide_the_deployed_one():
    # Adding `orders` in namespace `cart` turns the output key `orders` into `shop/orders`.
    previous = _deployed()
    config = {
        "caches": [
            {**ORDERS, "podManagementPolicy": "Parallel"},
            {"name": "orders", "namespace": "cart"},
        ]
    }
    with pytest.raises(Exception, match=r"caches\[0\]\.podManagementPolicy: cache shop/orders"):
        run_program(config, previous_outputs=previous)


def test_the_deployed_cache_is_found_by_namespace_and_name_under_any_key():
    caches = validate_settings({"caches": [{**ORDERS, "podManagementPolicy": "Parallel"}]}).caches
    previous = {
        "shop/orders": {
            "namespace": "shop",
            "statefulset": "orders",
            "podManagementPolicy": "OrderedReady",
        }
    }
    (problem,) = replacement_problems(caches, previous)
    assert problem.startswith("cachemesh:caches[0].podManagementPolicy: cache shop/orders")


def test_the_statefulset_itself_refuses_replacement_and_deletion():
    # Pulumi refuses to replace a resource protected in the program and in the state, and to
    # delete a protected one (pulumi/pulumi pkg/resource/deploy/step_generator.go,
    # `new.Protect && old.Protect`; step.go DeleteStep.Apply): it holds even when the last `up`
    # failed before it wrote the outputs this check reads.
    run = run_program({"caches": [ORDERS]}, previous_outputs={})
    assert run.one(STATEFULSET, "shop/orders").options["protect"] is True


def test_allow_replacement_lifts_the_protection_and_the_check_with_a_warning():
    previous = _deployed()
    config = {"caches": [{**ORDERS, "podManagementPolicy": "Parallel", "allowReplacement": True}]}
    run = run_program(config, previous_outputs=previous)
    statefulset = run.one(STATEFULSET, "shop/orders")
    assert statefulset.options["protect"] is False
    assert statefulset.inputs["spec"]["podManagementPolicy"] == "Parallel"
    assert any("allowReplacement" in w and "every pod at once" in w for w in run.warnings())


def test_the_refusal_names_the_way_to_replace_on_purpose():
    previous = _deployed()
    config = {"caches": [{**ORDERS, "podManagementPolicy": "Parallel"}]}
    with pytest.raises(Exception) as info:
        run_program(config, previous_outputs=previous)
    assert "pulumi config set --path 'caches[0].allowReplacement' true" in str(info.value)
