"""Bad `cachemesh:linkerd` input fails before anything is registered, naming the key."""

from __future__ import annotations

import fake_providers  # noqa: F401
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from harness import run_program
from linkerd_testing import CONTROL_PLANE, byo, make_cert


def _fails(match: str, config=None, secrets=None) -> str:
    with pytest.raises(Exception, match=match) as info:
        run_program(config or {}, secrets=secrets)
    return str(info.value)


def test_bring_your_own_identity_is_passed_to_the_chart():
    config, secrets = byo()
    run = run_program(config, secrets=secrets)
    values = run.one(*CONTROL_PLANE).inputs["values"]
    # Handed over without surrounding whitespace (README.md "Rotating the trust anchor").
    assert values["identityTrustAnchorsPEM"] == secrets["linkerd"]["trustAnchorPem"].strip()
    assert values["identity"]["issuer"]["tls"]["crtPEM"] == secrets["linkerd"]["issuerCertPem"]


def test_malformed_linkerd_version_names_the_key():
    _fails(
        r"cachemesh:linkerd\.version: '2\.18' is not a Linkerd edge",
        {"linkerd": {"version": "2.18"}},
    )


def test_unknown_linkerd_version_names_the_key_and_the_known_ones():
    message = _fails(
        r"cachemesh:linkerd\.version: 2030\.1\.1 is not a chart version",
        {"linkerd": {"version": "2030.1.1"}},
    )
    assert "2026.8.1" in message


def test_trust_domain_that_is_not_a_dns_name_names_the_key():
    _fails(
        r"cachemesh:linkerd\.trustDomain: 'Mesh_Local' is not a DNS name",
        {"linkerd": {"trustDomain": "Mesh_Local"}},
    )


def test_early_renewal_not_below_validity_names_the_key():
    config = {"linkerd": {"certificates": {"validityHours": 100, "earlyRenewalHours": 90}}}
    _fails(
        r"cachemesh:linkerd\.certificates\.earlyRenewalHours: must be at least 24 hours less",
        config,
    )


def test_issuer_not_signed_by_the_anchor_names_the_key():
    other = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=other)
    config, secrets = byo(issuer=issuer)
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: is not signed by the certificate in", config, secrets
    )


def test_issuer_that_is_not_a_ca_names_the_key():
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor, ca=False)
    config, secrets = byo(anchor, issuer)
    _fails(r"cachemesh:linkerd\.issuerCertPem: certificate .* is not a CA", config, secrets)


def test_expired_trust_anchor_names_the_key():
    anchor = make_cert("root.linkerd.cluster.local", days=10, start_days_ago=20)
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    _fails(r"cachemesh:linkerd\.trustAnchorPem: certificate .* expired on", config, secrets)


def test_expired_issuer_names_the_key():
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor, days=5, start_days_ago=6)
    config, secrets = byo(anchor, issuer)
    _fails(r"cachemesh:linkerd\.issuerCertPem: certificate .* expired on", config, secrets)


def test_non_p256_issuer_names_the_key():
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor, curve=ec.SECP384R1)
    config, secrets = byo(anchor, issuer)
    _fails(r"cachemesh:linkerd\.issuerCertPem: .* does not use ECDSA P-256", config, secrets)


def test_issuer_named_for_another_trust_domain_names_the_key():
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.other.domain", signer=anchor)
    config, secrets = byo(anchor, issuer)
    _fails(r"cachemesh:linkerd\.issuerCertPem: its common name is", config, secrets)


def test_issuer_key_that_does_not_match_the_certificate_names_the_key():
    config, secrets = byo()
    secrets["linkerd"]["issuerKeyPem"] = make_cert("x").key_pem
    _fails(r"cachemesh:linkerd\.issuerKeyPem: is not the private key", config, secrets)


def test_issuer_key_that_is_not_a_key_names_the_key_without_echoing_it():
    config, secrets = byo()
    secrets["linkerd"]["issuerKeyPem"] = "-----BEGIN PRIVATE KEY-----\nnot-a-key\n"
    message = _fails(r"cachemesh:linkerd\.issuerKeyPem: is not an unencrypted PEM", config, secrets)
    assert "not-a-key" not in message


def test_issuer_key_in_plain_text_config_names_the_key():
    _, secrets = byo()
    _fails(r"cachemesh:linkerd\.issuerKeyPem: is stored in plain text", secrets)


def test_partial_bring_your_own_names_the_missing_key():
    _, secrets = byo()
    del secrets["linkerd"]["issuerKeyPem"]
    _fails(r"cachemesh:linkerd\.issuerKeyPem: bring-your-own identity needs", {}, secrets)


def test_bad_config_stops_before_anything_is_deployed():
    with pytest.raises(Exception, match="nothing was deployed"):
        run_program({"linkerd": {"version": "latest"}})
