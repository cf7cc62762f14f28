"""Benchmark of the rollout (`checks.rollout`): one gate poll, and the rollout's own bookkeeping.

    .venv/bin/python bench/rollout_bench.py [--polls 20] [--replicas 3,10]

1. One gate poll (`Rollout.cluster_settled`: `kubectl get pods` + `kubectl exec ... control.sh`)
   against the test suite's stand-in kubectl, for each replica count; median and max.
2. A whole rollout of N pods against the same stand-in, with a 0.01 s interval: wall time split
   into time inside kubectl calls, time asleep between polls, and the rest — the rollout's own
   bookkeeping (parsing, deciding, building the report). Prints figures only; no assertions.

On a cluster a poll costs what kubectl and control.sh cost (control.sh starts a JVM: seconds);
the stand-in only shows what this program adds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_rollout import FIXTURES, cluster_state  # noqa: E402

from checks.mtls_tools import Tools  # noqa: E402
from checks.rollout import Plan, Rollout  # noqa: E402
from checks.rollout_tools import Kubectl  # noqa: E402

SELECTOR = "app=ignite,type=server"
SPENT: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - start
            CALLS[name] += 1

    return wrapper


class TimedKubectl(Kubectl):
    """Kubectl whose calls add their wall time to SPENT."""

    def statefulset(self, name: str, *, first_call: bool = False) -> Any:
        return timed("get statefulset", super().statefulset)(name, first_call=first_call)

    def pods(self, selector: str) -> Any:
        return timed("get pods", super().pods)(selector)

    def cluster_metrics(self, pod: str, container: str) -> Any:
        return timed("exec control.sh", super().cluster_metrics)(pod, container)

    def evict(self, pod: Any) -> Any:
        return timed("create eviction", super().evict)(pod)


def install_stand_in(tmp: Path) -> Path:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "kubectl"
    tool.write_text(f"#!{sys.executable} -S\n{(FIXTURES / 'fake_kubectl.py').read_text()}")
    tool.chmod(0o755)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    state = tmp / "cluster.json"
    os.environ["FAKE_ROLLOUT_STATE"] = str(state)
    return state


def bench_poll(state: Path, replicas: int, polls: int) -> None:
    state.write_text(json.dumps(cluster_state(replicas=replicas)))
    rollout = Rollout(Plan("ignite", "ignite", replicas), Kubectl(Tools(), "ignite"))
    times = []
    for _ in range(polls):
        start = time.perf_counter()
        ok, reason = rollout.cluster_settled(SELECTOR)
        times.append(time.perf_counter() - start)
        assert ok, reason  # a broken stand-in would make the figure meaningless
    print(
        f"gate poll, {replicas} pods: median {statistics.median(times) * 1000:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms over {polls} polls (2 kubectl calls each)"
    )


def bench_rollout(state: Path, replicas: int) -> None:
    state.write_text(json.dumps(cluster_state(replicas=replicas)))
    SPENT.clear()
    CALLS.clear()
    slept = [0.0]

    def sleep(seconds: float) -> None:
        start = time.perf_counter()
        time.sleep(seconds)
        slept[0] += time.perf_counter() - start

    plan = Plan("ignite", "ignite", replicas, timeout=120, interval=0.01)
    rollout = Rollout(plan, TimedKubectl(Tools(), "ignite"), sleep=sleep)
    start = time.perf_counter()
    report = rollout.run(started_at=datetime.now(UTC))
    wall = time.perf_counter() - start
    in_calls = sum(SPENT.values())
    own = wall - in_calls - slept[0]
    calls = sum(CALLS.values())
    print(
        f"rollout, {replicas} pods (completed={report.completed}): wall {wall:.2f} s = "
        f"kubectl {in_calls:.2f} s ({calls} calls) + sleeping {slept[0]:.2f} s + "
        f"bookkeeping {own * 1000:.1f} ms ({own / calls * 1000:.2f} ms per call)"
    )
    for name in sorted(CALLS):
        print(f"    {name}: {CALLS[name]} calls, {SPENT[name] / CALLS[name] * 1000:.1f} ms each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--replicas", default="3,10")
    args = parser.parse_args()
    sizes = [int(n) for n in args.replicas.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        state = install_stand_in(Path(tmp))
        for n in sizes:
            bench_poll(state, n, args.polls)
        for n in sizes:
            bench_rollout(state, n)


if __name__ == "__main__":
    main()
