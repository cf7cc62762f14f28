"""Linkerd trust-anchor rotation as data: which anchors are trusted, which one signs the issuer,
which changes between two `pulumi up`s are one safe step, and the commands for the next step.

Pure (no Pulumi, no settings): the settings check a configuration with it at start-up, and
components/trust_anchors.py builds the anchors and the `linkerdIdentity.rotation` output from it.

Why one change per `up` (docs/tasks/rotate-the-trust-anchor.md): Linkerd's identity controller
verifies a new issuer against the anchors it loaded at start-up and refuses one that does not
chain to them (controller/cmd/identity/main.go, pkg/identity/service.go), and a proxy only
trusts the anchors it was started with (injected as a literal env value at admission,
controller/proxy-injector/webhook.go). So the bundle must reach every proxy before the signer
changes, and the old anchor may only leave the bundle once no issuer it signed is in use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CONFIG_PATH = "linkerd.trustAnchors"
# Pod template annotation whose value changes with the bundle composition and the signer, so a
# rotation step restarts the caches (MeshedCacheArgs.restart_annotations).
TRUST_ANNOTATION = "cachemesh.io/linkerd-trust"
# What Linkerd's injector writes on every meshed pod: hex(sha256(bundle as the ConfigMap holds
# it)) (linkerd/linkerd2 pkg/inject/inject.go injectObjectMeta, commit b24cd40).
TRUST_ROOT_ANNOTATION = "linkerd.io/trust-root-sha256"


@dataclass(frozen=True)
class AnchorPlan:
    """`cachemesh:linkerd.trustAnchors`: the anchor generation that signs the issuer and the
    generations whose certificates form the trust bundle (in configured order, for config paths)."""

    signing: int
    trusted: tuple[int, ...]

    @property
    def generations(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.trusted)))

    def describe(self) -> str:
        return f"{{signing: {self.signing}, trusted: [{', '.join(map(str, self.trusted))}]}}"

    @property
    def stage(self) -> str:
        """steady (one anchor), trusting-new (step 1 done: both trusted, the older one signs) or
        signing-with-new (step 2 done: both trusted, the newer one signs)."""
        gens = self.generations
        if len(gens) == 1:
            return "steady"
        return "trusting-new" if self.signing == gens[0] else "signing-with-new"

    def same_as(self, other: AnchorPlan) -> bool:
        return self.signing == other.signing and self.generations == other.generations


DEFAULT_PLAN = AnchorPlan(signing=1, trusted=(1,))


def key(*parts: str) -> str:
    return "cachemesh:" + ".".join((CONFIG_PATH, *parts))


def plan_problems(plan: AnchorPlan) -> list[str]:
    """The rules a single configuration must meet, each with the key and a valid way out."""
    gens = plan.generations
    problems: list[str] = []
    if len(gens) != len(plan.trusted) or not (
        len(gens) == 1 or (len(gens) == 2 and gens[1] == gens[0] + 1)
    ):
        low = min(gens)
        problems.append(
            f"{key('trusted')}: [{', '.join(map(str, plan.trusted))}] must be one anchor "
            "generation or two consecutive ones (a rotation trusts the old and the new anchor, "
            f"never more). For example: {'; '.join(commands_to(plan, AnchorPlan(low, (low,))))}"
        )
        return problems
    if plan.signing not in gens:
        closest = min(gens, key=lambda g: abs(g - plan.signing))
        problems.append(
            f"{key('signing')}: anchor {plan.signing} is not in {key('trusted')} "
            f"[{', '.join(map(str, plan.trusted))}], and Linkerd's identity controller refuses an "
            "issuer signed by an anchor it does not trust. Sign with a trusted anchor: "
            + "; ".join(commands_to(plan, AnchorPlan(closest, plan.trusted)))
            + " (to move to a new anchor, trust it first: docs/tasks/rotate-the-trust-anchor.md)"
        )
    return problems


def is_safe_change(previous: AnchorPlan, current: AnchorPlan) -> bool:
    """True when one `pulumi up` from `previous` to `current` cannot break meshed traffic: while
    it runs, some proxies still hold the old bundle and some the new, and the issuer is signed by
    the old or the new signer, so every bundle involved must trust every signer involved. For
    valid plans that means: the signer stays (the bundle may change), or the signer changes while
    the bundle stays. Rolling a step back is such a change too."""
    signers = {previous.signing, current.signing}
    return all(signers <= set(plan.generations) for plan in (previous, current))


def forward(plan: AnchorPlan) -> AnchorPlan | None:
    """The next step of a rotation from `plan` (from steady: start rotating to the next anchor)."""
    gens = plan.generations
    if plan.stage == "steady":
        return AnchorPlan(plan.signing, (*plan.trusted, plan.signing + 1))
    if plan.stage == "trusting-new":
        return AnchorPlan(gens[1], plan.trusted)
    return AnchorPlan(gens[1], (gens[1],))


def backward(plan: AnchorPlan) -> AnchorPlan | None:
    """Undo the last step, where that is still possible (a deleted anchor cannot come back)."""
    gens = plan.generations
    if plan.stage == "trusting-new":
        return AnchorPlan(gens[0], (gens[0],))
    if plan.stage == "signing-with-new":
        return AnchorPlan(gens[0], plan.trusted)
    return None


def commands_to(current: AnchorPlan, target: AnchorPlan, explicit: bool = True) -> list[str]:
    """`pulumi config` commands that turn the configured `current` into `target`. With
    `explicit` false (`trusted` not in the stack file yet) every value is written: setting
    `trusted[1]` on a missing list makes the Pulumi CLI store [null, 2] (pulumi/pulumi
    sdk/go/common/resource/config/object.go `newContainer`, commit 1b59498)."""
    out: list[str] = []
    if not explicit or target.signing != current.signing:
        out.append(f"pulumi config set --path {CONFIG_PATH}.signing {target.signing}")
    have, want = list(current.trusted), list(target.trusted)
    path = f"{CONFIG_PATH}.trusted"
    if explicit and set(have) == set(want):
        return out
    if explicit and len(want) == len(have) + 1 and want[: len(have)] == have:
        out.append(f"pulumi config set --path '{path}[{len(have)}]' {want[-1]}")
    elif explicit and len(want) == len(have) - 1 and set(want) < set(have):
        gone = next(g for g in have if g not in want)
        out.append(f"pulumi config rm --path '{path}[{have.index(gone)}]'")
    else:
        out += [f"pulumi config set --path '{path}[{i}]' {g}" for i, g in enumerate(want)]
        if explicit and len(have) > len(want):
            # From the end: `config rm --path` splices the list (later entries shift down) and
            # ignores an index past its end (pulumi/pulumi sdk/go/common/resource/config/
            # object.go `Delete`, commit 1b59498).
            last_first = range(len(have) - 1, len(want) - 1, -1)
            out += [f"pulumi config rm --path '{path}[{i}]'" for i in last_first]
    return out


# What to confirm before the next step, by stage (docs/tasks/rotate-the-trust-anchor.md).
_BEFORE = {
    "trusting-new": (
        "Before step 2: check that `pulumi up` ended with mtlsVerified true, then list the "
        "meshed pods that still run with the old bundle and restart them until none is left "
        "(python -m checks.trust_roots). A proxy without the new anchor would reject every "
        "certificate the new issuer signs."
    ),
    "signing-with-new": (
        "Before step 3: check that `pulumi up` ended with mtlsVerified true and that `kubectl "
        "get events -n linkerd --field-selector reason=IssuerUpdated` shows the new issuer "
        "loaded, then restart every other meshed workload (or wait 24 h, the default "
        "certificate lifetime) so its proxy holds a certificate from the new issuer: "
        "checks.trust_roots cannot see which issuer signed a pod's certificate, and once the "
        "old anchor is gone a certificate from the old issuer is rejected."
    ),
}
_STAGES = {
    "steady": "steady: one anchor, which signs the issuer",
    "trusting-new": "step 1 of 3 done: both anchors are trusted, the old one still signs",
    "signing-with-new": "step 2 of 3 done: both anchors are trusted, the new one signs",
}


def rotation_status(plan: AnchorPlan, explicit: bool = True) -> dict[str, Any]:
    """The `linkerdIdentity.rotation` output: where the rotation stands and what to run next."""
    nxt, back = forward(plan), backward(plan)
    status: dict[str, Any] = {"stage": plan.stage, "description": _STAGES[plan.stage]}
    if plan.stage == "steady":
        status["next"] = []
        assert nxt is not None
        status["startRotation"] = [*commands_to(plan, nxt, explicit), "pulumi up"]
    else:
        assert nxt is not None
        status["before"] = _BEFORE[plan.stage]
        status["next"] = [*commands_to(plan, nxt, explicit), "pulumi up"]
    status["rollback"] = [*commands_to(plan, back, explicit), "pulumi up"] if back else []
    return status


def step_problem(previous: AnchorPlan, current: AnchorPlan, explicit: bool = True) -> str | None:
    """Why going from the deployed `previous` to `current` in one `up` would break traffic."""
    if is_safe_change(previous, current):
        return None
    nxt, back = forward(previous), backward(previous)
    targets = [
        (label, target)
        for label, target in (
            ("the next step", nxt),
            ("a step back", back),
            ("what is deployed", previous),
        )
        if target is not None
    ]
    options = []
    for letter, (label, target) in zip("abc", targets, strict=False):
        commands = "; ".join(commands_to(current, target, explicit))
        options.append(f"({letter}) {label} {target.describe()}: {commands}")
    return (
        f"{key()}: the last deployment ran {previous.describe()} and this configuration asks for "
        f"{current.describe()}, which changes both the trusted bundle and the signing anchor in "
        "one `pulumi up`. Proxies that have not restarted with the new bundle would reject "
        "certificates from the new issuer, and the identity controller refuses an issuer that "
        "does not chain to the anchors it loaded. Change one thing per `pulumi up`. Valid from "
        "what is deployed: " + " ".join(options)
    )


def previous_plan(identity: Mapping[str, Any] | None) -> AnchorPlan | None:
    """The plan a previous deployment ran, from its `linkerdIdentity` output: None when there was
    no deployment or it used bring-your-own certificates; generation 1 alone for deployments from
    before anchor generations existed (they had exactly that anchor)."""
    if not identity or identity.get("source") != "pulumi-tls":
        return None
    anchors = identity.get("anchors")
    if not anchors:
        return DEFAULT_PLAN
    trusted = tuple(int(a["generation"]) for a in anchors)
    signing = next((int(a["generation"]) for a in anchors if a.get("signing")), None)
    if signing is None:
        return None
    return AnchorPlan(signing, trusted)


def chart_bundle(pems: Sequence[str]) -> str:
    """The bundle as `identityTrustAnchorsPEM`: the certificates one after the other, with no
    surrounding whitespace. The chart stores `identityTrustAnchorsPEM | trim` in the
    `linkerd-identity-trust-roots` ConfigMap (whose bytes the injector hashes for meshed pods) but
    hashes the value as given for its own pods (`partials.proxy.annotations`: `sha256sum`);
    handing it a trimmed value makes both hashes one (linkerd/linkerd2 commit b24cd40:
    charts/linkerd-control-plane/templates/identity.yaml, charts/partials/templates/_metadata.tpl).
    """
    return "\n".join(p.strip() for p in pems if p.strip())


def bundle_sha256(bundle: str) -> str:
    """`linkerd.io/trust-root-sha256` of a pod injected with this (already trimmed) bundle."""
    return hashlib.sha256(bundle.encode()).hexdigest()


def generated_restart_annotations(plan: AnchorPlan) -> dict[str, str]:
    """Plain data that changes exactly when a rotation step changes what proxies must load. The
    default plan adds nothing, so stacks that never rotate keep their pod templates."""
    if plan.same_as(DEFAULT_PLAN):
        return {}
    anchors = ",".join(map(str, plan.generations))
    return {TRUST_ANNOTATION: f"anchors={anchors};signer={plan.signing}"}


def byo_restart_annotations(bundle_pem: str, signer_der_sha256: str) -> dict[str, str]:
    """Bring-your-own: the bundle's hash and the signing anchor's fingerprint (not the issuer's,
    so renewing the issuer from the same anchor restarts nothing)."""
    bundle = bundle_sha256(chart_bundle([bundle_pem]))[:16]
    return {TRUST_ANNOTATION: f"bundle={bundle};signer={signer_der_sha256[:16]}"}
