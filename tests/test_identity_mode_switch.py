"""Switching between the generated identity and bring-your-own certificates in one `up` would
change the trust bundle and the signer at once. It is refused against the last deployment's
`linkerdIdentity`, unless the bundle stays the one deployed (settings/immutable.py)."""

from __future__ import annotations

from typing import Any

import fake_providers  # noqa: F401
import pytest
from harness import ProgramRun, run_program
from linkerd_testing import CONTROL_PLANE, byo

from pki.trust_rotation import bundle_sha256


def _refused(match: str, config: dict[str, Any], secrets: dict[str, Any] | None, previous) -> str:
    with pytest.raises(Exception, match=match) as info:
        run_program(config, secrets=secrets, previous_outputs=previous)
    assert info.value.registered == []  # type: ignore[attr-defined]
    return str(info.value)


def _deployed_identity(run: ProgramRun) -> dict[str, Any]:
    """What `kubectl` reads back from the deployed control plane: the bundle (ConfigMap
    linkerd-identity-trust-roots) and the issuer (Secret linkerd-identity-issuer), as the chart
    stores its values (charts/linkerd-control-plane/templates/identity.yaml, edge-26.8.1)."""
    values = run.one(*CONTROL_PLANE).inputs["values"]
    return {
        "trustAnchorPem": values["identityTrustAnchorsPEM"].strip(),
        "issuerCertPem": values["identity"]["issuer"]["tls"]["crtPEM"].strip(),
        "issuerKeyPem": values["identity"]["issuer"]["tls"]["keyPEM"].strip(),
    }


def test_generated_to_bring_your_own_in_one_jump_is_refused_with_the_steps():
    previous = run_program().outputs
    config, secrets = byo()
    message = _refused(
        r"cachemesh:linkerd\.trustAnchorPem: the last deployment", config, secrets, previous
    )
    assert "generated identity" in message
    assert "breaks every meshed connection" in message
    assert "kubectl -n linkerd get configmap linkerd-identity-trust-roots" in message
    assert "pulumi state unprotect" in message


def test_bring_your_own_to_generated_in_one_jump_is_refused_with_the_way_out():
    config, secrets = byo()
    previous = run_program(config, secrets=secrets).outputs
    deployed = previous["linkerdIdentity"]["trustRootsSha256"]
    message = _refused(
        r"cachemesh:linkerd\.trustAnchorPem: the last deployment", {}, None, previous
    )
    assert "brought its own" in message
    assert f"pulumi config set --path linkerd.replaceTrustBundle {deployed}" in message


def test_generated_to_bring_your_own_that_keeps_the_deployed_identity_is_accepted():
    first = run_program()
    previous = first.outputs
    run = run_program({}, secrets={"linkerd": _deployed_identity(first)}, previous_outputs=previous)
    identity = run.outputs["linkerdIdentity"]
    assert identity["source"] == "bring-your-own"
    assert identity["trustRootsSha256"] == previous["linkerdIdentity"]["trustRootsSha256"]


def test_a_switch_acknowledged_with_the_deployed_bundle_hash_is_accepted():
    config, secrets = byo()
    previous = run_program(config, secrets=secrets).outputs
    deployed = previous["linkerdIdentity"]["trustRootsSha256"]
    run = run_program({"linkerd": {"replaceTrustBundle": deployed}}, previous_outputs=previous)
    assert run.outputs["linkerdIdentity"]["source"] == "pulumi-tls"


def test_an_acknowledgement_naming_another_bundle_does_not_let_the_switch_through():
    config, secrets = byo()
    previous = run_program(config, secrets=secrets).outputs
    stale = bundle_sha256("an earlier bundle")
    _refused(
        r"cachemesh:linkerd\.trustAnchorPem: the last deployment",
        {"linkerd": {"replaceTrustBundle": stale}},
        None,
        previous,
    )


def test_an_acknowledgement_that_is_not_a_sha256_names_the_key():
    with pytest.raises(Exception, match=r"cachemesh:linkerd\.replaceTrustBundle"):
        run_program({"linkerd": {"replaceTrustBundle": "yes"}})


def test_a_deployment_that_recorded_no_bundle_hash_cannot_be_switched_from():
    config, secrets = byo()
    previous = run_program(config, secrets=secrets).outputs
    del previous["linkerdIdentity"]["trustRootsSha256"]
    message = _refused(
        r"cachemesh:linkerd\.trustAnchorPem: the last deployment", {}, None, previous
    )
    assert "brought its own identity and recorded no trust bundle hash" in message
    assert "Run `pulumi up` once in the deployed mode first" in message


@pytest.mark.parametrize("mode", ["generated", "bring-your-own"])
def test_a_first_deployment_may_choose_either_mode(mode):
    config, secrets = byo() if mode == "bring-your-own" else ({}, None)
    run = run_program(config, secrets=secrets, previous_outputs={})
    expected = "bring-your-own" if mode == "bring-your-own" else "pulumi-tls"
    assert run.outputs["linkerdIdentity"]["source"] == expected
