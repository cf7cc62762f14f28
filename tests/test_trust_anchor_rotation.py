"""Trust-anchor rotation under the mock engine: the real program, one `pulumi up` per step, each
run given the previous run's outputs as the stack's own StackReference reads them.

Steps from generation 1 to 2 and on to 3 (docs/tasks/rotate-the-trust-anchor.md):
  {1,[1]} -> {1,[1,2]} -> {2,[1,2]} -> {2,[2]} -> {2,[2,3]} -> {3,[2,3]} -> {3,[3]}
The fake pulumi-tls provider (tests/fake_providers.py) issues real certificates, so which anchor
signed the issuer is verified with `cryptography` on the certificates themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

import fake_providers  # noqa: F401
import pulumi_config
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from harness import ProgramRun, run_program
from linkerd_testing import CONTROL_PLANE, STATEFULSET, byo, make_cert

TLS_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
COMMAND = ("command:local:Command", "ignite/ignite-mtls-check")
TRUST_ANNOTATION = "cachemesh.io/linkerd-trust"
STEPS: list[tuple[int, list[int]]] = [
    (1, [1]),
    (1, [1, 2]),
    (2, [1, 2]),
    (2, [2]),
    (2, [2, 3]),
    (3, [2, 3]),
    (3, [3]),
]


def config(signing: int, trusted: list[int]) -> dict[str, Any]:
    return {"linkerd": {"trustAnchors": {"signing": signing, "trusted": trusted}}}


@pytest.fixture(scope="module")
def rotation() -> list[ProgramRun]:
    """Every step deployed in turn; the first has no previous deployment."""
    runs: list[ProgramRun] = []
    for signing, trusted in STEPS:
        previous = runs[-1].outputs if runs else None
        runs.append(run_program(config(signing, trusted), previous_outputs=previous))
    return runs


def anchors(run: ProgramRun) -> dict[str, Any]:
    return {
        r.name: r for r in run.of_type(SELF_SIGNED) if r.name.startswith("linkerd-trust-anchor")
    }


def anchor_name(generation: int) -> str:
    return "linkerd-trust-anchor" if generation == 1 else f"linkerd-trust-anchor-a{generation}"


def chart_values(run: ProgramRun) -> dict[str, Any]:
    return run.one(*CONTROL_PLANE).inputs["values"]


def template_annotations(run: ProgramRun) -> dict[str, str]:
    return run.one(*STATEFULSET).inputs["spec"]["template"]["metadata"]["annotations"]


def signs(anchor: x509.Certificate, cert: x509.Certificate) -> bool:
    key = anchor.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    algorithm = cert.signature_hash_algorithm
    assert algorithm is not None
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
    except InvalidSignature:
        return False
    return True


# --- each step ---------------------------------------------------------------------------------


def test_each_step_has_exactly_its_trusted_anchors(rotation: list[ProgramRun]) -> None:
    for run, (_signing, trusted) in zip(rotation, STEPS, strict=True):
        assert set(anchors(run)) == {anchor_name(g) for g in trusted}


def test_generation_one_keeps_the_names_existing_stacks_have() -> None:
    default = run_program()
    assert set(anchors(default)) == {"linkerd-trust-anchor"}
    assert {r.name for r in default.of_type(TLS_KEY)} >= {"linkerd-trust-anchor-key"}


def test_only_the_signing_anchor_and_its_key_are_protected(rotation: list[ProgramRun]) -> None:
    for run, (signing, trusted) in zip(rotation, STEPS, strict=True):
        for g in trusted:
            key_name = anchor_name(g).replace("linkerd-trust-anchor", "linkerd-trust-anchor-key")
            assert run.one(SELF_SIGNED, anchor_name(g)).options["protect"] is (g == signing)
            assert run.one(TLS_KEY, key_name).options["protect"] is (g == signing)


def test_chart_bundle_is_the_trusted_anchors_oldest_first_without_surrounding_whitespace(
    rotation: list[ProgramRun],
) -> None:
    for run, (_signing, trusted) in zip(rotation, STEPS, strict=True):
        bundle = chart_values(run)["identityTrustAnchorsPEM"]
        assert bundle == bundle.strip()
        expected = [run.one(SELF_SIGNED, anchor_name(g)).outputs["certPem"] for g in trusted]
        assert bundle == "\n".join(p.strip() for p in expected)
        assert len(x509.load_pem_x509_certificates(bundle.encode())) == len(trusted)


def test_issuer_is_signed_by_the_signing_anchor_and_no_other(rotation: list[ProgramRun]) -> None:
    for run, (signing, trusted) in zip(rotation, STEPS, strict=True):
        values = chart_values(run)
        issuer_pem = values["identity"]["issuer"]["tls"]["crtPEM"]
        issuer = x509.load_pem_x509_certificate(issuer_pem.encode())
        for g in trusted:
            pem = run.one(SELF_SIGNED, anchor_name(g)).outputs["certPem"]
            assert signs(x509.load_pem_x509_certificate(pem.encode()), issuer) is (g == signing)


def test_a_new_signer_is_a_new_issuer_generation(rotation: list[ProgramRun]) -> None:
    names = [{r.name for r in run.of_type(LOCALLY_SIGNED)} for run in rotation]
    gen = rotation[0].outputs["linkerdIdentity"]["issuerGeneration"]
    assert names[0] == names[1] == {f"linkerd-issuer-g{gen}"}
    assert names[2] == names[3] == names[4] == {f"linkerd-issuer-a2-g{gen}"}
    assert names[5] == names[6] == {f"linkerd-issuer-a3-g{gen}"}


def test_cache_pods_roll_at_every_step(rotation: list[ProgramRun]) -> None:
    values = [template_annotations(run).get(TRUST_ANNOTATION) for run in rotation]
    for before, after in itertools.pairwise(values):
        assert before != after
    # A stack that never rotates keeps the pod template it has today.
    assert values[0] is None
    assert values[1] == "anchors=1,2;signer=1"
    assert values[2] == "anchors=1,2;signer=2"


def test_cache_pods_do_not_roll_when_a_step_is_run_again(rotation: list[ProgramRun]) -> None:
    for run, (signing, trusted) in zip(rotation, STEPS, strict=True):
        again = run_program(config(signing, trusted), previous_outputs=run.outputs)
        assert template_annotations(again) == template_annotations(run)
        assert (
            again.one(*STATEFULSET).inputs["spec"]["template"]
            == run.one(*STATEFULSET).inputs["spec"]["template"]
        )


def test_check_is_given_the_hash_of_the_chart_bundle(rotation: list[ProgramRun]) -> None:
    for run in rotation:
        bundle = chart_values(run)["identityTrustAnchorsPEM"]
        sha = hashlib.sha256(bundle.encode()).hexdigest()
        command = run.one(*COMMAND).inputs
        assert f"--trust-roots-sha256 {sha}" in command["create"]
        # A new bundle re-runs the check even when nothing else about the cache changed.
        assert sha in command["triggers"]
        assert run.outputs["linkerdIdentity"]["trustRootsSha256"] == sha


# --- the linkerdIdentity output ------------------------------------------------------------------


def test_identity_lists_each_anchor_with_expiry_and_whether_it_signs(
    rotation: list[ProgramRun],
) -> None:
    for run, (signing, trusted) in zip(rotation, STEPS, strict=True):
        listed = run.outputs["linkerdIdentity"]["anchors"]
        assert [(a["generation"], a["signing"]) for a in listed] == [
            (g, g == signing) for g in trusted
        ]
        for a in listed:
            pem = run.one(SELF_SIGNED, anchor_name(a["generation"])).outputs["certPem"]
            cert = x509.load_pem_x509_certificate(pem.encode())
            assert a["notAfter"] == cert.not_valid_after_utc.isoformat()


def test_rotation_says_where_it_stands(rotation: list[ProgramRun]) -> None:
    stages = [run.outputs["linkerdIdentity"]["rotation"]["stage"] for run in rotation]
    assert stages == [
        "steady",
        "trusting-new",
        "signing-with-new",
        "steady",
        "trusting-new",
        "signing-with-new",
        "steady",
    ]


def _apply(command: str, cfg: dict[str, Any]) -> None:
    """`pulumi config set|rm --path` as the Pulumi CLI applies it (tests/pulumi_config.py)."""
    pulumi_config.apply(command, cfg)


def test_following_the_next_commands_walks_the_whole_rotation() -> None:
    cfg: dict[str, Any] = {}  # a stack that never set trustAnchors
    run = run_program(cfg)
    seen = []
    for _ in range(len(STEPS) - 1):
        rotation = run.outputs["linkerdIdentity"]["rotation"]
        commands = rotation["next"] or rotation["startRotation"]
        assert commands[-1] == "pulumi up"
        for command in commands[:-1]:
            _apply(command, cfg)
        run = run_program(cfg, previous_outputs=run.outputs)
        ta = cfg["linkerd"]["trustAnchors"]
        seen.append((ta["signing"], sorted(ta["trusted"])))
    assert seen == STEPS[1:]


def test_start_rotation_commands_work_when_the_stack_set_only_the_signing_anchor() -> None:
    # `trusted` absent from the stack file: `pulumi config set --path '...trusted[1]' 2` alone
    # would make the CLI store [null, 2], so the whole list must be written.
    cfg: dict[str, Any] = {"linkerd": {"trustAnchors": {"signing": 1}}}
    run = run_program(cfg)
    for command in run.outputs["linkerdIdentity"]["rotation"]["startRotation"][:-1]:
        _apply(command, cfg)
    assert cfg == config(1, [1, 2])
    run_program(cfg, previous_outputs=run.outputs)


def test_following_the_rollback_commands_undoes_a_step(rotation: list[ProgramRun]) -> None:
    cfg = config(2, [1, 2])
    commands = rotation[2].outputs["linkerdIdentity"]["rotation"]["rollback"]
    for command in commands[:-1]:
        _apply(command, cfg)
    assert cfg == config(1, [1, 2])
    back = run_program(cfg, previous_outputs=rotation[2].outputs)
    assert back.outputs["linkerdIdentity"]["rotation"]["stage"] == "trusting-new"


# --- rolling back, first deployments, stacks from before anchor generations ----------------------


@pytest.mark.parametrize(("deployed", "target"), [(2, 1), (1, 0)])
def test_rolling_back_one_step_is_accepted(
    rotation: list[ProgramRun], deployed: int, target: int
) -> None:
    run = run_program(config(*STEPS[target]), previous_outputs=rotation[deployed].outputs)
    assert set(anchors(run)) == {anchor_name(g) for g in STEPS[target][1]}


def test_swapping_the_trusted_only_anchor_keeps_the_signer_and_is_accepted(
    rotation: list[ProgramRun],
) -> None:
    # {2,[1,2]} -> {2,[2,3]}: every proxy, old bundle or new, trusts anchor 2, which signs.
    run = run_program(config(2, [2, 3]), previous_outputs=rotation[2].outputs)
    assert set(anchors(run)) == {anchor_name(2), anchor_name(3)}


def test_first_deployment_accepts_any_valid_combination() -> None:
    run = run_program(config(2, [1, 2]))
    assert run.stack_references == ["dev"]  # this very stack
    assert run.one(SELF_SIGNED, "linkerd-trust-anchor-a2").options["protect"] is True


def test_on_pulumi_cloud_the_program_reads_itself_by_its_fully_qualified_name() -> None:
    previous = run_program(config(1, [1]), organization="acme").outputs
    run = run_program(config(1, [1, 2]), previous_outputs=previous, organization="acme")
    assert run.stack_references == ["acme/cachemesh/dev"]
    with pytest.raises(Exception, match=r"last deployment ran \{signing: 1, trusted: \[1\]\}"):
        run_program(config(2, [1, 2]), previous_outputs=previous, organization="acme")


def test_a_deployment_from_before_anchor_generations_counts_as_anchor_one_alone() -> None:
    previous = {"linkerdIdentity": {"source": "pulumi-tls", "trustDomain": "cluster.local"}}
    run_program(config(1, [1, 2]), previous_outputs=previous)
    with pytest.raises(Exception, match=r"last deployment ran \{signing: 1, trusted: \[1\]\}"):
        run_program(config(2, [1, 2]), previous_outputs=previous)


# --- refused before anything is registered --------------------------------------------------------


def _refused(match: str, cfg: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(Exception, match=match) as info:
        run_program(cfg, **kw)
    assert info.value.registered == []  # type: ignore[attr-defined]
    return str(info.value)


@pytest.mark.parametrize(
    ("deployed", "signing", "trusted"),
    [
        (0, 2, [1, 2]),  # new bundle and new signer at once
        (0, 2, [2]),  # a new anchor that signs at once
        (1, 2, [2]),  # new signer and old anchor dropped at once
        (2, 1, [1]),  # two steps back at once
        (2, 3, [2, 3]),  # next rotation's anchor with a new signer
        (3, 1, [1, 2]),  # an anchor back and the signer back at once
    ],
)
def test_a_configuration_that_skips_a_step_is_refused(
    rotation: list[ProgramRun], deployed: int, signing: int, trusted: list[int]
) -> None:
    message = _refused(
        r"cachemesh:linkerd\.trustAnchors: the last deployment ran",
        config(signing, trusted),
        previous_outputs=rotation[deployed].outputs,
    )
    assert "Valid from what is deployed: (a) the next step {signing: " in message


def test_the_refusal_names_the_next_step_from_what_is_deployed(rotation: list[ProgramRun]) -> None:
    message = _refused(
        r"trustAnchors: the last deployment ran \{signing: 1, trusted: \[1\]\}",
        config(2, [1, 2]),
        previous_outputs=rotation[0].outputs,
    )
    assert (
        "(a) the next step {signing: 1, trusted: [1, 2]}: "
        "pulumi config set --path linkerd.trustAnchors.signing 1" in message
    )


@pytest.mark.parametrize(
    ("signing", "trusted", "match"),
    [
        (3, [1, 2], r"trustAnchors\.signing: anchor 3 is not in"),
        (1, [1, 3], r"trustAnchors\.trusted: \[1, 3\] must be one anchor generation or two"),
        (1, [1, 1], r"trustAnchors\.trusted: \[1, 1\] must be one"),
        (1, [1, 2, 3], r"trustAnchors\.trusted: .*at most 2 items"),
        (0, [1], r"trustAnchors\.signing: .*greater than or equal to 1"),
        (1, [0, 1], r"trustAnchors\.trusted: anchor generations are numbered from 1"),
    ],
)
def test_an_invalid_combination_is_refused(signing: int, trusted: list[int], match: str) -> None:
    _refused(match, config(signing, trusted))


def test_signing_with_an_untrusted_anchor_says_how_to_trust_it_first() -> None:
    message = _refused(r"anchor 2 is not in", config(2, [1]))
    assert "pulumi config set --path linkerd.trustAnchors.signing 1" in message
    assert "trust it first" in message


def test_rotate_trust_anchor_is_gone_and_says_what_to_set_instead() -> None:
    for value in (True, False):
        message = _refused(
            r"cachemesh:linkerd\.rotateTrustAnchor: was removed",
            {"linkerd": {"rotateTrustAnchor": value}},
        )
        assert "pulumi config rm --path linkerd.rotateTrustAnchor" in message
        assert "'linkerd.trustAnchors.trusted[1]' 2" in message


def test_trust_anchors_with_bring_your_own_is_refused() -> None:
    plain, secrets = byo()
    secrets["linkerd"]["trustAnchors"] = {"signing": 1, "trusted": [1, 2]}
    _refused(
        r"cachemesh:linkerd\.trustAnchors: numbers the anchors cachemesh generates",
        plain,
        secrets=secrets,
    )


# --- bring your own: the same three steps with your own files ------------------------------------


def _byo_run(anchors_in_bundle: list[Any], issuer: Any) -> ProgramRun:
    plain, secrets = byo(issuer=issuer)
    secrets["linkerd"]["trustAnchorPem"] = "".join(a.cert_pem for a in anchors_in_bundle) + "\n"
    return run_program(plain, secrets=secrets)


def test_bring_your_own_steps_roll_the_caches_and_give_the_check_the_bundles_hash() -> None:
    old = make_cert("root.linkerd.cluster.local", days=3650)
    new = make_cert("root.linkerd.cluster.local", days=3650)
    old_issuer = make_cert("identity.linkerd.cluster.local", signer=old)
    new_issuer = make_cert("identity.linkerd.cluster.local", signer=new)
    steps = [
        _byo_run([old], old_issuer),
        _byo_run([old, new], old_issuer),
        _byo_run([old, new], new_issuer),
        _byo_run([new], new_issuer),
    ]
    marks = [template_annotations(run)[TRUST_ANNOTATION] for run in steps]
    assert len(set(marks)) == 4
    for run, bundle in zip(steps, ([old], [old, new], [old, new], [new]), strict=True):
        chart = chart_values(run)["identityTrustAnchorsPEM"]
        assert chart == "\n".join(a.cert_pem.strip() for a in bundle)
        sha = hashlib.sha256(chart.encode()).hexdigest()
        assert f"--trust-roots-sha256 {sha}" in run.one(*COMMAND).inputs["create"]
        listed = run.outputs["linkerdIdentity"]["anchors"]
        assert [a["generation"] for a in listed] == [None] * len(bundle)
    assert [a["signing"] for a in steps[2].outputs["linkerdIdentity"]["anchors"]] == [False, True]


def test_bring_your_own_issuer_renewed_from_the_same_anchor_does_not_roll_the_caches() -> None:
    anchor = make_cert("root.linkerd.cluster.local", days=3650)
    first = _byo_run([anchor], make_cert("identity.linkerd.cluster.local", signer=anchor))
    renewed = _byo_run([anchor], make_cert("identity.linkerd.cluster.local", signer=anchor))
    assert template_annotations(first) == template_annotations(renewed)


def test_issuer_renewal_inside_a_step_does_not_roll_the_caches(monkeypatch) -> None:
    from pki import linkerd as linkerd_pki

    start = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
    monkeypatch.setattr(linkerd_pki, "utc_now", lambda: start)
    before = run_program(config(2, [1, 2]))
    # One renewal period later the issuer is re-issued (a new renewal generation)...
    monkeypatch.setattr(linkerd_pki, "utc_now", lambda: start + dt.timedelta(hours=8760 - 1440))
    after = run_program(config(2, [1, 2]), previous_outputs=before.outputs)
    gen = before.outputs["linkerdIdentity"]["issuerGeneration"]
    assert {r.name for r in after.of_type(LOCALLY_SIGNED)} == {f"linkerd-issuer-a2-g{gen + 1}"}
    # ...by the same anchor, so the proxies need no restart.
    assert template_annotations(after) == template_annotations(before)
