"""The e2e tier (marker `e2e`, `make e2e`): the real Pulumi CLI against a throwaway cluster.

Not collected by `make test` (pyproject.toml `testpaths = ["tests"]`). Every test here needs the
tools `make e2e-tools` builds (e2e/tools/manifest.py); without them the tier fails and names the
missing ones, it never skips silently (.ci/run decides whether to run it at all).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from e2e.cluster import Cluster, throwaway_cluster  # noqa: E402
from e2e.tools.manifest import missing_tools  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def _tools_built() -> None:
    missing = missing_tools()
    if missing:
        pytest.fail(
            f"e2e tools not built: {', '.join(missing)}. Build them with `make e2e-tools`.",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """One throwaway cluster per test module (each module is one scenario's story)."""
    with throwaway_cluster() as running:
        yield running
