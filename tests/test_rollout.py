"""The rollout end to end: the real CLI and subprocess code against a stand-in `kubectl` that plays
the StatefulSet controller, the Eviction API and an Ignite cluster (tests/fixtures/rollout/).
"""

from __future__ import annotations

import io
import json
import signal
from dataclasses import dataclass
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
from test_mtls_check import Result

import checks.rollout
from checks.rollout import GATE_CLUSTER, GATE_EVICTION, GATE_POD_BACK, Rollout, main
from checks.rollout_tools import parse_metric_table

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rollout"
OLD, NEW = "ignite-5d8f7c9b6", "ignite-7b9c5d4f8"
# The gate timeout of cases where one gate must pass before another fails: 20 polls at the
# 0.01 s interval, more than the two polls the passing gate takes.
SHORT = "0.2"


def cluster_state(replicas: int = 3, updated: tuple[str, ...] = (), **overrides: Any) -> dict:
    """A whole, rebalanced cluster whose StatefulSet has a new update revision; the pods in
    `updated` are already on it."""
    names = [f"ignite-{i}" for i in range(replicas)]
    state: dict[str, Any] = {
        "namespace": "ignite",
        "statefulset": {
            "name": "ignite",
            "replicas": replicas,
            "selector": {"app": "ignite", "type": "server"},
            "updateRevision": NEW,
            "currentRevision": OLD,
            "generation": 2,
            "observedGeneration": 2,
        },
        "pdbMaxUnavailable": 1,
        "readyAfterPolls": 2,
        "rebalanceAfterPolls": 2,
        "pods": {
            n: {
                "uid": f"uid-{i}",
                "revision": NEW if n in updated else OLD,
                "ready": True,
                "pollsLeft": 0,
            }
            for i, n in enumerate(names)
        },
        "cluster": {"rebalanced": True, "pollsLeft": 0},
        "uidCounter": 100,
        "log": [],
        "evictions": [],
    }
    state.update(overrides)
    return state


@dataclass
class FakeCluster:
    bin_dir: Path
    state_path: Path
    monkeypatch: pytest.MonkeyPatch

    def load(self, state: dict) -> FakeCluster:
        self.state_path.write_text(json.dumps(state))
        return self

    @property
    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    def run(self, *extra: str, timeout: str = "120", replicas: int = 3) -> Result:
        # A generous default: gates that must pass may take several stand-in calls each, and the
        # machine is shared; cases that expect a gate to fail pass a short timeout.
        out, err = io.StringIO(), io.StringIO()
        argv = [
            "--namespace", "ignite",
            "--statefulset", "ignite",
            "--replicas", str(replicas),
            "--timeout", timeout,
            "--interval", "0.01",
            *extra,
        ]  # fmt: skip
        # The gates' clock moves only when they sleep between polls: a timeout is a number of
        # polls (timeout / interval), so a gate's verdict does not depend on the machine's load.
        now = [0.0]

        def advance(seconds: float) -> None:
            now[0] += seconds

        self.monkeypatch.setattr(
            checks.rollout, "Rollout", partial(Rollout, clock=lambda: now[0], sleep=advance)
        )
        rc = main(argv, stdout=out, stderr=err)
        return Result(rc, json.loads(out.getvalue()), err.getvalue())

    def evicted(self) -> list[str]:
        return [e["pod"] for e in self.state["evictions"]]

    def revisions(self) -> dict[str, str]:
        return {n: p["revision"] for n, p in self.state["pods"].items()}


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    # no_site: each call starts fast; the stand-in needs only the standard library.
    bin_dir = put_on_path(
        tmp_path, monkeypatch, FIXTURES / "fake_kubectl.py", ("kubectl",), no_site=True
    )
    state_path = tmp_path / "cluster.json"
    monkeypatch.setenv("FAKE_ROLLOUT_STATE", str(state_path))
    return FakeCluster(bin_dir, state_path, monkeypatch).load(cluster_state())


def _actions(result: Result) -> dict[str, str]:
    return {p["pod"]: p["action"] for p in result.report["pods"]}


# --- a clean rollout ----------------------------------------------------------------------------


def test_clean_rollout_restarts_every_pod_from_the_highest_ordinal_down(
    cluster: FakeCluster,
) -> None:
    result = cluster.run()
    assert result.rc == 0, result.stderr
    assert cluster.evicted() == ["ignite-2", "ignite-1", "ignite-0"]
    assert result.report["restarted"] == ["ignite-2", "ignite-1", "ignite-0"]


def test_clean_rollout_never_restarts_a_pod_while_the_cluster_is_unsettled(
    cluster: FakeCluster,
) -> None:
    cluster.run()
    evictions = cluster.state["evictions"]
    assert len(evictions) == 3
    for eviction in evictions:
        assert eviction["rebalanced"] is True, eviction
        assert eviction["readyPods"] == eviction["replicas"], eviction


def test_clean_rollout_waits_for_the_rebalance_after_each_restart(cluster: FakeCluster) -> None:
    result = cluster.run()
    # The stand-in keeps cluster.Rebalanced false for a while after each restart: every gate
    # after a restart needed more than the two passing polls.
    gates = [w for p in result.report["pods"] for w in p["waits"] if w["gate"] == GATE_CLUSTER]
    assert [g["polls"] > 2 for g in gates] == [False, True, True]
    assert result.report["finalGate"]["passed"] is True
    assert result.report["finalGate"]["polls"] > 2


def test_clean_rollout_reports_completed_with_every_pod_on_the_update_revision(
    cluster: FakeCluster,
) -> None:
    report = cluster.run().report
    assert report["completed"] is True
    assert report["status"] == "completed"
    assert report["updateRevision"] == NEW
    assert report["podsOnUpdateRevision"] == 3
    assert set(cluster.revisions().values()) == {NEW}
    assert _actions(cluster.run()) == {
        "ignite-2": "already-updated",
        "ignite-1": "already-updated",
        "ignite-0": "already-updated",
    }


def test_report_says_how_long_each_wait_took(cluster: FakeCluster) -> None:
    step = cluster.run().report["pods"][0]
    assert [w["gate"] for w in step["waits"]] == [GATE_CLUSTER, GATE_EVICTION, GATE_POD_BACK]
    assert all(isinstance(w["seconds"], float) and w["passed"] for w in step["waits"])


def test_every_call_names_the_namespace_and_the_context(
    cluster: FakeCluster, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    cluster.run("--context", "kind-cachemesh", "--kubeconfig", str(kubeconfig))
    calls = [c["argv"] for c in cluster.state["log"]]
    assert calls
    for argv in calls:
        head = argv[: argv.index("--")] if "--" in argv else argv
        assert head[head.index("-n") : head.index("-n") + 2] == ["-n", "ignite"]
        assert "--context" in head and "--kubeconfig" in head


def test_uses_only_the_documented_kubectl_calls(cluster: FakeCluster) -> None:
    cluster.run()
    kinds = set()
    for call in cluster.state["log"]:
        argv = [a for a in call["argv"] if a not in ("-n", "ignite")]
        kinds.add(tuple(argv[:2]) if argv[0] != "exec" else ("exec",))
    assert kinds == {("get", "statefulset"), ("get", "pods"), ("exec",), ("create", "--raw")}


# --- resuming -----------------------------------------------------------------------------------


def test_resumed_rollout_restarts_only_the_pods_still_on_the_old_revision(
    cluster: FakeCluster,
) -> None:
    cluster.load(cluster_state(updated=("ignite-2", "ignite-1")))
    result = cluster.run()
    assert result.rc == 0, result.stderr
    assert cluster.evicted() == ["ignite-0"]
    assert _actions(result) == {
        "ignite-2": "already-updated",
        "ignite-1": "already-updated",
        "ignite-0": "restarted",
    }


# --- gates that do not pass ---------------------------------------------------------------------


def test_rebalance_that_never_finishes_stops_after_the_first_pod(cluster: FakeCluster) -> None:
    cluster.load(cluster_state(neverRebalance=True))
    result = cluster.run(timeout=SHORT)
    assert result.rc == 1
    assert cluster.evicted() == ["ignite-2"]
    assert cluster.revisions() == {"ignite-0": OLD, "ignite-1": OLD, "ignite-2": NEW}


def test_rebalance_that_never_finishes_names_the_gate_that_failed(cluster: FakeCluster) -> None:
    cluster.load(cluster_state(neverRebalance=True))
    report = cluster.run(timeout=SHORT).report
    assert report["completed"] is False
    assert report["failedGate"] == GATE_CLUSTER
    assert "cluster.Rebalanced is false" in report["reason"]
    assert _actions_from(report) == {
        "ignite-2": "restarted",
        "ignite-1": "stopped",
        "ignite-0": "not-reached",
    }
    assert report["podsOnUpdateRevision"] == 1


def _actions_from(report: dict) -> dict[str, str]:
    return {p["pod"]: p["action"] for p in report["pods"]}


def test_pod_that_never_becomes_ready_stops_the_rollout(cluster: FakeCluster) -> None:
    cluster.load(cluster_state(neverReady=["ignite-2"]))
    result = cluster.run(timeout=SHORT)
    assert result.rc == 1
    assert cluster.evicted() == ["ignite-2"]
    assert result.report["failedGate"] == GATE_POD_BACK
    assert "ignite-2 is not Ready" in result.report["reason"]
    assert cluster.revisions()["ignite-1"] == OLD


def test_no_rebalanced_row_is_never_taken_as_rebalanced(cluster: FakeCluster) -> None:
    cluster.load(cluster_state(omitRebalancedRow=True))
    result = cluster.run(timeout="0.05")
    assert result.rc == 1
    assert cluster.evicted() == []
    assert result.report["failedGate"] == GATE_CLUSTER
    assert "printed no cluster.Rebalanced row" in result.report["reason"]


def test_no_metric_found_message_is_never_taken_as_rebalanced(cluster: FakeCluster) -> None:
    cluster.load(cluster_state(unknownMetric=True))
    result = cluster.run(timeout="0.05")
    assert result.rc == 1
    assert cluster.evicted() == []


def test_a_missing_server_node_keeps_the_gate_closed(cluster: FakeCluster) -> None:
    state = cluster_state()
    state["pods"]["ignite-0"].update(ready=False, pollsLeft=0)
    cluster.load({**state, "neverReady": ["ignite-0"]})
    result = cluster.run(timeout="0.05")
    assert result.rc == 1
    assert cluster.evicted() == []
    assert "pods not Ready: ignite-0" in result.report["reason"]


def test_eviction_refused_by_the_disruption_budget_stops_without_a_restart(
    cluster: FakeCluster,
) -> None:
    cluster.load(cluster_state(pdbMaxUnavailable=0))
    result = cluster.run(timeout=SHORT)
    assert result.rc == 1
    assert cluster.evicted() == []
    assert result.report["failedGate"] == GATE_EVICTION
    assert "429" in result.report["reason"]


def test_pod_under_two_disruption_budgets_stops_at_once_without_a_restart(
    cluster: FakeCluster,
) -> None:
    # The API server answers 500 for such a pod whatever the budgets allow: waiting cannot help.
    cluster.load(cluster_state(pdbCount=2))
    result = cluster.run(timeout="5")
    assert result.rc == 1
    assert cluster.evicted() == []
    attempts = [c for c in cluster.state["log"] if "--raw" in c["argv"]]
    assert len(attempts) == 1
    assert result.report["failedGate"] == GATE_EVICTION
    assert "more than one PodDisruptionBudget" in result.report["reason"]


# --- cannot run ---------------------------------------------------------------------------------


def test_missing_kubectl_exits_2(cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    (cluster.bin_dir / "kubectl").unlink()
    monkeypatch.setenv("PATH", str(cluster.bin_dir))
    result = cluster.run()
    assert result.rc == 2
    assert result.report["status"] == "cannot-run"
    assert "kubectl not found" in result.report["reason"]


def test_unknown_statefulset_exits_2(cluster: FakeCluster) -> None:
    out = io.StringIO()
    argv = ["--namespace", "ignite", "--statefulset", "nope", "--replicas", "3"]
    rc = main(argv, stdout=out, stderr=io.StringIO())
    assert rc == 2
    assert 'StatefulSet "nope" not found' in json.loads(out.getvalue())["reason"]


def test_unreachable_cluster_exits_2(cluster: FakeCluster) -> None:
    cluster.load(cluster_state(unreachable=True))
    result = cluster.run()
    assert result.rc == 2
    assert "The connection to the server 127.0.0.1:1 was refused" in result.report["reason"]
    assert "memcache.go" not in result.report["reason"]


def test_a_first_call_that_fails_with_any_message_cannot_run(cluster: FakeCluster) -> None:
    cluster.load(cluster_state(noCredentials=True))
    result = cluster.run()
    assert result.rc == 2
    assert result.report["status"] == "cannot-run"
    assert "error: EOF" in result.report["reason"]
    assert "internal error" not in result.report["reason"]


@pytest.mark.parametrize("user", [True, False], ids=["refused", "no-credentials"])
def test_the_real_kubectl_against_an_unreachable_api_server_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: bool
) -> None:
    argv = ["--namespace", "ignite", "--statefulset", "ignite", "--replicas", "3"]
    rc, report = run_with_real_kubectl(main, argv, tmp_path, monkeypatch, user=user)
    assert (rc, report["status"]) == (2, "cannot-run"), report["reason"]
    assert REAL_KUBECTL_SAYS[user] in report["reason"]


def test_a_kubectl_call_outside_a_gate_that_fails_cannot_run(cluster: FakeCluster) -> None:
    cluster.load(cluster_state(podsListingFails=True))
    result = cluster.run()
    assert result.rc == 2
    assert result.report["status"] == "cannot-run"
    assert "listing pods failed" in result.report["reason"]
    assert "error: EOF" in result.report["reason"]
    assert result.report["updateRevision"] == NEW
    assert cluster.evicted() == []


def test_a_gate_whose_kubectl_call_fails_up_to_the_timeout_cannot_run(
    cluster: FakeCluster,
) -> None:
    cluster.load(cluster_state(execFails=True))
    result = cluster.run(timeout="0.5")
    assert (result.rc, result.report["status"]) == (2, "cannot-run")
    assert "could not be judged" in result.report["reason"]
    assert "error dialing backend" in result.report["reason"]
    assert cluster.evicted() == []


def test_a_gate_poll_that_fails_once_is_retried_and_the_rollout_completes(
    cluster: FakeCluster,
) -> None:
    cluster.load(cluster_state(execFailsOnce=True))
    result = cluster.run()
    assert (result.rc, result.report["status"]) == (0, "completed")


def _usage_error(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    argv = ["--namespace", "ignite", "--statefulset", "ignite", "--replicas", "3", *extra]
    with pytest.raises(SystemExit) as exit_info:
        main(argv, stdout=io.StringIO(), stderr=io.StringIO())
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--timeout", "--interval", "--call-timeout"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_number_of_seconds_that_is_not_finite_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    error = _usage_error(capsys, f"{flag}={value}")
    assert f"argument {flag}" in error and "finite" in error


@pytest.mark.parametrize("flag", ["--context", "--kubeconfig"])
def test_a_context_or_kubeconfig_starting_with_a_dash_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    error = _usage_error(capsys, f"{flag}=-x")
    assert f"argument {flag}" in error and "starts with '-'" in error


def test_a_missing_kubeconfig_file_cannot_run(cluster: FakeCluster, tmp_path: Path) -> None:
    result = cluster.run("--kubeconfig", str(tmp_path / "no-such-kubeconfig"))
    assert result.rc == 2
    assert result.report["status"] == "cannot-run"
    assert "--kubeconfig" in result.report["reason"]
    assert "no such file" in result.report["reason"]
    assert cluster.state["log"] == []


# --- a kubeconfig from the Pulumi program (CACHEMESH_KUBECONFIG) ---------------------------------

KUBECONFIG_TEXT = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: tok-5ecret}\n"


def test_kubeconfig_contents_reach_kubectl_as_a_file_only_its_user_reads(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHEMESH_KUBECONFIG", KUBECONFIG_TEXT)
    assert cluster.run().rc == 0
    seen = {(c["kubeconfigMode"], c["kubeconfigText"]) for c in cluster.state["log"]}
    assert seen == {("0o600", KUBECONFIG_TEXT)}


def test_the_kubeconfig_file_written_from_contents_is_removed_afterwards(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHEMESH_KUBECONFIG", KUBECONFIG_TEXT)
    cluster.run()
    argv = cluster.state["log"][0]["argv"]
    written = Path(argv[argv.index("--kubeconfig") + 1])
    assert not written.exists() and not written.parent.exists()


def test_kubeconfig_contents_appear_in_no_message(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHEMESH_KUBECONFIG", KUBECONFIG_TEXT)
    cluster.load(cluster_state(podsListingFails=True))
    result = cluster.run()
    assert result.rc == 2
    assert "tok-5ecret" not in json.dumps(result.report) + result.stderr
    assert "cachemesh-kubeconfig-" not in json.dumps(result.report) + result.stderr


def test_a_kubeconfig_path_is_handed_to_kubectl_as_it_is(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(KUBECONFIG_TEXT)
    monkeypatch.setenv("CACHEMESH_KUBECONFIG", str(path))
    cluster.run()
    assert {c["argv"][c["argv"].index("--kubeconfig") + 1] for c in cluster.state["log"]} == {
        str(path)
    }


def test_a_kubeconfig_path_that_names_no_file_cannot_run(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CACHEMESH_KUBECONFIG", str(tmp_path / "nowhere.yaml"))
    result = cluster.run()
    assert result.rc == 2
    assert "CACHEMESH_KUBECONFIG (the stack's kubernetes:kubeconfig)" in result.report["reason"]
    assert "names no existing file" in result.report["reason"]
    assert cluster.state["log"] == []


# --- interrupted ---------------------------------------------------------------------------------


def _interrupt(
    cluster: FakeCluster, tmp_path: Path, signum: int, env: dict[str, str] | None = None
) -> InterruptedRun:
    pidfile = tmp_path / "hung-kubectl.pid"
    cluster.load(cluster_state(hangPidFile=str(pidfile)))
    argv = ["--namespace", "ignite", "--statefulset", "ignite", "--replicas", "3"]
    # The stand-in's PATH and state file are in os.environ already (the cluster fixture).
    return interrupt_cli("checks.rollout", argv, pidfile, signum, env or {})


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_prints_an_interrupted_report_with_its_own_exit_code(
    cluster: FakeCluster, tmp_path: Path, signum: int
) -> None:
    report = _interrupt(cluster, tmp_path, signum).report(signum, "reason")
    assert report["completed"] is False
    assert report["updateRevision"] == NEW  # what the run had read before


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_leaves_no_kubectl_call_running(
    cluster: FakeCluster, tmp_path: Path, signum: int
) -> None:
    assert _interrupt(cluster, tmp_path, signum).still_running == []


def test_a_signal_removes_the_kubeconfig_file_written_from_contents(
    cluster: FakeCluster, tmp_path: Path
) -> None:
    _interrupt(cluster, tmp_path, signal.SIGTERM, {"CACHEMESH_KUBECONFIG": KUBECONFIG_TEXT})
    argv = cluster.state["log"][0]["argv"]  # the calls before the hung one were logged
    written = Path(argv[argv.index("--kubeconfig") + 1])
    assert "cachemesh-kubeconfig-" in str(written) and not written.parent.exists()


# --- control.sh output --------------------------------------------------------------------------

CONTROL_OUTPUT = (FIXTURES / "control-metric-cluster.txt").read_text()


def test_metric_table_is_read_after_the_warnings_and_banner() -> None:
    rows = parse_metric_table(CONTROL_OUTPUT)
    assert rows["cluster.Rebalanced"] == "true"
    assert rows["cluster.TotalServerNodes"] == "3"
    assert "JVM_OPTS" not in " ".join(rows)


def test_metric_table_of_a_real_ignite_2_16_node_is_read() -> None:
    # Printed by the control utility against real Apache Ignite 2.16.0 nodes (captured from
    # tests/test_ignite_real.py): other row order and baseline counts than GridGain 8.9.33's,
    # a trailing blank after the arguments, the utility's deprecation warning before the table.
    text = (FIXTURES / "control-metric-cluster-ignite-2.16.0.txt").read_text()
    rows = parse_metric_table(text)
    assert (rows["cluster.Rebalanced"], rows["cluster.TotalServerNodes"]) == ("true", "3")
    assert len(rows) == 5


def test_no_metric_found_output_has_no_rows() -> None:
    text = CONTROL_OUTPUT.split("metric  ")[0] + (
        "No metric with specified name was found [name=cluster]\n"
        "Command [METRIC] finished with code: 0\n"
    )
    assert parse_metric_table(text) == {}


def test_an_update_revision_the_controller_has_not_observed_is_not_trusted(
    cluster: FakeCluster,
) -> None:
    state = cluster_state()
    state["statefulset"]["observedGeneration"] = 1  # the controller has not seen generation 2
    cluster.load(state)
    result = cluster.run(timeout="0.05")
    assert result.rc == 1
    assert result.report["failedGate"] == "statefulset-observed"
    assert cluster.evicted() == []
