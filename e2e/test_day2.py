"""Day 2 on the real engine: the trust-anchor rotation as three `pulumi up`s
(docs/tasks/rotate-the-trust-anchor.md), a skipped step refused through the stack's real read of
its own last outputs, the cache
pods restarted by `checks.rollout` through the real Eviction API and StatefulSet controller, and
the `CacheRollout` / `MtlsCheck` commands re-run exactly when their inputs change.

The tests of this module run in file order on one stack and one throwaway cluster; each asserts
one behaviour of that story. The rollout polls every second here (`rollout.intervalSeconds: 1`),
so a restart of two pods takes seconds; kwok brings an evicted pod back Ready, and the stand-in
`control.sh` (e2e/standin_ignite) answers the rollout's cluster gate with the Ready pod count.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from e2e.cluster import Cluster
from e2e.pulumi_cli import Project, Result

NAMESPACE = "ignite"
ROLLOUT = "ignite/ignite-rollout"
MTLS_CHECK = "ignite/ignite-mtls-check"
ANCHOR_KEY = "linkerd.trustAnchors"


@pytest.fixture(scope="module")
def project(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = Project(tmp_path_factory.mktemp("day2"), cluster)
    project.init(
        {"cachemesh:caches": _dev_caches_with_fast_rollout(project)},
    )
    project.up()
    yield project


def _dev_caches_with_fast_rollout(project: Project) -> list[dict[str, Any]]:
    import yaml

    dev = yaml.safe_load((project.directory / "Pulumi.dev.yaml").read_text())
    caches: list[dict[str, Any]] = dev["config"]["cachemesh:caches"]
    for cache in caches:
        cache["rollout"] = {"intervalSeconds": 1, "timeoutSeconds": 120}
    return caches


def _bundle(cluster: Cluster) -> list[x509.Certificate]:
    roots = cluster.get_json("configmap", "linkerd-identity-trust-roots", "-n", "linkerd")
    return x509.load_pem_x509_certificates(roots["data"]["ca-bundle.crt"].encode())


def _issuer(cluster: Cluster) -> x509.Certificate:
    secret = cluster.get_json("secret", "linkerd-identity-issuer", "-n", "linkerd")
    return x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["crt.pem"]))


def _signed_by(cert: x509.Certificate, anchor: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _pods(cluster: Cluster) -> dict[str, tuple[str, str]]:
    """Cache pod name -> (uid, controller-revision-hash)."""
    items = cluster.get_json("pods", "-n", NAMESPACE)["items"]
    return {
        p["metadata"]["name"]: (
            p["metadata"]["uid"],
            p["metadata"]["labels"]["controller-revision-hash"],
        )
        for p in items
    }


def _stage(project: Project) -> str:
    stage: str = project.outputs()["linkerdIdentity"]["rotation"]["stage"]
    return stage


@pytest.fixture(scope="module")
def deployed(project: Project, cluster: Cluster) -> dict[str, Any]:
    """What the first `up` left: outputs, the anchor, the pods."""
    return {
        "outputs": project.outputs(),
        "anchor": _bundle(cluster)[0],
        "pods": _pods(cluster),
        "resources": len(project.resources()),
    }


@pytest.fixture(scope="module")
def skipped_step(project: Project, deployed: dict[str, Any]) -> Result:
    # From {1, [1]} straight to {2, [1, 2]}: the bundle and the signer in one `up`.
    project.set_config(f"{ANCHOR_KEY}.signing", "2")
    project.set_config(f"{ANCHOR_KEY}.trusted[0]", "1")
    project.set_config(f"{ANCHOR_KEY}.trusted[1]", "2")
    return project.up(check=False)


def test_a_skipped_rotation_step_is_refused_with_the_valid_next_step(
    skipped_step: Result,
) -> None:
    assert skipped_step.returncode != 0
    output = " ".join(skipped_step.output.split())
    assert (
        f"cachemesh:{ANCHOR_KEY}: the last deployment ran {{signing: 1, trusted: [1]}} and this "
        "configuration asks for {signing: 2, trusted: [1, 2]}" in output
    ), skipped_step.output
    assert (
        "(a) the next step {signing: 1, trusted: [1, 2]}: "
        f"pulumi config set --path {ANCHOR_KEY}.signing 1" in output
    ), skipped_step.output
    assert "Traceback (most recent call last)" not in skipped_step.output


def test_the_refused_up_changes_nothing_and_keeps_the_outputs(
    project: Project, cluster: Cluster, deployed: dict[str, Any], skipped_step: Result
) -> None:
    assert _bundle(cluster) == [deployed["anchor"]]
    assert _pods(cluster) == deployed["pods"]
    assert len(project.resources()) == deployed["resources"]
    # The next `up` is judged against the same deployment (a refused `up` leaves the outputs as
    # they were: docs/tasks/rotate-the-trust-anchor.md).
    assert project.outputs()["linkerdIdentity"] == deployed["outputs"]["linkerdIdentity"]


@pytest.fixture(scope="module")
def step1(project: Project, skipped_step: Result) -> dict[str, str]:
    # Step 1 of docs/tasks/rotate-the-trust-anchor.md is {1, [1, 2]}; from the refused
    # configuration only the signer differs.
    project.set_config(f"{ANCHOR_KEY}.signing", "1")
    planned = project.planned()
    project.up()
    return planned


def test_step_1_trusts_both_anchors_and_the_old_one_still_signs(
    project: Project, cluster: Cluster, deployed: dict[str, Any], step1: dict[str, str]
) -> None:
    bundle = _bundle(cluster)
    assert len(bundle) == 2 and bundle[0] == deployed["anchor"]
    assert _signed_by(_issuer(cluster), deployed["anchor"])
    assert _stage(project) == "trusting-new"


def test_step_1_replaces_the_rollout_and_the_mtls_check_because_their_triggers_changed(
    step1: dict[str, str],
) -> None:
    # The pod template (cachemesh.io/linkerd-trust) and the bundle's hash are triggers.
    assert step1[ROLLOUT] == "replace"
    assert step1[MTLS_CHECK] == "replace"


def test_step_1_restarts_each_cache_pod_through_the_eviction_api(
    project: Project, cluster: Cluster, deployed: dict[str, Any], step1: dict[str, str]
) -> None:
    report = project.command_report(ROLLOUT)
    assert report["restarted"] == ["ignite-1", "ignite-0"]
    assert all(pod["waits"][1]["gate"] == "eviction-allowed" for pod in report["pods"])
    pods = _pods(cluster)
    # New pods (new uids) on the StatefulSet's new revision, made by the real controller.
    assert set(pods) == set(deployed["pods"])
    for name, (uid, revision) in pods.items():
        assert uid != deployed["pods"][name][0]
        assert revision == report["updateRevision"] != deployed["pods"][name][1]


@pytest.fixture(scope="module")
def step2(project: Project, cluster: Cluster, step1: dict[str, str]) -> dict[str, Any]:
    before = {"pods": _pods(cluster), "bundle": _bundle(cluster)}
    # Step 2 of docs/tasks/rotate-the-trust-anchor.md.
    project.set_config(f"{ANCHOR_KEY}.signing", "2")
    project.up()
    return before


def test_step_2_signs_the_issuer_with_the_new_anchor_and_keeps_the_bundle(
    project: Project, cluster: Cluster, step2: dict[str, Any]
) -> None:
    assert _bundle(cluster) == step2["bundle"]
    assert _signed_by(_issuer(cluster), step2["bundle"][1])
    assert _stage(project) == "signing-with-new"


def test_step_2_restarts_the_cache_pods_again(cluster: Cluster, step2: dict[str, Any]) -> None:
    after = _pods(cluster)
    assert all(after[name][0] != uid for name, (uid, _) in step2["pods"].items())


@pytest.fixture(scope="module")
def step3(project: Project, cluster: Cluster, step2: dict[str, Any]) -> dict[str, Any]:
    before = {"pods": _pods(cluster), "bundle": _bundle(cluster)}
    # The command docs/tasks/rotate-the-trust-anchor.md gives for step 3.
    project.pulumi("config", "rm", "--path", f"{ANCHOR_KEY}.trusted[0]")
    project.up()
    return before


def test_step_3_leaves_the_new_anchor_alone_and_it_signs_the_issuer(
    project: Project, cluster: Cluster, deployed: dict[str, Any], step3: dict[str, Any]
) -> None:
    bundle = _bundle(cluster)
    assert bundle == [step3["bundle"][1]] and bundle[0] != deployed["anchor"]
    assert _signed_by(_issuer(cluster), bundle[0])
    assert _stage(project) == "steady"
    assert [a["generation"] for a in project.outputs()["linkerdIdentity"]["anchors"]] == [2]


def test_after_the_rotation_a_preview_has_nothing_to_change(
    project: Project, step3: dict[str, Any]
) -> None:
    project.pulumi("preview", "--expect-no-changes")


@pytest.fixture(scope="module")
def check_setting_changed(project: Project, step3: dict[str, Any]) -> dict[str, Any]:
    before = {name: project.command_report(name) for name in (ROLLOUT, MTLS_CHECK)}
    project.set_config("mtlsCheck.timeoutSeconds", "11")
    planned = project.planned()
    project.up()
    after = {name: project.command_report(name) for name in (ROLLOUT, MTLS_CHECK)}
    return {"planned": planned, "before": before, "after": after}


def test_a_check_setting_is_planned_as_an_update_of_the_mtls_check_alone(
    check_setting_changed: dict[str, Any],
) -> None:
    # Its command line changed, not a trigger: an update (which runs `create` again).
    assert check_setting_changed["planned"] == {MTLS_CHECK: "update"}


def test_a_check_setting_runs_the_mtls_check_again_and_not_the_rollout(
    check_setting_changed: dict[str, Any],
) -> None:
    before, after = check_setting_changed["before"], check_setting_changed["after"]
    assert after[MTLS_CHECK]["checkedAt"] != before[MTLS_CHECK]["checkedAt"]
    assert after[ROLLOUT]["startedAt"] == before[ROLLOUT]["startedAt"]
