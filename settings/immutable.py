"""Changes that a running cache cannot take in place, refused before anything is registered.

Kubernetes allows an update of a StatefulSet's spec only to `replicas`, `ordinals`, `template`,
`updateStrategy`, `persistentVolumeClaimRetentionPolicy` and `minReadySeconds`; any other field
is immutable (kubernetes pkg/apis/apps/validation/validation.go ValidateStatefulSetUpdate;
its test "podManagementPolicy changed"). pulumi-kubernetes therefore plans a replacement when
`spec.podManagementPolicy`, `revisionHistoryLimit`, `selector`, `serviceName` or
`volumeClaimTemplates` (or the name or namespace) change (pulumi/pulumi-kubernetes
provider/pkg/provider/diff.go `statefulSet`, 00302beb), deleting first because the name is fixed
(provider.go Diff `deleteBeforeReplace`, 997c0a88): every pod at once, which loses an in-memory
cache's data. Of those fields cachemesh lets a user set `podManagementPolicy`.

Two guards, so that a missing output can never mean "nothing deployed":
- here, a change is judged against the last deployment's `caches` output (read by
  components/previous_deployment.py), found by namespace and StatefulSet name — never by the
  output key, which changes (`orders` -> `shop/orders`) when a cache of the same name is added in
  another namespace — and refused with the way out, naming the key;
- the StatefulSet itself is `protect`ed (components/meshed_cache.py). Pulumi refuses to replace
  a resource protected both in the program and in the state, and to delete a protected one
  (pulumi/pulumi pkg/resource/deploy/step_generator.go, 1a16857a: `if new.Protect &&
  old.Protect` "unable to replace resource ... as it is currently marked for protection", and in
  an update it bails before any step runs; step.go DeleteStep.Apply). That holds when the outputs
  are missing (the last `up` failed before writing them) or name nothing. `replaceOnChanges`
  only adds replacements, `deleteBeforeReplace` only orders them (and the provider forces it for
  a named object anyway), and `retainOnDelete` skips the delete and lets the create run into the
  old object: none of them stops a replacement.
`caches[].allowReplacement: true` lifts both for a deliberate replacement or removal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from settings.caches import CacheSettings
from settings.loader import SettingsError

# Output key in each `caches` entry -> the settings attribute it records.
IMMUTABLE_FIELDS: tuple[tuple[str, str], ...] = (("podManagementPolicy", "pod_management_policy"),)


def deployed_caches(previous_caches: Mapping[str, Any] | None) -> dict[tuple[str, str], Mapping]:
    """The last deployment's `caches` entries by (namespace, StatefulSet name). An entry without
    `statefulset` (older outputs) is named by its key's last part: `shop/orders` or `orders`."""
    found: dict[tuple[str, str], Mapping] = {}
    for key, entry in (previous_caches or {}).items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("namespace"), str):
            continue
        name = entry.get("statefulset")
        if not isinstance(name, str) or not name:
            name = str(key).rpartition("/")[2]
        found[(entry["namespace"], name)] = entry
    return found


def replacement_problems(
    caches: Sequence[CacheSettings], previous_caches: Mapping[str, Any] | None
) -> list[str]:
    """One problem per immutable field a deployed cache would change. A cache the last
    deployment did not have, or did not record the field for, is new to this check: accepted
    here (its StatefulSet's protection still refuses a replacement at the engine)."""
    deployed = deployed_caches(previous_caches)
    problems: list[str] = []
    for index, cache in enumerate(caches):
        before_entry = deployed.get((cache.namespace, cache.name))
        if before_entry is None or cache.allow_replacement:
            continue
        for output_key, attribute in IMMUTABLE_FIELDS:
            before, after = before_entry.get(output_key), getattr(cache, attribute)
            if before is None or before == after:
                continue
            problems.append(
                f"cachemesh:caches[{index}].{output_key}: cache {cache.namespace}/{cache.name} "
                f"runs with {before!r}; Kubernetes does not let a StatefulSet change "
                f"{output_key}, so {after!r} would mean deleting and recreating it with every "
                f"pod at once, losing the cache's in-memory data. Set it back with "
                f"`pulumi config set --path 'caches[{index}].{output_key}' {before}`; to run "
                "with the new value, deploy a new cache under another name, move the data, and "
                "remove the old one; or, accepting the loss, replace it on purpose with "
                f"`pulumi config set --path 'caches[{index}].allowReplacement' true`."
            )
    return problems


def check_no_replacement(
    caches: Sequence[CacheSettings], previous_caches: Mapping[str, Any] | None
) -> None:
    problems = replacement_problems(caches, previous_caches)
    if problems:
        raise SettingsError(problems)
