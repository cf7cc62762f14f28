"""The policy rules reference, from the pack's own rule metadata (policies/cachemesh_policy)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# The pack imports itself as `cachemesh_policy` from policies/, as its __main__ does.
_POLICIES_DIR = str(Path(__file__).resolve().parent.parent / "policies")
if _POLICIES_DIR not in sys.path:
    sys.path.insert(0, _POLICIES_DIR)

from cachemesh_policy import (  # noqa: E402
    PACK_DESCRIPTION,
    PACK_ENFORCEMENT_LEVEL,
    PACK_NAME,
    POLICIES,
)
from pulumi_policy import Policy, ResourceValidationPolicy  # noqa: E402

from scripts.docs_markdown import cell, generated_header, heading_id  # noqa: E402

__all__ = ["POLICIES", "fix_of", "policies_md"]

HEADER = generated_header("policies/cachemesh_policy (each rule's metadata)")


def _kind(policy: Policy) -> str:
    return "resource" if isinstance(policy, ResourceValidationPolicy) else "stack"


def _level(policy: Policy) -> str:
    return (policy.enforcement_level or PACK_ENFORCEMENT_LEVEL).value


def _severity(policy: Policy) -> str:
    severity = getattr(policy, "severity", None)
    return severity.value if severity is not None else "—"


def _remediates(policy: Policy) -> bool:
    # pulumi_policy's own test (policy.py ResourceValidationPolicy.has_remediation); the
    # `remediate` attribute is a method on every resource policy, callback or not.
    return isinstance(policy, ResourceValidationPolicy) and policy.has_remediation()


#: The hand-written page that explains each rule with examples (one heading names each rule).
EXPLAINED = Path(__file__).resolve().parent.parent / "docs" / "how-it-works" / "policy-rules.md"
EXPLAINED_LINK = "../how-it-works/policy-rules.md"
EXPLAINED_TITLE = "Policy rules: what each one decides"


def explained_anchor(rule: str) -> str:
    """The link to the heading of EXPLAINED that names `rule` (a heading may name two rules)."""
    for line in EXPLAINED.read_text().splitlines():
        if line.startswith("## ") and rule in line[3:].replace("/", " ").split():
            return f"{EXPLAINED_LINK}#{heading_id(line[3:])}"
    raise ValueError(f"{EXPLAINED} has no heading naming policy rule {rule}")


def fix_of(policy: Policy) -> str:
    """The rule's `remediation_steps`: every rule says how to fix what it reports."""
    steps = (getattr(policy, "remediation_steps", None) or "").strip()
    if not steps:
        raise ValueError(
            f"policy rule {policy.name} has no remediation_steps: say how to fix its violations"
        )
    return steps


def _config_rows(policy: Policy) -> list[str]:
    schema = policy.config_schema
    if schema is None or not schema.properties:
        return []
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, prop in schema.properties.items():
        spec: dict[str, Any] = dict(prop)
        kind = spec.get("type", "any")
        if kind == "array":
            kind = f"list of {spec.get('items', {}).get('type', 'any')}"
        default = f"`{json.dumps(spec['default'])}`" if "default" in spec else ""
        rows.append(f"| `{key}` | {kind} | {cell(default)} | {cell(spec.get('description', ''))} |")
    return rows


def policies_md() -> str:
    out = [
        HEADER,
        "# Policy rules reference",
        "",
        f"The `{PACK_NAME}` policy pack: {PACK_DESCRIPTION} Rules without a level of their own "
        f"run at the pack's default, `{PACK_ENFORCEMENT_LEVEL.value}`. Change a rule's level or "
        "configuration with `--policy-pack-config` (keys below). Each violation message names "
        "the resource, the field and the exact value that fixes it, and ends with this page's "
        "entry for the rule. How each rule decides, with examples: "
        f"[Policy rules: what each one decides]({EXPLAINED_LINK}).",
        "",
        "| rule | kind | default level | severity | remediation |",
        "|---|---|---|---|---|",
    ]
    for p in POLICIES:
        fixes = "yes" if _remediates(p) else "—"
        out.append(
            f"| [`{p.name}`](#{p.name}) | {_kind(p)} | {_level(p)} | {_severity(p)} | {fixes} |"
        )
    out.append("")
    for p in POLICIES:
        out += [
            f"## {p.name}",
            "",
            f"**{_kind(p)} rule, {_level(p)}**, severity {_severity(p)}."
            + (" Remediates at the `remediate` level." if _remediates(p) else ""),
            "",
            cell(p.description),
            "",
        ]
        out += [f"**Fix:** {cell(fix_of(p))}", ""]
        out += [f"How it decides, with examples: [{EXPLAINED_TITLE}]({explained_anchor(p.name)})."]
        out.append("")
        rows = _config_rows(p)
        if rows:
            out += ["Configuration:", "", *rows, ""]
    return "\n".join(out).rstrip() + "\n"
