"""Go's `crypto/x509` `Certificate.Verify`, for what Linkerd relies on: the rules its identity
controller, `linkerd install` and `linkerd check` apply when they verify the issuer against the
trust anchors (`pkg/tls/cred.go` `Crt.Verify`: roots = the anchors, intermediates = the
certificates after the issuer in its PEM, no DNS name, the current time, and therefore Go's default
key usage, server authentication).

Rules reproduced (golang/go src/crypto/x509/verify.go @0184fe5e, `Verify`, `buildChains`,
`isValid`; x509.go `CheckSignatureFrom`):
- every certificate of the chain: no unhandled critical extension; inside its validity period; if
  it lists extended key usages, one of them is serverAuth or anyExtendedKeyUsage. Linkerd passes
  no KeyUsages, so Go asks for serverAuth alone (`Verify`: "if len(opts.KeyUsages) == 0"); the
  clientAuth its identity controller puts on the leaf certificates it issues (pkg/tls/ca.go
  createTemplate) is not asked of the issuer chain by Go (the proxies' rustls-webpki asks it of
  every certificate below the anchor: pki/linkerd.py `proxy_usage_problem`). Go @0184fe5e tests
  each certificate in `isValid`; later Go (parser.go @db60962b era) filters whole chains with
  `checkChainForKeyUsage`; with the one usage asked for, both accept the same chains;
- the leaf is accepted at once when it is itself one of the roots;
- a parent (root or intermediate) must name the child's issuer exactly, be a CA (a v3 certificate
  without basicConstraints, or basicConstraints CA:FALSE, may not sign), have keyCertSign if it has
  a keyUsage at all, and verify the child's signature with an algorithm Go accepts (not SHA-1/MD5);
- an intermediate must carry basicConstraints CA:TRUE; a pathLenConstraint n allows at most n
  intermediates below the certificate.
Not reproduced: name constraints (Linkerd's issuer carries no names they could apply to), and
RFC 5280 policy processing: a critical policyConstraints, policyMappings or inhibitAnyPolicy
extension, which recent Go parses (crypto/x509/parser.go processExtensions @db60962b) and then
evaluates, is refused here as unhandled (stricter than Linkerd, never more lenient).

`parse_problem` holds what Go's `ParseCertificate` itself refuses (parser.go @db60962b) though
Python's parser loads it; Linkerd then fails to read the PEM at all.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

# Extensions Go parses and so may be critical (crypto/x509/parser.go processExtensions).
_HANDLED = {
    ExtensionOID.KEY_USAGE,
    ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    ExtensionOID.NAME_CONSTRAINTS,
    ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
}
_INSECURE = (hashes.SHA1, hashes.MD5)
_LEAF, _INTERMEDIATE, _ROOT = "leaf", "intermediate", "root"


class ChainError(ValueError):
    """Why Go would refuse the chain (the first reason found)."""


@dataclass(frozen=True)
class _Constraints:
    present: bool
    ca: bool
    path_length: int | None


def _constraints(cert: x509.Certificate) -> _Constraints:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return _Constraints(False, False, None)
    return _Constraints(True, bc.ca, bc.path_length)


def _name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "(empty subject)"


def _check_valid(
    cert: x509.Certificate, kind: str, chain: list[x509.Certificate], now: datetime
) -> None:
    for ext in cert.extensions:
        if ext.critical and ext.oid not in _HANDLED:
            raise ChainError(
                f"{_name(cert)} has an unhandled critical extension {ext.oid.dotted_string}"
            )
    if now < cert.not_valid_before_utc:
        raise ChainError(
            f"{_name(cert)} is not valid before {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
        )
    if now > cert.not_valid_after_utc:
        raise ChainError(f"{_name(cert)} expired on {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}")
    try:
        eku = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        eku = []
    acceptable = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    if eku and not acceptable & set(eku):
        raise ChainError(
            f"{_name(cert)} lists extended key usages without serverAuth or any "
            "(Go verifies Linkerd's chain for serverAuth)"
        )
    bc = _constraints(cert)
    if kind == _INTERMEDIATE and not (bc.present and bc.ca):
        raise ChainError(f"{_name(cert)} is used as an intermediate but is not a CA")
    if bc.present and bc.path_length is not None and len(chain) - 1 > bc.path_length:
        raise ChainError(f"{_name(cert)} allows {bc.path_length} intermediates below it")


def _check_signature_from(child: x509.Certificate, parent: x509.Certificate) -> None:
    bc = _constraints(parent)
    if (parent.version == x509.Version.v3 and not bc.present) or (bc.present and not bc.ca):
        raise ChainError(f"{_name(parent)} is not a CA, so it cannot sign {_name(child)}")
    try:
        usage = parent.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise ChainError(f"{_name(parent)} has a keyUsage without keyCertSign")
    if isinstance(child.signature_hash_algorithm, _INSECURE):
        raise ChainError(f"{_name(child)} is signed with an insecure algorithm Go refuses")
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        raise ChainError(f"{_name(parent)} did not sign {_name(child)}") from None


def parse_problem(cert: x509.Certificate) -> str | None:
    """Why Go's `x509.ParseCertificate` refuses `cert` (parser.go @db60962b), or None."""
    with warnings.catch_warnings():
        # cryptography warns on (and still returns) a negative serial number.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        serial = cert.serial_number
    if serial < 0:
        return "x509: negative serial number"
    for ext in cert.extensions:
        if ext.critical and ext.oid == ExtensionOID.SUBJECT_KEY_IDENTIFIER:
            return "x509: subject key identifier incorrectly marked critical"
        if ext.critical and ext.oid == ExtensionOID.AUTHORITY_INFORMATION_ACCESS:
            return "x509: authority info access incorrectly marked critical"
    return None


def _same(a: x509.Certificate, b: x509.Certificate) -> bool:
    return a.subject == b.subject and a.public_key() == b.public_key()


def verify(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    roots: list[x509.Certificate],
    now: datetime,
) -> list[x509.Certificate]:
    """A chain from `leaf` to one of `roots` that Go accepts; ChainError when there is none."""
    _check_valid(leaf, _LEAF, [], now)
    if any(leaf == root for root in roots):
        return [leaf]
    hint: list[str] = []

    def build(chain: list[x509.Certificate]) -> list[x509.Certificate] | None:
        child = chain[-1]
        candidates = [(_ROOT, r) for r in roots] + [(_INTERMEDIATE, i) for i in intermediates]
        for kind, candidate in candidates:
            if candidate.subject != child.issuer or any(_same(candidate, c) for c in chain):
                continue
            try:
                _check_signature_from(child, candidate)
                _check_valid(candidate, kind, chain, now)
            except ChainError as error:
                hint.append(str(error))
                continue
            if kind == _ROOT:
                return [*chain, candidate]
            found = build([*chain, candidate])
            if found:
                return found
        return None

    found = build([leaf])
    if found is None:
        reason = hint[0] if hint else "no trust anchor or intermediate names it as issuer"
        raise ChainError(f"certificate signed by unknown authority ({reason})")
    return found
