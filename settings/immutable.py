"""Changes that a running cache cannot take in place, refused before anything is registered.

Kubernetes allows an update of a StatefulSet's spec only to `replicas`, `ordinals`, `template`,
`updateStrategy`, `persistentVolumeClaimRetentionPolicy` and `minReadySeconds`; any other field
is immutable (kubernetes pkg/apis/apps/validation/validation.go ValidateStatefulSetUpdate;
its test "podManagementPolicy changed"). Of the fields cachemesh lets a user set, that is
`podManagementPolicy`: applying a change means deleting the StatefulSet and creating it again,
every pod at once, which loses an in-memory cache's data, or an `up` that fails half way. So a
change is judged against the last deployment's `caches` output (read by
components/previous_deployment.py) and refused with the way out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from settings.caches import CacheSettings
from settings.loader import SettingsError
from settings.outputs import cache_output_keys

# Output key in each `caches` entry -> the settings attribute it records.
IMMUTABLE_FIELDS: tuple[tuple[str, str], ...] = (("podManagementPolicy", "pod_management_policy"),)


def replacement_problems(
    caches: Sequence[CacheSettings], previous_caches: Mapping[str, Any] | None
) -> list[str]:
    """One problem per immutable field a deployed cache would change. A cache the last
    deployment did not have, or did not record the field for, is new to this check: accepted."""
    problems: list[str] = []
    for index, (key, cache) in enumerate(zip(cache_output_keys(caches), caches, strict=True)):
        deployed = (previous_caches or {}).get(key)
        if not isinstance(deployed, Mapping) or deployed.get("namespace") != cache.namespace:
            continue
        for output_key, attribute in IMMUTABLE_FIELDS:
            before, after = deployed.get(output_key), getattr(cache, attribute)
            if before is None or before == after:
                continue
            problems.append(
                f"cachemesh:caches[{index}].{output_key}: cache {cache.namespace}/{cache.name} "
                f"runs with {before!r}; Kubernetes does not let a StatefulSet change "
                f"{output_key}, so {after!r} would mean deleting and recreating it with every "
                f"pod at once, losing the cache's in-memory data. Set it back with "
                f"`pulumi config set --path 'caches[{index}].{output_key}' {before}`; to run "
                "with the new value, deploy a new cache under another name, move the data, and "
                "remove the old one."
            )
    return problems


def check_no_replacement(
    caches: Sequence[CacheSettings], previous_caches: Mapping[str, Any] | None
) -> None:
    problems = replacement_problems(caches, previous_caches)
    if problems:
        raise SettingsError(problems)
