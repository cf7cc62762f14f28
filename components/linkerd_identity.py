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

The trust anchor has no generation: it is protected, and only `cachemesh:linkerd.rotateTrustAnchor`
lifts the protection (see README.md, "Rotating the trust anchor").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pulumi
import pulumi_tls as tls

from pki.linkerd import issuer_name, trust_anchor_name

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


def _secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """pulumi.Output.secret with its type spelt out (mypy cannot infer it from an Output[str])."""
    return pulumi.Output.secret(value)


def _key(name: str, opts: pulumi.ResourceOptions) -> tls.PrivateKey:
    return tls.PrivateKey(name, algorithm=ALGORITHM, ecdsa_curve=CURVE, opts=opts)


def generated_identity(
    *,
    trust_domain: str,
    anchor_validity_hours: int,
    validity_hours: int,
    early_renewal_hours: int,
    generation: int,
    protect_anchor: bool,
    parent: pulumi.Resource,
) -> Identity:
    """Trust anchor (root CA, protected) -> issuer (intermediate CA of this generation)."""
    child = pulumi.ResourceOptions(parent=parent)
    anchor_opts = pulumi.ResourceOptions(parent=parent, protect=protect_anchor)
    anchor_key = _key("linkerd-trust-anchor-key", anchor_opts)
    anchor = tls.SelfSignedCert(
        "linkerd-trust-anchor",
        private_key_pem=pulumi.Output.secret(anchor_key.private_key_pem),
        subject={"common_name": trust_anchor_name(trust_domain)},
        is_ca_certificate=True,
        set_subject_key_id=True,
        allowed_uses=list(ANCHOR_USES),
        validity_period_hours=anchor_validity_hours,
        opts=anchor_opts,
    )
    issuer_key = _key(f"linkerd-issuer-key-g{generation}", child)
    request = tls.CertRequest(
        f"linkerd-issuer-csr-g{generation}",
        private_key_pem=pulumi.Output.secret(issuer_key.private_key_pem),
        subject={"common_name": issuer_name(trust_domain)},
        opts=child,
    )
    issuer = tls.LocallySignedCert(
        f"linkerd-issuer-g{generation}",
        cert_request_pem=request.cert_request_pem,
        ca_cert_pem=anchor.cert_pem,
        ca_private_key_pem=pulumi.Output.secret(anchor_key.private_key_pem),
        is_ca_certificate=True,
        set_subject_key_id=True,
        # No pathLenConstraint: pulumi-tls cannot emit pathLen 0. Its max_path_length=0 only sets
        # Go's MaxPathLen, never MaxPathLenZero, and Go's CreateCertificate writes 0 without
        # MaxPathLenZero as "no limit" (hashicorp/terraform-provider-tls
        # internal/provider/common_cert.go @d72d90e1, which pulumi-tls bridges). Linkerd's own
        # issuer is made with pathLen 0 (linkerd2 pkg/tls/ca.go GenerateCA sets MaxPathLenZero);
        # here the limit is what the identity controller does: it issues only end-entity
        # certificates (pkg/tls/ca.go IssueEndEntityCrt).
        allowed_uses=list(ISSUER_USES),
        validity_period_hours=validity_hours,
        # Recorded for pulumi-tls's `ready_for_renewal`; the generation does the actual renewal.
        early_renewal_hours=early_renewal_hours,
        opts=child,
    )
    return Identity(
        trust_anchor_pem=anchor.cert_pem,
        issuer_cert_pem=issuer.cert_pem,
        issuer_key_pem=pulumi.Output.secret(issuer_key.private_key_pem),
        resources=[anchor_key, anchor, issuer_key, request, issuer],
    )


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
        private_key_pem=_secret(key.private_key_pem),
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
    return ServingCert(cert_pem=cert.cert_pem, key_pem=_secret(key.private_key_pem_pkcs8))
