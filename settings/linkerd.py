"""Settings of the mesh: `cachemesh:gatewayApi` and `cachemesh:linkerd`.

Linkerd's Helm chart versions and the Gateway API release each needs are kept as data here
(LINKERD_CHARTS); README.md explains where the pairing comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from pki import linkerd as linkerd_pki
from pki.linkerd import CertificateProblem, read_certificates, read_private_key
from pki.trust_rotation import AnchorPlan, plan_problems
from settings.base import DnsSubdomain, SettingsModel

LINKERD_HELM_REPO = "https://helm.linkerd.io/edge"
GATEWAY_API_RELEASE_URL = (
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/{version}"
    "/standard-install.yaml"
)
# Chart version (both linkerd-crds and linkerd-control-plane) -> Gateway API release it pins.
# Source: linkerd/linkerd2 at each edge-YY.M.N tag (chart YYYY.M.N, bin/compute-edge-version):
# testutil/test_helper.go GATEWAY_API_VERSION, and from edge-26.7.1 the version the CLI tells users
# to install (pkg/healthcheck/healthcheck.go GatewayAPICRDsMissingError).
LINKERD_CHARTS: dict[str, str] = {
    **{v: "v1.2.0" for v in ("2026.1.1", "2026.1.2", "2026.1.3", "2026.1.4", "2026.2.1")},
    **{v: "v1.2.0" for v in ("2026.3.1", "2026.3.2", "2026.3.3")},
    **{v: "v1.2.0" for v in ("2026.4.1", "2026.4.2", "2026.4.3", "2026.4.4")},
    **{v: "v1.2.1" for v in ("2026.5.1", "2026.5.2", "2026.5.3", "2026.5.4", "2026.5.5")},
    **{v: "v1.2.1" for v in ("2026.6.1", "2026.6.2", "2026.6.3", "2026.7.1", "2026.7.2")},
    "2026.8.1": "v1.2.1",
    "2026.8.2": "v1.5.1",
    "2026.8.3": "v1.5.1",
}
DEFAULT_LINKERD_VERSION = "2026.8.1"
# Chart versions whose `linkerd2-cni` chart (same edge repository, same version) cachemesh runs with
# `linkerd.cni: true`. Checked at each edge-YY.M.N tag of linkerd/linkerd2: charts/linkerd2-cni
# exists, bin/compute-edge-version sets every Chart.yaml (linkerd2-cni included) to the release's
# chart version, bin/helm-build packages charts/linkerd2-cni into https://helm.linkerd.io/edge, and
# the values cachemesh sends exist (linkerd2-cni `repairController.enabled`, linkerd-control-plane
# `cniEnabled`). A version added to LINKERD_CHARTS is not CNI-capable until checked and added here.
LINKERD_CNI_CHARTS: frozenset[str] = frozenset(LINKERD_CHARTS)
# Linkerd refuses older Gateway API CRDs: "please upgrade to Gateway API v1.1.1 or later"
# (pkg/healthcheck/healthcheck.go CheckGatewayAPICRDs).
MIN_GATEWAY_API = (1, 1, 1)

_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
_CHART_VERSION = re.compile(r"^\d{4}\.\d{1,2}\.\d+$")


def gateway_api_tuple(version: str) -> tuple[int, int, int]:
    match = _VERSION.match(version)
    if match is None:
        raise ValueError(version)
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def _is_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


class GatewayApiSettings(SettingsModel):
    install: bool = Field(
        default=True,
        description="Install the Gateway API CRDs; false where the platform manages them (GKE, "
        "some AKS).",
    )
    version: str = Field(
        default="v1.2.1",
        description="Gateway API release tag vX.Y.Z (at least v1.1.1), paired with "
        "linkerd.version.",
    )
    # A local file or URL of standard-install.yaml, for air-gapped clusters.
    manifest: str | None = Field(
        default=None,
        description="A local standard-install.yaml (relative to the project directory) or an "
        "http(s) URL, for clusters without internet access; unset: the release's URL.",
    )

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(
                f"{value!r} is not a Gateway API release tag: write it as vMAJOR.MINOR.PATCH, "
                "for example v1.2.1"
            )
        if gateway_api_tuple(value) < MIN_GATEWAY_API:
            raise ValueError(
                f"{value} is too old: Linkerd needs Gateway API v1.1.1 or later (use v1.2.1)"
            )
        return value

    @field_validator("manifest")
    @classmethod
    def _manifest(cls, value: str | None) -> str | None:
        if value is None or _is_url(value):
            return value
        if not Path(value).is_file():
            raise ValueError(
                f"{value!r} is neither an http(s) URL nor an existing file (relative paths are "
                "read from the project directory); download standard-install.yaml there"
            )
        return value

    @property
    def source(self) -> str:
        """Where the CRDs come from: the manifest, else the pinned release URL."""
        return self.manifest or GATEWAY_API_RELEASE_URL.format(version=self.version)


class CertificateSettings(SettingsModel):
    # The identity issuer (and the webhook serving certificates): re-issued by `pulumi up` once
    # fewer than earlyRenewalHours are left (see components/linkerd_identity.py).
    validity_hours: int = Field(
        default=8760, ge=48, description="Lifetime of the issuer and webhook certificates."
    )
    early_renewal_hours: int = Field(
        default=1440,
        ge=0,
        description="Re-issue a certificate when fewer hours are left; at least 24 below "
        "validityHours.",
    )
    # The trust anchors: long-lived; the signing one is protected (see trustAnchors).
    trust_anchor_validity_hours: int = Field(
        default=87600,
        ge=8760,
        description="Lifetime of the generated trust anchor (changing it would replace the "
        "anchor: protected).",
    )


def _pem_certificates(value: str | None) -> str | None:
    """Certificates as Linkerd reads them; the chart gets their blocks alone, trimmed."""
    if value is None:
        return None
    try:
        return linkerd_pki.canonical_certificates(value)
    except CertificateProblem as exc:
        raise ValueError(str(exc)) from None


class TrustAnchorSettings(SettingsModel):
    """`cachemesh:linkerd.trustAnchors`: numbered anchor generations of the generated identity.
    A rotation is three `pulumi up`s (README.md "Rotating the trust anchor")."""

    signing: int = Field(
        default=1,
        ge=1,
        description="The anchor generation that signs the issuer; must be in trusted.",
    )
    trusted: tuple[int, ...] = Field(
        default=(1,),
        min_length=1,
        max_length=2,
        description="The anchor generations in the trust bundle: one, or two consecutive ones "
        "during a rotation (generated identity only).",
    )

    @field_validator("trusted")
    @classmethod
    def _generations(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(g < 1 for g in value):
            raise ValueError("anchor generations are numbered from 1")
        return value

    @property
    def plan(self) -> AnchorPlan:
        return AnchorPlan(signing=self.signing, trusted=self.trusted)


class LinkerdSettings(SettingsModel):
    enabled: bool = Field(
        default=True,
        description="Install Linkerd. false: no Linkerd, no Gateway API CRDs, caches unmeshed "
        "(with a loud warning).",
    )
    version: str = Field(
        default=DEFAULT_LINKERD_VERSION,
        description="Edge Helm chart version (YYYY.M.N) of linkerd-crds and "
        "linkerd-control-plane; one of the versions whose Gateway API pairing cachemesh knows.",
    )
    trust_domain: DnsSubdomain = Field(
        default="cluster.local",
        description="The mesh's trust domain: the identities' suffix and the certificates' names.",
    )
    certificates: CertificateSettings = Field(
        default=CertificateSettings(),
        description="Lifetimes of the certificates cachemesh generates.",
    )
    # Bring your own identity (all three or none); the key must be set with --secret.
    trust_anchor_pem: str | None = Field(
        default=None,
        description="Bring your own identity: the trust anchor(s), PEM (may be a bundle). Set "
        "with issuerCertPem and issuerKeyPem, or not at all.",
    )
    issuer_cert_pem: str | None = Field(
        default=None,
        description="Bring your own identity: the issuer certificate, PEM (intermediates may "
        "follow it).",
    )
    issuer_key_pem: SecretStr | None = Field(
        default=None,
        description="Bring your own identity: the issuer's private key, PEM. Must be a secret "
        "(`pulumi config set --secret --path linkerd.issuerKeyPem < issuer.key`).",
    )
    # The generated identity's anchors: which generation signs, which are trusted.
    trust_anchors: TrustAnchorSettings = Field(
        default=TrustAnchorSettings(),
        description="Numbered generations of the generated trust anchor; a rotation is three "
        "`pulumi up`s.",
    )
    # Removed (replaced by trustAnchors); kept only to refuse it with a clear message.
    rotate_trust_anchor: bool | None = Field(
        default=None,
        description="Removed: refused with the commands that use trustAnchors instead.",
    )
    # Install the Linkerd CNI plugin (chart linkerd2-cni) and run the control plane with
    # cniEnabled: no linkerd-init container in meshed pods (README.md "The CNI plugin").
    cni: bool = Field(
        default=False,
        description="Install the linkerd2-cni chart (namespace linkerd-cni) before the control "
        "plane and run Linkerd with cniEnabled.",
    )

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _CHART_VERSION.match(value):
            raise ValueError(
                f"{value!r} is not a Linkerd edge Helm chart version: write YYYY.M.N, for "
                f"example {DEFAULT_LINKERD_VERSION} (release edge-26.8.1)"
            )
        if value not in LINKERD_CHARTS:
            raise ValueError(
                f"{value} is not a chart version cachemesh knows the Gateway API pairing of "
                f"(known: {', '.join(LINKERD_CHARTS)}); add it to LINKERD_CHARTS in "
                "settings/linkerd.py with the Gateway API version its release notes name"
            )
        return value

    @field_validator("trust_anchor_pem", "issuer_cert_pem")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        return _pem_certificates(value)

    @field_validator("issuer_key_pem")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        """The key block alone, as Linkerd reads it (a leading EC PARAMETERS block dropped)."""
        if value is None:
            return None
        try:
            return SecretStr(read_private_key(value.get_secret_value()).pem)
        except CertificateProblem as exc:
            raise ValueError(str(exc)) from None

    @property
    def bring_your_own(self) -> bool:
        return self.trust_anchor_pem is not None

    @property
    def gateway_api_version(self) -> str:
        return LINKERD_CHARTS[self.version]


def linkerd_problems(
    linkerd: LinkerdSettings,
    gateway_api: GatewayApiSettings,
    secret_keys: Collection[str],
    full_key: Callable[[tuple[str, ...]], str],
) -> list[str]:
    """Rules across `cachemesh:linkerd` and `cachemesh:gatewayApi` keys (each key is valid)."""
    problems: list[str] = []
    certs = linkerd.certificates

    def key(*parts: str) -> str:
        return full_key(("linkerd", *parts))

    if certs.validity_hours - certs.early_renewal_hours < 24:
        problems.append(
            f"{key('certificates', 'earlyRenewalHours')}: must be at least 24 hours less than "
            f"{key('certificates', 'validityHours')} ({certs.validity_hours}), or the issuer "
            "would be re-issued on every run. Fix with: pulumi config set --path "
            "'linkerd.certificates.earlyRenewalHours' 1440"
        )
    problems += trust_anchor_problems(linkerd, key)
    if not linkerd.enabled:
        if linkerd.cni:
            problems.append(
                f"{key('cni')}: is true but {key('enabled')} is false, and the CNI plugin is part "
                "of the Linkerd install. Fix with: pulumi config set --path linkerd.cni false "
                "(or enable Linkerd again)"
            )
        return problems

    if linkerd.cni and linkerd.version not in LINKERD_CNI_CHARTS:
        supported = sorted(LINKERD_CNI_CHARTS, key=lambda v: tuple(int(p) for p in v.split(".")))
        to = DEFAULT_LINKERD_VERSION
        if supported and to not in supported:
            to = supported[-1]
        problems.append(
            f"{key('cni')}: the Linkerd CNI plugin is not supported with {key('version')} "
            f"{linkerd.version}: cachemesh has not checked that chart linkerd2-cni "
            f"{linkerd.version} is published and takes the values it sends (supported: "
            f"{', '.join(supported)}). Fix with: pulumi config set --path linkerd.version {to} "
            f"and pulumi config set --path gatewayApi.version {LINKERD_CHARTS[to]}, or turn the "
            "plugin off with: pulumi config set --path linkerd.cni false"
        )

    byo = {
        "trustAnchorPem": linkerd.trust_anchor_pem,
        "issuerCertPem": linkerd.issuer_cert_pem,
        "issuerKeyPem": linkerd.issuer_key_pem,
    }
    given = [k for k, v in byo.items() if v is not None]
    if given and len(given) != len(byo):
        missing = [k for k in byo if k not in given]
        problems.append(
            f"{key(missing[0])}: bring-your-own identity needs trustAnchorPem, issuerCertPem and "
            f"issuerKeyPem together; {', '.join(given)} set but {', '.join(missing)} not. "
            "Set the rest (the key with --secret) or remove all three to let cachemesh make them"
        )
    elif given:
        assert linkerd.trust_anchor_pem and linkerd.issuer_cert_pem and linkerd.issuer_key_pem
        if "cachemesh:linkerd" not in secret_keys:
            problems.append(
                f"{key('issuerKeyPem')}: is stored in plain text in the stack file. Store it "
                "encrypted with: pulumi config set --secret --path linkerd.issuerKeyPem "
                "< issuer.key"
            )
        problems.extend(
            f"{key(field)}: {problem}. Linkerd would refuse this identity (README.md, 'Bring "
            "your own'); fix the certificates, or remove all three keys to let cachemesh make them"
            for field, problem in linkerd_pki.start_up_problems(
                read_certificates(linkerd.trust_anchor_pem),
                read_certificates(linkerd.issuer_cert_pem),
                read_private_key(linkerd.issuer_key_pem.get_secret_value()).key,
                linkerd_pki.utc_now(),
            )
        )

    if gateway_api.install and gateway_api.manifest is None:
        wanted = linkerd.gateway_api_version
        have = gateway_api_tuple(gateway_api.version)
        # Older is refused; a newer patch of the same minor is fine; a newer minor is not
        # (Linkerd needed code changes to support Gateway API 1.5).
        if have < gateway_api_tuple(wanted) or have[:2] != gateway_api_tuple(wanted)[:2]:
            problems.append(
                f"{full_key(('gatewayApi', 'version'))}: {gateway_api.version} does not match "
                f"{wanted}, the Gateway API release Linkerd chart {linkerd.version} is built and "
                f"tested with. Fix with: pulumi config set --path gatewayApi.version {wanted} "
                "(or pick the Linkerd version paired with yours in README.md)"
            )
    return problems


def trust_anchor_problems(linkerd: LinkerdSettings, key: Callable[..., str]) -> list[str]:
    """`rotateTrustAnchor` is gone; `trustAnchors` is for the generated identity and must be a
    valid rotation state on its own (whether it is one step from the deployed state is checked
    against the previous deployment: components/trust_anchors.py)."""
    problems: list[str] = []
    if linkerd.rotate_trust_anchor is not None:
        problems.append(
            f"{key('rotateTrustAnchor')}: was removed. The trust anchor is now rotated without "
            f"downtime in three `pulumi up` steps with {key('trustAnchors')} (README.md "
            "'Rotating the trust anchor'). Remove it with: pulumi config rm --path "
            "linkerd.rotateTrustAnchor; then, to start a rotation from anchor 1 to anchor 2: "
            "pulumi config set --path linkerd.trustAnchors.signing 1; pulumi config set --path "
            "'linkerd.trustAnchors.trusted[0]' 1; pulumi config set --path "
            "'linkerd.trustAnchors.trusted[1]' 2"
        )
    if "trust_anchors" in linkerd.model_fields_set and linkerd.bring_your_own:
        problems.append(
            f"{key('trustAnchors')}: numbers the anchors cachemesh generates, but "
            f"{key('trustAnchorPem')} brings your own. Rotate your own anchor by putting the "
            "bundle in trustAnchorPem (README.md 'Rotating the trust anchor', bring-your-own), "
            "and remove this key: pulumi config rm --path linkerd.trustAnchors"
        )
    elif not linkerd.bring_your_own:
        problems += plan_problems(linkerd.trust_anchors.plan)
    return problems
