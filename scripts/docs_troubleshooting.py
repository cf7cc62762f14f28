"""The mTLS check's failures page, from its advice table (checks/mtls_advice.py ADVICE), worded
for the default stack's cache (namespace ignite, StatefulSet ignite, strict, pod ignite-0)."""

from __future__ import annotations

from checks.mtls_advice import ADVICE, FALLBACK, advice
from checks.mtls_report import Expectation
from scripts.docs_markdown import generated_header

HEADER = generated_header("checks/mtls_advice.py (ADVICE)")
EXAMPLE = Expectation(
    namespace="ignite",
    statefulset="ignite",
    replicas=2,
    ports=(47100, 47500),
    identity="ignite.ignite.serviceaccount.identity.linkerd.cluster.local",
    authorization="strict",
    expected_servers={47100: "ignite-communication", 47500: "ignite-discovery"},
)


def troubleshooting_md() -> str:
    out = [
        HEADER,
        "# mTLS check failures",
        "",
        "Every failure in the check's report (`failures[]`) has a `kind` of problem below, with "
        "the likely cause and fix the report itself prints. Here they are worded for the "
        "default stack's cache (namespace `ignite`, StatefulSet `ignite`, 2 replicas, strict "
        "authorization, pod `ignite-0`); the report names your own.",
        "",
    ]
    for kind in ADVICE:
        cause, fix = advice(kind, EXAMPLE, "ignite-0")
        out += [f"## {kind}", "", f"**Likely cause:** {cause}", "", f"**Fix:** {fix}", ""]
    out += [
        "## Anything else",
        "",
        "Failures found while collecting (kubectl failed, its JSON did not parse) read: "
        f"**Likely cause:** {FALLBACK[0]} **Fix:** {FALLBACK[1]}",
    ]
    return "\n".join(out).rstrip() + "\n"
