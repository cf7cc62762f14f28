"""How caches are named in stack outputs, where dashboards look them up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from settings.caches import CacheSettings


def cache_output_keys(caches: Sequence[CacheSettings]) -> list[str]:
    """Each cache's key in the `caches`/`mtls` outputs: its name, or `namespace/name` when the
    same name is used in several namespaces (so no key is ever ambiguous)."""
    counts = Counter(c.name for c in caches)
    return [c.name if counts[c.name] == 1 else f"{c.namespace}/{c.name}" for c in caches]
