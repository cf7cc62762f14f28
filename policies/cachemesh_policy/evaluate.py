"""Run the whole pack in-process, the way the Pulumi engine would, for tests and the benchmark.

``evaluate`` applies per-policy ``enforcementLevel`` overrides from a ``--policy-pack-config``
style mapping, skips disabled policies, runs every resource policy on every resource and
every stack policy once, and returns the violations with their effective level.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .pack import PACK_ENFORCEMENT_LEVEL, POLICIES

PackConfig = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    message: str
    urn: str | None


def empty_options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def make_resource(
    resource_type: str,
    props: Mapping[str, Any],
    name: str,
    urn: str | None = None,
    parent: PolicyResource | None = None,
    dependencies: list[PolicyResource] | None = None,
) -> PolicyResource:
    """A ``PolicyResource`` as the engine builds one for stack policies."""
    return PolicyResource(
        resource_type,
        props,
        urn or f"urn:pulumi:test::cachemesh::{resource_type}::{name}",
        name,
        empty_options(parent.urn if parent else None),
        None,
        parent,
        list(dependencies or []),
        {},
    )


def level_of(policy: Policy, config: Mapping[str, Any] | None) -> EnforcementLevel:
    """The policy's own entry wins, then the CLI's ``"all"`` entry, then its default."""
    for key in (policy.name, "all"):
        entry = (config or {}).get(key)
        override = entry.get("enforcementLevel") if isinstance(entry, Mapping) else entry
        if override is not None:
            return EnforcementLevel(override)
    return policy.enforcement_level or PACK_ENFORCEMENT_LEVEL


def _policy_config(policy: Policy, config: PackConfig | None) -> dict[str, Any]:
    entry = (config or {}).get(policy.name)
    values = dict(entry) if isinstance(entry, Mapping) else {}
    values.pop("enforcementLevel", None)
    return values


def _reporter(
    found: list[Violation], policy: str, level: str, default_urn: str | None
) -> ReportViolation:
    def report(message: str, urn: str | None = None) -> None:
        found.append(Violation(policy, level, message, urn or default_urn))

    return report


def settle(result: object) -> Any:
    """A callback's result, awaited when it is awaitable: on a loop of its own, as the SDK's
    ``Remediate`` does, leaving the thread's current event loop (Pulumi's runtime) alone."""
    if not inspect.isawaitable(result):
        return result
    awaitable = result

    async def wait() -> Any:
        return await awaitable

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(wait())
    finally:
        loop.close()


def evaluate(
    resources: Iterable[PolicyResource],
    config: PackConfig | None = None,
    policies: Iterable[Policy] = POLICIES,
) -> list[Violation]:
    """Every violation the pack reports on ``resources`` (remediations are not applied)."""
    resources = list(resources)
    found: list[Violation] = []
    for policy in policies:
        level = level_of(policy, config)
        if level == EnforcementLevel.DISABLED:
            continue
        # As the SDK does: a violation left at level remediate is reported as mandatory.
        reported = (
            EnforcementLevel.MANDATORY.value if level == EnforcementLevel.REMEDIATE else level.value
        )
        policy_config = _policy_config(policy, config)
        if isinstance(policy, ResourceValidationPolicy):
            if not policy.has_validation():
                continue
            for resource in resources:
                args = ResourceValidationArgs(
                    resource.resource_type,
                    resource.props,
                    resource.urn,
                    resource.name,
                    resource.opts,
                    None,
                    policy_config,
                )
                settle(policy.validate(args, _reporter(found, policy.name, reported, resource.urn)))
        elif isinstance(policy, StackValidationPolicy):
            args_stack = StackValidationArgs(resources, policy_config)
            settle(policy.validate(args_stack, _reporter(found, policy.name, reported, None)))
    return found


def remediate(
    resource: PolicyResource,
    config: PackConfig | None = None,
    policies: Iterable[Policy] = POLICIES,
) -> Mapping[str, Any]:
    """The resource's props after every policy at level remediate has run, chained in order."""
    props: Mapping[str, Any] = resource.props
    for policy in policies:
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        if level_of(policy, config) != EnforcementLevel.REMEDIATE or not policy.has_remediation():
            continue
        args = ResourceValidationArgs(
            resource.resource_type,
            props,
            resource.urn,
            resource.name,
            resource.opts,
            None,
            _policy_config(policy, config),
        )
        new_props = settle(policy.remediate(args))
        if new_props:
            props = new_props
    return props
