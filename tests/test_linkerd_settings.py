"""Bad `cachemesh:linkerd` input fails before anything is registered, naming the key."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import fake_providers  # noqa: F401
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from harness import run_program
from linkerd_testing import CONTROL_PLANE, byo, make_cert

from pki import linkerd as linkerd_pki

IDENTITY_FIXTURES = Path(__file__).parent / "fixtures" / "linkerd" / "identity"
FIXTURE_DAY = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
# What `openssl ecparam -name prime256v1 -genkey` writes before the key.
EC_PARAMETERS_P256 = (
    "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
)


def _fails(match: str, config=None, secrets=None) -> str:
    with pytest.raises(Exception, match=match) as info:
        run_program(config or {}, secrets=secrets)
    return str(info.value)


def test_bring_your_own_identity_is_passed_to_the_chart_trimmed():
    config, secrets = byo()
    anchor_pem = secrets["linkerd"]["trustAnchorPem"]
    secrets["linkerd"]["trustAnchorPem"] = f"\n  {anchor_pem}\n\n"
    run = run_program(config, secrets=secrets)
    values = run.one(*CONTROL_PLANE).inputs["values"]
    # Handed over without surrounding whitespace (README.md "Rotating the trust anchor").
    assert values["identityTrustAnchorsPEM"] == anchor_pem.strip()
    assert (
        values["identity"]["issuer"]["tls"]["crtPEM"] == secrets["linkerd"]["issuerCertPem"].strip()
    )


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


# --- Linkerd's own fixtures (cli/cmd/testdata @edge-26.8.1; verdicts from install_test.go) -----


def _fixture(prefix: str) -> tuple[dict, dict]:
    def read(suffix: str) -> str:
        return (IDENTITY_FIXTURES / f"{prefix}-{suffix}.pem").read_text()

    linkerd = {
        "trustAnchorPem": read("trust-anchors"),
        "issuerCertPem": read("crt"),
        "issuerKeyPem": read("key"),
    }
    return {}, {"linkerd": linkerd}


@pytest.fixture
def fixture_clock(monkeypatch):
    """Linkerd's valid fixtures expire in 2030: judge them on a fixed day."""
    monkeypatch.setattr(linkerd_pki, "utc_now", lambda: FIXTURE_DAY)


@pytest.mark.parametrize("prefix", ["valid", "valid-with-rsa-anchor", "wrong-domain"])
def test_linkerds_accepted_fixtures_are_accepted(fixture_clock, prefix):
    config, secrets = _fixture(prefix)
    assert run_program(config, secrets=secrets).outputs["linkerdHealthy"]["healthy"] is True


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("expired", "is not valid anymore. Expired on 1990-01-01T01:01:11Z"),
        ("not-valid-yet", "is not valid before: 2100-01-01T01:00:51Z"),
        ("wrong-algo", "must use P-256 curve for public key, instead P-521 was used"),
    ],
)
def test_linkerds_refused_fixtures_are_refused(fixture_clock, prefix, message):
    config, secrets = _fixture(prefix)
    expected = rf"cachemesh:linkerd\.issuerCertPem: the issuer certificate {re.escape(message)}"
    _fails(expected, config, secrets)


# --- trust anchors --------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [2048, 4096])
def test_rsa_trust_anchor_of_2048_or_4096_bits_is_accepted(bits):
    anchor = make_cert("root.linkerd.cluster.local", rsa_bits=bits, days=3650)
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor)
    config, secrets = byo(anchor, issuer)
    assert run_program(config, secrets=secrets).outputs["linkerdHealthy"]["healthy"] is True


def test_rsa_trust_anchor_of_3072_bits_is_refused():
    anchor = make_cert("root.linkerd.cluster.local", rsa_bits=3072, days=3650)
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    _fails(
        r"cachemesh:linkerd\.trustAnchorPem: trust anchor .* RSA must use a 2048 or 4096",
        config,
        secrets,
    )


def test_trust_anchor_signed_with_sha384_is_refused():
    anchor = make_cert("root.linkerd.cluster.local", hash_algorithm=hashes.SHA384())
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    _fails(
        r"cachemesh:linkerd\.trustAnchorPem: "
        r"trust anchor .* must be signed by an ECDSA P-256 key, instead ECDSA with SHA384",
        config,
        secrets,
    )


def test_bundle_with_an_expired_anchor_is_refused_though_another_signed_the_issuer():
    anchor = make_cert("root.linkerd.cluster.local", days=3650)
    expired = make_cert("old.linkerd.cluster.local", days=10, start_days_ago=20)
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    secrets["linkerd"]["trustAnchorPem"] = anchor.cert_pem + expired.cert_pem
    _fails(
        r"cachemesh:linkerd\.trustAnchorPem: "
        r"trust anchor 'old.linkerd.cluster.local' .* Expired on",
        config,
        secrets,
    )


def test_bundle_of_two_valid_anchors_is_accepted_with_the_issuer_signed_by_the_second():
    old, new = make_cert("old.linkerd.cluster.local"), make_cert("root.linkerd.cluster.local")
    config, secrets = byo(new, make_cert("identity.linkerd.cluster.local", signer=new))
    secrets["linkerd"]["trustAnchorPem"] = old.cert_pem + new.cert_pem
    assert run_program(config, secrets=secrets).outputs["linkerdHealthy"]["healthy"] is True


def test_text_after_the_last_anchor_is_refused():
    config, secrets = byo()
    secrets["linkerd"]["trustAnchorPem"] += "subject=CN = root\n"
    _fails(r"cachemesh:linkerd\.trustAnchorPem: has text after its last PEM block", config, secrets)


def test_private_key_in_trust_anchors_is_refused_and_not_echoed():
    anchor = make_cert("root.linkerd.cluster.local")
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    secrets["linkerd"]["trustAnchorPem"] = anchor.cert_pem + anchor.key_pem
    message = _fails(
        r"cachemesh:linkerd\.trustAnchorPem: contains a private key block", config, secrets
    )
    body = anchor.key_pem.splitlines()[1]
    assert body not in message


def test_other_blocks_in_trust_anchors_are_refused():
    anchor = make_cert("root.linkerd.cluster.local")
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    secrets["linkerd"]["trustAnchorPem"] = EC_PARAMETERS_P256 + anchor.cert_pem
    _fails(r"cachemesh:linkerd\.trustAnchorPem: contains a EC PARAMETERS block", config, secrets)


# --- issuer ---------------------------------------------------------------------------------


def test_issuer_named_for_another_trust_domain_is_accepted():
    anchor = make_cert("root.linkerd.cluster.local")
    config, secrets = byo(anchor, make_cert("identity.linkerd.other.domain", signer=anchor))
    assert run_program(config, secrets=secrets).outputs["linkerdHealthy"]["healthy"] is True


def test_issuer_chained_through_an_intermediate_in_issuer_cert_pem_is_accepted():
    anchor = make_cert("root.linkerd.cluster.local")
    middle = make_cert("intermediate.linkerd.cluster.local", signer=anchor)
    issuer = make_cert("identity.linkerd.cluster.local", signer=middle)
    config, secrets = byo(anchor, issuer)
    secrets["linkerd"]["issuerCertPem"] = issuer.cert_pem + middle.cert_pem
    assert run_program(config, secrets=secrets).outputs["linkerdHealthy"]["healthy"] is True


def test_issuer_whose_intermediate_is_missing_is_refused():
    anchor = make_cert("root.linkerd.cluster.local")
    middle = make_cert("intermediate.linkerd.cluster.local", signer=anchor)
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=middle))
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: "
        r"does not verify against trustAnchorPem: certificate signed by unknown authority",
        config,
        secrets,
    )


def test_anchor_whose_path_length_forbids_the_intermediate_is_refused():
    anchor = make_cert("root.linkerd.cluster.local", path_length=0)
    middle = make_cert("intermediate.linkerd.cluster.local", signer=anchor)
    issuer = make_cert("identity.linkerd.cluster.local", signer=middle)
    config, secrets = byo(anchor, issuer)
    secrets["linkerd"]["issuerCertPem"] = issuer.cert_pem + middle.cert_pem
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: does not verify .* allows 0 intermediates",
        config,
        secrets,
    )


def test_text_around_the_anchors_is_accepted_and_left_out_of_the_chart():
    anchor = make_cert("root.linkerd.cluster.local")
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    secrets["linkerd"]["trustAnchorPem"] = (
        "subject=CN = root.linkerd.cluster.local\n" + anchor.cert_pem
    )
    run = run_program(config, secrets=secrets)
    values = run.one(*CONTROL_PLANE).inputs["values"]
    assert values["identityTrustAnchorsPEM"] == anchor.cert_pem.strip()


def test_issuer_not_signed_by_the_anchor_is_refused():
    other = make_cert("root.linkerd.cluster.local")
    config, secrets = byo(issuer=make_cert("identity.linkerd.cluster.local", signer=other))
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: does not verify against trustAnchorPem", config, secrets
    )


@pytest.mark.parametrize(
    ("usages", "accepted"),
    [
        ([ExtendedKeyUsageOID.CLIENT_AUTH], False),
        ([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], True),
        ([ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE], True),
    ],
)
def test_issuer_extended_key_usage_must_allow_server_auth_if_listed(usages, accepted):
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor, extended_key_usage=usages)
    config, secrets = byo(anchor, issuer)
    if accepted:
        assert run_program(config, secrets=secrets).outputs["linkerdHealthy"]["healthy"] is True
    else:
        _fails(
            r"cachemesh:linkerd\.issuerCertPem: does not verify .* without serverAuth",
            config,
            secrets,
        )


def test_issuer_signed_with_sha384_is_refused():
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert(
        "identity.linkerd.cluster.local", signer=anchor, hash_algorithm=hashes.SHA384()
    )
    config, secrets = byo(anchor, issuer)
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: "
        r"the issuer certificate must be signed by an ECDSA P-256 key",
        config,
        secrets,
    )


def test_issuer_that_is_not_a_ca_is_refused():
    anchor = make_cert("root.linkerd.cluster.local")
    config, secrets = byo(
        anchor, make_cert("identity.linkerd.cluster.local", signer=anchor, ca=False)
    )
    _fails(r"cachemesh:linkerd\.issuerCertPem: the issuer certificate is not a CA", config, secrets)


def test_expired_issuer_is_refused():
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor, days=5, start_days_ago=6)
    config, secrets = byo(anchor, issuer)
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: the issuer certificate is not valid anymore",
        config,
        secrets,
    )


def test_p384_issuer_is_refused():
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor, curve=ec.SECP384R1)
    config, secrets = byo(anchor, issuer)
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: the issuer certificate must use P-256 curve",
        config,
        secrets,
    )


# --- issuer key -----------------------------------------------------------------------------


def test_key_file_starting_with_ec_parameters_is_repaired_for_the_chart():
    config, secrets = byo()
    key = serialization.load_pem_private_key(secrets["linkerd"]["issuerKeyPem"].encode(), None)
    sec1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    secrets["linkerd"]["issuerKeyPem"] = EC_PARAMETERS_P256 + sec1
    run = run_program(config, secrets=secrets)
    handed = run.one(*CONTROL_PLANE).inputs["values"]["identity"]["issuer"]["tls"]["keyPEM"]
    assert handed == sec1.strip()
    assert "values.identity.issuer.tls.keyPEM" in run.one(*CONTROL_PLANE).secret_inputs


def test_encrypted_issuer_key_is_refused():
    config, secrets = byo()
    key = serialization.load_pem_private_key(secrets["linkerd"]["issuerKeyPem"].encode(), None)
    secrets["linkerd"]["issuerKeyPem"] = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()
    _fails(r"cachemesh:linkerd\.issuerKeyPem: is a ENCRYPTED PRIVATE KEY block", config, secrets)


def test_issuer_key_that_does_not_match_the_certificate_names_the_key():
    config, secrets = byo()
    secrets["linkerd"]["issuerKeyPem"] = make_cert("x").key_pem
    _fails(r"cachemesh:linkerd\.issuerKeyPem: is not the private key", config, secrets)


def test_issuer_key_that_is_not_a_key_names_the_key_without_echoing_it():
    config, secrets = byo()
    secrets["linkerd"]["issuerKeyPem"] = "-----BEGIN PRIVATE KEY-----\nnot-a-key\n"
    message = _fails(r"cachemesh:linkerd\.issuerKeyPem: is not a PEM private key", config, secrets)
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
