"""Pods still on old trust roots: `python -m checks.trust_roots` and the mTLS check's
`--trust-roots-sha256`, both run for real against stand-in kubectls (tests/fixtures/)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from harness import put_on_path
from test_mtls_check import FIXTURES as MTLS_FIXTURES
from test_mtls_check import FakeCluster, cluster  # noqa: F401  (fixture reuse)

from checks import trust_roots

HERE = Path(__file__).resolve().parent / "fixtures" / "trust_roots"
HASHES = json.loads((HERE / "hashes.json").read_text())


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    put_on_path(tmp_path, monkeypatch, HERE / "fake_kubectl.py", ("kubectl",))
    monkeypatch.setenv("FAKE_TRUST_PODS", str(HERE / "pods-all-namespaces.json"))
    monkeypatch.setenv("FAKE_TRUST_CONFIGMAP", str(HERE / "configmap.json"))
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.delenv("FAKE_KUBECTL_FAIL", raising=False)
    return tmp_path / "calls.jsonl"


def _run(*argv: str) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = trust_roots.main(list(argv), stdout=out, stderr=err)
    return rc, json.loads(out.getvalue()), err.getvalue()


def _stale(report: dict) -> set[str]:
    return {f"{p['namespace']}/{p['pod']}" for p in report["stale"]}


# --- python -m checks.trust_roots --------------------------------------------------------------


def test_without_a_hash_it_hashes_the_configmap_bundle_as_the_injector_does(kubectl: Path) -> None:
    bundle = json.loads((HERE / "configmap.json").read_text())["data"]["ca-bundle.crt"]
    rc, report, _ = _run()
    assert report["trustRootsSha256"] == hashlib.sha256(bundle.encode()).hexdigest()
    assert report["trustRootsSha256"] == HASHES["current"]
    assert rc == trust_roots.EXIT_STALE


def test_lists_every_meshed_pod_in_all_namespaces_whose_hash_differs_or_is_missing(
    kubectl: Path,
) -> None:
    _rc, report, stderr = _run()
    assert _stale(report) == {
        "linkerd/linkerd-destination-7c9d8b6f4-xyz12",  # control plane, old roots
        "shop/checkout-5f6d7c8b9-q1w2e",  # a meshed client the program does not own
        "shop/batch-job-x7k2p",  # meshed, no annotation at all
    }
    assert report["meshedPods"] == 6  # the unmeshed coredns pod is not counted
    assert "shop/batch-job-x7k2p: linkerd.io/trust-root-sha256 is missing" in stderr


def test_each_listed_pod_says_how_to_restart_it(kubectl: Path) -> None:
    _rc, report, _ = _run()
    restart = {p["pod"]: p["restart"] for p in report["stale"]}
    checkout = "kubectl rollout restart deployment/checkout -n shop"
    assert restart["checkout-5f6d7c8b9-q1w2e"] == checkout
    assert restart["batch-job-x7k2p"] == "kubectl delete pod/batch-job-x7k2p -n shop"


def test_a_stale_statefulset_pod_is_deleted_one_at_a_time_not_rollout_restarted(
    kubectl: Path,
) -> None:
    # cachemesh's caches are OnDelete StatefulSets: `kubectl rollout restart` replaces no pod.
    _rc, report, stderr = _run("--trust-roots-sha256", HASHES["old"])
    ignite = next(p for p in report["stale"] if p["pod"] == "ignite-0")
    assert ignite["restart"] == "kubectl delete pod/ignite-0 -n ignite"
    assert "one at a time" in ignite["note"] and "rebalanced" in ignite["note"]
    assert "Restart it: kubectl delete pod/ignite-0 -n ignite (StatefulSet pod:" in stderr


def test_a_given_hash_is_used_instead_of_the_configmap(kubectl: Path) -> None:
    rc, report, _ = _run("--trust-roots-sha256", HASHES["old"])
    calls = [json.loads(line)["argv"] for line in kubectl.read_text().splitlines()]
    assert not [c for c in calls if "configmap" in c]
    assert _stale(report) == {
        "linkerd/linkerd-identity-6d8f7c9b5d-abcde",
        "ignite/ignite-0",
        "ignite/ignite-1",  # native sidecar: still meshed
        "shop/batch-job-x7k2p",
    }
    assert rc == trust_roots.EXIT_STALE


def test_every_pod_current_exits_zero(kubectl: Path, tmp_path: Path, monkeypatch) -> None:
    pods = json.loads((HERE / "pods-all-namespaces.json").read_text())
    pods["items"] = [p for p in pods["items"] if p["metadata"]["namespace"] == "ignite"]
    (tmp_path / "pods.json").write_text(json.dumps(pods))
    monkeypatch.setenv("FAKE_TRUST_PODS", str(tmp_path / "pods.json"))
    rc, report, _ = _run()
    assert (rc, report["current"], report["stale"]) == (trust_roots.EXIT_CURRENT, True, [])


def test_an_unreachable_cluster_cannot_run(kubectl: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_FAIL", "unreachable")
    rc, report, stderr = _run()
    assert rc == trust_roots.EXIT_CANNOT_RUN
    assert "127.0.0.1:1 was refused" in report["error"] and "cannot run" in stderr


def _serve_pods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listing: object) -> None:
    (tmp_path / "pods.json").write_text(json.dumps(listing))
    monkeypatch.setenv("FAKE_TRUST_PODS", str(tmp_path / "pods.json"))


_UNMESHED = {
    "metadata": {"name": "coredns-1", "namespace": "kube-system"},
    "spec": {"containers": [{"name": "coredns"}]},
}


@pytest.mark.parametrize(
    "listing",
    [
        {"apiVersion": "v1", "kind": "List", "items": []},
        {"apiVersion": "v1", "kind": "List"},
        {"apiVersion": "v1", "kind": "List", "items": [_UNMESHED]},
    ],
    ids=["empty", "no-items", "nothing-meshed"],
)
def test_a_listing_without_a_meshed_pod_cannot_tell(
    kubectl: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listing: dict
) -> None:
    # The control plane's own pods are always meshed: no meshed pod means the listing is not the
    # cluster's (RBAC, wrong context), not that every pod is current.
    _serve_pods(tmp_path, monkeypatch, listing)
    rc, report, _ = _run()
    assert rc == trust_roots.EXIT_CANNOT_RUN
    assert report["current"] is None
    assert "cannot tell" in report["error"]


@pytest.mark.parametrize(
    "item",
    ["not-a-pod", {"metadata": "x", "spec": {}}, {"metadata": {}, "spec": {"containers": "x"}}],
    ids=["string", "metadata-not-an-object", "containers-not-a-list"],
)
def test_a_malformed_pod_in_the_listing_is_a_clear_error(
    kubectl: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, item: object
) -> None:
    _serve_pods(tmp_path, monkeypatch, {"kind": "List", "items": [item]})
    rc, report, stderr = _run()
    assert rc == trust_roots.EXIT_CANNOT_RUN
    assert report["current"] is None
    assert "items[0]" in report["error"]
    assert "Traceback" not in stderr


def test_a_missing_trust_roots_configmap_names_the_namespace_flag(kubectl: Path) -> None:
    rc, report, _ = _run("--linkerd-namespace", "mesh")
    assert rc == trust_roots.EXIT_CANNOT_RUN
    assert "not found" in report["error"]


# --- the mTLS check's --trust-roots-sha256 ------------------------------------------------------


def _pods_with(tmp_path: Path, annotation: str | None) -> str:
    """pods-2.json with every pod's linkerd.io/trust-root-sha256 set to `annotation` (or none)."""
    pods = json.loads((MTLS_FIXTURES / "pods-2.json").read_text())
    for pod in pods["items"]:
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations.pop("linkerd.io/trust-root-sha256", None)
        if annotation is not None:
            annotations["linkerd.io/trust-root-sha256"] = annotation
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(pods))
    return str(path)


def _check_with_current_hash(cluster: FakeCluster, tmp_path: Path, annotation: str | None):  # noqa: F811
    """The check told the current bundle's hash, against pods that carry `annotation`."""
    cluster.use(_pods_with(tmp_path, annotation))
    return cluster.run("--trust-roots-sha256", HASHES["current"])


def test_check_verifies_pods_that_carry_the_current_hash(
    cluster: FakeCluster,  # noqa: F811
    tmp_path: Path,
) -> None:
    result = _check_with_current_hash(cluster, tmp_path, HASHES["current"])
    assert (result.rc, result.report["verified"]) == (0, True)
    assert result.report["expectedTrustRootsSha256"] == HASHES["current"]
    assert result.report["pods"]["ignite-0"]["trustRootSha256"] == HASHES["current"]


def test_check_reports_each_pod_still_on_the_old_hash_with_advice(
    cluster: FakeCluster,  # noqa: F811
    tmp_path: Path,
) -> None:
    result = _check_with_current_hash(cluster, tmp_path, HASHES["old"])
    assert (result.rc, result.report["verified"]) == (1, False)
    stale = [f for f in result.report["failures"] if "other trust roots" in f["problem"]]
    assert {f["pod"] for f in stale} == {"ignite-0", "ignite-1"}
    assert HASHES["old"] in stale[0]["problem"]
    assert "still runs with the old trust anchors" in stale[0]["likelyCause"]
    assert "kubectl delete pod/ignite-0 -n ignite" in stale[0]["fix"]
    # The caches are OnDelete StatefulSets, where `kubectl rollout restart` replaces no pod.
    assert "kubectl rollout restart statefulset" not in stale[0]["fix"]
    assert "one at a time" in stale[0]["fix"]


def test_check_reports_pods_without_the_annotation(
    cluster: FakeCluster,  # noqa: F811
    tmp_path: Path,
) -> None:
    result = _check_with_current_hash(cluster, tmp_path, None)
    assert result.report["verified"] is False
    assert any("trust-root-sha256 is missing" in r for r in result.report["reasons"])


def test_check_without_the_flag_does_not_look_at_the_annotation(
    cluster: FakeCluster,  # noqa: F811
    tmp_path: Path,
) -> None:
    cluster.use(_pods_with(tmp_path, HASHES["old"]))
    result = cluster.run()
    assert (result.rc, result.report["verified"]) == (0, True)


def test_check_refuses_a_hash_that_is_not_sha256_hex(
    cluster: FakeCluster,  # noqa: F811
) -> None:
    with pytest.raises(SystemExit):
        cluster.run("--trust-roots-sha256", "ABC")


@pytest.mark.parametrize(
    "flag_value",
    ["--call-timeout=nan", "--call-timeout=inf", "--context=-x", "--kubeconfig=-x"],
)
def test_a_bad_cluster_argument_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], flag_value: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        trust_roots.main([flag_value], stdout=io.StringIO(), stderr=io.StringIO())
    assert exit_info.value.code == 2
    flag = flag_value.split("=")[0]
    assert f"argument {flag}" in capsys.readouterr().err
