"""A throwaway Kubernetes control plane on loopback, for the e2e tier.

Real etcd, kube-apiserver, kube-controller-manager and kube-scheduler (the versions and cache
directories of e2e/tools/manifest.py), plus kwok, which plays the kubelet: it marks the fake nodes
Ready and takes every pod scheduled to them through its stages to Running/Ready without running a
container. Certificates are generated here (a CA, the API server's serving certificate, an admin
client certificate in `system:masters`, the service-account key pair); every port is a free one
picked at start, so two runs on one machine cannot collide.

`throwaway_cluster()` is a context manager: on leaving it, also on failure, every process group it
started is stopped (SIGTERM, then SIGKILL) and its directory removed. The processes are started
with PR_SET_PDEATHSIG, so they die with the Python process that started them even if it is
killed before it can clean up, and an atexit hook covers an interpreter that exits without
leaving the `with` block.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from e2e.tools.manifest import tool_dirs

# Fake nodes: name -> zone. Three nodes in three zones, so a two-replica cache can spread over
# nodes and zones as the program asks (placement.spreadAcrossNodes/Zones).
DEFAULT_NODES: dict[str, str] = {
    "kwok-node-0": "zone-a",
    "kwok-node-1": "zone-b",
    "kwok-node-2": "zone-c",
}
SERVICE_CIDR = "10.96.0.0/16"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
CONTEXT = "cachemesh-e2e"
# Namespaces whose pods answer `control.sh` through kwok's exec (kwok_exec_config): the shipped
# stacks' cache namespaces.
CACHE_NAMESPACES: tuple[str, ...] = ("ignite", "gridgain")
STANDIN_IGNITE_HOME = Path(__file__).resolve().parent / "standin_ignite"
STARTUP_TIMEOUT_SECONDS = 120.0
LOG_TAIL_LINES = 40

_PR_SET_PDEATHSIG = 1


class ClusterError(RuntimeError):
    """A component did not start (the message carries its log's tail)."""


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick for port 0 on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before exec: its own process group, and SIGKILL when the parent dies."""
    os.setsid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self, grace_seconds: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=grace_seconds)
        # Whatever the leader left behind in its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)


# --- certificates ---------------------------------------------------------------------------


def _write_key(path: Path, key: Any) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    sa_key: Path
    sa_pub: Path


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    validity = datetime.timedelta(days=2)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cachemesh-e2e-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(
        subject: x509.Name, usage: x509.ObjectIdentifier, sans: Sequence[x509.GeneralName] = ()
    ) -> tuple[Any, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return key, builder.sign(ca_key, hashes.SHA256())

    service_ip = ipaddress.IPv4Network(SERVICE_CIDR)[1]
    serving_key, serving_cert = leaf(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
        x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
        [
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(service_ip),
        ],
    )
    admin_key, admin_cert = leaf(
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(NameOID.COMMON_NAME, "cachemesh-e2e-admin"),
            ]
        ),
        x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    pki = Pki(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        admin_cert=directory / "admin.crt",
        admin_key=directory / "admin.key",
        sa_key=directory / "sa.key",
        sa_pub=directory / "sa.pub",
    )
    _write_cert(pki.ca_cert, ca_cert)
    _write_key(pki.ca_key, ca_key)
    _write_cert(pki.serving_cert, serving_cert)
    _write_key(pki.serving_key, serving_key)
    _write_cert(pki.admin_cert, admin_cert)
    _write_key(pki.admin_key, admin_key)
    _write_key(pki.sa_key, sa_key)
    pki.sa_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


def kubeconfig_text(server: str, pki: Pki, context: str = CONTEXT) -> str:
    """A kubeconfig with the certificates inline (it stays valid wherever it is copied)."""
    import base64

    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {"server": server, "certificate-authority-data": b64(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": f"{context}-admin",
                "user": {
                    "client-certificate-data": b64(pki.admin_cert),
                    "client-key-data": b64(pki.admin_key),
                },
            }
        ],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": f"{context}-admin"}}
        ],
        "current-context": context,
    }
    return json.dumps(config, indent=2)


# --- the cluster ----------------------------------------------------------------------------


@dataclass
class Cluster:
    """A running throwaway cluster: where it is and how to talk to it."""

    directory: Path
    server: str
    kubeconfig: Path
    context: str
    pki: Pki
    nodes: dict[str, str]
    tools: dict[str, Path]
    processes: list[Process] = field(default_factory=list)

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            str(self.tools["kubectl"] / "kubectl"),
            "--kubeconfig",
            str(self.kubeconfig),
            "--context",
            self.context,
            *args,
        ]
        result = subprocess.run(
            argv, capture_output=True, text=True, input=input, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise ClusterError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
            )
        return result

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def exists(self, kind: str, name: str, namespace: str | None = None) -> bool:
        ns = ["-n", namespace] if namespace else []
        return self.kubectl("get", kind, name, *ns, "-o", "name", check=False).returncode == 0

    def log_tails(self) -> str:
        return "\n\n".join(f"--- {p.name} ({p.log}) ---\n{log_tail(p.log)}" for p in self.processes)

    def stop(self) -> None:
        # Reverse order: kwok and the controllers before the API server, etcd last.
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


def _wait(
    what: str,
    ready: Callable[[], bool],
    process: Process | None,
    timeout: float,
    extra_logs: Callable[[], str] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if process is not None and process.popen.poll() is not None:
            raise ClusterError(
                f"{what}: {process.name} exited with {process.popen.returncode} while starting; "
                f"its log ends:\n{log_tail(process.log)}"
            )
        try:
            if ready():
                return
        except Exception as error:  # a probe that fails is only "not yet"
            last_error = f"{type(error).__name__}: {error}"
        time.sleep(0.5)
    logs = log_tail(process.log) if process is not None else ""
    if extra_logs is not None:
        logs += "\n" + extra_logs()
    raise ClusterError(
        f"{what} not ready after {timeout:.0f} s (last probe: {last_error or 'not ready'}); "
        f"log tail:\n{logs}"
    )


def _start(
    name: str, argv: list[str], directory: Path, env: dict[str, str] | None = None
) -> Process:
    log = directory / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = log.open("wb")
    try:
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=directory,
            env=env,
            # setsid + PR_SET_PDEATHSIG (the parent here is the thread that starts the cluster).
            preexec_fn=_die_with_parent,
        )
    finally:
        handle.close()
    return Process(name=name, popen=popen, log=log)


def _https_ok(url: str, pki: Pki) -> bool:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        return bool(response.status == 200 and response.read().strip() == b"ok")


def _http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def node_manifest(name: str, zone: str) -> dict[str, Any]:
    """A fake node as kwok's docs create them: kwok manages it (annotation), the scheduler sees
    room for every pod the program makes."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "topology.kubernetes.io/zone": zone,
                "topology.kubernetes.io/region": "e2e",
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        },
    }


def kwok_exec_config(cluster: Cluster, namespaces: Sequence[str]) -> list[dict[str, Any]]:
    """kwok ClusterExecs (kwok.x-k8s.io/v1alpha1; kwok@v0.7.0 pkg/kwok/server/debugging_exec.go
    runs the command on the host, with these variables added to kwok's own environment): in each
    namespace's pods `$IGNITE_HOME/bin/control.sh` is the stand-in
    e2e/standin_ignite/bin/control.sh, which reads that namespace's Ready pods from this cluster."""
    kubectl_dir = cluster.tools["kubectl"]
    return [
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterExec",
            "metadata": {"name": f"standin-ignite-{namespace}"},
            "spec": {
                "selector": {"matchNamespaces": [namespace]},
                "execs": [
                    {
                        "local": {
                            "workDir": str(cluster.directory),
                            "envs": [
                                {"name": "IGNITE_HOME", "value": str(STANDIN_IGNITE_HOME)},
                                {"name": "CACHEMESH_E2E_NAMESPACE", "value": namespace},
                                {
                                    "name": "CACHEMESH_E2E_KUBECONFIG",
                                    "value": str(cluster.kubeconfig),
                                },
                                {
                                    "name": "PATH",
                                    "value": f"{kubectl_dir}:{os.environ.get('PATH', '')}",
                                },
                            ],
                        }
                    }
                ],
            },
        }
        for namespace in namespaces
    ]


_LIVE: list[Cluster] = []


def _stop_all_at_exit() -> None:
    for cluster in list(_LIVE):
        cluster.stop()
        shutil.rmtree(cluster.directory, ignore_errors=True)


atexit.register(_stop_all_at_exit)


def start_cluster(
    directory: Path,
    nodes: dict[str, str] | None = None,
    timeout: float = STARTUP_TIMEOUT_SECONDS,
    exec_namespaces: Sequence[str] = CACHE_NAMESPACES,
) -> Cluster:
    """Start every component in `directory`; on any failure stop what started and raise."""
    tools = tool_dirs()
    nodes = dict(DEFAULT_NODES if nodes is None else nodes)
    pki = make_pki(directory / "pki")
    api_port = free_port()
    server = f"https://127.0.0.1:{api_port}"
    kubeconfig = directory / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(server, pki))
    kubeconfig.chmod(0o600)
    cluster = Cluster(
        directory=directory,
        server=server,
        kubeconfig=kubeconfig,
        context=CONTEXT,
        pki=pki,
        nodes=nodes,
        tools=tools,
    )
    _LIVE.append(cluster)
    try:
        _start_components(cluster, api_port, timeout, exec_namespaces)
    except BaseException:
        cluster.stop()
        _LIVE.remove(cluster)
        raise
    return cluster


def _start_components(
    cluster: Cluster, api_port: int, timeout: float, exec_namespaces: Sequence[str]
) -> None:
    directory, pki, tools = cluster.directory, cluster.pki, cluster.tools
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}

    etcd_client, etcd_peer = free_port(), free_port()
    etcd = _start(
        "etcd",
        [
            str(tools["etcd"] / "etcd"),
            "--name=e2e",
            f"--data-dir={directory / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
            f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
            f"--initial-cluster=e2e=http://127.0.0.1:{etcd_peer}",
            "--listen-metrics-urls=",
            # A throwaway store: no fsync per write, so a busy machine does not slow every write.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ],
        directory,
        env,
    )
    cluster.processes.append(etcd)
    _wait(
        "etcd",
        lambda: _http_json(f"http://127.0.0.1:{etcd_client}/health").get("health") == "true",
        etcd,
        timeout,
    )

    apiserver = _start(
        "kube-apiserver",
        [
            str(tools["kube-apiserver"] / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_client}",
            "--bind-address=127.0.0.1",
            f"--secure-port={api_port}",
            # The `kubernetes` Service's endpoint cannot be a loopback address; nothing in a
            # kwok cluster connects to it.
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            f"--cert-dir={directory / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            # exec/logs go to the node's kubelet, here the kwok server on loopback: reach it by
            # the node's InternalIP (its Hostname does not resolve), as the admin client.
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-client-certificate={pki.admin_cert}",
            f"--kubelet-client-key={pki.admin_key}",
            "--allow-privileged=true",
            # Admission plugins: the API server's defaults (no --enable-admission-plugins).
        ],
        directory,
        env,
    )
    cluster.processes.append(apiserver)
    _wait("kube-apiserver", lambda: _https_ok(f"{cluster.server}/readyz", pki), apiserver, timeout)

    common = [f"--kubeconfig={cluster.kubeconfig}", "--secure-port=0"]
    controller_manager = _start(
        "kube-controller-manager",
        [
            str(tools["kube-controller-manager"] / "kube-controller-manager"),
            *common,
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_cert}",
            f"--cluster-signing-cert-file={pki.ca_cert}",
            f"--cluster-signing-key-file={pki.ca_key}",
            "--use-service-account-credentials=false",
            "--leader-elect=false",
        ],
        directory,
        env,
    )
    cluster.processes.append(controller_manager)
    scheduler = _start(
        "kube-scheduler",
        [str(tools["kube-scheduler"] / "kube-scheduler"), *common, "--leader-elect=false"],
        directory,
        env,
    )
    cluster.processes.append(scheduler)
    kwok_config = directory / "kwok.yaml"
    # kwok's built-in default stages (node Ready, pod Running/Ready, pod deletion), nothing read
    # from ~/.kwok, and `kubectl exec` into the cache namespaces' pods answered on the host.
    kwok_config.write_text(
        "\n---\n".join(json.dumps(doc) for doc in kwok_exec_config(cluster, exec_namespaces))
    )
    # The kwok server is each fake node's "kubelet": the node advertises --node-port as its
    # kubeletEndpoint (kwok@v0.7.0 kustomize/stage/node/fast/node-initialize.yaml) and the API
    # server proxies exec there over HTTPS (the serving certificate covers 127.0.0.1).
    kubelet_port = free_port()
    kwok = _start(
        "kwok",
        [
            str(tools["kwok"] / "kwok"),
            f"--kubeconfig={cluster.kubeconfig}",
            f"--config={kwok_config}",
            f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
            f"--server-address=127.0.0.1:{kubelet_port}",
            f"--node-port={kubelet_port}",
            f"--tls-cert-file={cluster.pki.serving_cert}",
            f"--tls-private-key-file={cluster.pki.serving_key}",
            "--node-ip=127.0.0.1",
            # Node Leases renewed as a kubelet renews them, as kwokctl runs kwok (the
            # KwokConfiguration default is 40: kwok@v0.7.0 pkg/apis/config/v1alpha1/
            # zz_generated.defaults.go). Without it kwok heartbeats the node status only every
            # 20-45 s (kustomize/stage/node/heartbeat/node-heartbeat.yaml: delay 20 s + jitter
            # 25 s), past the controller manager's 40 s node-monitor grace period: the node
            # lifecycle controller then marked every node NotReady and every pod Ready=False,
            # which no kubelet put back, and the provider's StatefulSet await waited for
            # readyReplicas until its timeout (observed on the second `up` that changed the pod
            # template).
            "--node-lease-duration-seconds=40",
        ],
        directory,
        env,
    )
    cluster.processes.append(kwok)

    # The service-account controller has made `default` in `default`: the controller manager
    # runs (and pods can be admitted, the ServiceAccount admission plugin needs the account).
    _wait(
        "kube-controller-manager",
        lambda: cluster.exists("serviceaccount", "default", "default"),
        controller_manager,
        timeout,
    )
    for name, zone in cluster.nodes.items():
        cluster.kubectl("create", "-f", "-", input=json.dumps(node_manifest(name, zone)))

    def nodes_ready() -> bool:
        items = cluster.get_json("nodes")["items"]
        ready = {
            item["metadata"]["name"]
            for item in items
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in item.get("status", {}).get("conditions", [])
            )
        }
        return ready >= set(cluster.nodes)

    _wait("kwok (fake nodes Ready)", nodes_ready, kwok, timeout)
    _wait("kube-scheduler", lambda: scheduler.popen.poll() is None, scheduler, timeout)


@contextlib.contextmanager
def throwaway_cluster(
    nodes: dict[str, str] | None = None,
    timeout: float = STARTUP_TIMEOUT_SECONDS,
    keep_on_failure: bool = False,
    exec_namespaces: Sequence[str] = CACHE_NAMESPACES,
) -> Iterator[Cluster]:
    """A running cluster for the `with` block; everything it started and wrote is gone after
    (with `keep_on_failure`, the directory and its logs stay when the block raised)."""
    directory = Path(tempfile.mkdtemp(prefix="cachemesh-e2e-cluster-"))
    failed = False
    try:
        cluster = start_cluster(directory, nodes, timeout, exec_namespaces)
        try:
            yield cluster
        except BaseException:
            failed = True
            raise
        finally:
            cluster.stop()
            if cluster in _LIVE:
                _LIVE.remove(cluster)
    except BaseException:
        failed = True
        raise
    finally:
        if not (failed and keep_on_failure):
            shutil.rmtree(directory, ignore_errors=True)
