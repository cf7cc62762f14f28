"""Copy SDK props into plain, writable structures and set one annotation.

During ``Remediate`` the SDK hands props as read-only proxies that keep secrets wrapped in
:class:`pulumi_policy.Secret` underneath; copying the proxies' raw targets keeps those
wrappers (and unknown sentinels) so that a remediation changes only what it means to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Secret


def _raw(value: Any) -> Any:
    """The proxied target of an SDK proxy, or the value itself."""
    if isinstance(value, (Mapping, Sequence)) and not isinstance(value, (dict, list, str, bytes)):
        try:
            return value["__target"]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return value
    return value


def thaw(value: Any) -> Any:
    """A deep, writable copy of ``value`` (dicts and lists), keeping ``Secret`` wrappers."""
    value = _raw(value)
    if isinstance(value, Secret):
        return Secret(thaw(value.value))
    if isinstance(value, Mapping):
        return {key: thaw(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [thaw(item) for item in value]
    return value


def with_annotations(
    props: Mapping[str, Any], path: Sequence[str], updates: Mapping[str, str]
) -> dict[str, Any]:
    """A copy of ``props`` with ``updates`` merged into ``<path>.metadata.annotations``."""
    result: dict[str, Any] = thaw(props)
    node = result
    for key in (*path, "metadata", "annotations"):
        child = node.get(key)
        if isinstance(child, Secret):
            child = child.value
        if not isinstance(child, dict):
            child = {}
        node[key] = child
        node = child
    node.update(updates)
    return result
