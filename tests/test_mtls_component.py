"""MtlsCheck: the post-deploy check as a command resource whose report becomes stack outputs."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace

import pytest
from harness import OUTPUT_FAKERS, ProgramRun, run_program
from test_mtls_check import FIXTURES, IDENTITY, FakeCluster, cluster  # noqa: F401  (fixture reuse)

from components.mtls_check import MtlsCheckArgs, check_command, parse_check_output

COMMAND = "command:local:Command"
STS = "kubernetes:apps/v1:StatefulSet"
KUBECONFIG_TEXT = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: tok-5ecret}\n"
TWO_CACHES = {"caches": [{"name": "a"}, {"name": "b", "namespace": "other"}]}
FAKE_ARGS = MtlsCheckArgs(
    namespace="ignite",
    statefulset="ignite",
    replicas=2,
    ports=(47100, 47500),
    identity=IDENTITY,
    timeout_seconds=0,
    interval_seconds=1,
    enforce=True,
    metrics_source="linkerd",
    pod_template_fingerprint="f",
)


def _run_check(args: MtlsCheckArgs) -> subprocess.CompletedProcess[str]:
    """Run the exact command line the Command resource would run, with /bin/sh."""
    return subprocess.run(
        ["/bin/sh", "-c", check_command(args)], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def verified_report(cluster: FakeCluster) -> str:  # noqa: F811
    result = _run_check(FAKE_ARGS)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def command_stdout(monkeypatch: pytest.MonkeyPatch):
    """Make the fake command provider print `stdout` for the checks whose name matches."""
    outputs: dict[str, str] = {}

    def fake(args) -> dict:
        return {"stdout": next((v for k, v in outputs.items() if args.name.startswith(k)), "")}

    monkeypatch.setitem(OUTPUT_FAKERS, COMMAND, fake)
    return outputs


def _check(run: ProgramRun, name: str = "ignite/ignite") -> dict:
    return run.one(COMMAND, f"{name}-mtls-check").inputs


def test_one_check_per_cache_runs_the_check_module_with_the_caches_facts() -> None:
    run = run_program()
    create = _check(run)["create"]
    assert " -m checks.mtls " in create
    for arg in (
        "--namespace ignite",
        "--statefulset ignite",
        "--replicas 2",
        "--ports 47100,47500",
        "--identity ignite.ignite.serviceaccount.identity.linkerd.cluster.local",
        "--timeout 300",
        "--metrics-source linkerd",
    ):
        assert arg in create


def test_checks_only_the_inter_node_ports_not_the_thin_client_port() -> None:
    assert "--ports 47100,47500 " in _check(run_program())["create"]


def test_each_cache_gets_its_own_check() -> None:
    names = sorted(r.name for r in run_program(TWO_CACHES).of_type(COMMAND))
    checks = [n for n in names if n.endswith("-mtls-check")]
    assert checks == ["ignite/a-mtls-check", "other/b-mtls-check"]


def test_check_waits_for_the_statefulset_and_the_linkerd_control_plane() -> None:
    run = run_program()
    check = run.one(COMMAND, "ignite/ignite-mtls-check")
    waits = run.waits_for(check)
    assert run.one(STS, "ignite/ignite").urn in waits
    assert any(u.endswith("::linkerd-control-plane") for u in waits)


def test_a_pod_template_change_changes_the_trigger_so_the_check_reruns() -> None:
    before = _check(run_program())["triggers"]
    after = _check(run_program({"caches": [{"name": "ignite", "image": "my/ignite:2"}]}))
    assert after["triggers"] != before


def test_a_replica_change_changes_the_command_so_the_check_reruns() -> None:
    create = _check(run_program({"caches": [{"name": "ignite", "replicas": 3}]}))["create"]
    assert "--replicas 3" in create


def test_timeout_and_metrics_source_come_from_mtls_check_config() -> None:
    config = {
        "mtlsCheck": {"timeoutSeconds": 60, "metricsSource": "kubectl"},
        # The API-server route to the proxy's admin port only works without default-deny.
        "caches": [{"name": "ignite", "authorization": "permissive"}],
    }
    create = _check(run_program(config))["create"]
    assert "--timeout 60" in create
    assert "--metrics-source kubectl" in create


def test_kubernetes_context_is_passed_to_the_check() -> None:
    create = _check(run_program({"kubernetes:context": "kind-cachemesh"}))["create"]
    assert "--context kind-cachemesh" in create


def test_kubeconfig_contents_never_reach_the_check_command_line() -> None:
    create = _check(run_program({"kubernetes:kubeconfig": KUBECONFIG_TEXT}))["create"]
    assert "tok-5ecret" not in create and "--kubeconfig" not in create


def test_the_kubeconfig_reaches_the_check_as_a_secret_in_its_environment() -> None:
    command = run_program({"kubernetes:kubeconfig": KUBECONFIG_TEXT}).one(
        COMMAND, "ignite/ignite-mtls-check"
    )
    assert command.inputs["environment"] == {"CACHEMESH_KUBECONFIG": KUBECONFIG_TEXT}
    assert "environment.CACHEMESH_KUBECONFIG" in command.secret_inputs


def test_the_check_command_line_reads_a_kubeconfig_from_its_environment(
    cluster: FakeCluster,  # noqa: F811
) -> None:
    # The exact command line and environment the Command resource runs, with /bin/sh.
    result = subprocess.run(
        ["/bin/sh", "-c", check_command(FAKE_ARGS)],
        env={**os.environ, "CACHEMESH_KUBECONFIG": KUBECONFIG_TEXT},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert {"--kubeconfig" in c["argv"] for c in cluster.calls()} == {True}


def test_enforced_check_fails_the_command_when_not_verified(cluster: FakeCluster) -> None:  # noqa: F811
    cluster.use(scenario="plaintext-47100")
    result = _run_check(FAKE_ARGS)
    assert result.returncode == 1
    assert parse_check_output(result.stdout)["verified"] is False


def test_unenforced_check_succeeds_with_a_not_verified_report(cluster: FakeCluster) -> None:  # noqa: F811
    cluster.use(scenario="plaintext-47100")
    result = _run_check(replace(FAKE_ARGS, enforce=False))
    assert result.returncode == 0
    report = parse_check_output(result.stdout)
    assert report["verified"] is False
    assert report["reasons"]


def test_enforce_is_the_default() -> None:
    assert not _check(run_program())["create"].endswith("|| true")
    assert _check(run_program({"mtlsCheck": {"enforce": False}}))["create"].endswith("|| true")


def test_verified_report_makes_mtls_verified_true(verified_report: str, command_stdout) -> None:
    command_stdout["ignite/"] = verified_report
    run = run_program()
    assert run.outputs["mtlsVerified"] is True
    assert run.outputs["mtls"]["ignite"]["verified"] is True
    assert run.outputs["mtls"]["ignite"]["pods"]


def test_one_unverified_cache_makes_mtls_verified_false(
    verified_report: str, command_stdout
) -> None:
    command_stdout["ignite/a"] = verified_report
    command_stdout["other/b"] = json.dumps({**json.loads(verified_report), "verified": False})
    run = run_program(TWO_CACHES)
    assert run.outputs["mtls"]["a"]["verified"] is True
    assert run.outputs["mtlsVerified"] is False


def test_no_output_from_the_command_is_not_verified() -> None:
    run = run_program()
    assert run.outputs["mtlsVerified"] is False
    assert run.outputs["mtls"]["ignite"]["status"] == "no-report"


@pytest.mark.parametrize(
    "stdout",
    ["", "   \n", "not json", '{"verified": true}', "[true]", '{"verified": "true"}'],
    ids=["empty", "blank", "text", "bare-verified-flag", "list", "string-flag"],
)
def test_anything_but_a_complete_report_is_not_verified(stdout: str) -> None:
    report = parse_check_output(stdout)
    assert report["verified"] is False
    assert report["reasons"]


def test_disabled_check_registers_no_command_and_is_not_verified() -> None:
    run = run_program({"mtlsCheck": {"enabled": False}})
    assert [r.name for r in run.of_type(COMMAND) if r.name.endswith("-mtls-check")] == []
    assert run.outputs["mtls"]["ignite"]["status"] == "not-checked"
    assert run.outputs["mtlsVerified"] is False


def test_unmeshed_caches_are_not_checked_and_not_verified() -> None:
    run = run_program({"linkerd": {"enabled": False}})
    assert [r.name for r in run.of_type(COMMAND) if r.name.endswith("-mtls-check")] == []
    assert run.outputs["mtls"]["ignite"]["status"] == "not-meshed"
    assert run.outputs["mtlsVerified"] is False


def test_the_check_command_is_a_child_of_the_mtls_check_component() -> None:
    run = run_program()
    check = run.one(COMMAND, "ignite/ignite-mtls-check")
    assert [a.type for a in run.ancestors(check)] == ["cachemesh:index:MtlsCheck"]


STRICT_ARGS = replace(
    FAKE_ARGS,
    # What the program passes for the default stack: its own identity, strict mode, its Servers.
    identity="ignite.ignite.serviceaccount.identity.linkerd.cluster.local",
    authorization="strict",
    servers={10800: "ignite-thinclient", 47100: "ignite-communication", 47500: "ignite-discovery"},
)


def test_strict_check_is_told_the_mode_and_the_servers_of_the_checked_ports() -> None:
    create = _check(run_program())["create"]
    assert "--authorization strict" in create
    assert "--servers 47100=ignite-communication,47500=ignite-discovery" in create


def test_permissive_check_is_told_the_mode_and_no_servers() -> None:
    create = _check(run_program({"caches": [{"name": "ignite", "authorization": "permissive"}]}))
    assert "--authorization permissive" in create["create"]
    assert "--servers" not in create["create"]


def test_strict_command_line_verifies_traffic_admitted_by_the_programs_servers(
    cluster: FakeCluster,  # noqa: F811
) -> None:
    cluster.use("pods-2-strict.json", "strict-verified-2")
    result = _run_check(STRICT_ARGS)
    assert result.returncode == 0, result.stdout
    assert parse_check_output(result.stdout)["verified"] is True


def test_strict_command_line_refuses_traffic_admitted_by_the_default_policy(
    cluster: FakeCluster,  # noqa: F811
) -> None:
    cluster.use("pods-2-strict.json", "strict-default-policy")
    result = _run_check(STRICT_ARGS)
    assert result.returncode == 1
    assert parse_check_output(result.stdout)["verified"] is False


def test_the_default_stacks_own_check_command_verifies_a_strict_cluster(
    cluster: FakeCluster,  # noqa: F811
    tmp_path,
) -> None:
    import fake_providers  # noqa: F401  (real certificates, so the check gets a bundle hash)

    run = run_program()
    check = _check(run)
    # Pods injected with the program's current trust bundle carry its hash.
    sha = run.outputs["linkerdIdentity"]["trustRootsSha256"]
    assert f"--trust-roots-sha256 {sha}" in check["create"]
    pods = json.loads((FIXTURES / "pods-2-strict.json").read_text())
    for pod in pods["items"]:
        pod["metadata"]["annotations"]["linkerd.io/trust-root-sha256"] = sha
    (tmp_path / "pods.json").write_text(json.dumps(pods))
    cluster.use(str(tmp_path / "pods.json"), "strict-verified-2")
    result = subprocess.run(
        ["/bin/sh", "-c", check["create"]],
        cwd=check["dir"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = parse_check_output(result.stdout)
    assert report["verified"] is True
    assert report["authorization"] == "strict"
