"""The mTLS check end to end: the real CLI and subprocess code against stand-in kubectl/linkerd.

The stand-ins (tests/fixtures/mtls/fake_tool.py) are installed as `kubectl` and `linkerd` in a temp
dir put first on PATH; they serve the fixture pod JSON and proxy metrics and log every call.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from harness import (
    REAL_KUBECTL_SAYS,
    InterruptedRun,
    interrupt_cli,
    put_on_path,
    run_with_real_kubectl,
)

import checks.mtls
from checks.mtls import main
from checks.mtls_tools import CallResult

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mtls"
SCENARIOS = FIXTURES / "scenarios"
IDENTITY = "default.ignite.serviceaccount.identity.linkerd.cluster.local"


@dataclass
class Result:
    rc: int
    report: dict[str, Any]
    stderr: str


@dataclass
class FakeCluster:
    """Drives `checks.mtls.main` against the stand-in tools; one per test."""

    bin_dir: Path
    log: Path
    monkeypatch: pytest.MonkeyPatch
    env: dict[str, str] = field(default_factory=dict)

    def use(self, pods: str = "pods-2.json", scenario: str | Path = "verified-2") -> FakeCluster:
        metrics = scenario if isinstance(scenario, Path) else SCENARIOS / scenario
        self.set("FAKE_MTLS_PODS", str(FIXTURES / pods))
        self.set("FAKE_MTLS_METRICS", str(metrics))
        return self

    def set(self, key: str, value: str) -> None:
        self.env[key] = value
        self.monkeypatch.setenv(key, value)

    def fail(self, *faults: str) -> FakeCluster:
        self.set("FAKE_MTLS_FAIL", ",".join(faults))
        return self

    def remove_tool(self, name: str) -> None:
        (self.bin_dir / name).unlink()
        # Nothing but the stand-ins on PATH, so a real kubectl elsewhere cannot stand in.
        self.set("PATH", str(self.bin_dir))

    @staticmethod
    def argv(
        *extra: str, replicas: int = 2, timeout: str = "0", interval: str = "0.1"
    ) -> list[str]:
        return [
            "--namespace", "ignite",
            "--statefulset", "ignite",
            "--replicas", str(replicas),
            "--ports", "47100,47500",
            "--identity", IDENTITY,
            "--timeout", timeout,
            "--interval", interval,
            "--call-timeout", "5",
            *extra,
        ]  # fmt: skip

    def run(self, *extra: str, **kw: Any) -> Result:
        out, err = io.StringIO(), io.StringIO()
        rc = main(self.argv(*extra, **kw), stdout=out, stderr=err)
        return Result(rc, json.loads(out.getvalue()), err.getvalue())

    def calls(self, tool: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        rows = [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]
        return [r for r in rows if tool is None or r["tool"] == tool]

    def scrapes(self) -> list[dict[str, Any]]:
        return [
            c
            for c in self.calls()
            if "proxy-metrics" in c["argv"] or any(a.endswith("/proxy/metrics") for a in c["argv"])
        ]


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    return install_fake_tools(tmp_path, monkeypatch)


def install_fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    """The stand-in kubectl and linkerd first on PATH, serving verified-2 until told otherwise."""
    bin_dir = put_on_path(tmp_path, monkeypatch, FIXTURES / "fake_tool.py", ("kubectl", "linkerd"))
    fake = FakeCluster(bin_dir, tmp_path / "calls.jsonl", monkeypatch)
    fake.set("FAKE_MTLS_LOG", str(fake.log))
    fake.set("FAKE_MTLS_DELAY", "0")
    monkeypatch.delenv("FAKE_MTLS_FAIL", raising=False)
    return fake.use()


def problems(result: Result) -> str:
    return " | ".join(result.report["reasons"])


# --- verified ---------------------------------------------------------------------------------


def test_two_pod_meshed_cluster_is_verified(cluster: FakeCluster) -> None:
    result = cluster.run()
    assert result.rc == 0, problems(result)
    assert result.report["verified"] is True
    assert result.report["status"] == "verified"
    assert result.report["reasons"] == [] and result.report["failures"] == []


def test_three_pod_meshed_cluster_is_verified(cluster: FakeCluster) -> None:
    result = cluster.use("pods-3.json", "verified-3").run(replicas=3)
    assert result.rc == 0, problems(result)
    assert sorted(result.report["pods"]) == ["ignite-0", "ignite-1", "ignite-2"]


def test_report_counts_tls_connections_peers_and_identities_per_pod_and_port(
    cluster: FakeCluster,
) -> None:
    report = cluster.use("pods-3.json", "verified-3").run(replicas=3).report
    port = report["pods"]["ignite-0"]["ports"]["47500"]
    assert port["inbound"]["tls"] == 2 + 3  # from ignite-1 (count 2) and ignite-2 (count 3)
    assert port["inbound"]["identities"] == {IDENTITY: 5}
    assert port["inbound"]["plaintext"] == 0
    assert port["outbound"]["peers"] == {"ignite-1": 1, "ignite-2": 1}
    assert port["outbound"]["identities"] == {IDENTITY: 2}
    assert report["pods"]["ignite-0"]["proxyInjected"] is True
    assert report["pods"]["ignite-0"]["ready"] is True
    assert report["pods"]["ignite-0"]["phase"] == "Running"


def test_report_carries_the_expectation_and_run_details(cluster: FakeCluster) -> None:
    report = cluster.run().report
    assert report["namespace"] == "ignite" and report["statefulset"] == "ignite"
    assert report["expectedIdentity"] == IDENTITY
    assert report["ports"] == [47100, 47500]
    assert report["attempts"] == 1
    assert report["elapsedSeconds"] >= 0
    assert report["checkedAt"].endswith("Z") or "+00:00" in report["checkedAt"]


def test_native_sidecar_proxy_counts_as_injected(cluster: FakeCluster) -> None:
    result = cluster.use("pods-2-native-sidecar.json").run()
    assert result.rc == 0, problems(result)
    assert result.report["pods"]["ignite-1"]["proxy"] == "native-sidecar"
    assert result.report["pods"]["ignite-1"]["proxyInjected"] is True


# --- not verified -------------------------------------------------------------------------------


def test_plaintext_on_one_port_is_not_verified(cluster: FakeCluster) -> None:
    result = cluster.use(scenario="plaintext-47100").run()
    assert result.rc == 1 and result.report["verified"] is False
    [failure] = result.report["failures"]
    assert (failure["pod"], failure["port"]) == ("ignite-1", 47100)
    assert "plaintext inbound" in failure["problem"] and "no_tls_from_remote" in failure["problem"]
    assert "linkerd.io/inject: enabled" in failure["fix"]
    assert result.report["pods"]["ignite-1"]["ports"]["47100"]["inbound"]["plaintext"] == 3


def test_one_direction_missing_on_a_port_is_not_verified(cluster: FakeCluster) -> None:
    result = cluster.use(scenario="one-direction-missing").run()
    assert result.rc == 1
    [failure] = result.report["failures"]
    assert failure["port"] == 47100 and "one direction missing" in failure["problem"]


def test_pod_taking_no_part_in_a_port_is_not_verified(cluster: FakeCluster) -> None:
    result = cluster.use("pods-3.json", "not-participating-3").run(replicas=3)
    assert result.rc == 1
    [failure] = result.report["failures"]
    assert (failure["pod"], failure["port"]) == ("ignite-2", 47100)
    assert "takes no part" in failure["problem"]
    assert 'config.linkerd.io/opaque-ports: "10800,47100,47500"' in failure["fix"]
    assert (
        "kubectl rollout restart statefulset/ignite -n ignite, then python -m checks.rollout"
        in (failure["fix"])
    )


def test_wrong_identity_is_not_verified(cluster: FakeCluster) -> None:
    result = cluster.use(scenario="wrong-identity").run()
    assert result.rc == 1
    wrong = [f for f in result.report["failures"] if "default.default" in f["problem"]]
    assert {(f["pod"], f["port"]) for f in wrong} == {("ignite-1", 47100), ("ignite-1", 47500)}
    assert all("serviceAccountName" in f["fix"] for f in wrong)


def test_pod_without_proxy_is_not_verified_and_not_scraped(cluster: FakeCluster) -> None:
    result = cluster.use("pods-2-no-proxy.json").run()
    assert result.rc == 1
    assert result.report["pods"]["ignite-1"]["proxyInjected"] is False
    [failure] = result.report["failures"]
    assert failure["pod"] == "ignite-1" and "proxy not injected" in failure["problem"]
    assert "spec.template.metadata.annotations" in failure["fix"]
    assert [c["argv"][-1] for c in cluster.scrapes()] == ["po/ignite-0"]


def test_pod_not_ready_is_not_verified(cluster: FakeCluster) -> None:
    result = cluster.use("pods-2-not-ready.json").run()
    assert result.rc == 1
    assert result.report["pods"]["ignite-1"]["ready"] is False
    assert "ignite-1: pod is not Ready" in result.report["reasons"]


def test_missing_pod_is_not_verified(cluster: FakeCluster) -> None:
    result = cluster.use("pods-2-missing-1.json").run()
    assert result.rc == 1
    assert result.report["pods"]["ignite-1"]["exists"] is False
    assert "ignite-1: pod does not exist" in result.report["reasons"]


def test_no_traffic_is_not_verified(cluster: FakeCluster) -> None:
    result = cluster.use(scenario="no-traffic").run()
    assert result.rc == 1
    assert "no traffic observed" in problems(result)


def test_garbage_metrics_are_unparseable_and_not_verified(cluster: FakeCluster) -> None:
    result = cluster.use(scenario="garbage").run()
    assert result.rc == 1
    assert result.report["pods"]["ignite-1"]["metrics"] == "unparseable"
    assert "ignite-1: metrics unparseable" in problems(result)


def test_empty_metrics_are_not_verified(cluster: FakeCluster) -> None:
    result = cluster.use(scenario="empty").run()
    assert result.rc == 1
    assert result.report["pods"]["ignite-1"]["metrics"] == "empty"


def test_failing_scrape_tool_is_not_verified(cluster: FakeCluster) -> None:
    result = cluster.fail("scrape-error:ignite-1").run()
    assert result.rc == 1
    assert result.report["pods"]["ignite-1"]["metrics"] == "unavailable"
    assert "exited 1" in problems(result) and "connection reset by peer" in problems(result)


def _listing_fails_after_the_first_round(cluster: FakeCluster) -> Result:
    # Round 1 lists the pods and sees no traffic; every later listing fails.
    cluster.use(scenario="no-traffic").fail("kubectl-error-after-first")
    result = cluster.run(timeout="2")
    assert result.report["attempts"] > 1
    return result


def test_a_pod_listing_that_fails_up_to_the_timeout_cannot_run_with_kubectls_message(
    cluster: FakeCluster,
) -> None:
    result = _listing_fails_after_the_first_round(cluster)
    assert (result.rc, result.report["status"]) == (2, "cannot-run")
    assert "listing pods failed" in problems(result)
    assert "doesn't have a resource type" in problems(result)


def test_a_pod_listing_that_fails_once_is_retried_and_the_check_goes_on(
    cluster: FakeCluster,
) -> None:
    # Round 2's listing fails, the later ones see the pods again: a blip, not the verdict, which
    # is the last round's (no traffic seen: not verified).
    cluster.use(scenario="no-traffic").fail("kubectl-error-second")
    result = cluster.run(timeout="2")
    assert result.report["attempts"] > 2
    assert (result.rc, result.report["status"]) == (1, "not-verified")
    assert "listing pods failed" not in problems(result)


def test_a_failed_pod_listing_never_says_the_pods_do_not_exist(cluster: FakeCluster) -> None:
    result = _listing_fails_after_the_first_round(cluster)
    assert "does not exist" not in problems(result)
    assert result.report["pods"] == {}


def test_unreadable_pod_json_is_not_verified(cluster: FakeCluster) -> None:
    result = cluster.fail("kubectl-badjson").run()
    assert result.rc == 1
    assert "pod JSON that could not be read" in problems(result)


def test_hung_scrape_is_cut_off_by_the_per_call_timeout(cluster: FakeCluster) -> None:
    result = cluster.fail("scrape-hang:ignite-0").run("--call-timeout", "0.5")
    assert result.rc == 1
    assert "timed out after 0.5s" in problems(result)


def test_not_verified_by_the_timeout_reports_the_last_of_several_attempts(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check's clock and sleep are its own to inject: on a fake clock that only sleeping moves,
    # a 3 s budget with a 1 s interval is exactly three rounds, however loaded the machine is.
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(
        checks.mtls,
        "run_check",
        partial(checks.mtls.run_check, clock=lambda: now[0], sleep=advance),
    )
    result = cluster.use(scenario="no-traffic").run(timeout="3", interval="1")
    assert result.rc == 1
    assert result.report["attempts"] == 3
    assert len(cluster.calls("kubectl")) == 3
    assert "attempt 2: not verified" in result.stderr
    assert "attempt 3: not verified" in result.stderr


def test_retries_until_traffic_shows_up(cluster: FakeCluster, tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    shutil.copytree(SCENARIOS / "verified-2", metrics)
    for pod in ("ignite-0", "ignite-1"):  # first scrape: no traffic yet
        shutil.copy(SCENARIOS / "no-traffic" / f"{pod}.txt", metrics / f"{pod}.attempt1.txt")
    result = cluster.use(scenario=metrics).run(timeout="5", interval="0.05")
    assert result.rc == 0, problems(result)
    assert result.report["attempts"] == 2


# --- cannot run ---------------------------------------------------------------------------------


def test_kubectl_missing_from_path_exits_2(cluster: FakeCluster) -> None:
    cluster.remove_tool("kubectl")
    result = cluster.run()
    assert result.rc == 2
    assert result.report["verified"] is False and result.report["status"] == "cannot-run"
    assert "kubectl not found on PATH" in problems(result)


def test_linkerd_missing_from_path_exits_2_and_suggests_the_kubectl_source(
    cluster: FakeCluster,
) -> None:
    cluster.remove_tool("linkerd")
    result = cluster.run()
    assert result.rc == 2
    assert "--metrics-source kubectl" in problems(result)


def test_unreachable_cluster_on_the_first_call_exits_2(cluster: FakeCluster) -> None:
    result = cluster.fail("kubectl-unreachable").run(timeout="5")
    assert result.rc == 2
    assert "--context" in problems(result)
    assert len(cluster.calls("kubectl")) == 1  # no retry loop against a dead API server


def test_cannot_run_gives_kubectls_own_message_without_its_log_lines(
    cluster: FakeCluster,
) -> None:
    reason = problems(cluster.fail("kubectl-unreachable").run(timeout="5"))
    assert "The connection to the server 127.0.0.1:1 was refused" in reason
    assert "memcache.go" not in reason


@pytest.mark.parametrize("fault", ["kubectl-no-credentials", "kubectl-error"])
def test_a_first_kubectl_call_that_fails_with_any_message_cannot_run(
    cluster: FakeCluster, fault: str
) -> None:
    result = cluster.fail(fault).run(timeout="5")
    assert result.rc == 2
    assert result.report["status"] == "cannot-run"
    assert "does not exist" not in problems(result)
    assert len(cluster.calls("kubectl")) == 1


@pytest.mark.parametrize("user", [True, False], ids=["refused", "no-credentials"])
def test_the_real_kubectl_against_an_unreachable_api_server_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: bool
) -> None:
    argv = FakeCluster.argv("--metrics-source", "kubectl")
    rc, report = run_with_real_kubectl(main, argv, tmp_path, monkeypatch, user=user)
    assert (rc, report["status"]) == (2, "cannot-run"), report["reasons"]
    assert REAL_KUBECTL_SAYS[user] in report["reasons"][0]


def test_kubectl_prompting_for_a_username_is_explained(cluster: FakeCluster) -> None:
    reason = problems(cluster.fail("kubectl-no-credentials").run(timeout="5"))
    assert "error: EOF" in reason
    assert "no credentials" in reason


def test_a_hung_first_call_cannot_run(cluster: FakeCluster) -> None:
    result = cluster.fail("kubectl-hang").run("--call-timeout", "0.5", timeout="5")
    assert result.rc == 2
    assert "timed out after 0.5s" in problems(result)


def test_a_missing_kubeconfig_file_cannot_run(cluster: FakeCluster, tmp_path: Path) -> None:
    result = cluster.run("--kubeconfig", str(tmp_path / "no-such-kubeconfig"))
    assert result.rc == 2
    assert "--kubeconfig" in problems(result) and "no such file" in problems(result)
    assert cluster.calls() == []


def _usage_error(cluster: FakeCluster, capsys: pytest.CaptureFixture[str], argument: str) -> str:
    """argparse's message for a bad argument: exit 2 before any tool is called."""
    with pytest.raises(SystemExit) as exit_info:
        cluster.run(argument)
    assert exit_info.value.code == 2
    assert cluster.calls() == []
    return capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--timeout", "--interval", "--call-timeout"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_number_of_seconds_that_is_not_finite_is_a_usage_error(
    cluster: FakeCluster, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    error = _usage_error(cluster, capsys, f"{flag}={value}")
    assert f"argument {flag}" in error and "finite" in error


@pytest.mark.parametrize("flag", ["--context", "--kubeconfig"])
def test_a_context_or_kubeconfig_starting_with_a_dash_is_a_usage_error(
    cluster: FakeCluster, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    error = _usage_error(cluster, capsys, f"{flag}=-x")
    assert f"argument {flag}" in error and "starts with '-'" in error


def _interrupt(cluster: FakeCluster, tmp_path: Path, signum: int) -> InterruptedRun:
    pidfile = tmp_path / "hung-scrape.pid"
    cluster.fail("scrape-hang:ignite-0").set("FAKE_MTLS_HANG_PIDFILE", str(pidfile))
    argv = FakeCluster.argv(timeout="30", interval="0.1")
    argv[argv.index("--call-timeout") + 1] = "60"
    return interrupt_cli("checks.mtls", argv, pidfile, signum, cluster.env)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_prints_an_interrupted_report_with_its_own_exit_code(
    cluster: FakeCluster, tmp_path: Path, signum: int
) -> None:
    report = _interrupt(cluster, tmp_path, signum).report(signum, "reasons")
    assert report["verified"] is False


def test_a_signal_leaves_no_scrape_running(cluster: FakeCluster, tmp_path: Path) -> None:
    assert _interrupt(cluster, tmp_path, signal.SIGTERM).still_running == []


# --- how the tools are called -------------------------------------------------------------------


def test_metrics_source_kubectl_reads_the_proxy_admin_port_through_the_api(
    cluster: FakeCluster,
) -> None:
    result = cluster.run("--metrics-source", "kubectl")
    assert result.rc == 0, problems(result)
    assert cluster.calls("linkerd") == []
    raw = sorted(c["argv"][-1] for c in cluster.scrapes())
    assert raw == [
        "/api/v1/namespaces/ignite/pods/ignite-0:4191/proxy/metrics",
        "/api/v1/namespaces/ignite/pods/ignite-1:4191/proxy/metrics",
    ]
    assert all(c["argv"][:2] == ["get", "--raw"] for c in cluster.scrapes())


def test_linkerd_source_scrapes_with_diagnostics_proxy_metrics(cluster: FakeCluster) -> None:
    cluster.run()
    argvs = sorted(c["argv"] for c in cluster.calls("linkerd"))
    assert argvs == [
        ["diagnostics", "proxy-metrics", "-n", "ignite", "po/ignite-0"],
        ["diagnostics", "proxy-metrics", "-n", "ignite", "po/ignite-1"],
    ]


def test_context_and_kubeconfig_are_passed_to_both_tools(
    cluster: FakeCluster, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kc.yaml"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    cluster.run("--context", "kind-mesh", "--kubeconfig", str(kubeconfig))
    calls = cluster.calls()
    assert {c["tool"] for c in calls} == {"kubectl", "linkerd"}
    for call in calls:
        argv = call["argv"]
        assert argv[argv.index("--context") + 1] == "kind-mesh", argv
        assert argv[argv.index("--kubeconfig") + 1] == str(kubeconfig), argv


def test_a_failed_calls_description_never_shows_the_kubeconfig() -> None:
    argv = ("kubectl", "--kubeconfig", "/run/kc-secret", "--context", "c", "get", "pods")
    described = CallResult(argv, 1, "", "error: EOF\n").describe()
    assert "/run/kc-secret" not in described
    assert described.startswith("kubectl --kubeconfig <redacted> get pods exited 1")


def test_a_failed_calls_description_never_shows_credential_flag_values() -> None:
    argv = ("kubectl", "--token=s3cr3t", "--kubeconfig=/run/kc", "get", "pods")
    described = CallResult(argv, None, "", "", "timed out after 1s").describe()
    assert "s3cr3t" not in described and "/run/kc" not in described


def test_a_kubeconfig_from_the_pulumi_program_reaches_both_tools_as_a_private_file(
    cluster: FakeCluster,
) -> None:
    cluster.set("CACHEMESH_KUBECONFIG", "apiVersion: v1\nkind: Config\n")
    cluster.run()
    files = {c["argv"][c["argv"].index("--kubeconfig") + 1] for c in cluster.calls()}
    assert {c["tool"] for c in cluster.calls()} == {"kubectl", "linkerd"}
    [path] = files
    assert "cachemesh-kubeconfig-" in path and not Path(path).exists()


def test_credentials_in_a_url_kubectl_quotes_are_never_shown() -> None:
    # kubectl's klog lines quote the kubeconfig's server URL as it is, userinfo included.
    err = 'E1203 08:45:04.866787   29255 memcache.go:265] err="Get \\"https://u:pw-5ecret@h:1/api\\""\n'
    described = CallResult(("kubectl", "get", "pods"), 1, "", err).describe()
    assert "pw-5ecret" not in described and "https://<redacted>@h:1/api" in described


def test_pods_are_scraped_concurrently(cluster: FakeCluster) -> None:
    cluster.use("pods-3.json", "verified-3").set("FAKE_MTLS_DELAY", "0.3")
    result = cluster.run(replicas=3)
    assert result.rc == 0, problems(result)
    scrapes = cluster.scrapes()
    assert len(scrapes) == 3
    # Every scrape started before any other one ended: all three were in flight at once.
    assert max(s["start"] for s in scrapes) < min(s["end"] for s in scrapes)


# --- the command line as a user runs it ----------------------------------------------------------


def _cli(cluster: FakeCluster, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **cluster.env, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "checks.mtls", *FakeCluster.argv(*extra)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_prints_one_json_report_on_stdout_and_exits_0_when_verified(
    cluster: FakeCluster,
) -> None:
    proc = _cli(cluster)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verified"] is True
    assert "checks.mtls: attempt 1: verified" in proc.stderr


def test_cli_exits_1_with_a_json_report_when_not_verified(cluster: FakeCluster) -> None:
    cluster.use(scenario="plaintext-47100")
    proc = _cli(cluster)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["verified"] is False


def test_cli_exits_2_with_advice_when_the_cluster_is_unreachable(cluster: FakeCluster) -> None:
    cluster.fail("kubectl-unreachable")
    proc = _cli(cluster)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["verified"] is False
    assert "the first kubectl call failed" in proc.stderr
    assert "Traceback" not in proc.stderr
