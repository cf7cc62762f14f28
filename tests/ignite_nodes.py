"""Real Apache Ignite 2.16.0 server nodes, each run like a pod of the program's StatefulSet.

What a node gets, and where it comes from:
- its own network namespace (`ip netns`, prefix `cmign-`) on a bridge, with its own address; a
  restarted node gets a new one, as a new pod does. Each cluster's run is recorded in
  `/run/cachemesh-ignite/<run id>.json` with its owner process (pid and start time) before any of
  its namespaces exist; `Pods.create` first sweeps away the namespaces, bridge and JVMs of every
  run whose owner is gone (a crashed or killed test run), and leaves those of live owners alone,
  so concurrent runs do not tear down each other's nodes;
- its own Kubernetes node name (`spec.nodeName` for the downward API), by default one node per
  pod, or as `Pods.create(node_names=...)` places them;
- its own PID namespace, with java as PID 1 (apacheignite/ignite's run.sh ends in `exec java`);
- names as Kubernetes DNS answers them (`/etc/netns/<ns>/hosts`, which `ip netns exec` mounts on
  /etc/hosts): the headless Service name to every running node's address, each pod's stable name
  (`<pod>.<service>.<ns>.svc.cluster.local`) to its own;
- exactly the `ignite-config.xml` the program puts into its ConfigMap, with only the paths that
  must differ changed (the work directory, which is an emptyDir per pod);
- the container's environment from the rendered StatefulSet, turned into a java command line as
  the image's start script does (apache/ignite deliveries/docker/apache-ignite/run.sh, commit
  00fe69fc544e): `${JVM_OPTS}` after run.sh's Java 11+ options, `-DIGNITE_QUIET=false` when
  IGNITE_QUIET is false, `-DIGNITE_HOME`, the classpath (libs + OPTION_LIBS), then
  `CommandLineStartup ${CONFIG_URI}`. Two departures, printed by `jvm_departures`: run.sh's Java
  11+ list lacks the `--add-opens` Ignite needs on Java 17 (with it alone the node dies in
  GridUnsafe: "java.nio.DirectByteBuffer.address field is unavailable"; the image runs Java 11),
  so the Java 15+ list of apache/ignite bin/include/jvmdefaults.sh (commit 05f24575936a) is
  added, as bin/ignite.sh and bin/control.sh add it; and a small heap, since no memory limit
  bounds the JVM's default heap here;
- the StatefulSet's readiness probe, preStop hook and terminationGracePeriodSeconds, run as the
  kubelet runs them (`Pods.stop`).

The state of a cluster lives in `<run dir>/state.json`, so the stand-in kubectl (a separate
process) can use the same nodes through this file's command line:

    python tests/ignite_nodes.py RUN_DIR ready POD         # exit 0 when the readiness probe passes
    python tests/ignite_nodes.py RUN_DIR exec POD -- ARGV  # ARGV in the pod's namespaces
    python tests/ignite_nodes.py RUN_DIR evict POD         # stop as the kubelet would, start anew

Needs root (namespaces, veth) and `make ignite` (the jars). Standard library only.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNITE_VERSION = "2.16.0"
CACHE_ROOT = Path(os.environ.get("CACHEMESH_CACHE") or Path.home() / ".cache" / "cachemesh")
IGNITE_DIR = CACHE_ROOT / f"ignite-{IGNITE_VERSION}"
NS_PREFIX = "cmign-"
# One file per cluster run: `<run id>.json`, {"pid": owner pid, "start": its start time}.
RUNS_DIR = Path("/run/cachemesh-ignite")
NODE_MAIN_CLASS = "org.apache.ignite.startup.cmdline.CommandLineStartup"
CONTROL_MAIN_CLASS = "org.apache.ignite.internal.commandline.CommandHandler"

# run.sh (commit 00fe69fc544e), `elif [ "${version}" -ge 11 ]`: put before ${JVM_OPTS}.
RUN_SH_JAVA11_OPTS: tuple[str, ...] = (
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=java.management/com.sun.jmx.mbeanserver=ALL-UNNAMED",
    "--add-exports=jdk.internal.jvmstat/sun.jvmstat.monitor=ALL-UNNAMED",
    "--add-exports=java.base/sun.reflect.generics.reflectiveObjects=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.access=ALL-UNNAMED",
    "--illegal-access=permit",
)
# bin/include/jvmdefaults.sh getJavaSpecificOpts, `-ge 15` (commit 05f24575936a).
JAVA17_OPENS: tuple[str, ...] = tuple(
    f"--add-opens={m}=ALL-UNNAMED"
    for m in (
        "java.base/jdk.internal.access",
        "java.base/jdk.internal.misc",
        "java.base/sun.nio.ch",
        "java.base/sun.util.calendar",
        "java.management/com.sun.jmx.mbeanserver",
        "jdk.internal.jvmstat/sun.jvmstat.monitor",
        "java.base/sun.reflect.generics.reflectiveObjects",
        "jdk.management/com.sun.management.internal",
        "java.base/java.io",
        "java.base/java.nio",
        "java.base/java.net",
        "java.base/java.util",
        "java.base/java.util.concurrent",
        "java.base/java.util.concurrent.locks",
        "java.base/java.util.concurrent.atomic",
        "java.base/java.lang",
        "java.base/java.lang.invoke",
        "java.base/java.math",
        "java.sql/java.sql",
        "java.base/java.lang.reflect",
        "java.base/java.time",
        "java.base/java.text",
        "java.management/sun.management",
        "java.desktop/java.awt.font",
    )
)
# run.sh's default when JVM_OPTS is empty.
RUN_SH_DEFAULT_JVM_OPTS = "-Xms1g -Xmx1g -server -XX:MaxMetaspaceSize=256m"
TEST_HEAP: tuple[str, ...] = ("-Xms96m", "-Xmx192m")
# Less CPU per node on a 2-core test machine, where the nodes and the other tests compete for the
# cores: the client compiler only (C1; the JIT's C2 work pays off only in long runs) and one
# GC thread. Neither changes what a node does, only how fast its code runs.
TEST_CPU: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:CICompilerCount=1")

# The control utility, restated from apache/ignite bin/control.sh (CommandHandler with
# CONTROL_JVM_OPTS, the Java 17 options, -DIGNITE_UPDATE_NOTIFIER=false, -DIGNITE_HOME). The jar
# is 2.17.0's (the only one near 2.16.0 on Maven Central), which talks the thin-client protocol
# unless IGNITE_CONTROL_UTILITY_USE_CONNECTOR_CONNECTION is true; 2.16.0's utility talks to the
# binary connector (127.0.0.1:11211), so the stand-in sets it and the 2.16.0 core does the rest.
CONTROL_SH = """#!/usr/bin/env bash
# Stand-in for the image's bin/control.sh (written by tests/ignite_nodes.py).
exec java ${{CONTROL_JVM_OPTS:-}} {opens} \\
  -DIGNITE_CONTROL_UTILITY_USE_CONNECTOR_CONNECTION=true \\
  -DIGNITE_UPDATE_NOTIFIER=false -DIGNITE_HOME="${{IGNITE_HOME}}" \\
  -cp "{classpath}" {main} "$@"
"""


class NodeFailed(AssertionError):
    """A node did not start (or stopped); the message ends with its log tail."""


def installed() -> bool:
    return (IGNITE_DIR / ".installed").is_file()


def classpath() -> str:
    return f"{IGNITE_DIR / 'libs'}/*"


def control_classpath() -> str:
    # The utility's front end first, then the node's 2.16.0 core (as the image's libs/ holds it).
    return f"{IGNITE_DIR / 'control-utility'}/*:{classpath()}"


# --- what the program renders ---------------------------------------------------------------


@dataclass(frozen=True)
class NodeSpec:
    """The parts of the rendered StatefulSet (and ConfigMap) a node is run from."""

    statefulset: str
    namespace: str
    service: str
    replicas: int
    pod_management_policy: str
    config_xml: str
    container: dict[str, Any]
    grace_seconds: int

    @property
    def env(self) -> dict[str, str]:
        """The container's literal environment values."""
        return {e["name"]: e["value"] for e in self.container.get("env", []) if "value" in e}

    def pod_env(self, pod: str, node_name: str, pod_ip: str) -> dict[str, str]:
        """The container's environment in pod `pod` on Kubernetes node `node_name`: literal values
        and the downward API's fieldRefs as the kubelet resolves them (kubernetes
        pkg/kubelet/kubelet_pods.go podFieldSelectorRuntimeValue: spec.nodeName, metadata.name,
        metadata.namespace, status.podIP)."""
        fields = {
            "spec.nodeName": node_name,
            "metadata.name": pod,
            "metadata.namespace": self.namespace,
            "status.podIP": pod_ip,
        }
        env: dict[str, str] = {}
        for entry in self.container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = entry["value"]
                continue
            field = ((entry.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
            assert field in fields, f"env {entry['name']}: unsupported source {entry}"
            env[entry["name"]] = fields[field]
        return env

    @property
    def service_dns(self) -> str:
        return f"{self.service}.{self.namespace}.svc.cluster.local"

    def pod_dns(self, pod: str) -> str:
        return f"{pod}.{self.service_dns}"

    @property
    def pre_stop(self) -> list[str]:
        return list(self.container["lifecycle"]["preStop"]["exec"]["command"])

    @property
    def readiness_probe(self) -> dict[str, Any]:
        return dict(self.container["readinessProbe"])

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def node_spec(statefulset: Mapping[str, Any], config_map: Mapping[str, Any]) -> NodeSpec:
    spec = statefulset["spec"]
    template = spec["template"]["spec"]
    container = template["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"].endswith("config"))
    (xml,) = config_map["data"].values()
    assert mount["mountPath"]  # the config file is read from there (CONFIG_URI)
    return NodeSpec(
        statefulset=statefulset["metadata"]["name"],
        namespace=statefulset["metadata"]["namespace"],
        service=spec["serviceName"],
        replicas=int(spec["replicas"]),
        pod_management_policy=spec.get("podManagementPolicy", "OrderedReady"),
        config_xml=xml,
        container=container,
        grace_seconds=int(template.get("terminationGracePeriodSeconds", 30)),
    )


def node_config(spec: NodeSpec, pod_dir: Path) -> str:
    """The ConfigMap's XML with the work directory (an emptyDir at /ignite/work in the pod)
    moved into this pod's folder: the only change."""
    work_mount = next(m for m in spec.container["volumeMounts"] if m["name"].endswith("work"))
    old = f'name="workDirectory" value="{work_mount["mountPath"]}"'
    assert spec.config_xml.count(old) == 1, "the ConfigMap's workDirectory is not the emptyDir"
    return spec.config_xml.replace(old, f'name="workDirectory" value="{pod_dir / "work"}"')


def config_diff(spec: NodeSpec, pod_dir: Path) -> str:
    return "".join(
        difflib.unified_diff(
            spec.config_xml.splitlines(keepends=True),
            node_config(spec, pod_dir).splitlines(keepends=True),
            "ConfigMap ignite-config.xml",
            "node ignite-config.xml",
        )
    )


def config_path(spec: NodeSpec, pod_dir: Path) -> Path:
    """CONFIG_URI's file, under the pod's folder (its path must differ)."""
    uri = spec.env["CONFIG_URI"]
    assert uri.startswith("file://"), uri
    return pod_dir / uri.removeprefix("file://").lstrip("/")


def node_argv(spec: NodeSpec, pod_dir: Path, home: Path) -> list[str]:
    """run.sh's java command line for this container environment (see the module docstring)."""
    env = spec.env
    jvm_opts = shlex.split(env.get("JVM_OPTS") or RUN_SH_DEFAULT_JVM_OPTS)
    opts = [*RUN_SH_JAVA11_OPTS, *JAVA17_OPENS, *jvm_opts, *TEST_HEAP, *TEST_CPU]
    if env.get("IGNITE_QUIET") == "false" or "-DIGNITE_QUIET=false" in jvm_opts:
        opts.append("-DIGNITE_QUIET=false")
    option_libs = [lib.strip() for lib in env.get("OPTION_LIBS", "").split(",") if lib.strip()]
    # Every OPTION_LIBS module must be among the jars `make ignite` installed.
    jars = {p.name for p in (IGNITE_DIR / "libs").glob("*.jar")}
    missing = [lib for lib in option_libs if f"{lib}-{IGNITE_VERSION}.jar" not in jars]
    assert not missing, (
        f"OPTION_LIBS names modules tools/ignite/pom.xml does not install: {missing}"
    )
    uri = f"file://{config_path(spec, pod_dir)}"
    return ["java", *opts, f"-DIGNITE_HOME={home}", "-cp", classpath(), NODE_MAIN_CLASS, uri]


def jvm_departures() -> str:
    return (
        "JVM options beyond run.sh's (Java 17 opens from bin/include/jvmdefaults.sh; heap; "
        "CPU): "
        + " ".join(o for o in JAVA17_OPENS if o not in RUN_SH_JAVA11_OPTS)
        + " "
        + " ".join(TEST_HEAP)
        + " "
        + " ".join(TEST_CPU)
    )


# --- the cluster's state, shared with the stand-in kubectl ------------------------------------


def _run(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, **kwargs)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.200.0.0/13 that no route of this machine covers."""
    routes = _run(["ip", "-4", "route", "show", "table", "all"]).stdout
    used = [
        ipaddress.ip_network(m, strict=False)
        for m in re.findall(r"^(?:\S+ )?(\d+\.\d+\.\d+\.\d+(?:/\d+)?)", routes, re.M)
    ]
    for _ in range(200):
        net = ipaddress.ip_network(f"10.{200 + secrets.randbelow(8)}.{secrets.randbelow(256)}.0/24")
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise RuntimeError("no free /24 in 10.200.0.0/13 for the test bridge")


@dataclass
class Pods:
    """A set of real nodes for one rendered StatefulSet, kept in `run_dir/state.json`."""

    run_dir: Path

    # -- state --
    @property
    def state_path(self) -> Path:
        return self.run_dir / "state.json"

    @contextlib.contextmanager
    def state(self) -> Iterator[dict[str, Any]]:
        """The state, locked against the stand-in kubectl's calls; saved on exit."""
        with open(self.run_dir / "state.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = json.loads(self.state_path.read_text())
            yield data
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1))
            tmp.replace(self.state_path)

    def read(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text())

    @property
    def spec(self) -> NodeSpec:
        return NodeSpec(**self.read()["spec"])

    @classmethod
    def create(
        cls, run_dir: Path, spec: NodeSpec, node_names: Mapping[str, str] | None = None
    ) -> Pods:
        """A new cluster run (no node started yet). `node_names`: the Kubernetes node each pod
        is on (its `spec.nodeName`); a pod not named there is on a node of its own."""
        sweep_leaked_runs()
        run_dir.mkdir(parents=True, exist_ok=True)
        run_id = _register_run()
        subnet = _free_subnet()
        bridge = f"{NS_PREFIX}{run_id}-br"
        home = run_dir / "home"
        (home / "bin").mkdir(parents=True, exist_ok=True)
        control = home / "bin" / "control.sh"
        control.write_text(
            CONTROL_SH.format(
                opens=" ".join(JAVA17_OPENS),
                classpath=control_classpath(),
                main=CONTROL_MAIN_CLASS,
            )
        )
        control.chmod(0o755)
        state = {
            "runId": run_id,
            "bridge": bridge,
            "subnet": str(subnet),
            "nextHost": 10,
            "home": str(home),
            "spec": spec.to_json(),
            "pods": {},
            "nodeNames": dict(node_names or {}),
            "uidCounter": 0,
        }
        (run_dir / "state.json").write_text(json.dumps(state, indent=1))
        pods = cls(run_dir)
        gateway = f"{subnet.network_address + 1}/{subnet.prefixlen}"
        try:
            _run(["ip", "link", "add", bridge, "type", "bridge"])
            _run(["ip", "addr", "add", gateway, "dev", bridge])
            _run(["ip", "link", "set", bridge, "up"])
        except BaseException:
            pods.destroy()
            raise
        return pods

    def names(self) -> list[str]:
        spec = self.spec
        return [f"{spec.statefulset}-{i}" for i in range(spec.replicas)]

    def pod(self, name: str) -> dict[str, Any]:
        return dict(self.read()["pods"][name])

    def address(self, name: str) -> str:
        return str(self.pod(name)["ip"])

    def netns(self, name: str) -> str:
        return f"{NS_PREFIX}{self.read()['runId']}-{name}"

    def pod_dir(self, name: str) -> Path:
        return self.run_dir / name

    # -- network --
    def _new_address(self, state: dict[str, Any]) -> str:
        subnet = ipaddress.ip_network(state["subnet"])
        host = state["nextHost"]
        state["nextHost"] = host + 1
        return str(subnet.network_address + host)

    def _ensure_netns(self, state: dict[str, Any], name: str) -> None:
        ns = f"{NS_PREFIX}{state['runId']}-{name}"
        if name in state["pods"]:
            return
        index = len(state["pods"])
        veth = f"{NS_PREFIX}{state['runId']}-{index}"
        Path(f"/etc/netns/{ns}").mkdir(parents=True, exist_ok=True)
        # Lookups of names that are not in hosts fail at once (nothing answers DNS in here).
        Path(f"/etc/netns/{ns}/resolv.conf").write_text("nameserver 127.0.0.1\n")
        Path(f"/etc/netns/{ns}/hosts").write_text("127.0.0.1 localhost\n")
        state["pods"][name] = {"ns": ns, "veth": veth, "ip": None, "pid": None, "uid": None}
        _run(["ip", "netns", "add", ns])
        _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        _run(["ip", "link", "set", veth, "master", state["bridge"], "up"])
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        _run(["ip", "-n", ns, "link", "set", "eth0", "up"])

    def _set_address(self, state: dict[str, Any], name: str) -> str:
        pod = state["pods"][name]
        address = self._new_address(state)
        prefix = ipaddress.ip_network(state["subnet"]).prefixlen
        _run(["ip", "-n", pod["ns"], "addr", "flush", "dev", "eth0"])
        _run(["ip", "-n", pod["ns"], "addr", "add", f"{address}/{prefix}", "dev", "eth0"])
        pod["ip"] = address
        return address

    def _write_hosts(self, state: dict[str, Any]) -> None:
        """Kubernetes DNS for the headless Service (publishNotReadyAddresses: every pod that
        exists, Ready or not) and each pod's stable name. Written in place: `ip netns exec`
        bind-mounts the file, so a replaced file would not be seen."""
        spec = NodeSpec(**state["spec"])
        lines = ["127.0.0.1 localhost"]
        for name, pod in sorted(state["pods"].items()):
            if pod["ip"] and pod["pid"]:
                lines.append(f"{pod['ip']} {spec.pod_dns(name)} {name}")
                lines.append(f"{pod['ip']} {spec.service_dns}")
        text = "\n".join(lines) + "\n"
        for pod in state["pods"].values():
            with open(f"/etc/netns/{pod['ns']}/hosts", "r+") as fh:
                fh.truncate(0)
                fh.write(text)

    # -- processes --
    def start(self, name: str) -> None:
        """Create the pod (a new address, an empty work directory) and start its node."""
        with self.state() as state:
            self._ensure_netns(state, name)
            pod = state["pods"][name]
            if pod["pid"] and _alive(pod["pid"]):
                raise RuntimeError(f"{name} is running")
            self._set_address(state, name)
            spec = NodeSpec(**state["spec"])
            pod_dir = self.pod_dir(name)
            shutil.rmtree(pod_dir / "work", ignore_errors=True)
            config = config_path(spec, pod_dir)
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(node_config(spec, pod_dir))
            argv = node_argv(spec, pod_dir, Path(state["home"]))
            state["uidCounter"] += 1
            pod["uid"] = f"{name}-uid-{state['uidCounter']}"
            log_path = pod_dir / f"node-{state['uidCounter']}.log"
            pod["log"] = str(log_path)
            # java is PID 1 of the pod's PID namespace, in its network namespace.
            pod_ns = [
                "ip",
                "netns",
                "exec",
                pod["ns"],
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
            ]
            env = [
                "env",
                "-i",
                *(f"{k}={v}" for k, v in self._container_env(state, name).items()),
            ]
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [*pod_ns, *env, *argv],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            pod["pid"] = proc.pid
            pod["replacing"] = False
            self._write_hosts(state)

    def _container_env(self, state: dict[str, Any], name: str) -> dict[str, str]:
        spec = NodeSpec(**state["spec"])
        pod = state["pods"][name]
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "IGNITE_HOME": state["home"],
            **spec.pod_env(name, self.node_name(name, state), pod.get("ip") or ""),
        }

    def node_name(self, name: str, state: Mapping[str, Any] | None = None) -> str:
        """The Kubernetes node pod `name` is on: as `create` was told, else one of its own (as
        the cache's default spread puts them)."""
        state = self.read() if state is None else state
        return str(state.get("nodeNames", {}).get(name) or f"node-of-{name}")

    def java_pid(self, name: str) -> int | None:
        """The node's JVM (PID 1 of the pod's PID namespace), by its host PID."""
        pid = self.pod(name)["pid"]
        if not pid:
            return None
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def running(self, name: str) -> bool:
        pid = self.pod(name)["pid"]
        return bool(pid) and _alive(pid)

    def log_tail(self, name: str, lines: int = 40) -> str:
        log = self.pod(name).get("log")
        if not log or not Path(log).exists():
            return "(no log)"
        return "\n".join(Path(log).read_text(errors="replace").splitlines()[-lines:])

    def exec(
        self, name: str, argv: Sequence[str], timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """ARGV inside the pod (its network, PID and mount namespaces) with the container's
        environment, as `kubectl exec` and exec probes run it."""
        java = self.java_pid(name)
        if java is None:
            return subprocess.CompletedProcess(list(argv), 126, "", f"{name} is not running\n")
        env = self._container_env(self.read(), name)
        nsenter = ["nsenter", "-t", str(java), "-n", "-p", "-m", "--"]
        envv = ["env", "-i", *(f"{k}={v}" for k, v in env.items())]
        try:
            return subprocess.run(
                [*nsenter, *envv, *argv], capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return subprocess.CompletedProcess(list(argv), 124, out, "timed out\n")

    def probe(self, name: str, probe: Mapping[str, Any] | None = None) -> bool:
        """The StatefulSet's readiness probe (or `probe`), once, as the kubelet runs it."""
        probe = probe or self.spec.readiness_probe
        timeout = float(probe.get("timeoutSeconds", 1))
        if "httpGet" in probe:
            status, _body = self.http_get(name, probe["httpGet"], timeout)
            return 200 <= status < 400
        if "exec" in probe:
            return self.exec(name, probe["exec"]["command"], timeout).returncode == 0
        raise AssertionError(f"a probe this harness cannot run: {sorted(probe)}")

    def http_get(
        self, name: str, http_get: Mapping[str, Any], timeout: float = 5
    ) -> tuple[int, str]:
        """An httpGet probe's request (the kubelet connects to the pod's address from the
        node): (status, body); status 0 when nothing answered."""
        host = http_get.get("host") or self.address(name)
        scheme = http_get.get("scheme", "HTTP").lower()
        url = f"{scheme}://{host}:{http_get['port']}{http_get.get('path', '/')}"
        request = urllib.request.Request(url, headers={"User-Agent": "kube-probe/1.31"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")
        except (OSError, urllib.error.URLError) as err:
            return 0, str(err)

    def wait_ready(self, name: str, timeout: float = 90) -> float:
        """Poll the readiness probe until it passes; seconds it took. A node that exits (or
        never passes) fails the test with its log tail."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if not self.running(name):
                raise NodeFailed(f"{name} exited while starting; log tail:\n{self.log_tail(name)}")
            if self.probe(name):
                return time.monotonic() - start
            time.sleep(0.5)
        raise NodeFailed(f"{name} not Ready within {timeout:g}s; log tail:\n{self.log_tail(name)}")

    def stop(self, name: str, *, grace: float | None = None) -> float:
        """Stop the pod as the kubelet does: the preStop hook in the container, then SIGTERM to
        PID 1, then SIGKILL once terminationGracePeriodSeconds (counted from the start) ran
        out. Returns the seconds until the JVM had exited."""
        spec = self.spec
        grace = spec.grace_seconds if grace is None else grace
        start = time.monotonic()
        java = self.java_pid(name)
        if java is not None:
            self.exec(name, spec.pre_stop, timeout=grace)
            with contextlib.suppress(ProcessLookupError):
                os.kill(java, signal.SIGTERM)
            while self.running(name) and time.monotonic() - start < grace:
                time.sleep(0.2)
            if self.running(name):
                self.kill(name)
        self._exited(name)
        return time.monotonic() - start

    def kill(self, name: str) -> None:
        """SIGKILL the JVM (a crash, or the end of the grace period)."""
        java = self.java_pid(name)
        if java is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(java, signal.SIGKILL)
        pid = self.pod(name)["pid"]
        deadline = time.monotonic() + 10
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._exited(name)

    def _exited(self, name: str) -> None:
        with self.state() as state:
            pod = state["pods"][name]
            if pod["pid"] and not _alive(pod["pid"]):
                pod["pid"] = None
                self._write_hosts(state)

    def evict(self, name: str) -> None:
        """What an eviction sets going: the pod stops as the kubelet stops it, then the
        StatefulSet controller creates it anew (new uid, new address). Returns at once, as the
        Eviction API does; the work runs in a detached process. Until the new node has started,
        the pod is not Ready (a terminating pod is not, and its successor does not exist yet)."""
        with self.state() as state:
            state["pods"][name]["replacing"] = True
        subprocess.Popen(
            [sys.executable, __file__, str(self.run_dir), "_replace", name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.run_dir / f"replace-{name}.log", "a"),  # noqa: SIM115
            start_new_session=True,
        )

    def replace(self, name: str) -> None:
        self.stop(name)
        self.start(name)

    def destroy(self) -> None:
        """Kill every node, delete the namespaces, veths, bridge and /etc/netns entries."""
        state = self.read()
        for name, pod in state["pods"].items():
            if pod.get("pid") and _alive(pod["pid"]):
                self.kill(name)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pod["pid"], signal.SIGKILL)
        _remove_run(state["runId"])


def _start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat), which tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _register_run() -> str:
    """A new run id, recorded with this process as its owner before anything is created."""
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    owner = {"pid": os.getpid(), "start": _start_time(os.getpid())}
    while True:
        run_id = secrets.token_hex(2)
        with contextlib.suppress(FileExistsError):
            with open(RUNS_DIR / f"{run_id}.json", "x") as fh:
                json.dump(owner, fh)
            return run_id


def _run_namespaces(run_id: str) -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return [n for n in names if n.startswith(f"{NS_PREFIX}{run_id}-")]


def _remove_run(run_id: str) -> None:
    """Everything of run `run_id` still there: JVMs left in its namespaces, the namespaces (their
    veths go with them), /etc/netns entries, the bridge, then the run's record."""
    for ns in _run_namespaces(run_id):
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
        for pid in pids.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)
    subprocess.run(["ip", "link", "del", f"{NS_PREFIX}{run_id}-br"], capture_output=True)
    (RUNS_DIR / f"{run_id}.json").unlink(missing_ok=True)


def sweep_leaked_runs() -> list[str]:
    """Remove the runs whose owner process is gone (same pid and start time no longer running);
    the run ids removed. Runs of live owners, and namespaces with no record (made before records
    existed), are left alone."""
    swept = []
    for record in sorted(RUNS_DIR.glob("*.json")) if RUNS_DIR.is_dir() else []:
        try:
            owner = json.loads(record.read_text())
        except (OSError, ValueError):
            continue  # being written by its owner
        if _alive(owner["pid"]) and _start_time(owner["pid"]) == owner["start"]:
            continue
        _remove_run(record.stem)
        swept.append(record.stem)
    return swept


def _alive(pid: int) -> bool:
    """Running, not a zombie (a stopped pod's launcher nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def main(argv: Sequence[str]) -> int:
    run_dir, command, pod, *rest = argv
    pods = Pods(Path(run_dir))
    if command == "ready":
        replacing = pods.pod(pod).get("replacing")
        return 0 if not replacing and pods.running(pod) and pods.probe(pod) else 1
    if command == "exec":
        remote = rest[1:] if rest[:1] == ["--"] else rest
        result = pods.exec(pod, remote)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        return result.returncode
    if command == "evict":
        pods.evict(pod)
        return 0
    if command == "_replace":
        pods.replace(pod)
        return 0
    print(f"ignite_nodes: unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
