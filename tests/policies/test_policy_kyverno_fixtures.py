"""Same verdicts as Kyverno's Linkerd policies on the resources their own tests use.

Each Kyverno policy maps onto one or more cachemesh policies (docs/policies.md); a resource
"fails" when any of them reports it. The resources are in fixtures/kyverno (see SOURCE.md).
"""

from pathlib import Path
from typing import Any

import pytest
import yaml
from cachemesh_policy.evaluate import evaluate, make_resource
from cachemesh_policy.rules import add_linkerd_mesh_injection, add_linkerd_policy_annotation
from cachemesh_policy.workloads import name_of, resource_type_for
from policy_helpers import KYVERNO, load_manifests, remediated
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
# Kyverno's require-linkerd-mesh-injection applies to every Namespace; ours needs that scope set.
CONFIG: dict[str, dict[str, Any]] = {"require-linkerd-mesh-injection": {"namespaces": ["*"]}}


def _resources(folder: str, files: list[str]) -> list[PolicyResource]:
    resources = []
    for file in files:
        for doc in load_manifests(KYVERNO / folder / file):
            rtype = resource_type_for(doc["apiVersion"], doc["kind"])
            name = f"{doc['kind']}/{doc['metadata']['name']}"
            resources.append(make_resource(rtype, doc, name))
    return resources


def _failing(kyverno_policy: str, resources: list[PolicyResource]) -> set[str]:
    """Names of resources that any mapped cachemesh policy reports."""
    ours = set(MAPPING[kyverno_policy])
    by_urn = {r.urn: r for r in resources}
    found = evaluate(resources, CONFIG)
    return {name_of(by_urn[v.urn].props, "") for v in found if v.policy in ours and v.urn in by_urn}


def _expected(folder: str) -> tuple[set[str], set[str]]:
    test = yaml.safe_load((KYVERNO / folder / "kyverno-test.yaml").read_text())
    fail, passed = set(), set()
    for result in test["results"]:
        (fail if result["result"] == "fail" else passed).update(result["resources"])
    return fail, passed


@pytest.mark.parametrize(
    "folder",
    [
        "prevent-linkerd-pod-injection-override",
        "prevent-linkerd-port-skipping",
        "require-linkerd-mesh-injection",
    ],
)
def test_kyverno_cli_test_verdicts_match(folder: str) -> None:
    files = sorted(
        p.name for p in (KYVERNO / folder).glob("*.yaml") if p.name != "kyverno-test.yaml"
    )
    expected_fail, expected_pass = _expected(folder)
    failing = _failing(folder, _resources(folder, files))
    assert failing == expected_fail
    assert not failing & expected_pass


def test_require_linkerd_server_rejects_the_bad_and_admits_the_good() -> None:
    folder = "require-linkerd-server"
    files = ["server.yaml", "good-deploy.yaml", "good-svc.yaml", "bad-deploy.yaml", "bad-svc.yaml"]
    failing = _failing(folder, _resources(folder, files))
    assert failing == {"baddeploy01", "baddeploy02", "badsvc01"}


def test_check_linkerd_authorizationpolicy_rejects_the_bad_and_admits_the_good() -> None:
    folder = "check-linkerd-authorizationpolicy"
    files = ["server.yaml", "http-route.yaml", "good-authz.yaml", "bad-authz.yaml"]
    failing = _failing(folder, _resources(folder, files))
    assert failing == {"bad-policy01", "bad-policy02"}


def _mutation_pairs(folder: str) -> list[tuple[Path, Path]]:
    applies = sorted((KYVERNO / folder).glob("chainsaw-step-02-apply-*.yaml"))
    return [(a, a.with_name(a.name.replace("apply", "assert"))) for a in applies]


@pytest.mark.parametrize(
    ("folder", "policy"),
    [
        ("add-linkerd-mesh-injection", add_linkerd_mesh_injection),
        ("add-linkerd-policy-annotation", add_linkerd_policy_annotation),
    ],
)
def test_kyverno_mutations_give_the_asserted_namespace(folder: str, policy: Any) -> None:
    for apply_file, assert_file in _mutation_pairs(folder):
        [before] = load_manifests(apply_file)
        [after] = load_manifests(assert_file)
        result = remediated(policy, "kubernetes:core/v1:Namespace", before) or before
        assert result["metadata"]["annotations"] == after["metadata"]["annotations"], (
            apply_file.name
        )
