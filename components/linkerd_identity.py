"""Linkerd's identity and webhook certificates, made with pulumi-tls (LinkerdControlPlane's helper).

Renewal. pulumi-tls never re-issues a certificate by itself, `early_renewal_hours` or not
(pulumi/pulumi-tls#39). So the certificates that must be renewed (the identity issuer and the
three webhook serving certificates) carry a *generation* in their resource names:

    generation = floor(hours since the Unix epoch / (validityHours - earlyRenewalHours))

It changes once every `validityHours - earlyRenewalHours` hours, so a certificate issued during
generation g is replaced by the first `pulumi up` after that generation ends, while it still has
at least `earlyRenewalHours` left. Inside a generation every input is the same, so a second
`pulumi up` is a no-op. A new generation means new resource names: Pulumi creates the new key and
certificate, updates the chart and Secrets, then deletes the old ones.

The trust anchors and the issuer they sign are made by components/trust_anchors.py: the anchors
have generations of their own (`cachemesh:linkerd.trustAnchors`,
docs/tasks/rotate-the-trust-anchor.md), and the issuer's names carry this renewal generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pulumi
import pulumi_tls as tls

ALGORITHM = "ECDSA"
# pulumi-tls defaults to P224, which Linkerd rejects: always ask for P-256.
CURVE = "P256"
ANCHOR_USES = ("cert_signing", "crl_signing")
ISSUER_USES = ("cert_signing", "crl_signing")
WEBHOOK_USES = ("digital_signature", "key_encipherment", "server_auth", "cert_signing")


def renewal_generation(now: datetime, validity_hours: int, early_renewal_hours: int) -> int:
    period = validity_hours - early_renewal_hours
    if period <= 0:
        raise ValueError("validity_hours must exceed early_renewal_hours")
    return int(now.timestamp() // 3600) // period


@dataclass(frozen=True)
class Identity:
    trust_anchor_pem: pulumi.Output[str]
    issuer_cert_pem: pulumi.Output[str]
    # Always a secret Output.
    issuer_key_pem: pulumi.Output[str]
    resources: list[pulumi.Resource]


@dataclass(frozen=True)
class ServingCert:
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]  # secret


def secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """pulumi.Output.secret with its type spelt out (mypy cannot infer it from an Output[str])."""
    return pulumi.Output.secret(value)


def _key(name: str, opts: pulumi.ResourceOptions) -> tls.PrivateKey:
    return tls.PrivateKey(name, algorithm=ALGORITHM, ecdsa_curve=CURVE, opts=opts)


def webhook_serving_cert(
    *,
    service: str,
    namespace: str,
    validity_hours: int,
    early_renewal_hours: int,
    generation: int,
    parent: pulumi.Resource,
) -> ServingCert:
    """A self-signed serving certificate for `<service>.<namespace>.svc`; it is its own caBundle,
    as the chart's own genSelfSignedCert certificate is, but stable across renders."""
    child = pulumi.ResourceOptions(parent=parent)
    host = f"{service}.{namespace}.svc"
    key = _key(f"{service}-webhook-key-g{generation}", child)
    cert = tls.SelfSignedCert(
        f"{service}-webhook-g{generation}",
        private_key_pem=secret(key.private_key_pem),
        subject={"common_name": host},
        dns_names=[host],
        is_ca_certificate=True,
        allowed_uses=list(WEBHOOK_USES),
        validity_period_hours=validity_hours,
        early_renewal_hours=early_renewal_hours,
        opts=child,
    )
    # PKCS#8: the policy controller (linkerd-destination's `policy` container) loads
    # linkerd-policy-validator-k8s-tls with kubert's rustls loader, which reads PKCS#8 or PKCS#1
    # keys only (linkerd/linkerd-kubert kubert/src/server/tls_rustls.rs `load_private_key` at
    # kubert/v0.26.0 = cb414ccc, pinned by linkerd2 edge-26.8.1's Cargo.lock), while
    # pulumi-tls's private_key_pem is SEC1 (`EC PRIVATE KEY`) for ECDSA. The Go webhooks read
    # PKCS#8 too.
    return ServingCert(cert_pem=cert.cert_pem, key_pem=secret(key.private_key_pem_pkcs8))
