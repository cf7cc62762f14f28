"""The list of policies and the pack's defaults, importable without starting the gRPC server."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Policy, ReportViolation

from .authorization_rules import AUTHORIZATION_POLICIES
from .proxy_lifetime import proxy_outlives_node
from .rules import RESOURCE_POLICIES
from .stack_rules import STACK_POLICIES

PACK_NAME = "cachemesh"
PACK_DESCRIPTION = (
    "Refuses Linkerd mesh mistakes for Apache Ignite 2 / GridGain 8 (and any Kubernetes workload) "
    "before they "
    "reach the cluster: opaque cache ports, injection on the pod template, no port skipping, "
    "meshed cache "
    "workloads, Linkerd control plane ordering, cache ports behind a Server and an "
    "authorization, plus the Kyverno Linkerd policies."
)
PACK_ENFORCEMENT_LEVEL = EnforcementLevel.ADVISORY

#: Where each rule is explained, with its fix (generated from this pack: scripts/gen_docs.py).
DOCS_PAGE = "docs/reference/policies.md"


def docs_link(name: str) -> str:
    """The page and anchor of rule `name`, as every violation message ends."""
    return f"{DOCS_PAGE}#{name}"


def _linking_docs(policy: Policy) -> Policy:
    """`policy`, its violation messages ending with the rule's page (its fix and examples): the
    CLI prints the message under the rule's name, so the reader lands on the right entry."""
    validate: Any = getattr(policy, "validate", None)
    if not callable(validate):
        return policy
    suffix = f" See {docs_link(policy.name)}"

    def validate_with_link(args: Any, report_violation: ReportViolation) -> Any:
        def report(message: str, urn: str | None = None) -> None:
            report_violation(message + suffix, urn)

        return validate(args, report)

    policy.validate = validate_with_link  # type: ignore[attr-defined]
    return policy


POLICIES: list[Policy] = [
    _linking_docs(p)
    for p in (*RESOURCE_POLICIES, *STACK_POLICIES, *AUTHORIZATION_POLICIES, proxy_outlives_node)
]


def default_levels() -> dict[str, str]:
    """Policy name -> its default enforcement level (as the CLI spells it)."""
    return {p.name: (p.enforcement_level or PACK_ENFORCEMENT_LEVEL).value for p in POLICIES}
