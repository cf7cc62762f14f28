"""How long one trust-anchor rotation step takes to evaluate under Pulumi's mock engine.

    .venv/bin/python bench/rotation_bench.py [--repeat N]

Runs the six steps of a rotation from anchor generation 1 to 2 and on to 3, each with the previous
step's outputs as the stack's own StackReference reads them (so the step check runs), with real
certificates from tests/fake_providers.py. Prints per step the median wall time of a whole
program run and the resources registered, for 1 and 10 caches; and, for comparison, the default
stack (no rotation) with no previous deployment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import fake_providers  # noqa: E402, F401
from harness import run_program  # noqa: E402
from program_bench import timed_runs  # noqa: E402

STEPS = [(1, [1]), (1, [1, 2]), (2, [1, 2]), (2, [2]), (2, [2, 3]), (3, [2, 3]), (3, [3])]


def config(count: int, signing: int, trusted: list[int]) -> dict:
    caches = [{"name": f"cache-{i}", "namespace": f"ns-{i % 10}"} for i in range(count)]
    return {"caches": caches, "linkerd": {"trustAnchors": {"signing": signing, "trusted": trusted}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'caches':>6} {'step':>22} {'resources':>9} {'median s':>9}")
    for count in (1, 10):
        previous = run_program(config(count, *STEPS[0])).outputs
        rows = [("default, first deploy", config(count, *STEPS[0]), None)]
        for signing, trusted in STEPS[1:]:
            rows.append((f"{{{signing},{trusted}}}", config(count, signing, trusted), previous))
            previous = run_program(
                config(count, signing, trusted), previous_outputs=previous
            ).outputs
        for label, cfg, prev in rows:
            median, resources = timed_runs(args.repeat, cfg, previous_outputs=prev)
            print(f"{count:>6} {label:>22} {resources:>9} {median:>9.3f}")


if __name__ == "__main__":
    main()
