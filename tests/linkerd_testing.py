"""Helpers for the Linkerd tests: certificates made with `cryptography`, and value walkers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from pki import pem

CONTROL_PLANE = ("kubernetes:helm.sh/v3:Release", "linkerd-control-plane")
CRDS = ("kubernetes:helm.sh/v3:Release", "linkerd-crds")
CONFIG_FILE = ("kubernetes:yaml/v2:ConfigFile", "gateway-api-standard-install")
STATEFULSET = ("kubernetes:apps/v1:StatefulSet", "ignite/ignite")


@dataclass
class Pair:
    cert: x509.Certificate
    key: Any

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def traditional_key_pem(self) -> str:
        """The key as `openssl ecparam -genkey` / `step` write it: `EC PRIVATE KEY` (SEC 1) for EC,
        `RSA PRIVATE KEY` (PKCS#1) for RSA."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()


def make_cert(
    cn: str,
    *,
    signer: Pair | None = None,
    ca: bool = True,
    days: int = 365,
    start_days_ago: int = 1,
    curve: type[ec.EllipticCurve] = ec.SECP256R1,
    rsa_bits: int | None = None,
    hash_algorithm: hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None = None,
    extended_key_usage: list[x509.ObjectIdentifier] | None = None,
    now: dt.datetime | None = None,
    path_length: int | None = None,
    valid: tuple[dt.datetime, dt.datetime] | None = None,
    ca_key_usage: bool = False,
    dns_names: list[str] | None = None,
    key_identifiers: bool = False,
) -> Pair:
    """A certificate for `cn`, self-signed unless `signer` is given. `valid` (notBefore, notAfter)
    replaces the period made of `now`, `start_days_ago` and `days`. `ca_key_usage` adds a critical
    keyUsage of keyCertSign and cRLSign, `dns_names` a subjectAltName, `key_identifiers` the
    subject key identifier (and the authority one when signed by `signer`): the extensions the
    CA certificates of Linkerd's cli/cmd/testdata carry."""
    key: Any = (
        rsa.generate_private_key(65537, rsa_bits) if rsa_bits else ec.generate_private_key(curve())
    )
    now = now or dt.datetime.now(dt.UTC)
    not_before, not_after = valid or (
        now - dt.timedelta(days=start_days_ago),
        now - dt.timedelta(days=start_days_ago) + dt.timedelta(days=days),
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_name = signer.cert.subject if signer else name
    signing_key = signer.key if signer else key
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    )
    if ca_key_usage:
        usage = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        cert = cert.add_extension(usage, critical=True)
    if extended_key_usage:
        cert = cert.add_extension(x509.ExtendedKeyUsage(extended_key_usage), critical=False)
    if dns_names:
        san = x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names])
        cert = cert.add_extension(san, critical=False)
    if key_identifiers:
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = cert.add_extension(ski, critical=False)
        if signer:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key())
            cert = cert.add_extension(aki, critical=False)
    return Pair(cert.sign(signing_key, hash_algorithm or hashes.SHA256()), key)


def byo(
    anchor: Pair | None = None, issuer: Pair | None = None, trust_domain: str = "cluster.local"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain config, secrets) for a bring-your-own identity; the whole `linkerd` object is secret
    as Pulumi makes it when a nested path is set with --secret."""
    anchor = anchor or make_cert(f"root.linkerd.{trust_domain}", days=3650)
    issuer = issuer or make_cert(f"identity.linkerd.{trust_domain}", signer=anchor)
    linkerd = {
        "trustDomain": trust_domain,
        "trustAnchorPem": anchor.cert_pem,
        "issuerCertPem": issuer.cert_pem,
        "issuerKeyPem": issuer.key_pem,
    }
    return {}, {"linkerd": linkerd}


def kubert_load_private_key(pem_text: str) -> Any:
    """What the policy controller accepts as its serving key: kubert v0.26.0
    kubert/src/server/tls_rustls.rs `load_private_key` (linkerd/linkerd-kubert @cb414ccc, pinned by
    linkerd2 edge-26.8.1's Cargo.lock) takes the PKCS#8 (`PRIVATE KEY`) blocks, or if there are
    none the PKCS#1 (`RSA PRIVATE KEY`) blocks, and needs exactly one."""
    blocks, _ = pem.blocks(pem_text)
    keys = [b for b in blocks if b.type == "PRIVATE KEY"] or [
        b for b in blocks if b.type == "RSA PRIVATE KEY"
    ]
    if not keys:
        raise ValueError("could not load private key")
    if len(keys) > 1:
        raise ValueError("too many private keys")
    return serialization.load_der_private_key(keys[0].der, password=None)


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, leaf) of a nested dict/list, in harness secret-path notation."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, value


def key_paths(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Helm value keys (a.b.c) of a values object, every level."""
    for k, v in values.items():
        path = f"{prefix}.{k}" if prefix else k
        yield path
        if isinstance(v, dict):
            yield from key_paths(v, path)


def is_secret_path(path: str, secret_paths: set[str]) -> bool:
    return any(path == s or path.startswith((f"{s}.", f"{s}[")) for s in secret_paths)
