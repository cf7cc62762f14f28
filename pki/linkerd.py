"""Linkerd's identity rules as pure functions: what its Go code accepts as trust anchors, issuer
certificate and issuer key, and what `linkerd check`'s linkerd-identity group says about them.

Every rule names its source in linkerd/linkerd2 at edge-26.8.1
(commit 3af2f450ebf435625d4c313c5785025a97ff76e3), the chart version cachemesh pins:
- pkg/tls/codec.go `DecodePEMKey`, `DecodePEMCertificates`; pkg/tls/cred.go `DecodePEMCrt`,
  `ValidateAndCreateCreds`, `Crt.Verify` — how PEMs are read and the chain verified;
- pkg/issuercerts/issuercerts.go `CheckCertValidityPeriod`, `CheckExpiringSoon` (60 days),
  `CheckIssuerCertAlgoRequirements`, `CheckTrustAnchorAlgoRequirements`, `VerifyAndBuildCreds`
  (what `linkerd install` runs, cli/cmd/options.go `validateValues`);
- pkg/identity/service.go `loadCredentials` and controller/cmd/identity/main.go — the identity
  controller's start-up (trust anchors, issuer creds, chain, CA);
- pkg/healthcheck/healthcheck.go, category linkerd-identity — `linkerd check`: fatal algorithm and
  validity checks for every anchor and the issuer, 60-day warnings, "issued by the trust anchor".
Beyond Linkerd's Go checks, what the proxies (rustls-webpki) ask of the issuer chain's extended key
usages: `proxy_usage_problem`, with its sources.
The issuer's common name is not checked by any of them (the expected name only appears in an error
message, pkg/identity/service.go), so cachemesh does not check it either.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID

from pki import pem
from pki.go_x509 import ChainError, parse_problem, verify

MIN_DAYS_LEFT = 60  # issuercerts.go expirationWarningThresholdInDays
CERTIFICATE = "CERTIFICATE"
# DecodePEMKey's block types.
KEY_TYPES = ("EC PRIVATE KEY", "RSA PRIVATE KEY", "PRIVATE KEY")
EC_PARAMETERS = "EC PARAMETERS"
_SHA256_SIGNATURES = {
    x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    x509.SignatureAlgorithmOID.RSA_WITH_SHA256,
}


def trust_anchor_name(trust_domain: str) -> str:
    return f"root.linkerd.{trust_domain}"


def issuer_name(trust_domain: str, control_plane_ns: str = "linkerd") -> str:
    """The name `linkerd install` gives its own issuer (`identity.<ns>.<domain>`)."""
    return f"identity.{control_plane_ns}.{trust_domain}"


class CertificateProblem(ValueError):
    """Input Linkerd would refuse; the message never contains key material."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def describe(cert: x509.Certificate) -> str:
    return f"{common_name(cert) or cert.subject.rfc4514_string()!r} (serial {cert.serial_number:x})"


# --- reading PEM input ----------------------------------------------------------------------


def read_certificates(text: str) -> list[x509.Certificate]:
    """The certificates of a PEM value, refusing what Linkerd would refuse or silently drop.

    The chart trims every PEM value (charts/linkerd-control-plane/templates/identity.yaml), so
    surrounding whitespace is harmless. Text after the last block makes DecodePEMCertificates fail
    ("not a PEM certificate"). A block of another type stops it: the block and everything after it
    would be ignored, so cachemesh refuses it rather than let material vanish; a private key there
    would be published cluster-wide (ConfigMap linkerd-identity-trust-roots)."""
    found, rest = pem.blocks(text.strip())
    if rest.strip():
        raise CertificateProblem(
            'has text after its last PEM block; Linkerd fails to read it ("not a PEM '
            'certificate"). Remove everything after the last -----END CERTIFICATE----- line'
        )
    other = [b.type for b in found if b.type != CERTIFICATE]
    if any("PRIVATE KEY" in t for t in other):
        raise CertificateProblem(
            "contains a private key block; a certificate value is published to every pod, so the "
            "key must not be in it. Remove the -----BEGIN ... PRIVATE KEY----- block (and, as the "
            "key has been exposed in your configuration, consider replacing it)"
        )
    if other:
        raise CertificateProblem(
            f"contains a {other[0]} block; Linkerd stops reading at it and ignores every "
            "certificate after it. Keep only -----BEGIN CERTIFICATE----- blocks"
        )
    if not found:
        raise CertificateProblem("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    certs = []
    for block in found:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                cert = x509.load_der_x509_certificate(block.der)
        except ValueError:
            raise CertificateProblem(
                "holds a CERTIFICATE block that is not an X.509 certificate"
            ) from None
        if (problem := parse_problem(cert)) is not None:
            raise CertificateProblem(
                f"holds a certificate Linkerd cannot read: Go's crypto/x509 refuses it "
                f'("{problem}"). Re-issue it without that defect'
            )
        certs.append(cert)
    return certs


@dataclass(frozen=True)
class IssuerKey:
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    # The PEM handed to the chart: the key block alone, as Linkerd reads it.
    pem: str


def read_private_key(text: str) -> IssuerKey:
    """The issuer key as DecodePEMKey reads it: the FIRST PEM block, which must be an EC, RSA
    or PKCS#8 (EC or RSA) private key. A leading EC PARAMETERS block (`openssl ecparam -genkey`
    writes one) would make Linkerd fail ("unsupported block type"); it holds only the curve's
    name, so cachemesh drops it and hands the chart the key block alone."""
    found, _ = pem.blocks(text.strip())
    if found and found[0].type == EC_PARAMETERS:
        found = found[1:]
    keys = [b for b in found if "PRIVATE KEY" in b.type]
    if not found or "PRIVATE KEY" not in found[0].type:
        raise CertificateProblem(
            "is not a PEM private key (Linkerd reads the first PEM block, and it must be "
            f"{', '.join(KEY_TYPES)})"
        )
    block = found[0]
    if block.type not in KEY_TYPES:
        raise CertificateProblem(
            f"is a {block.type} block; Linkerd reads only unencrypted {', '.join(KEY_TYPES)}. "
            "Decrypt it first (openssl pkey -in issuer.key -out issuer-plain.key)"
        )
    if len(keys) > 1:
        raise CertificateProblem(
            "holds more than one private key; Linkerd reads only the first. Keep only the issuer's"
        )
    try:
        key = serialization.load_der_private_key(block.der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # Never echo the input: it is a private key.
        raise CertificateProblem(f"holds a {block.type} block that cannot be parsed") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CertificateProblem(
            "is neither an ECDSA nor an RSA key; linkerd2 only supports ECDSA and RSA private keys"
        )
    return IssuerKey(key=key, pem=block.encode().strip())


def canonical_certificates(text: str) -> str:
    """The certificate blocks of a valid value, re-encoded as Go encodes them and nothing else
    (no text around or between them): what the chart is given."""
    read_certificates(text)
    found, _ = pem.blocks(text.strip())
    return "".join(block.encode() for block in found).strip()


def key_matches(
    cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
) -> bool:
    """cred.go matchesCertificate: the certificate's public key is the key's."""
    return cert.public_key() == key.public_key()


# --- Linkerd's checks -----------------------------------------------------------------------


def validity_problem(cert: x509.Certificate, now: datetime) -> str | None:
    """issuercerts.CheckCertValidityPeriod."""
    if cert.not_valid_before_utc > now:
        return f"not valid before: {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
    if cert.not_valid_after_utc < now:
        return f"not valid anymore. Expired on {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    return None


def expiring_soon(cert: x509.Certificate, now: datetime) -> bool:
    """issuercerts.CheckExpiringSoon: within 60 days of notAfter."""
    return now + timedelta(days=MIN_DAYS_LEFT) > cert.not_valid_after_utc


def _signature_name(cert: x509.Certificate) -> str:
    hash_algorithm = cert.signature_hash_algorithm
    kind = "ECDSA" if "ecdsa" in str(cert.signature_algorithm_oid).lower() else "signature"
    return f"{kind} with {hash_algorithm.name.upper() if hash_algorithm else 'no hash'}"


# The curves Go's crypto/x509 parses (namedCurveFromOID, used by ParseCertificate and
# ParseECPrivateKey); a certificate on any other curve fails to parse ("x509: unsupported elliptic
# curve") before Linkerd looks at it, even a 256-bit one such as secp256k1 or brainpoolP256r1.
GO_CURVES = (ec.SECP224R1, ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


def _ecdsa_problem(cert: x509.Certificate) -> str | None:
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    if not isinstance(key.curve, GO_CURVES):
        return (
            f"is on the {key.curve.name} curve, which Go's crypto/x509 cannot parse "
            '("x509: unsupported elliptic curve"); Linkerd requires the P-256 curve (prime256v1)'
        )
    if key.curve.key_size != 256:
        return f"must use P-256 curve for public key, instead P-{key.curve.key_size} was used"
    if cert.signature_algorithm_oid not in _SHA256_SIGNATURES:
        return f"must be signed by an ECDSA P-256 key, instead {_signature_name(cert)} was used"
    return None


def issuer_algorithm_problem(cert: x509.Certificate) -> str | None:
    """issuercerts.CheckIssuerCertAlgoRequirements: ECDSA P-256, signed with SHA-256."""
    if not isinstance(cert.public_key(), ec.EllipticCurvePublicKey):
        return "must use ECDSA for public key algorithm"
    return _ecdsa_problem(cert)


def anchor_algorithm_problem(cert: x509.Certificate) -> str | None:
    """issuercerts.CheckTrustAnchorAlgoRequirements: ECDSA P-256 as above, or RSA with a 2048 or
    4096 bit key signed with SHA256WithRSA."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _ecdsa_problem(cert)
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size not in (2048, 4096):
            return (
                "RSA must use a 2048 or 4096 bit public key, instead "
                f"{key.key_size} bit public key was used"
            )
        if cert.signature_algorithm_oid != x509.SignatureAlgorithmOID.RSA_WITH_SHA256:
            used = _signature_name(cert)
            return f"must be signed by an RSA 2048/4096 bit key, instead {used} was used"
        return None
    return "trust anchor must use ECDSA or RSA for public key algorithm"


def chain_problem(
    issuer_chain: list[x509.Certificate], anchors: list[x509.Certificate], now: datetime
) -> str | None:
    """cred.go Crt.Verify: the issuer (first certificate) verifies to an anchor, through the
    certificates after it in issuerCertPem, by Go's rules (pki/go_x509.py)."""
    try:
        verify(issuer_chain[0], issuer_chain[1:], anchors, now)
    except ChainError as error:
        return str(error)
    return None


# --- what the proxies ask of the chain (rustls-webpki, not Go) -------------------------------
#
# The proxies verify each other's certificates with rustls-webpki, not Go. Sources:
# - linkerd2-proxy release/v2.364.0 (commit e5de317d; edge-26.8.1's .proxy-version),
#   linkerd/meshtls/src/creds/store.rs: the server side verifies client certificates with
#   rustls's `WebPkiClientVerifier` (client auth); the client side verifies servers with
#   `AnySanVerifier` (creds/verify.rs, `verify_server_cert_signed_by_trust_anchor`: server auth);
#   and `Store::set_certificate` first verifies the proxy's OWN new chain with that server
#   verifier (`validate`), so a chain without serverAuth never becomes the proxy's identity; and
#   the proxy serves no traffic and reports not ready until it has one (linkerd/app/src/lib.rs:
#   `await_identity` before the listeners, the admin readiness latch released on
#   `identity.ready()`).
# - rustls/rustls rustls/src/webpki/client_verifier.rs (commit 01a4769d): the client verifier's
#   usage is clientAuth.
# - rustls/webpki src/verify_cert.rs at v/0.103.13 (commit 2879b2ce; the version the proxy's
#   Cargo.lock pins): `build_chain_inner` calls `check_issuer_independent_properties` for the
#   end entity and for every intermediate it adds to the path (trust anchors are not
#   certificates there and are never checked), which applies `check_eku`; `KeyUsage::validate`
#   accepts a certificate WITHOUT the extension (`RequiredIfPresent`) and otherwise only one
#   that lists the exact purpose: anyExtendedKeyUsage is not honoured; an empty extension is
#   `EmptyEkuExtension`. v/0.100.3 (commit 5649c6a6) has the same rule (`check_eku` with
#   `required_eku_if_present`).
# - linkerd/linkerd2 edge-26.8.1 pkg/tls/cred.go `DecodePEMCrt`/`SignCrt` and
#   pkg/identity/service.go `Certify` (`IntermediateCertificates: crts[1:]`): every certificate
#   of issuerCertPem travels with each proxy's leaf as an intermediate.
# Go's chain check (chain_problem) asks for serverAuth alone and accepts anyExtendedKeyUsage, so
# an issuer with serverAuth only passes `linkerd install`, `linkerd check` and the identity
# controller, and then every inbound mTLS handshake fails.
_PROXY_USAGES = {
    ExtendedKeyUsageOID.CLIENT_AUTH: (
        "clientAuth",
        "every proxy refuses every inbound mTLS connection from its meshed peers (it verifies "
        "the client's chain for clientAuth)",
    ),
    ExtendedKeyUsageOID.SERVER_AUTH: (
        "serverAuth",
        "no proxy accepts a certificate from the identity controller (it verifies its own chain "
        "for serverAuth first), so meshed pods never become ready, and no outbound mTLS "
        "handshake succeeds",
    ),
}


def _listed_usages(cert: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    """The extended key usages a certificate lists; None when it has no such extension."""
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


def _usage_name(oid: x509.ObjectIdentifier) -> str:
    names = {
        ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
        ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
        ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    }
    return names.get(oid, getattr(oid, "_name", None) or oid.dotted_string)


def proxy_usage_problem(
    issuer_chain: list[x509.Certificate], anchors: list[x509.Certificate]
) -> str | None:
    """Why the proxies would refuse certificates issued under this chain: a certificate of
    issuerCertPem (the issuer, then its intermediates; a copy of a trust anchor is skipped, as
    webpki stops at the anchor) whose extended key usages lack clientAuth or serverAuth."""
    for position, cert in enumerate(issuer_chain):
        if any(cert == anchor for anchor in anchors):
            continue
        listed = _listed_usages(cert)
        if listed is None:
            continue
        missing = [oid for oid in _PROXY_USAGES if oid not in listed]
        if not missing:
            continue
        what = "the issuer certificate" if position == 0 else "intermediate"
        names = " and ".join(_PROXY_USAGES[oid][0] for oid in missing)
        effects = "; and ".join(_PROXY_USAGES[oid][1] for oid in missing)
        shown = ", ".join(_usage_name(oid) for oid in listed) or "none"
        any_note = (
            " (anyExtendedKeyUsage does not count: rustls-webpki matches the exact purpose)"
            if ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in listed
            else ""
        )
        return (
            f"{what} {describe(cert)} lists extended key usages without {names} "
            f"[{shown}]{any_note}: {effects} (rustls-webpki checks the extended key usage of "
            "every certificate below the trust anchor); re-issue it with both serverAuth and "
            "clientAuth in extendedKeyUsage, or without the extendedKeyUsage extension"
        )
    return None


def signed_by(cert: x509.Certificate, parent: x509.Certificate) -> bool:
    """Whether `parent` named and signed `cert` (the signature alone; chain_problem judges the
    rest of a chain by Go's rules)."""
    try:
        cert.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def start_up_problems(
    anchors: list[x509.Certificate],
    issuer_chain: list[x509.Certificate],
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    now: datetime,
) -> list[tuple[str, str]]:
    """(config field, problem) for every rule of the identity controller's start-up, `linkerd
    install`'s validation and `linkerd check`'s fatal identity checks. Field is one of
    trustAnchorPem, issuerCertPem, issuerKeyPem."""
    issuer = issuer_chain[0]
    out: list[tuple[str, str]] = []
    if not key_matches(issuer, key):
        out.append(
            (
                "issuerKeyPem",
                "is not the private key of the first certificate in issuerCertPem "
                '(pkg/tls/cred.go ValidateAndCreateCreds: "Public and private key do not match")',
            )
        )
    if (problem := validity_problem(issuer, now)) is not None:
        out.append(
            (
                "issuerCertPem",
                f"the issuer certificate is {problem} (pkg/issuercerts CheckCertValidityPeriod)",
            )
        )
    if (problem := issuer_algorithm_problem(issuer)) is not None:
        out.append(
            (
                "issuerCertPem",
                f"the issuer certificate {problem} "
                "(pkg/issuercerts CheckIssuerCertAlgoRequirements)",
            )
        )
    if not is_ca(issuer):
        out.append(
            (
                "issuerCertPem",
                "the issuer certificate is not a CA (basicConstraints CA:TRUE); "
                "Linkerd requires an intermediate CA (pkg/identity/service.go loadCredentials)",
            )
        )
    for anchor in anchors:
        if (problem := anchor_algorithm_problem(anchor)) is not None:
            out.append(
                (
                    "trustAnchorPem",
                    f"trust anchor {describe(anchor)} {problem} "
                    "(`linkerd check`: trust anchors are using supported crypto algorithm)",
                )
            )
        if (problem := validity_problem(anchor, now)) is not None:
            out.append(
                (
                    "trustAnchorPem",
                    f"trust anchor {describe(anchor)} is {problem} "
                    "(`linkerd check`: trust anchors are within their validity period)",
                )
            )
    usage = proxy_usage_problem(issuer_chain, anchors)
    if (problem := chain_problem(issuer_chain, anchors, now)) is not None:
        # An issuer missing a usage fails Go's check too (serverAuth); the proxies' side says what
        # would happen on the mesh and how to re-issue it.
        out.append(
            (
                "issuerCertPem",
                f"does not verify against trustAnchorPem: {problem} "
                "(pkg/tls/cred.go Crt.Verify, run by the identity controller at start-up)"
                + (f"; and {usage}" if usage is not None else ""),
            )
        )
    elif usage is not None:
        out.append(("issuerCertPem", usage))
    return out


# --- `linkerd check`'s identity group, as outputs --------------------------------------------


@dataclass(frozen=True)
class IdentityReport:
    """`linkerd check`'s linkerd-identity group for the PEMs the chart gets. Only facts that change
    when the certificates do: no days-left counters (those go to the deploy-time log)."""

    anchors: tuple[x509.Certificate, ...]
    issuer_chain: tuple[x509.Certificate, ...]
    checked_at: datetime = field(compare=False)

    @property
    def issuer(self) -> x509.Certificate:
        return self.issuer_chain[0]

    @property
    def signing_anchor(self) -> x509.Certificate:
        for anchor in self.anchors:
            if chain_problem([*self.issuer_chain], [anchor], self.checked_at) is None:
                return anchor
        return self.anchors[0]

    def checks(self) -> dict[str, bool]:
        now = self.checked_at
        return {
            # fatal
            "trustAnchorsUseSupportedCrypto": all(
                anchor_algorithm_problem(a) is None for a in self.anchors
            ),
            "trustAnchorsWithinValidity": all(
                validity_problem(a, now) is None for a in self.anchors
            ),
            "issuerUsesSupportedCrypto": issuer_algorithm_problem(self.issuer) is None,
            "issuerWithinValidity": validity_problem(self.issuer, now) is None,
            # an error, not fatal, not a warning: `linkerd check` fails
            "issuerIssuedByTrustAnchor": chain_problem([*self.issuer_chain], [*self.anchors], now)
            is None,
            # cachemesh's own, not `linkerd check`'s: what the proxies' rustls-webpki asks of
            # the chain (proxy_usage_problem); an error, like the one above
            "proxiesAcceptIssuerChain": proxy_usage_problem([*self.issuer_chain], [*self.anchors])
            is None,
            # warnings
            "trustAnchorsValidFor60Days": not any(expiring_soon(a, now) for a in self.anchors),
            "issuerValidFor60Days": not expiring_soon(self.issuer, now),
        }

    def warnings(self) -> list[str]:
        """The 60-day warnings, in words that stay the same from day to day (dates, not days)."""
        now = self.checked_at
        out = [
            f"trust anchor {describe(a)} expires on {a.not_valid_after_utc:%Y-%m-%d}, within "
            f"{MIN_DAYS_LEFT} days; rotate it (docs/tasks/rotate-the-trust-anchor.md)"
            for a in self.anchors
            if expiring_soon(a, now)
        ]
        if expiring_soon(self.issuer, now):
            out.append(
                f"identity issuer {describe(self.issuer)} expires on "
                f"{self.issuer.not_valid_after_utc:%Y-%m-%d}, within {MIN_DAYS_LEFT} days; run "
                "`pulumi up` to re-issue a generated issuer, or replace a brought one"
            )
        return out

    @property
    def healthy(self) -> bool:
        """What `linkerd check` would exit with: every check passes except, possibly, warnings."""
        checks = self.checks()
        return all(v for k, v in checks.items() if not k.endswith("ValidFor60Days"))

    def health_output(self) -> dict[str, object]:
        return {"healthy": self.healthy, **self.checks(), "warnings": self.warnings()}

    def as_output(self) -> dict[str, object]:
        return {
            "trustAnchor": {"notAfter": self.signing_anchor.not_valid_after_utc.isoformat()},
            "issuer": {"notAfter": self.issuer.not_valid_after_utc.isoformat()},
        }

    def log_lines(self) -> list[str]:
        """Deploy-time warnings, with the days left as of now."""
        now = self.checked_at
        lines = []
        for cert, what in [
            *((a, "trust anchor") for a in self.anchors),
            (self.issuer, "identity issuer"),
        ]:
            if expiring_soon(cert, now):
                lines.append(
                    f"the Linkerd {what} {describe(cert)} expires in "
                    f"{(cert.not_valid_after_utc - now).days} days "
                    f"({cert.not_valid_after_utc:%Y-%m-%d})"
                )
        if not self.healthy:
            failed = [
                k for k, v in self.checks().items() if not v and not k.endswith("ValidFor60Days")
            ]
            lines.append(
                f"`linkerd check` would fail its linkerd-identity group: {', '.join(failed)}"
            )
        return lines


def identity_report(trust_anchor_pem: str, issuer_pem: str, now: datetime) -> IdentityReport:
    return IdentityReport(
        anchors=tuple(read_certificates(trust_anchor_pem)),
        issuer_chain=tuple(read_certificates(issuer_pem)),
        checked_at=now,
    )
