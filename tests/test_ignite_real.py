"""Real Apache Ignite 2.16.0 nodes run from what the program renders (tests/ignite_nodes.py).

Marker `ignite`: `pytest -m "not ignite"` leaves these out. They need root (network and PID
namespaces) and `make ignite`; without either they are skipped, except in CI (CI=true), where a
missing prerequisite fails them. All of them run on one xdist worker (group `ignite`) and share one
3-node cluster, in file order: read-only checks first, then the ones that stop and restart nodes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ignite_nodes
import pytest
from harness import put_on_path, run_program
from ignite_nodes import (
    IGNITE_DIR,
    NodeFailed,
    Pods,
    config_diff,
    installed,
    jvm_departures,
    node_spec,
)
from test_rollout import FIXTURES, NEW, cluster_state

from checks.rollout import main as rollout_main
from checks.rollout_tools import (
    CONTROL_COMMAND,
    REBALANCED,
    TOTAL_SERVER_NODES,
    parse_metric_table,
)
from settings.products import PRODUCTS, RENDEZVOUS_BY_NODE, PortAccess, ProductKey

pytestmark = [pytest.mark.ignite, pytest.mark.xdist_group("ignite")]

CACHE = "PERSON"
ENTRIES = 3000
CONFIG: dict[str, Any] = {
    "name": "ignite",
    "replicas": 3,
    "authorization": "strict",
    # Shorter than a GRACEFUL wait for a node to come back (a node starts in 8 s or more), so
    # the kubelet's SIGKILL ends a wait the gate should have made unnecessary: with a grace
    # period long enough, GRACEFUL alone keeps the data even with two nodes stopped at once
    # (tried), and the gate-bypassed rollout would have nothing to show.
    "terminationGracePeriodSeconds": 3,
    "cacheConfigurations": [
        {"name": CACHE, "cacheMode": "PARTITIONED", "backups": 1},
        {"name": "SETTINGS", "cacheMode": "REPLICATED"},
    ],
}


def _prerequisites() -> None:
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network and PID namespaces)")
    if not installed():
        missing.append(f"Apache Ignite in {IGNITE_DIR} (make ignite)")
    for tool in ("ip", "unshare", "nsenter", "java"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if missing:
        message = "real Ignite nodes need " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def render(config: dict[str, Any]) -> Any:
    run = run_program({"caches": [config]})
    name, ns = config["name"], "ignite"
    sts = run.one("kubernetes:apps/v1:StatefulSet", f"{ns}/{name}").kubernetes_object
    config_map = run.one("kubernetes:core/v1:ConfigMap", f"{ns}/{name}-config").kubernetes_object
    return run, node_spec(sts, config_map)


def start_cluster(
    run_dir: Path,
    config: dict[str, Any],
    *,
    node_names: Mapping[str, str] | None = None,
    change: Callable[[str], str] | None = None,
) -> Pods:
    """The StatefulSet's pods, started as its podManagementPolicy starts them: OrderedReady one
    after another once the previous is Ready, Parallel all at once. `node_names`: the Kubernetes
    node of each pod (default: one each). `change`: an edit of the rendered ignite-config.xml,
    for a test that shows what the program's XML prevents (it must change something)."""
    _run, spec = render(config)
    if change is not None:
        changed = change(spec.config_xml)
        assert changed != spec.config_xml, "change= left the rendered XML as it was"
        print(
            "".join(
                difflib.unified_diff(
                    spec.config_xml.splitlines(keepends=True),
                    changed.splitlines(keepends=True),
                    "rendered ignite-config.xml",
                    "changed by the test",
                )
            )
        )
        spec = dataclasses.replace(spec, config_xml=changed)
    pods = Pods.create(run_dir, spec, node_names)
    try:
        print(config_diff(spec, pods.pod_dir(pods.names()[0])))
        print(jvm_departures())
        if spec.pod_management_policy == "Parallel":
            for name in pods.names():
                pods.start(name)
        for name in pods.names():
            if spec.pod_management_policy != "Parallel":
                pods.start(name)
            pods.wait_ready(name)
    except BaseException:
        pods.destroy()
        raise
    return pods


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pods]:
    _prerequisites()
    pods = start_cluster(tmp_path_factory.mktemp("ignite"), CONFIG)
    try:
        yield pods
    finally:
        pods.destroy()


def control_metric_cluster(pods: Pods, pod: str) -> subprocess.CompletedProcess[str]:
    """`control.sh --metric cluster` exactly as checks.rollout runs it in the pod."""
    return pods.exec(pod, ["sh", "-c", CONTROL_COMMAND])


@contextlib.contextmanager
def client(pods: Pods) -> Iterator[Any]:
    """pyignite, Apache Ignite's Python thin client, on port 10800 of every running node."""
    from pyignite import Client

    c = Client(timeout=10)
    c.connect([(pods.address(n), 10800) for n in pods.names() if pods.running(n)])
    try:
        yield c
    finally:
        c.close()


def when_settled(call: Callable[[Any], Any], pods: Pods, timeout: float = 120) -> Any:
    """`call(client)`, made again when it meets the cluster still moving: a node leaving
    (ClusterTopologyException, as when a stopped node's departure has not reached the node
    serving the call yet), or no answer within the client's timeout (observed right after
    every node was replaced at once: the nodes were Ready, the call waited on the cluster's
    partition exchange). Neither says anything about the data."""
    from pyignite.exceptions import CacheError, ReconnectError, SocketError

    deadline = time.monotonic() + timeout
    while True:
        try:
            with client(pods) as c:
                return call(c)
        except CacheError as error:
            if "ClusterTopologyException" not in str(error) or time.monotonic() > deadline:
                raise
        except (TimeoutError, SocketError, ReconnectError):
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def load(pods: Pods, entries: int = ENTRIES) -> str:
    batch = {i: f"person-{i}" for i in range(entries)}

    def put(c: Any) -> None:
        cache = c.get_cache(CACHE)
        cache.clear()
        cache.put_all(batch)

    when_settled(put, pods)
    return checksum(batch)


def checksum(entries: dict[int, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(entries.items())).encode()).hexdigest()


def read_all(pods: Pods) -> dict[int, str]:
    """Every entry, read once the topology holds still."""
    return dict(when_settled(lambda c: dict(c.get_cache(CACHE).scan()), pods))


def settled(pods: Pods, servers: int, timeout: float = 60) -> dict[str, str]:
    """Wait until control.sh says `servers` nodes and rebalanced; its last table."""
    deadline = time.monotonic() + timeout
    rows: dict[str, str] = {}
    while time.monotonic() < deadline:
        pod = next(n for n in pods.names() if pods.running(n))
        rows = parse_metric_table(control_metric_cluster(pods, pod).stdout)
        if rows.get(REBALANCED) == "true" and rows.get(TOTAL_SERVER_NODES) == str(servers):
            return rows
        time.sleep(1)
    raise AssertionError(f"not {servers} rebalanced nodes within {timeout:g}s: {rows}")


# --- the configuration runs as rendered ----------------------------------------------------------


def test_node_config_differs_from_the_configmap_only_in_the_work_directory(
    tmp_path: Path,
) -> None:
    _run, spec = render(CONFIG)
    diff = config_diff(spec, tmp_path)
    print(diff)
    changed = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        '-        <property name="workDirectory" value="/ignite/work" />',
        f'+        <property name="workDirectory" value="{tmp_path / "work"}" />',
    ]


def test_cluster_forms_with_replicas_nodes_started_in_order(cluster: Pods) -> None:
    rows = parse_metric_table(control_metric_cluster(cluster, "ignite-0").stdout)
    assert rows[TOTAL_SERVER_NODES] == str(CONFIG["replicas"])


def test_caches_exist_with_their_mode_and_backups(cluster: Pods) -> None:
    from pyignite.datatypes.cache_config import CacheMode
    from pyignite.datatypes.prop_codes import PROP_BACKUPS_NUMBER, PROP_CACHE_MODE

    with client(cluster) as c:
        assert set(c.get_cache_names()) >= {CACHE, "SETTINGS"}
        person = c.get_cache(CACHE).settings
        settings = c.get_cache("SETTINGS").settings
    assert person[PROP_CACHE_MODE] == CacheMode.PARTITIONED
    assert person[PROP_BACKUPS_NUMBER] == 1
    assert settings[PROP_CACHE_MODE] == CacheMode.REPLICATED


def test_readiness_probe_passes_on_a_ready_node(cluster: Pods) -> None:
    # Whatever probe the StatefulSet defines: an httpGet is sent to the pod's address, an exec
    # runs in the pod.
    probe = cluster.spec.readiness_probe
    print(json.dumps(probe))
    assert cluster.probe("ignite-1", probe)


def test_rest_readiness_request_answers_grid_has_started(cluster: Pods) -> None:
    # The REST request the readiness probe is built on (settings/products.py, for the default
    # image), sent to the pod's address. GridProbeCommandHandler: "grid has started" once the
    # kernel has (../shared/research/day2-lifecycle.md 1a, read from source).
    product = PRODUCTS[ProductKey.IGNITE2]
    path = product.readiness_probe_path_for(product.default_image)
    status, body = cluster.http_get("ignite-1", {"path": path, "port": product.http_port.number})
    print(status, body)
    answer = json.loads(body)
    assert (status, answer["successStatus"], answer["response"]) == (200, 0, "grid has started")


def test_control_sh_prints_the_gate_fields_on_a_healthy_cluster(cluster: Pods) -> None:
    result = control_metric_cluster(cluster, "ignite-0")
    print(result.stdout)
    assert result.returncode == 0, result.stderr
    rows = parse_metric_table(result.stdout)
    assert (rows.get(REBALANCED), rows.get(TOTAL_SERVER_NODES)) == ("true", "3")


def test_ports_the_program_names_are_the_ports_the_node_listens_on(cluster: Pods) -> None:
    run, _spec = render(CONFIG)
    service = run.one("kubernetes:core/v1:Service", "ignite/ignite-headless").kubernetes_object
    sts = run.one("kubernetes:apps/v1:StatefulSet", "ignite/ignite").kubernetes_object
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    servers = [r.kubernetes_object for r in run.resources if r.type.endswith(":Server")]
    named = {
        "service": {p["port"] for p in service["spec"]["ports"]},
        "opaque": {int(p) for p in annotations["config.linkerd.io/opaque-ports"].split(",")},
        "servers": {s["spec"]["port"] for s in servers},
    }
    ss = cluster.exec("ignite-0", ["ss", "-Hltn"]).stdout
    listening = {int(line.split()[3].rsplit(":", 1)[1]) for line in ss.splitlines()}
    print(ss, named)
    for what, ports in named.items():
        assert ports <= listening, f"{what} names ports nothing listens on: {ports - listening}"
    # Every port the node listens on is a port the product declares; those no Service, opaque
    # list or Server names are declared as reached by nobody from outside (default-deny).
    product = PRODUCTS[ProductKey.IGNITE2]
    declared = {p.number: p for p in product.ports}
    assert listening == set(declared)
    unnamed = listening - set().union(*named.values())
    assert all(declared[p].access is PortAccess.NONE for p in unnamed), unnamed


# --- nodes leave and join ------------------------------------------------------------------------


@dataclass(frozen=True)
class Restart:
    """What was seen while ignite-1 was stopped as the kubelet stops it and started anew."""

    address_before: str
    address_after: str
    away: dict[str, str]  # control.sh's table while it was away
    probe_at_start: bool  # the readiness probe right after its JVM was started
    back: dict[str, str]  # control.sh's table once it was Ready and the cluster rebalanced


@pytest.fixture(scope="module")
def restart(cluster: Pods) -> Restart:
    before = cluster.address("ignite-1")
    cluster.stop("ignite-1")
    away = parse_metric_table(control_metric_cluster(cluster, "ignite-0").stdout)
    cluster.start("ignite-1")
    probe_at_start = cluster.probe("ignite-1")
    cluster.wait_ready("ignite-1")
    back = settled(cluster, 3)
    return Restart(before, cluster.address("ignite-1"), away, probe_at_start, back)


def test_control_sh_shows_a_node_leaving(restart: Restart) -> None:
    assert restart.away[TOTAL_SERVER_NODES] == "2"


def test_control_sh_shows_the_node_joining_again(restart: Restart) -> None:
    assert (restart.back[TOTAL_SERVER_NODES], restart.back[REBALANCED]) == ("3", "true")


def test_readiness_probe_fails_while_the_node_starts(restart: Restart) -> None:
    assert restart.probe_at_start is False


def test_node_restarted_with_a_new_address_rejoins(restart: Restart) -> None:
    assert restart.address_after != restart.address_before
    assert restart.back[TOTAL_SERVER_NODES] == "3"


def crash_then_stop(cluster: Pods, *, restart: bool = True) -> tuple[int, bool]:
    """Load the cache, SIGKILL ignite-2 and, the moment ignite-0 logs it as failed, stop ignite-1
    as the kubelet does (preStop, SIGTERM): ignite-1 then holds the only copy of the partitions
    it shared with ignite-2 until they are rebalanced to ignite-0. Returns how many entries
    ignite-0 alone has and whether they are the ones loaded; with `restart`, both nodes are
    started again."""
    expected = load(cluster)
    log = Path(cluster.pod("ignite-0")["log"])
    failed_before = log.read_text(errors="replace").count("Node FAILED")
    cluster.kill("ignite-2")
    # Ignite's failureDetectionTimeout is 10 s (IgniteConfiguration's default); the rest is room
    # for a loaded 2-core machine (30 s was once not enough with other builds running).
    deadline = time.monotonic() + 90
    while log.read_text(errors="replace").count("Node FAILED") == failed_before:
        assert time.monotonic() < deadline, "ignite-0 never saw ignite-2 fail"
        time.sleep(0.02)
    cluster.stop("ignite-1", grace=120)
    entries = read_all(cluster)
    if restart:
        for name in ("ignite-1", "ignite-2"):
            cluster.start(name)
        for name in ("ignite-1", "ignite-2"):
            cluster.wait_ready(name)
        settled(cluster, 3)
    return len(entries), checksum(entries) == expected


def set_shutdown_policy(cluster: Pods, policy: str) -> None:
    """The cluster-wide shutdown policy (a distributed property; the XML's is its default)."""
    command = f'exec "$IGNITE_HOME/bin/control.sh" --shutdown-policy {policy} --yes'
    result = cluster.exec("ignite-0", ["sh", "-c", command])
    assert f"Cluster shutdown policy is {policy}" in result.stdout, result.stdout


def test_graceful_stop_waits_until_its_partitions_have_a_copy_elsewhere(cluster: Pods) -> None:
    # ShutdownPolicy GRACEFUL, as the program's XML sets it.
    assert crash_then_stop(cluster) == (ENTRIES, True)


# --- a whole rollout -----------------------------------------------------------------------------


def rollout(cluster: Pods, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **state: Any) -> Any:
    """`python -m checks.rollout` against the real nodes through the stand-in kubectl."""
    put_on_path(tmp_path, monkeypatch, FIXTURES / "fake_kubectl.py", ("kubectl",), no_site=True)
    state_path = tmp_path / "cluster.json"
    state_path.write_text(json.dumps(cluster_state(**state)))
    monkeypatch.setenv("FAKE_ROLLOUT_STATE", str(state_path))
    real = [sys.executable, str(Path(__file__).with_name("ignite_nodes.py")), str(cluster.run_dir)]
    monkeypatch.setenv("FAKE_ROLLOUT_REAL_NODES", json.dumps(real))
    out, err = io.StringIO(), io.StringIO()
    argv = ["--namespace", "ignite", "--statefulset", "ignite", "--replicas", "3"]
    rc = rollout_main([*argv, "--timeout", "120", "--interval", "1"], stdout=out, stderr=err)
    print(err.getvalue())
    return rc, json.loads(out.getvalue())


def wait_all_back(cluster: Pods) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pods = cluster.read()["pods"]
        if all(not p.get("replacing") for p in pods.values()):
            break
        time.sleep(1)
    for name in cluster.names():
        cluster.wait_ready(name)


def test_rollout_with_data_loses_no_entry(
    cluster: Pods, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = load(cluster)
    started = {n: cluster.pod(n)["uid"] for n in cluster.names()}
    rc, report = rollout(cluster, tmp_path, monkeypatch)
    wait_all_back(cluster)
    entries = read_all(cluster)
    assert rc == 0, report
    assert report["restarted"] == ["ignite-2", "ignite-1", "ignite-0"]
    assert all(cluster.pod(n)["uid"] != uid for n, uid in started.items())
    assert (len(entries), checksum(entries)) == (ENTRIES, expected)


def test_rollout_with_the_gate_bypassed_loses_entries(
    cluster: Pods, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stand-in answers every gate as a healthy cluster would: pods evicted one right after
    # the other, while the previous ones are still stopping. The nodes stop IMMEDIATE here so
    # that the loss shows what the gate prevents, not how long a wait got: under GRACEFUL a
    # node's own wait may save the entries when the machine gives the new node time to take
    # its copies (observed on 2026-12-04: 3000 of 3000 kept, on a loaded 2-core machine), and
    # this test then said nothing about the gate.
    load(cluster)
    set_shutdown_policy(cluster, "IMMEDIATE")
    try:
        rc, report = rollout(cluster, tmp_path, monkeypatch, forgeHealthy=True)
        wait_all_back(cluster)
    finally:
        set_shutdown_policy(cluster, "GRACEFUL")
    entries = read_all(cluster)
    # The next test loads the cache again: Ignite's way back from lost partitions first.
    reset = cluster.exec(
        "ignite-0",
        ["sh", "-c", f'exec "$IGNITE_HOME/bin/control.sh" --cache reset_lost_partitions {CACHE}'],
    )
    assert rc == 0, report
    assert report["updateRevision"] == NEW
    assert len(entries) < ENTRIES
    assert reset.returncode == 0, reset.stdout


def test_immediate_stop_at_the_same_moment_loses_entries(cluster: Pods) -> None:
    # The GRACEFUL test's stop without the wait, so that test can fail. Runs after the
    # rollouts: the nodes it stops are not started again (the Parallel test ends the cluster).
    set_shutdown_policy(cluster, "IMMEDIATE")
    try:
        count, _same = crash_then_stop(cluster, restart=False)
    finally:
        set_shutdown_policy(cluster, "GRACEFUL")
    assert count < ENTRIES


# --- Parallel ------------------------------------------------------------------------------------


# Two of the three pods on one Kubernetes node, as the default spread (maxSkew 1) allows a
# 3-replica cache on a 2-node cluster: the case the backup filter is there for.
TWO_ON_ONE_NODE = {"ignite-0": "node-a", "ignite-1": "node-a", "ignite-2": "node-b"}
PARALLEL = {**CONFIG, "podManagementPolicy": "Parallel"}


@pytest.fixture(scope="module")
def parallel(tmp_path_factory: pytest.TempPathFactory, cluster: Pods) -> Iterator[Pods]:
    """A second cluster, started all at once, with its pods on TWO_ON_ONE_NODE. Its tests run
    last: the shared cluster is stopped first, so as not to run six nodes on the machine."""
    cluster.destroy()
    run_dir = tmp_path_factory.mktemp("parallel")
    pods = start_cluster(run_dir, PARALLEL, node_names=TWO_ON_ONE_NODE)
    try:
        yield pods
    finally:
        pods.destroy()


def test_cluster_forms_with_replicas_nodes_started_all_at_once(parallel: Pods) -> None:
    rows = settled(parallel, 3)
    assert rows[TOTAL_SERVER_NODES] == "3"


# --- where the copies of a partition live --------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    """One copy of a partition, as the node holding it reports it."""

    kubernetes_node: str  # the holder's CACHEMESH_K8S_NODE_NAME node attribute
    primary: bool
    state: str


def partition_copies(pods: Pods, cache: str = CACHE) -> dict[int, list[Copy]]:
    """Every copy of every partition of `cache`, read from the nodes with `control.sh --cache
    distribution`: each server node reports the partitions it holds (its local partitions, their
    state, primary or not by the ready affinity assignment) and the node attribute asked for
    (apache/ignite 2.16.0 modules/core/src/main/java/org/apache/ignite/internal/commandline/
    cache/distribution/CacheDistributionTask.java, CacheDistributionJob.run)."""
    settled(pods, len(pods.names()))
    attribute = RENDEZVOUS_BY_NODE.attribute
    command = (
        f'exec "$IGNITE_HOME/bin/control.sh" --cache distribution null {cache}'
        f" --user-attributes {attribute}"
    )
    result = pods.exec(pods.names()[0], ["sh", "-c", command])
    assert result.returncode == 0, result.stdout + result.stderr
    return parse_distribution(result.stdout, attribute)


def shared_node(copies: Mapping[int, list[Copy]]) -> list[int]:
    """The partitions with two copies on one Kubernetes node."""
    return sorted(p for p, cs in copies.items() if len({c.kubernetes_node for c in cs}) < len(cs))


def without_backup_filter(xml: str) -> str:
    """The rendered XML with the affinity function's backup filter taken out (Ignite's default
    rendezvous affinity remains)."""
    return re.sub(r'\s*<property name="affinityBackupFilter">.*?</property>', "", xml, flags=re.S)


def test_every_partition_has_its_backup_on_another_kubernetes_node(parallel: Pods) -> None:
    copies = partition_copies(parallel)
    print({n: parallel.node_name(n) for n in parallel.names()})
    # Every partition is there with a primary and its one backup (`backups: 1`), all OWNING:
    # the filter discards no backup when there is a second Kubernetes node.
    assert len(copies) == 1024  # RendezvousAffinityFunction's default partition count
    assert {p: sorted(c.primary for c in cs) for p, cs in copies.items()} == {
        p: [False, True] for p in copies
    }
    assert {c.state for cs in copies.values() for c in cs} == {"OWNING"}
    assert shared_node(copies) == []


def test_without_the_backup_filter_copies_share_a_kubernetes_node(
    parallel: Pods, tmp_path: Path
) -> None:
    # The same cluster with the filter taken out of the XML, so the test above can fail.
    parallel.destroy()
    pods = start_cluster(
        tmp_path / "no-filter", PARALLEL, node_names=TWO_ON_ONE_NODE, change=without_backup_filter
    )
    try:
        copies = partition_copies(pods)
    finally:
        pods.destroy()
    print(f"{len(shared_node(copies))} of {len(copies)} partitions with both copies on one node")
    assert len(copies) == 1024
    assert len(shared_node(copies)) > 0


# --- the harness ---------------------------------------------------------------------------------


def leaked_run(owner: int) -> str:
    """A run recorded as owned by process `owner`, with a namespace, a process in it and a
    bridge, as a test run killed mid-way leaves them."""
    run_id = ignite_nodes._register_run()
    record = ignite_nodes.RUNS_DIR / f"{run_id}.json"
    record.write_text(json.dumps({"pid": owner, "start": ignite_nodes._start_time(owner)}))
    ns = f"{ignite_nodes.NS_PREFIX}{run_id}-ignite-0"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "link", "add", f"{ignite_nodes.NS_PREFIX}{run_id}-br", "type", "bridge"])
    subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "600"], start_new_session=True)
    return run_id


def run_leftovers(run_id: str) -> dict[str, Any]:
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {
        "namespaces": ignite_nodes._run_namespaces(run_id),
        "bridge": f"{ignite_nodes.NS_PREFIX}{run_id}-br:" in links,
        "record": (ignite_nodes.RUNS_DIR / f"{run_id}.json").exists(),
    }


def test_a_new_run_sweeps_away_runs_whose_owner_is_gone_and_only_those() -> None:
    _prerequisites()
    gone = subprocess.Popen(["sleep", "600"])
    dead = leaked_run(gone.pid)
    live = leaked_run(os.getpid())  # as a concurrent run's, whose owner is alive
    gone.kill()
    gone.wait()
    try:
        ns = f"{ignite_nodes.NS_PREFIX}{dead}-ignite-0"
        in_ns = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
        swept = ignite_nodes.sweep_leaked_runs()
        assert dead in swept and live not in swept
        assert run_leftovers(dead) == {"namespaces": [], "bridge": False, "record": False}
        assert not any(Path(f"/proc/{pid}").exists() for pid in in_ns.split())
        assert run_leftovers(live) == {
            "namespaces": [f"{ignite_nodes.NS_PREFIX}{live}-ignite-0"],
            "bridge": True,
            "record": True,
        }
    finally:
        ignite_nodes._remove_run(live)
        ignite_nodes._remove_run(dead)


def test_a_node_that_fails_to_start_fails_with_its_log_tail(tmp_path: Path) -> None:
    _prerequisites()
    with pytest.raises(NodeFailed, match="shutdownPolicyy"):
        start_cluster(
            tmp_path / "broken",
            {**CONFIG, "replicas": 1},
            change=lambda xml: xml.replace('name="shutdownPolicy"', 'name="shutdownPolicyy"'),
        )


def _signed_id8(id8: str) -> int:
    """The order `UUID.compareTo` gives node ids, from their first 8 hex digits (`U.id8`): the
    most significant bits compared as a signed long."""
    value = int(id8, 16)
    return value - (1 << 32) if value >= 1 << 31 else value


def parse_distribution(text: str, attribute: str) -> dict[int, list[Copy]]:
    """The copies of each partition from `control.sh --cache distribution` output for one cache.

    Ignite 2.16.0 prints the header `[groupId,partition,nodeId,primary,...]` but its rows leave
    the partition number out (ignite-core-2.16.0.jar, class org.apache.ignite.internal.
    commandline.cache.distribution.CacheDistributionTaskResult$Row: `print` writes grpId, id8 of
    nodeId, P/B, state, updateCntr, size, addrs and the user attributes, no partId). Its rows are
    sorted by (group, partition, nodeId) (`Row.compareTo`), so a partition is a run of rows whose
    node ids increase; the next partition starts where they do not. Keys are the runs' positions,
    which are the partition numbers when every partition has at least one copy."""
    header = next(line for line in text.splitlines() if line.startswith("[groupId,partition,"))
    columns = header.strip("[]").split(",")
    assert columns[-1] == attribute, header
    copies: dict[int, list[Copy]] = {}
    partition, last = -1, None
    for line in text.splitlines():
        if not re.match(r"-?\d+,", line):
            continue  # banner, header, "[next group: ...]", separators, footer
        # groupId,nodeId,P|B,state,updateCounter,size,[addresses],attribute
        group_and_node, rest = line.split(",[", 1)
        _group, node_id, role, state, _counter, _size = group_and_node.split(",")
        kubernetes_node = rest.rsplit("],", 1)[1]
        order = _signed_id8(node_id)
        if last is None or order <= last:
            partition += 1
        last = order
        copies.setdefault(partition, []).append(
            Copy(kubernetes_node=kubernetes_node, primary=role == "P", state=state)
        )
    return copies
