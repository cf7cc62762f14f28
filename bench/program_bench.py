"""How long the program takes to evaluate under Pulumi's mock engine, for 1, 10 and 50 caches.

    .venv/bin/python bench/program_bench.py [--repeat N]

Prints one line per size: the median wall time of a whole program run (settings validation,
every component and resource registration, output resolution) and the resources registered.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from harness import run_program  # noqa: E402

LICENSE = (ROOT / "tests" / "fixtures" / "gridgain-license.xml").read_text()


def caches(count: int) -> list[dict]:
    """Half Ignite 2, half GridGain 8, spread over ten namespaces."""
    return [
        {
            "name": f"cache-{i}",
            "namespace": f"ns-{i % 10}",
            "product": "gridgain8" if i % 2 else "ignite2",
            "replicas": 3,
        }
        for i in range(count)
    ]


def timed_runs(repeat: int, config: dict, **kw: Any) -> tuple[float, int]:
    """(median wall seconds of `repeat` whole program runs, resources registered)."""
    times, resources = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        run = run_program(config, **kw)
        times.append(time.perf_counter() - start)
        resources = len(run.resources)
    return statistics.median(times), resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'caches':>6} {'resources':>9} {'median s':>9} {'ms/cache':>9}")
    for count in (1, 10, 50):
        config = {"caches": caches(count)}
        secrets = {"gridgainLicense": LICENSE} if count > 1 else None
        median, resources = timed_runs(args.repeat, config, secrets=secrets)
        print(f"{count:>6} {resources:>9} {median:>9.3f} {1000 * median / count:>9.1f}")


if __name__ == "__main__":
    main()
