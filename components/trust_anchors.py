"""The generated identity's trust anchors, one per generation, and the issuer signed by the
signing one (LinkerdControlPlane's helper); the trust bundle handed to the chart and its hash;
the annotation that restarts the caches at each rotation step; and the refusal of a
configuration that skips a step, read against the stack's own previous deployment.

Names. Anchor generation 1 keeps the names the program always used (`linkerd-trust-anchor-key`,
`linkerd-trust-anchor`); generation g > 1 is `linkerd-trust-anchor-key-a<g>`,
`linkerd-trust-anchor-a<g>`. The issuer keeps its renewal generation N
(components/linkerd_identity.py): `linkerd-issuer-g<N>` while anchor 1 signs, and
`linkerd-issuer-a<s>-g<N>` while anchor s > 1 signs, so a change of signer is a new issuer
generation: Pulumi creates the new key and certificate, updates the chart, then deletes the old.

Protection. The signing anchor is protected; an anchor that is only trusted is not, so the last
step of a rotation can delete the old anchor, while deleting the signing anchor in one jump is
refused by the engine (and by the step check below, before anything is registered).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_tls as tls
from cryptography.hazmat.primitives import serialization

from components.linkerd_identity import (
    ALGORITHM,
    ANCHOR_USES,
    CURVE,
    ISSUER_USES,
    Identity,
    secret,
)
from components.previous_deployment import previous_identity
from pki.linkerd import issuer_name, read_certificates, signed_by, trust_anchor_name
from pki.trust_rotation import (
    AnchorPlan,
    bundle_sha256,
    byo_restart_annotations,
    chart_bundle,
    generated_restart_annotations,
    previous_plan,
    rotation_status,
    step_problem,
)
from settings.linkerd import LinkerdSettings
from settings.loader import SettingsError


def private_key(name: str, opts: pulumi.ResourceOptions) -> tls.PrivateKey:
    return tls.PrivateKey(name, algorithm=ALGORITHM, ecdsa_curve=CURVE, opts=opts)


def anchor_resource_names(generation: int) -> tuple[str, str]:
    """(key, certificate) resource names of an anchor generation."""
    if generation == 1:
        return "linkerd-trust-anchor-key", "linkerd-trust-anchor"
    return f"linkerd-trust-anchor-key-a{generation}", f"linkerd-trust-anchor-a{generation}"


def issuer_suffix(signer: int, renewal_generation: int) -> str:
    return f"g{renewal_generation}" if signer == 1 else f"a{signer}-g{renewal_generation}"


@dataclass(frozen=True)
class GeneratedIdentity:
    identity: Identity
    # Anchor generation -> its certificate PEM, for the `linkerdIdentity.anchors` output.
    anchor_pems: dict[int, pulumi.Output[str]]


def generated_identity(
    *,
    trust_domain: str,
    plan: AnchorPlan,
    anchor_validity_hours: int,
    validity_hours: int,
    early_renewal_hours: int,
    generation: int,
    parent: pulumi.Resource,
) -> GeneratedIdentity:
    """Every trusted anchor (root CA) -> the issuer (intermediate CA of this renewal generation),
    signed by the signing anchor. The bundle is the trusted anchors, oldest first."""
    child = pulumi.ResourceOptions(parent=parent)
    certs: dict[int, tls.SelfSignedCert] = {}
    keys: dict[int, tls.PrivateKey] = {}
    resources: list[pulumi.Resource] = []
    for g in plan.generations:
        opts = pulumi.ResourceOptions(parent=parent, protect=g == plan.signing)
        key_name, cert_name = anchor_resource_names(g)
        keys[g] = private_key(key_name, opts)
        certs[g] = tls.SelfSignedCert(
            cert_name,
            private_key_pem=secret(keys[g].private_key_pem),
            # Every generation has the name Linkerd's docs give anchors; chains are told apart by
            # key (the issuer carries the signer's key id).
            subject={"common_name": trust_anchor_name(trust_domain)},
            is_ca_certificate=True,
            set_subject_key_id=True,
            allowed_uses=list(ANCHOR_USES),
            validity_period_hours=anchor_validity_hours,
            opts=opts,
        )
        resources += [keys[g], certs[g]]

    suffix = issuer_suffix(plan.signing, generation)
    issuer_key = private_key(f"linkerd-issuer-key-{suffix}", child)
    request = tls.CertRequest(
        f"linkerd-issuer-csr-{suffix}",
        private_key_pem=secret(issuer_key.private_key_pem),
        subject={"common_name": issuer_name(trust_domain)},
        opts=child,
    )
    issuer = tls.LocallySignedCert(
        f"linkerd-issuer-{suffix}",
        cert_request_pem=request.cert_request_pem,
        ca_cert_pem=certs[plan.signing].cert_pem,
        ca_private_key_pem=secret(keys[plan.signing].private_key_pem),
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
    resources += [issuer_key, request, issuer]
    pems = {g: c.cert_pem for g, c in certs.items()}
    # No certificate yet (a preview) means no bundle yet, never a partial one.
    bundle: pulumi.Output[str] = pulumi.Output.all(*pems.values()).apply(
        lambda ps: chart_bundle(ps) if all(ps) else cast(str, None)
    )
    return GeneratedIdentity(
        identity=Identity(
            trust_anchor_pem=bundle,
            issuer_cert_pem=issuer.cert_pem,
            issuer_key_pem=secret(issuer_key.private_key_pem),
            resources=resources,
        ),
        anchor_pems=pems,
    )


def chart_trust_anchors(identity: Identity) -> pulumi.Output[str]:
    """`identityTrustAnchorsPEM`: the bundle without surrounding whitespace (chart_bundle)."""
    return pulumi.Output.from_input(identity.trust_anchor_pem).apply(
        lambda p: chart_bundle([p]) if p else p
    )


def trust_roots_sha256(identity: Identity) -> pulumi.Output[str]:
    """What `linkerd.io/trust-root-sha256` says on every pod that runs with the current bundle."""
    return chart_trust_anchors(identity).apply(lambda b: bundle_sha256(b) if b else b)


def _not_after(pem: str) -> str:
    return read_certificates(pem)[0].not_valid_after_utc.isoformat()


def anchors_output(
    anchor_pems: Mapping[int, str] | None, bundle_pem: str | None, issuer_pem: str | None
) -> list[dict[str, Any]]:
    """`linkerdIdentity.anchors`: every trusted anchor with its expiry and whether it signed the
    issuer (checked on the certificates). Generated anchors carry their generation; the anchors
    of a bring-your-own bundle carry their SHA-256 fingerprint instead."""
    if not issuer_pem:
        return []
    # The top of issuerCertPem: the issuer, or the last intermediate above it.
    issuer = read_certificates(issuer_pem)[-1]
    out: list[dict[str, Any]] = []
    if anchor_pems is not None:
        for g, pem in sorted(anchor_pems.items()):
            cert = read_certificates(pem)[0]
            out.append(
                {
                    "generation": g,
                    "notAfter": _not_after(pem),
                    "signing": signed_by(issuer, cert),
                }
            )
        return out
    for cert in read_certificates(bundle_pem or ""):
        der = cert.public_bytes(serialization.Encoding.DER)
        out.append(
            {
                "generation": None,
                "sha256Fingerprint": hashlib.sha256(der).hexdigest(),
                "notAfter": cert.not_valid_after_utc.isoformat(),
                "signing": signed_by(issuer, cert),
            }
        )
    return out


def identity_extras(
    cfg: LinkerdSettings,
    identity: Identity,
    anchor_pems: Mapping[int, pulumi.Output[str]] | None,
) -> pulumi.Output[dict[str, Any]]:
    """The rotation keys of `linkerdIdentity`: `anchors`, `rotation`, `trustRootsSha256`."""
    gens = sorted(anchor_pems or {})
    pems = [anchor_pems[g] for g in gens] if anchor_pems else []

    def build(values: list[Any]) -> dict[str, Any]:
        bundle, issuer, sha, *anchor_values = values
        by_gen = dict(zip(gens, anchor_values, strict=True)) if anchor_pems else None
        extras: dict[str, Any] = {
            "anchors": anchors_output(by_gen, bundle, issuer),
            "trustRootsSha256": sha,
        }
        if not cfg.bring_your_own:
            explicit = trusted_is_configured(cfg)
            extras["rotation"] = rotation_status(cfg.trust_anchors.plan, explicit)
        return extras

    return pulumi.Output.all(
        chart_trust_anchors(identity),
        identity.issuer_cert_pem,
        trust_roots_sha256(identity),
        *pems,
    ).apply(build)


def cache_restart_annotations(cfg: LinkerdSettings) -> dict[str, str]:
    """Pod template annotations (MeshedCacheArgs.restart_annotations) that change at every
    rotation step, so each step restarts the caches through their one restart path. None with
    the cluster's existing Linkerd: its rotation is the platform team's."""
    if not cfg.enabled or cfg.existing:
        return {}
    if not cfg.bring_your_own:
        return generated_restart_annotations(cfg.trust_anchors.plan)
    assert cfg.trust_anchor_pem and cfg.issuer_cert_pem
    issuer = read_certificates(cfg.issuer_cert_pem)[-1]
    anchors = read_certificates(cfg.trust_anchor_pem)
    signer = next((a for a in anchors if signed_by(issuer, a)), anchors[0])
    der = signer.public_bytes(serialization.Encoding.DER)
    return byo_restart_annotations(cfg.trust_anchor_pem, hashlib.sha256(der).hexdigest())


def trusted_is_configured(cfg: LinkerdSettings) -> bool:
    """Whether the stack file holds `linkerd.trustAnchors.trusted`, so the printed commands may
    edit that list in place (pki/trust_rotation.py commands_to)."""
    return "trust_anchors" in cfg.model_fields_set and (
        "trusted" in cfg.trust_anchors.model_fields_set
    )


def check_rotation_step(cfg: LinkerdSettings, deployed: Mapping[str, Any]) -> None:
    """Refuse a generated-identity configuration that is not one step from the deployed one
    (`deployed`: the stack outputs of the last deployment, components/previous_deployment.py)."""
    if not cfg.enabled or cfg.bring_your_own or cfg.existing:
        return
    previous = previous_plan(previous_identity(deployed))
    if previous is None:
        return
    explicit = trusted_is_configured(cfg)
    problem = step_problem(previous, cfg.trust_anchors.plan, explicit)
    if problem:
        raise SettingsError([problem])
