"""Bytes read and time per round of the mTLS check: direct scrape vs `--metrics-source prometheus`.

    .venv/bin/python bench/mtls_prometheus_bench.py [--sizes 20,200,1000] [--sample 3]

Direct: every proxy's metrics text for a healthy full mesh (tests/fixtures/mtls/generate.py:
every pod has TLS connections in and out with every peer on 47100 and 47500, plus the admin-port
scrapes, loopback hops, gauges, byte counters, histograms and process metrics a proxy prints),
parsed and evaluated (`evaluate`). At sizes above 200 the text of all pods does not fit in memory
comfortably, so bytes and parse time are measured on `--sample` pods and multiplied by the pod
count (printed as "extrapolated").

Prometheus: a stand-in HTTP server answers /api/v1/query with what a Prometheus would answer to the
check's round query for that mesh (the evidence counters summed per pod over the proxy labels the
evaluation reads), and the real client (`PrometheusEvidence.collect`: HTTP, JSON, evidence) plus
`evaluate` run one round against it. The stand-in's answer is checked against an aggregation of
the generated proxy text at a small size first. `kubectl get pods` is the same for both sources
and not counted. Prints figures only; no assertions.
"""

from __future__ import annotations

import argparse
import http.server
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtls_bench import expectation, gen  # noqa: E402  (the direct benchmark's mesh and helpers)

from checks.mtls import PodInfo, Tools, evaluate  # noqa: E402
from checks.mtls_evaluate import Samples, extract_samples  # noqa: E402
from checks.mtls_prometheus import (  # noqa: E402
    METRIC_LABEL,
    SCRAPED_AT,
    UP,
    PrometheusClient,
    PrometheusEndpoint,
    PrometheusEvidence,
    evidence_from_answer,
)

STARTED = 1_000_000.0  # the stand-in server's clock when the check starts


def running(n: int) -> dict[str, PodInfo]:
    return {
        f"{gen.STS}-{i}": PodInfo(
            name=f"{gen.STS}-{i}", phase="Running", ready=True, proxy="sidecar"
        )
        for i in range(n)
    }


# --- what Prometheus answers ---------------------------------------------------------------


def _aggregated(index: int, n: int) -> Iterator[tuple[dict[str, str], int]]:
    """Pod `index`'s evidence series, summed over peers, as the round query returns them."""
    sums: dict[tuple[tuple[str, str], ...], int] = {}

    def add(labels: dict[str, str], count: int) -> None:
        key = tuple(sorted(labels.items()))
        sums[key] = sums.get(key, 0) + count

    for c in gen.mesh_conns(index, n):
        port = str(c.port)
        if c.direction == "inbound":
            srv = {"srv_kind": "default", "srv_name": "all-unauthenticated", "srv_port": port}
            tls = {"tls": "true", "client_id": c.identity}
            add({"direction": "inbound", "target_port": port, **tls, **srv}, c.count)
            authz = {"authz_kind": "default", "authz_name": "all-unauthenticated"}
            add(
                {
                    METRIC_LABEL: "inbound_tcp_authz_allow_total",
                    "target_port": port,
                    "srv_kind": "default",
                    "srv_name": "all-unauthenticated",
                    **authz,
                    **tls,
                },
                c.count,
            )
        else:
            add(
                {
                    "direction": "outbound",
                    "target_port": port,
                    "tls": "true",
                    "server_id": c.identity,
                    "dst_namespace": gen.NS,
                    "dst_statefulset": gen.STS,
                },
                c.count,
            )
            loop = {"tls": "no_identity", "no_tls_reason": "loopback"}
            add({"direction": "outbound", "target_port": port, **loop}, c.count)
    for key, count in sums.items():
        labels = dict(key)
        labels.setdefault(METRIC_LABEL, "tcp_open_total")
        yield labels, count


def answer(n: int) -> bytes:
    result: list[dict[str, Any]] = []
    for i in range(n):
        pod = f"{gen.STS}-{i}"
        for labels, count in _aggregated(i, n):
            result.append({"metric": {"pod": pod, **labels}, "value": [STARTED + 5, str(count)]})
        result.append(
            {"metric": {"pod": pod, METRIC_LABEL: SCRAPED_AT}, "value": [STARTED + 5, "1000001"]}
        )
        result.append({"metric": {"pod": pod, METRIC_LABEL: UP}, "value": [STARTED + 5, "1"]})
    doc = {"status": "success", "data": {"resultType": "vector", "result": result}}
    return json.dumps(doc).encode()


def _totals(samples: Samples) -> dict[tuple[Any, ...], int]:
    out: dict[tuple[Any, ...], int] = {}
    key: tuple[Any, ...]
    for c in samples.connections:
        key = ("conn", c.direction, c.port, c.tls, c.identity, c.server, c.peer_statefulset)
        out[key] = out.get(key, 0) + c.count
    for a in samples.authz:
        key = ("authz", a.outcome, a.port, a.server, a.authz, a.client)
        out[key] = out.get(key, 0) + a.count
    return out


def aggregation_matches_the_proxy_text(n: int) -> bool:
    """The stand-in's answer gives each pod the evidence its own proxy text gives."""
    exp = expectation(n)
    data = json.loads(answer(n))["data"]
    endpoint = PrometheusEndpoint(url="http://stand-in")
    from_answer = evidence_from_answer(exp, data, STARTED, exp.pod_names, endpoint)
    for pod, text in gen.mesh_metrics(n).items():
        got = from_answer[pod]
        if not isinstance(got, Samples):
            return False
        if _totals(got) != _totals(extract_samples(text, frozenset(exp.ports))):
            return False
    return True


class StandInPrometheus:
    def __init__(self, body: bytes) -> None:
        clock = json.dumps(
            {
                "status": "success",
                "data": {"resultType": "scalar", "result": [STARTED, str(STARTED)]},
            }
        ).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                payload = clock if "time%28%29" in self.path else body
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the two sources -----------------------------------------------------------------------


def direct_round(n: int, sample: int) -> tuple[int, float, str]:
    """(bytes, seconds, note) of one round's parse + evaluate."""
    if n <= 200:
        metrics = gen.mesh_metrics(n)
        size = sum(len(t.encode()) for t in metrics.values())
        t0 = time.perf_counter()
        report = evaluate(expectation(n), running(n), metrics)
        return size, time.perf_counter() - t0, f"verified={report.verified}"
    ports = frozenset(gen.PORTS)
    size, spent = 0, 0.0
    for i in range(sample):
        text = gen.pod_metrics(i, gen.mesh_conns(i, n), total_pods=n)
        size += len(text.encode())
        t0 = time.perf_counter()
        extract_samples(text, ports)
        spent += time.perf_counter() - t0
    return size * n // sample, spent * n / sample, f"extrapolated from {sample} pods"


def prometheus_round(n: int) -> tuple[int, float, int, str]:
    """(bytes, seconds, series in the answer, note) of one round through the stand-in."""
    body = answer(n)
    series = len(json.loads(body)["data"]["result"])
    server = StandInPrometheus(body)
    try:
        exp = expectation(n)
        client = PrometheusClient(PrometheusEndpoint(url=server.url), Tools(call_timeout=60))
        evidence = PrometheusEvidence(client, exp)
        evidence.start()
        client.bytes_read = 0
        t0 = time.perf_counter()
        metrics = evidence.collect(exp.pod_names)
        report = evaluate(exp, running(n), metrics, metrics_source="prometheus")
        spent = time.perf_counter() - t0
        return client.bytes_read, spent, series, f"verified={report.verified}"
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,200,1000")
    parser.add_argument("--sample", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}")
    print(f"stand-in answer == proxy text summed over the evidence labels (20 pods): "
          f"{aggregation_matches_the_proxy_text(20)}")  # fmt: skip
    print(f"{'pods':>5}  {'direct bytes':>14} {'direct s':>9}  "
          f"{'prom bytes':>11} {'series':>7} {'prom s':>7}  notes")  # fmt: skip
    for n in (int(s) for s in args.sizes.split(",")):
        d_bytes, d_time, d_note = direct_round(n, args.sample)
        p_bytes, p_time, series, p_note = prometheus_round(n)
        print(
            f"{n:>5}  {d_bytes:>14,} {d_time:>9.3f}  {p_bytes:>11,} {series:>7} {p_time:>7.3f}  "
            f"direct: {d_note}; prometheus: {p_note}"
        )


if __name__ == "__main__":
    main()
