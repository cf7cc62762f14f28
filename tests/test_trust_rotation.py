"""The rotation rules as data (pki/trust_rotation.py), without the program."""

from __future__ import annotations

import pytest

from pki.trust_rotation import (
    DEFAULT_PLAN,
    AnchorPlan,
    chart_bundle,
    commands_to,
    is_safe_change,
    previous_plan,
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
