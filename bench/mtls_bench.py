"""Benchmark of the mTLS check: parse + evaluate cost per pod, and the wall time of one round.

    .venv/bin/python bench/mtls_bench.py [--sizes 2,20,200] [--delay 0.2] [--round-pods 20]

1. For 2, 20 and 200 pods, builds a full-mesh metrics dump (every pod with TLS connections in and
   out to every peer on 47100 and 47500, plus admin-port scrapes, loopback hops, gauges, byte
   counters, histograms and process metrics) and times `evaluate` on it.
2. Runs one real round (`check_round`: kubectl get pods + concurrent scrapes) against the test
   suite's stand-in tools, each scrape sleeping `--delay` seconds, and compares its wall time with
   the slowest single scrape. Prints figures only; no assertions.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks.mtls import Expectation, PodInfo, Tools, check_round, evaluate  # noqa: E402
from checks.mtls_tools import get_pods, scrape_all  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "mtls"


def _load_generator() -> ModuleType:
    # The fixture generator is test support, not a package: load it by path to share its shapes.
    spec = importlib.util.spec_from_file_location("mtls_fixture_generate", FIXTURES / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def expectation(n: int) -> Expectation:
    return Expectation(
        namespace=gen.NS, statefulset=gen.STS, replicas=n, ports=gen.PORTS, identity=gen.IDENTITY
    )


def bench_evaluate(n: int, repeats: int) -> None:
    metrics = gen.mesh_metrics(n)
    pods = {
        name: PodInfo(name=name, phase="Running", ready=True, proxy="sidecar") for name in metrics
    }
    exp = expectation(n)
    lines = sum(text.count("\n") for text in metrics.values())
    size = sum(len(text) for text in metrics.values())
    timings = []
    report = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        report = evaluate(exp, pods, metrics)
        timings.append(time.perf_counter() - t0)
    assert report is not None
    best, median = min(timings), statistics.median(timings)
    print(
        f"  {n:>4} pods  {lines / n:>7.0f} lines/pod  {size / 1e6:>7.2f} MB total  "
        f"best {best * 1e3:>9.1f} ms  median {median * 1e3:>9.1f} ms  "
        f"per pod {best / n * 1e3:>7.2f} ms  verified={report.verified}"
    )


def bench_round(n: int, delay: float) -> None:
    with tempfile.TemporaryDirectory(prefix="mtls-bench-") as tmp:
        tmpdir = Path(tmp)
        bin_dir, metrics_dir = tmpdir / "bin", tmpdir / "metrics"
        bin_dir.mkdir()
        metrics_dir.mkdir()
        source = (FIXTURES / "fake_tool.py").read_text()
        for name in ("kubectl", "linkerd"):
            (bin_dir / name).write_text(f"#!{sys.executable}\n{source}")
            (bin_dir / name).chmod(0o755)
        for pod, text in gen.mesh_metrics(n).items():
            (metrics_dir / f"{pod}.txt").write_text(text)
        pods_file = tmpdir / "pods.json"
        pods_file.write_text(json.dumps(gen.pod_list(gen.pod_json(i) for i in range(n))))
        log = tmpdir / "calls.jsonl"
        os.environ.update(
            PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            FAKE_MTLS_PODS=str(pods_file),
            FAKE_MTLS_METRICS=str(metrics_dir),
            FAKE_MTLS_DELAY=str(delay),
            FAKE_MTLS_LOG=str(log),
        )
        exp = expectation(n)
        tools = Tools(call_timeout=30)
        t0 = time.perf_counter()
        pods, errors = get_pods(tools, exp, first_call=True)
        t1 = time.perf_counter()
        metrics = scrape_all(tools, exp, "linkerd", list(pods))
        t2 = time.perf_counter()
        report = evaluate(exp, pods, metrics, errors=errors)
        t3 = time.perf_counter()
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        scrapes = [c for c in calls if c["tool"] == "linkerd"]
        slowest = max(c["end"] - c["start"] for c in scrapes)
        in_tool = sum(c["end"] - c["start"] for c in scrapes)
        print(
            f"  {n} pods, each scrape sleeping {delay:g}s: kubectl get pods {t1 - t0:.3f} s, "
            f"concurrent scrapes {t2 - t1:.3f} s, evaluate {t3 - t2:.3f} s, "
            f"round {t3 - t0:.3f} s; verified={report.verified}"
        )
        print(
            f"  slowest single scrape {slowest:.3f} s (inside the tool); scrape phase / slowest "
            f"scrape = {(t2 - t1) / slowest:.2f}x; one after another would take >= {in_tool:.3f} s"
        )
        # The stand-ins are Python scripts: their interpreter start-up is CPU the round shares.
        os.environ["FAKE_MTLS_DELAY"] = "0"
        t0 = time.perf_counter()
        scrape_all(tools, exp, "linkerd", [f"{gen.STS}-0"])
        print(
            f"  one stand-in call with no sleep: {time.perf_counter() - t0:.3f} s wall "
            f"(interpreter start-up; {os.cpu_count()} CPUs for {n} concurrent calls)"
        )
        os.environ["FAKE_MTLS_DELAY"] = str(delay)
        log.unlink()
        t0 = time.perf_counter()
        check_round(exp, tools, "linkerd", first=True)
        print(f"  check_round() end to end, same cluster: {time.perf_counter() - t0:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,20,200")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--round-pods", type=int, default=20)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}")
    print("parse + evaluate (full mesh on 47100/47500, plus noise):")
    for n in (int(s) for s in args.sizes.split(",")):
        bench_evaluate(n, args.repeats if n < 200 else 1)
    print("one concurrent round against stand-in tools:")
    bench_round(args.round_pods, args.delay)


if __name__ == "__main__":
    main()
