"""Bad `cachemesh:linkerd` input fails before anything is registered, naming the key."""

from __future__ import annotations

import base64
import datetime as dt
import re

import fake_providers  # noqa: F401
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID
from harness import run_program
from linkerd_testing import CONTROL_PLANE, Pair, byo, make_cert

CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
ANY_USAGE = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE

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
    # Handed over without surrounding whitespace (docs/tasks/rotate-the-trust-anchor.md).
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


# --- Linkerd's fixtures, restated as generated certificates ---------------------------------
# Linkerd's TestValidate, "Validates the issuer certs upon install" (linkerd/linkerd2
# cli/cmd/install_test.go at 3af2f450ebf435625d4c313c5785025a97ff76e3, tag edge-26.8.1), runs
# validateValues (cli/cmd/options.go: IssuerCertData.VerifyAndBuildCreds in
# pkg/issuercerts/issuercerts.go) on cli/cmd/testdata/<fixture>-{trust-anchors,crt,key}.pem.
# Each test below generates the certificates of one fixture: the property it exercises and the
# shape it has (names, path lengths, keyUsage, subjectAltName, key identifiers, the key as an
# `EC PRIVATE KEY` block), none of its bytes. It asserts cachemesh's verdict is Linkerd's, with
# Linkerd's words when Linkerd refuses.

LINKERD_IDENTITY = "identity.linkerd.cluster.local"
LINKERD_ERROR_PREFIX = "failed to validate issuer credentials: "


def _linkerd_ca(cn: str, signer: Pair | None = None, **kwargs) -> Pair:
    """A CA shaped like the fixtures' ECDSA ones: keyCertSign and cRLSign, a subjectAltName for
    the identity name, key identifiers, pathlen 1 for the anchor and 0 for the issuer."""
    kwargs.setdefault("dns_names", [LINKERD_IDENTITY])
    return make_cert(
        cn,
        signer=signer,
        path_length=0 if signer else 1,
        ca_key_usage=True,
        key_identifiers=True,
        days=3650,
        **kwargs,
    )


def _as_files(anchors: Pair, issuer: Pair) -> tuple[dict, dict]:
    """The three values, the key as the fixtures hold theirs (`EC PRIVATE KEY`)."""
    config, secrets = byo(anchors, issuer)
    secrets["linkerd"]["issuerKeyPem"] = issuer.traditional_key_pem
    assert secrets["linkerd"]["issuerKeyPem"].startswith("-----BEGIN EC PRIVATE KEY-----")
    return config, secrets


def _accepted(anchors: Pair, issuer: Pair) -> None:
    config, secrets = _as_files(anchors, issuer)
    assert run_program(config, secrets=secrets).outputs["linkerdHealthy"]["healthy"] is True


def _refused_as_linkerd_refuses(
    anchors: Pair, issuer: Pair, linkerd_error: str, *, lead: str = "the issuer certificate "
) -> None:
    """Refused naming cachemesh:linkerd.issuerCertPem, `lead` then Linkerd's own error text."""
    assert linkerd_error.startswith(LINKERD_ERROR_PREFIX)
    problem = linkerd_error.removeprefix(LINKERD_ERROR_PREFIX)
    config, secrets = _as_files(anchors, issuer)
    _fails(
        rf"cachemesh:linkerd\.issuerCertPem: {re.escape(lead + problem)}",
        config,
        secrets,
    )


def _refused_outside_its_period(not_before: str, not_after: str, linkerd_error: str) -> None:
    """The `expired` and `not-valid-yet` fixtures: one self-signed ECDSA P-256 CA named
    identity.linkerd.cluster.local with serverAuth and clientAuth, used as both the trust anchor
    and the issuer, valid from `not_before` to `not_after` only; refused with Linkerd's error."""
    ca = make_cert(
        LINKERD_IDENTITY,
        ca_key_usage=True,
        extended_key_usage=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        valid=(dt.datetime.fromisoformat(not_before), dt.datetime.fromisoformat(not_after)),
    )
    _refused_as_linkerd_refuses(ca, ca, linkerd_error, lead="the issuer certificate is ")


def test_linkerds_valid_fixture_is_accepted():
    """`valid`: ECDSA P-256 anchor and issuer signed with SHA-256, both named
    identity.linkerd.cluster.local. Linkerd: accepted ({"valid", ""})."""
    anchor = _linkerd_ca(LINKERD_IDENTITY)
    _accepted(anchor, _linkerd_ca(LINKERD_IDENTITY, signer=anchor))


@pytest.mark.parametrize("bits", [4096, 2048])
def test_linkerds_valid_with_rsa_anchor_fixture_is_accepted(bits):
    """`valid-with-rsa-anchor`: an RSA anchor root.linkerd.cluster.local (4096 bits in the fixture;
    2048 is the other size CheckTrustAnchorAlgoRequirements allows) signing, with SHA256WithRSA,
    an ECDSA P-256 issuer. Linkerd: accepted ({"valid-with-rsa-anchor", ""})."""
    anchor = _linkerd_ca("root.linkerd.cluster.local", rsa_bits=bits, dns_names=None)
    issuer = _linkerd_ca(LINKERD_IDENTITY, signer=anchor, dns_names=None)
    assert issuer.cert.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256
    _accepted(anchor, issuer)


def test_linkerds_wrong_domain_fixture_is_accepted():
    """`wrong-domain`: the anchor is named wrong.linkerd.cluster.local, and so is the issuer's
    subjectAltName. Linkerd refused it until it stopped checking names (linkerd/linkerd2
    b389054d53f1be25a5e5a4aad6550f77db6f0315, #5237, dropped {"wrong-domain", ...} from
    TestValidate); VerifyAndBuildCreds now verifies with no name (creds.Verify(anchors, "", ...)):
    accepted."""
    wrong = "wrong.linkerd.cluster.local"
    anchor = _linkerd_ca(wrong, dns_names=[wrong])
    _accepted(anchor, _linkerd_ca(LINKERD_IDENTITY, signer=anchor, dns_names=[wrong]))


def test_linkerds_expired_fixture_is_refused_in_linkerds_words():
    """`expired`: valid in 1989 only. Linkerd: refused."""
    _refused_outside_its_period(
        "1989-01-01T01:00:51Z",
        "1990-01-01T01:01:11Z",
        "failed to validate issuer credentials: not valid anymore. Expired on 1990-01-01T01:01:11Z",
    )


def test_linkerds_not_valid_yet_fixture_is_refused_in_linkerds_words():
    """`not-valid-yet`: valid in 2100 only. Linkerd: refused."""
    _refused_outside_its_period(
        "2100-01-01T01:00:51Z",
        "2101-01-01T01:01:11Z",
        "failed to validate issuer credentials: not valid before: 2100-01-01T01:00:51Z",
    )


def test_linkerds_wrong_algo_fixture_is_refused_in_linkerds_words():
    """`wrong-algo`: anchor and issuer on the P-521 curve (secp521r1), signed with ECDSA SHA-512,
    otherwise shaped as `valid`. Linkerd: refused."""
    anchor = _linkerd_ca(LINKERD_IDENTITY, curve=ec.SECP521R1, hash_algorithm=hashes.SHA512())
    issuer = _linkerd_ca(
        LINKERD_IDENTITY, signer=anchor, curve=ec.SECP521R1, hash_algorithm=hashes.SHA512()
    )
    _refused_as_linkerd_refuses(
        anchor,
        issuer,
        "failed to validate issuer credentials: "
        "must use P-256 curve for public key, instead P-521 was used",
    )


# --- trust anchors --------------------------------------------------------------------------


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


def test_private_key_in_issuer_cert_pem_is_refused_and_not_echoed():
    # The chart copies issuerCertPem into ConfigMap linkerd-config's values (templates/config.yaml
    # removes only keyPEM), so a key there would be readable cluster-wide.
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor)
    config, secrets = byo(anchor, issuer)
    secrets["linkerd"]["issuerCertPem"] = issuer.cert_pem + issuer.traditional_key_pem
    message = _fails(
        r"cachemesh:linkerd\.issuerCertPem: contains a private key block", config, secrets
    )
    assert issuer.traditional_key_pem.splitlines()[1] not in message


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


def _issuer_listing(usages: list[x509.ObjectIdentifier]) -> tuple[dict, dict]:
    """A bring-your-own identity whose issuer lists these extended key usages."""
    anchor = make_cert("root.linkerd.cluster.local")
    return byo(
        anchor,
        make_cert("identity.linkerd.cluster.local", signer=anchor, extended_key_usage=usages),
    )


def test_issuer_listing_only_client_auth_fails_gos_chain_check():
    config, secrets = _issuer_listing([CLIENT_AUTH])
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: does not verify .* without serverAuth",
        config,
        secrets,
    )


def test_issuer_listing_only_client_auth_says_what_the_proxies_would_do_and_the_fix():
    config, secrets = _issuer_listing([CLIENT_AUTH])
    _fails(
        r"no proxy accepts a certificate from the identity controller.*re-issue it with both "
        r"serverAuth and clientAuth in extendedKeyUsage, or without the extendedKeyUsage extension",
        config,
        secrets,
    )


def test_issuer_listing_server_and_client_auth_is_accepted():
    config, secrets = _issuer_listing([SERVER_AUTH, CLIENT_AUTH])
    assert run_program(config, secrets=secrets).outputs["linkerdHealthy"]["healthy"] is True


def test_issuer_listing_server_auth_without_client_auth_is_refused_as_the_proxies_would():
    # Go's chain check passes it (it asks for serverAuth only); rustls-webpki, which the proxy
    # verifies client certificates with, asks every certificate below the anchor for clientAuth.
    config, secrets = _issuer_listing([SERVER_AUTH])
    message = _fails(
        r"cachemesh:linkerd\.issuerCertPem: the issuer certificate 'identity\.linkerd\.cluster"
        r"\.local' .* lists extended key usages without clientAuth",
        config,
        secrets,
    )
    assert "refuses every inbound mTLS connection" in message
    assert "re-issue it with both serverAuth and clientAuth" in message


def test_issuer_listing_only_any_extended_key_usage_is_refused_as_the_proxies_would():
    # Go accepts anyExtendedKeyUsage for any usage; webpki matches the exact purpose only.
    config, secrets = _issuer_listing([ANY_USAGE])
    message = _fails(
        r"cachemesh:linkerd\.issuerCertPem: the issuer certificate .* without clientAuth "
        r"and serverAuth",
        config,
        secrets,
    )
    assert "anyExtendedKeyUsage" in message


def test_intermediate_listing_server_auth_without_client_auth_is_refused():
    anchor = make_cert("root.linkerd.cluster.local")
    middle = make_cert(
        "intermediate.linkerd.cluster.local", signer=anchor, extended_key_usage=[SERVER_AUTH]
    )
    issuer = make_cert("identity.linkerd.cluster.local", signer=middle)
    config, secrets = byo(anchor, issuer)
    secrets["linkerd"]["issuerCertPem"] = issuer.cert_pem + middle.cert_pem
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: intermediate 'intermediate\.linkerd\.cluster\.local' "
        r".* lists extended key usages without clientAuth",
        config,
        secrets,
    )


def test_trust_anchor_listing_only_client_auth_is_refused():
    # Go checks the roots' extended key usages too (verify.go isValid / checkChainForKeyUsage).
    anchor = make_cert("root.linkerd.cluster.local", extended_key_usage=[CLIENT_AUTH])
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    _fails(
        r"cachemesh:linkerd\.issuerCertPem: does not verify .*root\.linkerd\.cluster\.local "
        r"lists extended key usages without serverAuth",
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


@pytest.mark.parametrize("curve", [ec.SECP256K1, ec.BrainpoolP256R1])
def test_issuer_on_a_256_bit_curve_go_cannot_parse_is_refused(curve):
    # 256 bits but not P-256: Go's crypto/x509 parses only P-224/256/384/521 (namedCurveFromOID).
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor, curve=curve)
    config, secrets = byo(anchor, issuer)
    _fails(
        rf"cachemesh:linkerd\.issuerCertPem: the issuer certificate is on the {curve.name} curve",
        config,
        secrets,
    )


def test_trust_anchor_on_a_256_bit_curve_go_cannot_parse_is_refused():
    anchor = make_cert("root.linkerd.cluster.local", curve=ec.SECP256K1)
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    _fails(
        r"cachemesh:linkerd\.trustAnchorPem: trust anchor .* is on the secp256k1 curve",
        config,
        secrets,
    )


def _anchor_with(serial: int, extension: x509.ExtensionType | None = None) -> Pair:
    """A self-signed P-256 CA with the given serial number and one extra critical extension."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "root.linkerd.cluster.local")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if extension is not None:
        builder = builder.add_extension(extension, critical=True)
    return Pair(builder.sign(key, hashes.SHA256()), key)


def test_trust_anchor_with_a_critical_subject_key_identifier_is_refused():
    # Go's ParseCertificate: "x509: subject key identifier incorrectly marked critical"
    # (crypto/x509/parser.go processExtensions); Linkerd cannot read such a PEM at all.
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    anchor = _anchor_with(1000, ski)
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    _fails(
        r"cachemesh:linkerd\.trustAnchorPem: holds a certificate Linkerd cannot read: .*"
        r"subject key identifier incorrectly marked critical",
        config,
        secrets,
    )


def test_trust_anchor_with_a_negative_serial_number_is_refused():
    # Go >= 1.23 ParseCertificate: "x509: negative serial number" (linkerd2 edge-26.8.1 builds
    # with go 1.26, go.mod). The serial is rewritten in the DER; the parse fails before any
    # signature is looked at.
    anchor = _anchor_with(0x7E)
    der = anchor.cert.public_bytes(serialization.Encoding.DER)
    at = der.index(bytes([0x02, 0x01, 0x7E]))
    negative = der[:at] + bytes([0x02, 0x01, 0x80]) + der[at + 3 :]
    pem_text = "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(negative).decode()
    pem_text += "-----END CERTIFICATE-----\n"
    config, secrets = byo(anchor, make_cert("identity.linkerd.cluster.local", signer=anchor))
    secrets["linkerd"]["trustAnchorPem"] = pem_text
    _fails(
        r"cachemesh:linkerd\.trustAnchorPem: holds a certificate Linkerd cannot read: .*"
        r"negative serial number",
        config,
        secrets,
    )


# --- issuer key -----------------------------------------------------------------------------


def test_key_file_starting_with_ec_parameters_is_repaired_for_the_chart():
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor)
    config, secrets = byo(anchor, issuer)
    sec1 = issuer.traditional_key_pem
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
