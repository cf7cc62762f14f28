"""Day 2 under the mock engine: OnDelete, the CacheRollout command, GRACEFUL XML, the readiness
probe chosen from the image version, the preStop hook, and the Linkerd-version restart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from harness import OUTPUT_FAKERS, ProgramRun, run_program
from test_rollout import OLD, FakeCluster, cluster, cluster_state  # noqa: F401  (fixture reuse)

from components.cache_rollout import CacheRolloutArgs, rollout_command, rollout_summary
from components.ignite_xml import render_ignite_config
from components.meshed_cache import NODE_MAIN_CLASS, STOP_NODE_SCRIPT
from settings import SettingsError, validate_settings
from settings.caches import CacheConfiguration
from settings.products import image_version

COMMAND = "command:local:Command"
STS = "kubernetes:apps/v1:StatefulSet"
LICENSE = {
    "gridgainLicense": (Path(__file__).parent / "fixtures" / "gridgain-license.xml").read_text()
}
BEANS = "{http://www.springframework.org/schema/beans}"


def _gridgain(image: str | None = None) -> dict:
    cache: dict = {"name": "ignite", "product": "gridgain8"}
    if image:
        cache["image"] = image
    return {"caches": [cache]}


def _rollout(run: ProgramRun, name: str = "ignite/ignite") -> dict:
    return run.one(COMMAND, f"{name}-rollout").inputs


def _template(run: ProgramRun) -> dict:
    return run.one(STS, "ignite/ignite").kubernetes_object["spec"]["template"]


# --- the StatefulSet never rolls by itself -------------------------------------------------------


def test_statefulset_update_strategy_is_on_delete() -> None:
    sts = run_program().one(STS, "ignite/ignite").kubernetes_object
    assert sts["spec"]["updateStrategy"] == {"type": "OnDelete"}


# --- the rollout command ------------------------------------------------------------------------


def test_one_rollout_per_cache_runs_the_rollout_module_with_the_caches_facts() -> None:
    run = run_program(
        {"caches": [{"name": "a", "replicas": 3, "rollout": {"timeoutSeconds": 1200}}]}
    )
    create = _rollout(run, "ignite/a")["create"]
    assert " -m checks.rollout " in create
    for arg in (
        "--namespace ignite",
        "--statefulset a",
        "--replicas 3",
        "--container ignite-node",
        "--timeout 1200",
        "--interval 10",
    ):
        assert arg in create


def test_rollout_is_a_child_of_the_cache_rollout_component() -> None:
    run = run_program()
    command = run.one(COMMAND, "ignite/ignite-rollout")
    assert [a.type for a in run.ancestors(command)] == ["cachemesh:index:CacheRollout"]


def test_rollout_reruns_when_the_pod_template_changes() -> None:
    before = _rollout(run_program())["triggers"]
    after = _rollout(run_program({"caches": [{"name": "ignite", "image": "my/ignite:2.16.0"}]}))
    assert after["triggers"] != before


def test_rollout_waits_for_the_statefulset_and_the_control_plane() -> None:
    run = run_program()
    waits = run.waits_for(run.one(COMMAND, "ignite/ignite-rollout"))
    assert run.one(STS, "ignite/ignite").urn in waits
    assert any(u.endswith("::linkerd-control-plane") for u in waits)


def test_mtls_check_runs_after_the_rollout() -> None:
    run = run_program()
    waits = run.waits_for(run.one(COMMAND, "ignite/ignite-mtls-check"))
    assert run.one(COMMAND, "ignite/ignite-rollout").urn in waits


def test_unmeshed_caches_are_rolled_out_too() -> None:
    run = run_program({"linkerd": {"enabled": False}})
    assert " -m checks.rollout " in _rollout(run)["create"]


def test_kubernetes_context_is_passed_to_the_rollout() -> None:
    create = _rollout(run_program({"kubernetes:context": "kind-cachemesh"}))["create"]
    assert "--context kind-cachemesh" in create


# --- a Linkerd upgrade restarts the caches ------------------------------------------------------


KUBECONFIG_TEXT = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: tok-5ecret}\n"


def test_kubeconfig_contents_never_reach_the_rollout_command_line() -> None:
    create = _rollout(run_program({"kubernetes:kubeconfig": KUBECONFIG_TEXT}))["create"]
    assert "tok-5ecret" not in create and "--kubeconfig" not in create


def test_the_kubeconfig_reaches_the_rollout_as_a_secret_in_its_environment() -> None:
    run = run_program({"kubernetes:kubeconfig": KUBECONFIG_TEXT})
    command = run.one(COMMAND, "ignite/ignite-rollout")
    assert command.inputs["environment"] == {"CACHEMESH_KUBECONFIG": KUBECONFIG_TEXT}
    assert "environment.CACHEMESH_KUBECONFIG" in command.secret_inputs


def test_without_a_kubeconfig_the_rollout_has_no_environment_input() -> None:
    # As before the kubeconfig moved there: a stack without one sees no change.
    assert "environment" not in _rollout(run_program())


def test_linkerd_version_is_a_restart_annotation_of_meshed_caches() -> None:
    annotations = _template(run_program({"linkerd": {"version": "2026.7.2"}}))["metadata"][
        "annotations"
    ]
    assert annotations["cachemesh.io/linkerd-version"] == "2026.7.2"


def test_linkerd_version_change_reruns_the_rollout() -> None:
    before = _rollout(run_program({"linkerd": {"version": "2026.8.1"}}))["triggers"]
    after = _rollout(run_program({"linkerd": {"version": "2026.7.2"}}))["triggers"]
    assert after != before


def test_unmeshed_caches_carry_no_linkerd_version() -> None:
    annotations = _template(run_program({"linkerd": {"enabled": False}}))["metadata"]["annotations"]
    assert "cachemesh.io/linkerd-version" not in annotations


# --- outputs ------------------------------------------------------------------------------------


def _report(**fields: object) -> str:
    report = {
        "completed": True,
        "status": "completed",
        "namespace": "ignite",
        "statefulset": "ignite",
        "replicas": 2,
        "updateRevision": "ignite-7b9c5d4f8",
        "podsOnUpdateRevision": 2,
        "startedAt": "2026-11-30T04:40:00Z",
    }
    report.update(fields)
    return json.dumps(report)


def test_rollout_output_says_revision_pods_on_it_and_completed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        OUTPUT_FAKERS,
        COMMAND,
        lambda args: {"stdout": _report() if args.name.endswith("-rollout") else ""},
    )
    summary = run_program().outputs["rollout"]["ignite"]
    assert summary == {
        "completed": True,
        "updateRevision": "ignite-7b9c5d4f8",
        "podsOnUpdateRevision": 2,
        "reason": None,
    }


def test_rollout_output_keys_follow_the_caches_output() -> None:
    run = run_program({"caches": [{"name": "a"}, {"name": "a", "namespace": "other"}]})
    assert sorted(run.outputs["rollout"]) == sorted(run.outputs["caches"])


@pytest.mark.parametrize("stdout", ["", "not json", '{"completed": true}'])
def test_anything_but_a_rollout_report_is_not_completed(stdout: str) -> None:
    assert rollout_summary(stdout)["completed"] is False


def test_the_rollout_command_line_runs_against_a_cluster(cluster: FakeCluster) -> None:  # noqa: F811
    args = CacheRolloutArgs(
        namespace="ignite",
        statefulset="ignite",
        replicas=3,
        container="ignite-node",
        timeout_seconds=30,
        interval_seconds=0,
        pod_template_fingerprint="f",
    )
    result = subprocess.run(
        ["/bin/sh", "-c", rollout_command(args)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert rollout_summary(result.stdout)["podsOnUpdateRevision"] == 3
    assert OLD not in {p["revision"] for p in cluster.state["pods"].values()}


# --- GRACEFUL shutdown --------------------------------------------------------------------------


def _config_property(xml: str, name: str) -> str | None:
    root = ET.fromstring(xml.encode())
    cfg = root.find(f"{BEANS}bean")
    assert cfg is not None
    for prop in cfg.findall(f"{BEANS}property"):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def test_node_configuration_sets_graceful_shutdown_policy() -> None:
    xml = render_ignite_config(caches=(CacheConfiguration(name="P"),), discovery_address="x")
    assert _config_property(xml, "shutdownPolicy") == "GRACEFUL"


@pytest.mark.parametrize(
    ("config", "secrets"), [({}, None), (_gridgain(), LICENSE)], ids=["ignite2", "gridgain8"]
)
def test_both_products_deploy_graceful_shutdown(config: dict, secrets: dict | None) -> None:
    run = run_program(config, secrets=secrets)
    config_map = run.one("kubernetes:core/v1:ConfigMap", "ignite/ignite-config")
    assert _config_property(config_map.inputs["data"]["ignite-config.xml"], "shutdownPolicy") == (
        "GRACEFUL"
    )


def test_termination_grace_period_stays_configurable() -> None:
    run = run_program({"caches": [{"name": "ignite", "terminationGracePeriodSeconds": 600}]})
    assert _template(run)["spec"]["terminationGracePeriodSeconds"] == 600


# --- the JVM gets SIGTERM -----------------------------------------------------------------------


def test_node_container_has_the_pre_stop_hook_that_stops_the_jvm() -> None:
    container = _template(run_program())["spec"]["containers"][0]
    assert container["lifecycle"]["preStop"]["exec"]["command"] == [
        "/bin/sh",
        "-c",
        STOP_NODE_SCRIPT,
    ]


def test_pre_stop_script_sends_sigterm_to_the_node_and_waits_until_it_exits(
    tmp_path: Path,
) -> None:
    # A stand-in node whose command line names a unique main class (so no other process on the
    # machine matches), started the way the image starts java: as a child of a shell.
    # The shell (run.sh) reaps it; its own command line does not name the class. Like a node
    # under GRACEFUL, it takes a while after SIGTERM before it exits, and says when it is done.
    marker = f"cachemesh.test.Node{uuid.uuid4().hex}"
    script = STOP_NODE_SCRIPT.replace(NODE_MAIN_CLASS, marker)
    done = tmp_path / "stopped"
    node_code = (
        "import pathlib, signal, sys, time\n"
        "def stop(*_):\n"
        "    time.sleep(1)\n"
        "    pathlib.Path(sys.argv[1]).write_text('stopped')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "pathlib.Path(sys.argv[1] + '.started').write_text('')\n"
        "time.sleep(60)\n"
    )
    (tmp_path / "node.py").write_text(node_code)
    launcher = tmp_path / "run.sh"
    launcher.write_text(f"{sys.executable} {tmp_path / 'node.py'} {done} {marker} &\nwait $!\n")
    node = subprocess.Popen(["/bin/sh", str(launcher)], start_new_session=True)
    try:
        # Until the stand-in node has started and handles SIGTERM (a SIGTERM before that would
        # kill it at once, which is not what this test is about).
        started = done.with_name("stopped.started")
        while not (started.exists() and _running(marker)):
            time.sleep(0.01)
        stop = subprocess.run(["/bin/sh", "-c", script], timeout=30, capture_output=True)
        assert stop.returncode == 0, stop.stderr
        # The hook returned only once the node had finished stopping on SIGTERM.
        assert done.read_text() == "stopped"
        assert node.wait(timeout=10) == 0
    finally:
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGKILL)


def _running(marker: str) -> bool:
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_text(errors="replace"):
                return True
        except OSError:  # the process ended while we looked
            continue
    return False


PID1_NODE = """\
import json, pathlib, signal, subprocess, sys, time
out, hook_argv = pathlib.Path(sys.argv[1]), json.loads(pathlib.Path(sys.argv[2]).read_text())
hook = None
def stop(*_):
    # The node's shutdown work (GRACEFUL): up to 10 s, during which the hook must return. A hook
    # that waited for this node to exit could not return before it does, however long that is.
    for _ in range(200):
        if hook.poll() is not None:
            break
        time.sleep(0.05)
    rc = hook.poll()
    out.write_text("hook still running" if rc is None else f"hook exited {rc}")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
# A SIGTERM that comes before `hook` is set waits until it is.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
hook = subprocess.Popen(hook_argv)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
time.sleep(60)
"""


def _shells() -> list[list[str]]:
    shells = [["/bin/sh"]]
    if shutil.which("busybox"):
        shells.append([str(shutil.which("busybox")), "sh"])  # Alpine's sh (apacheignite/ignite)
    return shells


@pytest.mark.parametrize("shell", _shells(), ids=lambda s: Path(s[0]).name)
def test_pre_stop_script_returns_at_once_when_the_node_is_pid_1(
    tmp_path: Path, shell: list[str]
) -> None:
    # The stand-in node is PID 1 of its own PID namespace, as java is in apacheignite/ignite
    # (run.sh ends in `exec java`). It starts the hook itself (so the hook shares its namespace,
    # as an exec'd hook does) and, once SIGTERM arrives, notes whether the hook has returned.
    # When PID 1 exits every other process of the namespace is killed, so a hook still waiting
    # for it then would be SIGKILLed (the kubelet reports FailedPreStopHook); the kubelet waits
    # for PID 1 itself.
    unshare = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc"]
    if subprocess.run([*unshare, "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare cannot create a PID namespace here")
    marker = f"cachemesh.test.Node{uuid.uuid4().hex}"
    script = STOP_NODE_SCRIPT.replace(NODE_MAIN_CLASS, marker)
    (tmp_path / "node.py").write_text(PID1_NODE)
    out = tmp_path / "hook"
    hook = tmp_path / "hook.json"
    hook.write_text(json.dumps([*shell, "-c", script]))
    argv = [*unshare, sys.executable, str(tmp_path / "node.py"), str(out), str(hook), marker]
    node = subprocess.run(argv, timeout=30, capture_output=True)
    assert node.returncode == 0, node.stderr
    assert out.read_text() == "hook exited 0"


def test_pre_stop_script_does_nothing_without_a_node() -> None:
    script = STOP_NODE_SCRIPT.replace(NODE_MAIN_CLASS, f"cachemesh.test.None{uuid.uuid4().hex}")
    assert subprocess.run(["/bin/sh", "-c", script], timeout=30).returncode == 0


# --- readiness probe by image version -----------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("gridgain/enterprise:8.9.35-openjdk17-slim", (8, 9, 35)),
        ("apacheignite/ignite:2.16.0", (2, 16, 0)),
        ("registry:5000/gridgain/enterprise:8.9.40", (8, 9, 40)),
        ("gridgain/enterprise:latest", None),
        ("registry:5000/gridgain/enterprise", None),
        ("gridgain/enterprise@sha256:" + "0" * 64, None),
    ],
)
def test_image_version_is_read_from_the_tag(image: str, version: tuple | None) -> None:
    assert image_version(image) == version


def _readiness(run: ProgramRun) -> str:
    # The request path of the exec probe (components/meshed_cache.py rest_probe_command).
    return _template(run)["spec"]["containers"][0]["readinessProbe"]["exec"]["command"][-2]


def test_gridgain_8_9_35_and_later_probe_readiness_kind() -> None:
    run = run_program(_gridgain("gridgain/enterprise:8.9.35-openjdk17-slim"), secrets=LICENSE)
    assert _readiness(run) == "/ignite?cmd=probe&kind=readiness"


@pytest.mark.parametrize(
    "image",
    [None, "gridgain/enterprise:8.9.34", "gridgain/enterprise:latest"],
    ids=["default-8.9.33", "8.9.34", "latest"],
)
def test_gridgain_before_8_9_35_or_unknown_keeps_the_kernel_probe(image: str | None) -> None:
    assert _readiness(run_program(_gridgain(image), secrets=LICENSE)) == "/ignite?cmd=probe"


def test_ignite2_keeps_the_kernel_probe() -> None:
    assert _readiness(run_program()) == "/ignite?cmd=probe"


# --- bad input ----------------------------------------------------------------------------------


def test_a_rollout_timeout_too_short_is_refused_naming_the_key() -> None:
    with pytest.raises(SettingsError) as caught:
        validate_settings({"caches": [{"name": "a", "rollout": {"timeoutSeconds": 1}}]}, ())
    (problem,) = caught.value.problems
    assert problem.startswith("cachemesh:caches[0].rollout.timeoutSeconds:")
    assert "pulumi config set --path 'caches[0].rollout.timeoutSeconds'" in problem


@pytest.mark.parametrize(
    "cache",
    [
        {"name": "ignite", "replicas": 1},
        {"name": "ignite", "cacheConfigurations": [{"name": "P", "backups": 0}]},
    ],
    ids=["one-replica", "no-backups"],
)
def test_a_cache_no_restart_can_keep_is_warned_about(cache: dict) -> None:
    warnings = run_program({"caches": [cache]}).warnings()
    assert any("loses the data it held" in w for w in warnings)


def test_a_replicated_cache_without_backups_is_not_warned_about() -> None:
    config = {
        "caches": [
            {
                "name": "ignite",
                "cacheConfigurations": [{"name": "P", "cacheMode": "REPLICATED", "backups": 0}],
            }
        ]
    }
    assert not any("loses the data" in w for w in run_program(config).warnings())


def test_the_default_cache_is_not_warned_about() -> None:
    assert not any("loses the data" in w for w in run_program().warnings())
