"""Linkerd identity certificates as data: parse PEMs and answer `linkerd check`'s identity group.

Pure functions (no Pulumi): the settings validate bring-your-own certificates with them at start-up,
and LinkerdControlPlane turns the certificates it deploys into the `linkerdIdentity` outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

# `linkerd check`: "certificates must use the ECDSA P-256 algorithm"; "valid for at least 60 days".
SUPPORTED_CURVE = ec.SECP256R1
MIN_DAYS_LEFT = 60


def trust_anchor_name(trust_domain: str) -> str:
    return f"root.linkerd.{trust_domain}"


def issuer_name(trust_domain: str, control_plane_ns: str = "linkerd") -> str:
    """The name Linkerd's identity controller requires of the issuer (`identity.<ns>.<domain>`)."""
    return f"identity.{control_plane_ns}.{trust_domain}"


class CertificateProblem(ValueError):
    """A certificate that Linkerd would refuse; the message never contains key material."""


def load_certificates(pem: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(pem.strip().encode())
    except ValueError:
        raise CertificateProblem("is not a PEM-encoded X.509 certificate") from None
    if not certs:
        raise CertificateProblem("holds no certificate")
    return certs


def load_private_key(pem: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        # Never echo the input: it is a private key.
        raise CertificateProblem("is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
        key.curve, SUPPORTED_CURVE
    ):
        raise CertificateProblem("must be an ECDSA P-256 private key (Linkerd supports no other)")
    return key


def algorithm_supported(cert: x509.Certificate) -> bool:
    key = cert.public_key()
    return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, SUPPORTED_CURVE)


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when `issuer`'s key verifies `cert`'s signature and the names chain."""
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(
            cert.signature,
            cert.tbs_certificate_bytes,
            ec.ECDSA(cert.signature_hash_algorithm or hashes.SHA256()),
        )
    except InvalidSignature:
        return False
    return True


def days_left(cert: x509.Certificate, now: datetime) -> int:
    return (cert.not_valid_after_utc - now).days


def check_ca_certificate(cert: x509.Certificate, now: datetime) -> None:
    """What Linkerd requires of a trust anchor or issuer: P-256, a CA, inside its validity."""
    if not algorithm_supported(cert):
        raise CertificateProblem(
            f"certificate {common_name(cert)!r} does not use ECDSA P-256, the only algorithm "
            "Linkerd supports"
        )
    if not is_ca(cert):
        raise CertificateProblem(
            f"certificate {common_name(cert)!r} is not a CA (basicConstraints CA:TRUE), so it "
            "cannot sign certificates"
        )
    if cert.not_valid_after_utc <= now:
        raise CertificateProblem(
            f"certificate {common_name(cert)!r} expired on {cert.not_valid_after_utc:%Y-%m-%d}"
        )
    if cert.not_valid_before_utc > now:
        raise CertificateProblem(
            f"certificate {common_name(cert)!r} is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d}"
        )


def public_keys_match(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


@dataclass(frozen=True)
class IdentityReport:
    """`linkerd check`'s linkerd-identity group, for what a program can prove from the PEMs."""

    trust_anchor_not_after: str
    trust_anchor_days_left: int
    issuer_not_after: str
    issuer_days_left: int
    algorithm_supported: bool
    issuer_signed_by_trust_anchor: bool
    issuer_is_ca: bool
    trust_anchor_valid_60_days: bool
    issuer_valid_60_days: bool

    @property
    def healthy(self) -> bool:
        return (
            self.algorithm_supported
            and self.issuer_signed_by_trust_anchor
            and self.issuer_is_ca
            and self.trust_anchor_valid_60_days
            and self.issuer_valid_60_days
        )

    def as_output(self) -> dict[str, object]:
        return {
            "trustAnchor": {
                "notAfter": self.trust_anchor_not_after,
                "daysLeft": self.trust_anchor_days_left,
            },
            "issuer": {"notAfter": self.issuer_not_after, "daysLeft": self.issuer_days_left},
        }

    def health_output(self) -> dict[str, bool]:
        return {
            "healthy": self.healthy,
            "algorithmSupported": self.algorithm_supported,
            "issuerSignedByTrustAnchor": self.issuer_signed_by_trust_anchor,
            "issuerIsCa": self.issuer_is_ca,
            "trustAnchorValidFor60Days": self.trust_anchor_valid_60_days,
            "issuerValidFor60Days": self.issuer_valid_60_days,
        }

    def warnings(self) -> list[str]:
        out = []
        if self.trust_anchor_days_left < MIN_DAYS_LEFT:
            out.append(
                f"the Linkerd trust anchor expires in {self.trust_anchor_days_left} days "
                f"({self.trust_anchor_not_after}); rotate it (README.md, 'Rotating the "
                "trust anchor') before it lapses, or every meshed connection fails"
            )
        if self.issuer_days_left < MIN_DAYS_LEFT:
            out.append(
                f"the Linkerd identity issuer expires in {self.issuer_days_left} days "
                f"({self.issuer_not_after}); run `pulumi up` to re-issue it (it is re-issued "
                "automatically inside cachemesh:linkerd.certificates.earlyRenewalHours)"
            )
        if not self.issuer_signed_by_trust_anchor:
            out.append("the Linkerd identity issuer is not signed by the trust anchor")
        if not self.algorithm_supported:
            out.append("a Linkerd identity certificate does not use ECDSA P-256")
        return out


def identity_report(trust_anchor_pem: str, issuer_pem: str, now: datetime) -> IdentityReport:
    anchors = load_certificates(trust_anchor_pem)
    issuer = load_certificates(issuer_pem)[0]
    # With a bundle (during a trust-anchor rotation) the anchor that signed the issuer counts.
    anchor = next((a for a in anchors if signed_by(issuer, a)), anchors[0])
    anchor_days, issuer_days = days_left(anchor, now), days_left(issuer, now)
    return IdentityReport(
        trust_anchor_not_after=anchor.not_valid_after_utc.isoformat(),
        trust_anchor_days_left=anchor_days,
        issuer_not_after=issuer.not_valid_after_utc.isoformat(),
        issuer_days_left=issuer_days,
        algorithm_supported=algorithm_supported(anchor) and algorithm_supported(issuer),
        issuer_signed_by_trust_anchor=signed_by(issuer, anchor),
        issuer_is_ca=is_ca(issuer),
        trust_anchor_valid_60_days=anchor_days >= MIN_DAYS_LEFT,
        issuer_valid_60_days=issuer_days >= MIN_DAYS_LEFT,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
