"""Same verdicts as Kyverno's Linkerd policies on the scenarios their own tests use, with the
pack's default configuration (no policy config at all).

Each Kyverno policy maps onto one or more cachemesh policies
(docs/how-it-works/policy-rules.md#kyverno-mapping); a resource
"fails" when any of them reports it. The cases are cachemesh's own re-statement of the Kyverno
library's test cases, in kyverno_cases.py.
"""

from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from cachemesh_policy.evaluate import evaluate, make_resource
from cachemesh_policy.rules import add_linkerd_mesh_injection, add_linkerd_policy_annotation
from cachemesh_policy.workloads import name_of, resource_type_for
from kyverno_cases import CONTEXT, MUTATIONS, UPSTREAM_CASE_COUNTS, VALIDATIONS
from policy_helpers import remediated
from pulumi_policy import PolicyResource

MAPPING: dict[str, list[str]] = {
    "prevent-linkerd-pod-injection-override": [
        "no-injection-override",
        "no-injection-override-elsewhere",
        "cache-workloads-meshed",
    ],
    "prevent-linkerd-port-skipping": ["no-port-skipping", "no-port-skipping-other-ports"],
    "require-linkerd-mesh-injection": ["require-linkerd-mesh-injection"],
    "require-linkerd-server": ["require-linkerd-server"],
    "check-linkerd-authorizationpolicy": ["check-linkerd-authorizationpolicy"],
}


def _resources(docs: Iterable[Mapping[str, Any]]) -> list[PolicyResource]:
    resources = []
    for doc in docs:
        rtype = resource_type_for(doc["apiVersion"], doc["kind"])
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        resources.append(make_resource(rtype, doc, name))
    return resources


def _stack(kyverno_policy: str) -> list[PolicyResource]:
    cases = [case.manifest for case in VALIDATIONS[kyverno_policy]]
    return _resources([*CONTEXT.get(kyverno_policy, []), *cases])


def _failing(kyverno_policy: str, resources: list[PolicyResource]) -> set[str]:
    """Names of resources that any mapped cachemesh policy reports."""
    ours = set(MAPPING[kyverno_policy])
    by_urn = {r.urn: r for r in resources}
    found = evaluate(resources)
    return {name_of(by_urn[v.urn].props, "") for v in found if v.policy in ours and v.urn in by_urn}


def _expected(kyverno_policy: str) -> tuple[set[str], set[str]]:
    fail, passed = set(), set()
    for case in VALIDATIONS[kyverno_policy]:
        (fail if case.verdict == "fail" else passed).add(case.name)
    return fail, passed


def test_cases_cover_every_upstream_case() -> None:
    for policy, upstream in UPSTREAM_CASE_COUNTS.items():
        cases = VALIDATIONS.get(policy) or MUTATIONS[policy]
        assert len(cases) >= upstream, policy
    for policy, cases in VALIDATIONS.items():
        names = [case.name for case in cases]
        assert len(names) == len(set(names)), policy
        assert {case.verdict for case in cases} == {"pass", "fail"}, policy


@pytest.mark.parametrize(
    "kyverno_policy",
    [
        "prevent-linkerd-pod-injection-override",
        "prevent-linkerd-port-skipping",
        "require-linkerd-mesh-injection",
    ],
)
def test_kyverno_cli_test_verdicts_match(kyverno_policy: str) -> None:
    expected_fail, expected_pass = _expected(kyverno_policy)
    failing = _failing(kyverno_policy, _stack(kyverno_policy))
    assert failing == expected_fail
    assert not failing & expected_pass


def test_require_linkerd_server_rejects_the_bad_and_admits_the_good() -> None:
    policy = "require-linkerd-server"
    failing = _failing(policy, _stack(policy))
    assert failing == {
        "deploy-unserved-port-on-second",
        "deploy-unserved-port-on-first",
        "svc-unserved",
    }
    assert failing == _expected(policy)[0]


def test_require_linkerd_server_applies_in_a_stack_without_any_server() -> None:
    policy = "require-linkerd-server"
    cases = [case.manifest for case in VALIDATIONS[policy]]
    failing = _failing(policy, _resources(cases))
    # With no Server at all, every Deployment with ports and every Service is refused.
    assert failing == {
        "deploy-served-port-on-second",
        "deploy-served-port-on-first",
        "svc-served",
        "deploy-unserved-port-on-second",
        "deploy-unserved-port-on-first",
        "svc-unserved",
    }


def test_check_linkerd_authorizationpolicy_rejects_the_bad_and_admits_the_good() -> None:
    policy = "check-linkerd-authorizationpolicy"
    failing = _failing(policy, _stack(policy))
    assert failing == {"authz-to-missing-route", "authz-to-missing-server", "authz-to-namespace"}
    assert failing == _expected(policy)[0]


@pytest.mark.parametrize(
    ("kyverno_policy", "policy"),
    [
        ("add-linkerd-mesh-injection", add_linkerd_mesh_injection),
        ("add-linkerd-policy-annotation", add_linkerd_policy_annotation),
    ],
)
def test_kyverno_mutations_give_the_asserted_namespace(kyverno_policy: str, policy: Any) -> None:
    for mutation in MUTATIONS[kyverno_policy]:
        before = mutation.before
        result = remediated(policy, "kubernetes:core/v1:Namespace", before) or before
        assert result["metadata"]["annotations"] == mutation.after_annotations, mutation.label
