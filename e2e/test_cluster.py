"""The throwaway cluster itself: real control plane, kwok nodes, and nothing left behind."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from checks.rollout_tools import (
    CONTROL_COMMAND,
    REBALANCED,
    TOTAL_SERVER_NODES,
    parse_metric_table,
)
from e2e.cluster import DEFAULT_NODES, ClusterError, start_cluster, throwaway_cluster


def _pod_phases(cluster_kubectl, namespace: str) -> dict[str, tuple[str, bool]]:
    pods = json.loads(cluster_kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)
    return {
        p["metadata"]["name"]: (
            p["status"].get("phase", ""),
            any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions", [])
            ),
        )
        for p in pods["items"]
    }


def test_fake_nodes_carry_hostname_and_zone_labels() -> None:
    with throwaway_cluster() as cluster:
        nodes = cluster.get_json("nodes")["items"]
        labels = {
            n["metadata"]["name"]: (
                n["metadata"]["labels"]["kubernetes.io/hostname"],
                n["metadata"]["labels"]["topology.kubernetes.io/zone"],
            )
            for n in nodes
        }
    assert labels == {name: (name, zone) for name, zone in DEFAULT_NODES.items()}


def test_kwok_runs_scheduled_pods_to_ready_and_everything_stops_after() -> None:
    with throwaway_cluster() as cluster:
        directory = cluster.directory
        pids = [p.popen.pid for p in cluster.processes]
        cluster.kubectl("create", "namespace", "probe")
        cluster.kubectl(
            "create",
            "deployment",
            "two",
            "-n",
            "probe",
            "--image=example.invalid/x",
            "--replicas=2",
        )
        deadline = time.monotonic() + 60
        phases: dict[str, tuple[str, bool]] = {}
        while time.monotonic() < deadline:
            phases = _pod_phases(cluster.kubectl, "probe")
            if len(phases) == 2 and all(v == ("Running", True) for v in phases.values()):
                break
            time.sleep(1)
        assert sorted(phases.values()) == [("Running", True), ("Running", True)]
    assert not directory.exists()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"process {pid} still runs"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_a_component_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    """An etcd whose data directory is a file exits at once: the error names it and quotes its
    log, and nothing is left running."""
    (tmp_path / "etcd").write_text("not a directory")
    with pytest.raises(ClusterError) as raised:
        start_cluster(tmp_path, timeout=30)
    message = str(raised.value)
    assert message.startswith("etcd: etcd exited with 1 while starting; its log ends:")
    # etcd's own fatal line, quoted from its log.
    assert f"readdirent {tmp_path / 'etcd'}: not a directory" in message
    # Nothing it started is still running: no process has tmp_path on its command line.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert str(tmp_path) not in cmdline or _zombie(int(entry.name))


def test_exec_into_a_cache_pod_answers_control_sh_with_the_namespaces_ready_pods() -> None:
    # checks.rollout's gate, as it runs it: `kubectl exec` through the real API server to the
    # node's "kubelet" (kwok), whose ClusterExec answers with the stand-in control.sh.
    with throwaway_cluster() as cluster:
        cluster.kubectl("create", "namespace", "ignite")
        cluster.kubectl(
            "create", "deployment", "two", "-n", "ignite", "--image=example.invalid/x",
            "--replicas=2",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        phases: dict[str, tuple[str, bool]] = {}
        while time.monotonic() < deadline:
            phases = _pod_phases(cluster.kubectl, "ignite")
            if len(phases) == 2 and all(v == ("Running", True) for v in phases.values()):
                break
            time.sleep(1)
        pod = sorted(phases)[0]
        result = cluster.kubectl(
            "exec", "-n", "ignite", pod, "--", "sh", "-c", CONTROL_COMMAND, check=False
        )
    assert result.returncode == 0, result.stderr
    rows = parse_metric_table(result.stdout)
    assert (rows[TOTAL_SERVER_NODES], rows[REBALANCED]) == ("2", "true")
