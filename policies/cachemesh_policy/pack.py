"""The list of policies and the pack's defaults, importable without starting the gRPC server."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

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

POLICIES: list[Policy] = [
    *RESOURCE_POLICIES,
    *STACK_POLICIES,
    *AUTHORIZATION_POLICIES,
    proxy_outlives_node,
]


def default_levels() -> dict[str, str]:
    """Policy name -> its default enforcement level (as the CLI spells it)."""
    return {p.name: (p.enforcement_level or PACK_ENFORCEMENT_LEVEL).value for p in POLICIES}
