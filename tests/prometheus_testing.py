"""Real Prometheus (Debian's `prometheus` package) for the tests: promtool, a server on loopback
scraping stand-in proxies that serve the mTLS fixtures' metrics text.

The tests that need the binaries never skip: without them they fail and say to run `.ci/run`
(which installs the package) or `apt-get install -y prometheus`.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kube import common_labels
from settings.products import ProductKey

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCENARIOS = FIXTURES / "mtls" / "scenarios"
SCRAPE_INTERVAL = "500ms"


def require(binary: str) -> str:
    """The path of `binary`, or a test failure that says how to get it."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(
            f"{binary} is not installed: these tests need a real Prometheus. Run .ci/run (it "
            "installs Debian's prometheus package) or: apt-get install -y prometheus"
        )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_COUNTER = re.compile(r"^(\w+_total)(\{.*\})? (\d+)$")


def rising(text: str, scrape: int) -> str:
    """The proxy text as scrape number `scrape` sees it: every counter multiplied by `scrape`
    (a counter at 0 stays 0, any other rises), minus the `linkerd diagnostics` banner, which a
    proxy's own /metrics does not print."""
    out = []
    for line in text.splitlines():
        if line == "#" or line.startswith("# POD "):
            continue
        m = _COUNTER.match(line)
        out.append(f"{m[1]}{m[2] or ''} {int(m[3]) * scrape}" if m else line)
    return "\n".join(out) + "\n"


class StandInProxies:
    """Proxy admin endpoints on loopback: GET /<pod>/metrics serves the current scenario's
    <pod>.txt with counters rising on every scrape."""

    def __init__(self) -> None:
        self.scenario = SCENARIOS / "verified-2"
        self.down: set[str] = set()  # pods whose admin endpoint answers 503
        # Sample lines served as they are (not rising) after a pod's text, e.g. a series with an
        # explicit timestamp, which Prometheus stores at that time, as it holds a series that
        # stopped being written before the check started (no staleness marker: a restarted
        # pod's, a remote-written one) while it is still inside the 5m lookback.
        self.extra: dict[str, list[str]] = {}
        self.scrapes: dict[str, int] = {}
        self.lock = threading.Lock()
        proxies = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                pod = self.path.strip("/").removesuffix("/metrics")
                path = proxies.scenario / f"{pod}.txt"
                if pod in proxies.down:
                    self.send_error(503)
                    return
                if not path.exists():
                    self.send_error(404)
                    return
                with proxies.lock:
                    proxies.scrapes[pod] = n = proxies.scrapes.get(pod, 0) + 1
                text = rising(path.read_text(), n) + "".join(
                    line + "\n" for line in proxies.extra.get(pod, [])
                )
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandInProxies:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# The labels linkerd-viz's `linkerd-proxy` scrape job gives a cache pod's proxy in a cluster,
# read from its relabel_configs in linkerd/linkerd2 viz/charts/linkerd-viz/templates/prometheus.yaml
# at b24cd4059841f8cee2fb7a9c2ac23a693c583579. The job keeps the `linkerd-admin` port of the
# `linkerd-proxy` container of Running or Pending pods whose linkerd.io/control-plane-ns label is
# the control plane's namespace, and its target ends up with:
#   job="linkerd-proxy", instance=<pod IP>:4191   Prometheus's own (here: the stand-ins' address)
#   namespace, pod                                the pod's namespace and name
#   statefulset                                   pod label linkerd.io/proxy-statefulset, prefix
#                                                 cut (linkerd.io/proxy-job would be `k8s_job`)
#   control_plane_ns, workload_ns                 the other linkerd.io/* pod labels, prefix cut
#   every other pod label, named the way Prometheus's Kubernetes discovery sanitises it (each
#   character outside [a-zA-Z0-9_] becomes `_`); nothing else.
# A cache pod's labels: the injector's linkerd.io/control-plane-ns, linkerd.io/proxy-statefulset
# and linkerd.io/workload-ns (linkerd/linkerd2 pkg/inject/inject.go, same commit, populateMeta);
# the StatefulSet controller's controller-revision-hash, statefulset.kubernetes.io/pod-name and
# apps.kubernetes.io/pod-index (Kubernetes 1.28+); the program's pod template labels
# (components/kube.py common_labels). So pod ignite-0 of the cache `ignite` is scraped as:
#   job, instance, namespace="ignite", pod="ignite-0", statefulset="ignite",
#   control_plane_ns="linkerd", workload_ns="ignite", app="ignite", type="server",
#   app_kubernetes_io_name="ignite2", app_kubernetes_io_instance="ignite",
#   app_kubernetes_io_component="cache-node", app_kubernetes_io_part_of="cachemesh",
#   app_kubernetes_io_managed_by="pulumi", controller_revision_hash="ignite-7d9c8b6f5",
#   statefulset_kubernetes_io_pod_name="ignite-0", apps_kubernetes_io_pod_index="0"
# cachemesh's own scrape job below attaches exactly these to the stand-in targets (static labels,
# no relabelling), so the check's Prometheus source and the alert rules see what they would see
# behind linkerd-viz, and can rely on nothing more.
CONTROL_PLANE_NS = "linkerd"
CACHE = "ignite"


def prometheus_label_name(name: str) -> str:
    """A Kubernetes label's name as Prometheus's Kubernetes discovery writes it."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def viz_target_labels(namespace: str, pod: str) -> dict[str, str]:
    """The labels linkerd-viz's `linkerd-proxy` job attaches to pod `pod` of the cache `ignite`
    (besides `job` and `instance`)."""
    pod_labels = {
        **common_labels(CACHE, ProductKey.IGNITE2.value),
        "controller-revision-hash": f"{CACHE}-7d9c8b6f5",
        "statefulset.kubernetes.io/pod-name": pod,
        "apps.kubernetes.io/pod-index": pod.rsplit("-", 1)[1],
    }
    return {
        "namespace": namespace,
        "pod": pod,
        "statefulset": CACHE,
        "control_plane_ns": CONTROL_PLANE_NS,
        "workload_ns": namespace,
        **{prometheus_label_name(k): v for k, v in pod_labels.items()},
    }


def scrape_config(address: str, pods: list[str], namespace: str = "ignite") -> dict[str, Any]:
    """A Prometheus configuration whose `linkerd-proxy` job scrapes each pod's stand-in proxy
    at `address` with the labels linkerd-viz's job would give that pod (above)."""
    job = {
        "job_name": "linkerd-proxy",
        "scrape_interval": SCRAPE_INTERVAL,
        "scrape_timeout": SCRAPE_INTERVAL,
        "static_configs": [
            {
                "targets": [address],
                "labels": {
                    "__metrics_path__": f"/{pod}/metrics",
                    **viz_target_labels(namespace, pod),
                },
            }
            for pod in pods
        ],
    }
    return {"global": {"evaluation_interval": "1s"}, "scrape_configs": [job]}


@contextmanager
def prometheus(config: dict[str, Any], workdir: Path) -> Iterator[str]:
    """A real Prometheus on 127.0.0.1 (free port, storage in `workdir`); yields its base URL."""
    binary = require("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited: {(workdir / 'prometheus.log').read_text()}")
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("prometheus did not become ready in 30 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def query(url: str, promql: str) -> list[dict[str, Any]]:
    data = urllib.request.urlopen(
        url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}), timeout=5
    ).read()
    result: list[dict[str, Any]] = json.loads(data)["data"]["result"]
    return result


def firing_alert(
    url: str, alert: str, labels: dict[str, str], wait: float = 30.0
) -> dict[str, Any]:
    """The first firing alert `alert` whose labels include `labels`, waiting up to `wait` seconds
    for rule evaluation to catch up with the scrapes; a test failure if none fires."""
    deadline = time.monotonic() + wait
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + "/api/v1/alerts", timeout=5) as response:
            seen = json.loads(response.read())["data"]["alerts"]
        for found in seen:
            if (
                found["labels"].get("alertname") == alert
                and found["state"] == "firing"
                and labels.items() <= found["labels"].items()
            ):
                return dict(found)
        time.sleep(0.2)
    pytest.fail(f"{alert} {labels} did not fire within {wait:g} s; alerts: {seen}")


def wait_until_scraped(url: str, pods: list[str], wait: float = 30.0) -> None:
    """Wait until Prometheus has scraped every pod's stand-in (its target discovery applies new
    targets every 5 s), so no test depends on running first or last."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        up = {r["metric"].get("pod") for r in query(url, "up == 1")}
        if up >= set(pods):
            return
        time.sleep(0.2)
    pytest.fail(f"Prometheus did not scrape {pods} within {wait:g} s")


@contextmanager
def misbehaving_server(how: str, seconds: float = 20.0) -> Iterator[str]:
    """An HTTP server on loopback that answers every GET badly, for `seconds` at most; yields its
    base URL. `drip-body`: headers at once, then one byte of the body every 0.2 s; `drip-headers`:
    the status line and headers one byte every 0.2 s; `flood`: a 200 whose body never ends."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            end = time.monotonic() + seconds
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
            try:
                if how == "drip-headers":
                    for byte in head:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.2)
                        if time.monotonic() > end:
                            return
                    return
                self.wfile.write(head)
                while time.monotonic() < end:
                    self.wfile.write(b" " * (65536 if how == "flood" else 1))
                    self.wfile.flush()
                    if how != "flood":
                        time.sleep(0.2)
            except OSError:  # the client hung up: what a client with a deadline does
                return

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
