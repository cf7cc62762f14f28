"""The rotation rules as data (pki/trust_rotation.py), without the program."""

from __future__ import annotations

import re
from typing import Any

import pulumi_config
import pytest

from pki.trust_rotation import (
    DEFAULT_PLAN,
    AnchorPlan,
    backward,
    chart_bundle,
    commands_to,
    forward,
    is_safe_change,
    previous_plan,
    rotation_status,
    step_problem,
)


def plan(signing: int, *trusted: int) -> AnchorPlan:
    return AnchorPlan(signing, trusted)


@pytest.mark.parametrize(
    ("before", "after", "safe"),
    [
        (plan(1, 1), plan(1, 1, 2), True),  # step 1
        (plan(1, 1, 2), plan(2, 1, 2), True),  # step 2
        (plan(2, 1, 2), plan(2, 2), True),  # step 3
        (plan(2, 1, 2), plan(1, 1, 2), True),  # step 2 back
        (plan(1, 1, 2), plan(1, 1), True),  # step 1 back
        (plan(2, 1, 2), plan(2, 2, 3), True),  # signer 2 trusted by every bundle involved
        (plan(1, 1), plan(2, 1, 2), False),  # bundle and signer together
        (plan(1, 1), plan(2, 2), False),
        (plan(1, 1, 2), plan(2, 2), False),
        (plan(2, 1, 2), plan(1, 1), False),  # two steps back
        (plan(2, 2), plan(1, 1, 2), False),
    ],
)
def test_a_change_is_safe_only_when_every_bundle_trusts_every_signer(
    before: AnchorPlan, after: AnchorPlan, safe: bool
) -> None:
    assert is_safe_change(before, after) is safe


def test_commands_append_remove_or_rewrite_the_trusted_list() -> None:
    path = "linkerd.trustAnchors.trusted"
    assert commands_to(plan(1, 1), plan(1, 1, 2)) == [f"pulumi config set --path '{path}[1]' 2"]
    assert commands_to(plan(2, 1, 2), plan(2, 2)) == [f"pulumi config rm --path '{path}[0]'"]
    assert commands_to(plan(1, 1, 2), plan(2, 1, 2)) == [
        "pulumi config set --path linkerd.trustAnchors.signing 2"
    ]


def test_commands_write_every_value_when_the_stack_never_set_trust_anchors() -> None:
    assert commands_to(DEFAULT_PLAN, plan(1, 1, 2), explicit=False) == [
        "pulumi config set --path linkerd.trustAnchors.signing 1",
        "pulumi config set --path 'linkerd.trustAnchors.trusted[0]' 1",
        "pulumi config set --path 'linkerd.trustAnchors.trusted[1]' 2",
    ]


def test_previous_plan_from_the_identity_output() -> None:
    anchors = [{"generation": 1, "signing": False}, {"generation": 2, "signing": True}]
    assert previous_plan({"source": "pulumi-tls", "anchors": anchors}) == plan(2, 1, 2)
    # Deployed before anchor generations: anchor 1 alone, which signed.
    assert previous_plan({"source": "pulumi-tls"}) == DEFAULT_PLAN
    # Never deployed, or bring-your-own (whose anchors are not numbered): nothing to compare.
    assert previous_plan(None) is None
    assert previous_plan({"source": "bring-your-own", "anchors": anchors}) is None


def test_chart_bundle_joins_the_certificates_without_surrounding_whitespace() -> None:
    a = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"
    b = "\n-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n\n"
    assert chart_bundle([a, b]) == a.strip() + "\n" + b.strip()


# --- the printed commands, applied as the Pulumi CLI applies them (tests/pulumi_config.py) -------

PLANS = [
    AnchorPlan(s, t)
    for t in [(g,) for g in range(1, 5)] + [(g, g + 1) for g in range(1, 4)]
    for s in t
]


def configured(p: AnchorPlan) -> dict[str, Any]:
    return {"linkerd": {"trustAnchors": {"signing": p.signing, "trusted": list(p.trusted)}}}


def follow(commands: list[str], cfg: dict[str, Any]) -> AnchorPlan:
    for command in commands:
        if command != "pulumi up":
            pulumi_config.apply(command, cfg)
    ta = cfg["linkerd"]["trustAnchors"]
    return AnchorPlan(ta["signing"], tuple(ta["trusted"]))


@pytest.mark.parametrize("current", PLANS, ids=AnchorPlan.describe)
@pytest.mark.parametrize("target", PLANS, ids=AnchorPlan.describe)
def test_commands_to_turn_the_stack_config_into_the_target(
    current: AnchorPlan, target: AnchorPlan
) -> None:
    reached = follow(commands_to(current, target), configured(current))
    assert reached.signing == target.signing
    assert reached.generations == target.generations


def test_commands_remove_several_list_entries_from_the_end() -> None:
    # `config rm --path 'x[i]'` splices, and an index past the end is silently ignored: removing
    # [1] then [2] from three entries would leave two.
    reached = follow(commands_to(plan(1, 1, 2, 3), plan(4, 4)), configured(plan(1, 1, 2, 3)))
    assert reached == plan(4, 4)


@pytest.mark.parametrize("deployed", PLANS, ids=AnchorPlan.describe)
def test_every_refused_change_offers_next_step_commands_that_work(deployed: AnchorPlan) -> None:
    nxt = forward(deployed)
    assert nxt is not None and is_safe_change(deployed, nxt)
    back = backward(deployed)
    if back is not None:
        assert is_safe_change(deployed, back)
    for current in PLANS:
        problem = step_problem(deployed, current)
        if problem is None:
            continue
        assert problem.startswith("cachemesh:linkerd.trustAnchors: ")
        options = re.findall(r"\(([abc])\) ([^{]+)(\{[^}]+\}): ([^(]+?)(?= \([abc]\)|$)", problem)
        assert [label.strip() for _, label, _, _ in options][:1] == ["the next step"]
        for _, _, described, commands in options:
            reached = follow(commands.split("; "), configured(current))
            assert reached.describe() == described


@pytest.mark.parametrize("deployed", PLANS, ids=AnchorPlan.describe)
def test_status_next_and_rollback_commands_reach_the_next_and_the_previous_step(
    deployed: AnchorPlan,
) -> None:
    status = rotation_status(deployed)
    nxt = follow(status["next"] or status["startRotation"], configured(deployed))
    assert nxt == forward(deployed)
    if status["rollback"]:
        assert follow(status["rollback"], configured(deployed)) == backward(deployed)


def test_before_step_two_the_status_asks_for_every_pod_on_the_new_bundle() -> None:
    before = rotation_status(plan(1, 1, 2))["before"]
    assert before.startswith("Before step 2:") and "python -m checks.trust_roots" in before


def test_before_step_three_the_status_asks_for_certificates_from_the_new_issuer() -> None:
    # Step 2 does not change the bundle, so the trust-root hash cannot show what is missing.
    before = rotation_status(plan(2, 1, 2))["before"]
    assert before.startswith("Before step 3:")
    assert "reason=IssuerUpdated" in before
    assert "cannot see which issuer signed" in before
