"""Fake pulumi-tls provider for the mock engine: returns REAL keys and certificates made with
`cryptography` from the resource's inputs, so the program's certificate checks run for real.

Importing this module registers the fakers in `harness.OUTPUT_FAKERS`. Issuance uses
`pki.linkerd.utc_now()` at call time, so a test that moves the program's clock moves
the certificates' validity with it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import harness
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pulumi.runtime.mocks import MockResourceArgs

from pki import linkerd as linkerd_pki

CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "P224": ec.SECP224R1,
    "P256": ec.SECP256R1,
    "P384": ec.SECP384R1,
    "P521": ec.SECP521R1,
}
# Arguments of the generated keys, by resource name, for tests that inspect them.
ISSUED: dict[str, dict[str, Any]] = {}


def _inputs(args: MockResourceArgs) -> dict[str, Any]:
    """The inputs with secret wrappers removed (the mock engine passes them through)."""
    return harness._strip_secrets(dict(args.inputs))


def _pem_key(key: Any) -> str:
    """`private_key_pem` as pulumi-tls writes it (hashicorp/terraform-provider-tls
    internal/provider/resource_private_key.go @d72d90e1, which pulumi-tls bridges): RSA as PKCS#1
    (`RSA PRIVATE KEY`, x509.MarshalPKCS1PrivateKey), ECDSA as SEC1 (`EC PRIVATE KEY`,
    x509.MarshalECPrivateKey), ED25519 as PKCS#8 (`PRIVATE KEY`)."""
    fmt = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def _pem_key_pkcs8(key: Any) -> str:
    """`private_key_pem_pkcs8`: PKCS#8 (`PRIVATE KEY`) for every algorithm (same file,
    prvKeyToPKCS8PEMBlock, x509.MarshalPKCS8PrivateKey)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def issuance_time() -> dt.datetime:
    """When a certificate is issued: the program's clock. A test that runs the program again
    "with pulumi-tls's state" pins it to the first run, so the same certificates come back."""
    return linkerd_pki.utc_now()


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def fake_private_key(args: MockResourceArgs) -> dict[str, Any]:
    inputs = _inputs(args)
    algorithm = inputs.get("algorithm", "RSA")
    if algorithm == "ECDSA":
        key: Any = ec.generate_private_key(CURVES[inputs.get("ecdsaCurve", "P224")]())
    elif algorithm == "ED25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = rsa.generate_private_key(65537, int(inputs.get("rsaBits", 2048)))
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "privateKeyPem": _pem_key(key),
        "privateKeyPemPkcs8": _pem_key_pkcs8(key),
        "publicKeyPem": public.decode(),
    }


def _name(subject: dict[str, Any] | None) -> x509.Name:
    cn = (subject or {}).get("commonName")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])


_KEY_USAGES = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
}


def _build(
    inputs: dict[str, Any],
    subject: x509.Name,
    public_key: Any,
    issuer: x509.Name,
    signing_key: Any,
    issuer_public_key: Any,
) -> dict[str, Any]:
    now = issuance_time().replace(microsecond=0)
    not_after = now + dt.timedelta(hours=int(inputs["validityPeriodHours"]))
    uses = set(inputs.get("allowedUses") or [])
    is_ca = bool(inputs.get("isCaCertificate"))
    # Go's x509.CreateCertificate writes MaxPathLen 0 as "no limit" unless MaxPathLenZero is set,
    # which terraform-provider-tls never sets (common_cert.go @d72d90e1): max_path_length=0 makes
    # no pathLenConstraint, a positive value makes that constraint.
    path_length = inputs.get("maxPathLength")
    path_length = int(path_length) if is_ca and path_length else None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=is_ca, path_length=path_length),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(
                **{flag: use in uses for use, flag in _KEY_USAGES.items()},
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), critical=False
        )
    )
    if "server_auth" in uses:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if inputs.get("dnsNames"):
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in inputs["dnsNames"]]),
            critical=False,
        )
    if inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
        )
    cert = builder.sign(signing_key, hashes.SHA256())
    return {
        "certPem": _pem_cert(cert),
        "validityStartTime": now.isoformat().replace("+00:00", "Z"),
        "validityEndTime": not_after.isoformat().replace("+00:00", "Z"),
        "readyForRenewal": False,
    }


def _load_key(pem: str) -> Any:
    return serialization.load_pem_private_key(pem.encode(), password=None)


def fake_self_signed_cert(args: MockResourceArgs) -> dict[str, Any]:
    inputs = _inputs(args)
    key = _load_key(inputs["privateKeyPem"])
    name = _name(inputs.get("subject"))
    out = _build(inputs, name, key.public_key(), name, key, key.public_key())
    ISSUED[args.name] = inputs
    return out


def fake_cert_request(args: MockResourceArgs) -> dict[str, Any]:
    inputs = _inputs(args)
    key = _load_key(inputs["privateKeyPem"])
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(inputs.get("subject")))
        .sign(key, hashes.SHA256())
    )
    return {"certRequestPem": csr.public_bytes(serialization.Encoding.PEM).decode()}


def fake_locally_signed_cert(args: MockResourceArgs) -> dict[str, Any]:
    inputs = _inputs(args)
    csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
    ca_cert = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
    ca_key = _load_key(inputs["caPrivateKeyPem"])
    out = _build(
        inputs, csr.subject, csr.public_key(), ca_cert.subject, ca_key, ca_key.public_key()
    )
    ISSUED[args.name] = inputs
    return out


# pulumi-tls keeps what it created in the stack's state: a later `pulumi up` whose inputs for a
# resource are unchanged has no diff, so the same key and certificate come back. A test that runs
# the program twice "against one stack" sets STATE = {} (and back to None after); each faker then
# answers a resource whose name and inputs it has seen with the outputs it gave then.
STATE: dict[tuple[str, str, str], dict[str, Any]] | None = None


def _stateful(
    type_: str, faker: Callable[[MockResourceArgs], dict[str, Any]]
) -> Callable[[MockResourceArgs], dict[str, Any]]:
    def fake(args: MockResourceArgs) -> dict[str, Any]:
        if STATE is None:
            return faker(args)
        key = (type_, args.name, json.dumps(_inputs(args), sort_keys=True, default=str))
        if key not in STATE:
            STATE[key] = faker(args)
        return STATE[key]

    return fake


FAKERS = {
    type_: _stateful(type_, faker)
    for type_, faker in {
        "tls:index/privateKey:PrivateKey": fake_private_key,
        "tls:index/selfSignedCert:SelfSignedCert": fake_self_signed_cert,
        "tls:index/certRequest:CertRequest": fake_cert_request,
        "tls:index/locallySignedCert:LocallySignedCert": fake_locally_signed_cert,
    }.items()
}
harness.OUTPUT_FAKERS.update(FAKERS)
