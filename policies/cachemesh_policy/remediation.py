"""Copy SDK props into plain, writable structures and set one annotation; give a fix the
SDK's remediation type.

During ``Remediate`` the SDK hands props as read-only proxies that keep secrets wrapped in
:class:`pulumi_policy.Secret` underneath; copying the proxies' raw targets keeps those
wrappers (and unknown sentinels) so that a remediation changes only what it means to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from pulumi_policy import ResourceRemediation, ResourceValidationArgs, Secret

#: A fix: the resource's new props, or ``None`` when it has nothing to change.
Fix = Callable[[ResourceValidationArgs], Mapping[str, Any] | None]


def as_remediation(fix: Fix) -> ResourceRemediation:
    """``fix`` as pulumi-policy declares a remediation (``ResourceRemediation``: ``None``, or an
    awaitable of the new props). The SDK's ``Remediate`` runs an awaitable result to completion
    on its own event loop (pulumi/pulumi-policy sdk/python/lib/pulumi_policy/policy.py,
    ``PolicyAnalyzerServicer.Remediate``); ``fix`` itself runs at once, so an unknown value
    during preview still raises where the SDK expects it."""

    def remediate(args: ResourceValidationArgs) -> Awaitable[Mapping[str, Any]] | None:
        props = fix(args)
        return None if props is None else _ready(props)

    return remediate


async def _ready(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return props


def _raw(value: Any) -> Any:
    """The proxied target of an SDK proxy, or the value itself."""
    if isinstance(value, Mapping) and not isinstance(value, dict):
        try:
            return value["__target"]
        except KeyError:
            return value
    if isinstance(value, Sequence) and not isinstance(value, (list, str, bytes)):
        # The SDK's list proxy (pulumi_policy/proxy.py, ``_ListProxy.__getitem__``) answers the
        # key "__target" with its list, which the Sequence type cannot express.
        try:
            return cast(Any, value)["__target"]
        except (IndexError, TypeError):
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
