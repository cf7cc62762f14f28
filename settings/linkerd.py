"""Settings of the mesh: `cachemesh:gatewayApi` and `cachemesh:linkerd`.

Linkerd's Helm chart versions and the Gateway API release each needs are kept as data here
(LINKERD_CHARTS); docs/tasks/upgrade-linkerd.md explains where the pairing comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from pki import linkerd as linkerd_pki
from pki.linkerd import CertificateProblem, read_certificates, read_private_key
from pki.trust_rotation import AnchorPlan, plan_problems
from settings.base import DnsSubdomain, SettingsModel

LINKERD_HELM_REPO = "https://helm.linkerd.io/edge"
# The charts cachemesh installs from `linkerd.charts` (linkerd2-cni only with `linkerd.cni`).
CRDS_CHART = "linkerd-crds"
CONTROL_PLANE_CHART = "linkerd-control-plane"
CNI_CHART = "linkerd2-cni"
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
# How each chart version keeps a meshed pod's proxy up while the pod stops, read from
# linkerd/linkerd2 at each edge-YY.M.N tag
# (docs/how-it-works/cache-nodes.md#the-proxy-outlives-the-nodes-graceful-stop):
# - edge-26.1.1 (d22fbc71) .. edge-26.5.1 (f37b69d2): the injector reads
#   config.beta.linkerd.io/proxy-enable-native-sidecar, then the alpha one (pkg/inject/inject.go
#   applyAnnotationOverrides; pkg/k8s/labels.go); `proxy.nativeSidecar: false` by default
#   (charts/linkerd-control-plane/values.yaml); the proxy template refuses it together with
#   waitBeforeExitSeconds (charts/partials/templates/_proxy.tpl: `fail "proxy.nativeSidecar and
#   waitBeforeExitSeconds cannot be used simultaneously"`).
# - edge-26.5.2 (3e3e7872, commit 009a25fa "promote native sidecars to GA and enable by default")
#   .. edge-26.8.3 (19a0d90d): config.linkerd.io/proxy-enable-native-sidecar first, then beta,
#   then alpha; `nativeSidecar: true` by default; the `fail` is gone and the preStop that
#   waitBeforeExitSeconds adds is skipped for a native sidecar (_proxy.tpl `if and (not
#   .Values.proxy.nativeSidecar) ...`).
# - Chart.yaml kubeVersion: ">=1.23.0-0" up to edge-26.4.4, ">=1.31.0-0" from edge-26.5.1 (and
#   `linkerd check`'s pkg/k8s/api.go minAPIVersion likewise): Helm refuses the chart on an older
#   cluster.
# The wait annotation is config.alpha.linkerd.io/proxy-wait-before-exit-seconds in every version.
NATIVE_SIDECAR_ANNOTATION = "config.linkerd.io/proxy-enable-native-sidecar"
NATIVE_SIDECAR_ANNOTATION_BETA = "config.beta.linkerd.io/proxy-enable-native-sidecar"
NATIVE_SIDECAR_ANNOTATION_ALPHA = "config.alpha.linkerd.io/proxy-enable-native-sidecar"
# Older releases, for a cluster's own Linkerd (`controlPlane: existing`): native sidecars came in
# as the alpha annotation in edge-23.11.4 (stable 2.15), and edge-25.10.2 (2.19) added the beta one
# and deprecated the alpha, "although that will continue to function" (linkerd/website
# linkerd.io/content/blog edge release roundup for edge-25.10.2). Before edge-23.11.4 an injector
# knows no native sidecar: only the wait keeps its proxy up.
NATIVE_SIDECAR_FIRST_EDGE = (2023, 11, 4)
NATIVE_SIDECAR_FIRST_STABLE_MINOR = 15
NATIVE_SIDECAR_BETA_FIRST_EDGE = (2025, 10, 2)
WAIT_BEFORE_EXIT_ANNOTATION = "config.alpha.linkerd.io/proxy-wait-before-exit-seconds"
# Native sidecars need the SidecarContainers feature gate: beta and on by default from Kubernetes
# 1.29. Without it the API server drops an init container's restartPolicy
# (kubernetes/kubernetes pkg/api/pod/util.go dropDisabledFields, commit b917be64), so the
# proxy becomes an init container that never exits and the pod never starts.
NATIVE_SIDECAR_MIN_KUBERNETES = (1, 29)


@dataclass(frozen=True)
class ProxyLifetime:
    """What one chart version's proxy injector reads and defaults to."""

    # The native-sidecar annotation names written on the pod template: the one the injector reads
    # first (several when the version is not known exactly, each carrying the same value). Empty:
    # the injector knows no native sidecar.
    native_sidecar_annotations: tuple[str, ...]
    native_sidecar_by_default: bool
    # The oldest Kubernetes the chart installs on (Chart.yaml kubeVersion).
    min_kubernetes: tuple[int, int]
    # False when cachemesh could not place the version: the names are a best effort.
    known: bool = True


def _proxy_lifetime(version: str) -> ProxyLifetime:
    parts = tuple(int(p) for p in version.split("."))
    ga = parts >= (2026, 5, 2)
    if ga:
        names: tuple[str, ...] = (NATIVE_SIDECAR_ANNOTATION,)
    elif parts >= NATIVE_SIDECAR_BETA_FIRST_EDGE:
        names = (NATIVE_SIDECAR_ANNOTATION_BETA,)
    elif parts >= NATIVE_SIDECAR_FIRST_EDGE:
        names = (NATIVE_SIDECAR_ANNOTATION_ALPHA,)
    else:
        names = ()
    return ProxyLifetime(
        native_sidecar_annotations=names,
        native_sidecar_by_default=ga,
        min_kubernetes=(1, 31) if parts >= (2026, 5, 1) else (1, 23),
    )


LINKERD_PROXY_LIFETIME: dict[str, ProxyLifetime] = {v: _proxy_lifetime(v) for v in LINKERD_CHARTS}

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


@dataclass(frozen=True)
class ChartSource:
    """Where one Linkerd chart comes from, in the words of a `helm.v3.Release`: `chart` is the
    chart's name in the Helm repository `repo`, an `oci://` reference (no repo), or the absolute
    path of a local chart (a directory with Chart.yaml, or an archive as `helm pull` saves it)."""

    chart: str
    repo: str | None = None


_CHART_YAML_VERSION = re.compile(r"""^version:[ \t]*["']?([^"'\s#]+)["']?[ \t]*(#.*)?$""", re.M)


def local_chart(directory: Path, name: str, version: str) -> Path | str:
    """The chart `name` at `version` in `directory`: `NAME-VERSION.tgz` (what `helm pull -d`
    writes) or an unpacked `NAME/` whose Chart.yaml has that version; else why not, as text."""
    archive = directory / f"{name}-{version}.tgz"
    if archive.is_file():
        return archive.resolve()
    unpacked = directory / name / "Chart.yaml"
    if unpacked.is_file():
        match = _CHART_YAML_VERSION.search(unpacked.read_text(errors="replace"))
        found = match.group(1) if match else None
        if found == version:
            return unpacked.parent.resolve()
        return (
            f"{unpacked} is chart version {found or '(none)'}, not {version}: put the chart "
            f"of version {version} there"
        )
    return f"there is neither {archive.name} nor {name}/Chart.yaml in {directory}"


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
    A rotation is three `pulumi up`s (docs/tasks/rotate-the-trust-anchor.md)."""

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
        description="Mesh the caches with Linkerd. false: no Linkerd, no Gateway API CRDs, caches "
        "unmeshed (with a loud warning).",
    )
    # managed: cachemesh installs the Gateway API CRDs and Linkerd (charts, certificates).
    # existing: the cluster's own Linkerd is used as it is, read from the cluster
    # (components/existing_linkerd.py).
    control_plane: Literal["managed", "existing"] = Field(
        default="managed",
        description="managed: cachemesh installs the Gateway API CRDs and Linkerd. existing: use "
        "the Linkerd the cluster already runs (namespace linkerd), read from the cluster; its "
        "certificates and rotation stay the platform team's.",
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
    # Where the charts come from: Linkerd's edge repository, a mirror of it, an OCI registry, or
    # a directory of charts brought along (docs/tasks/install-offline.md).
    charts: str = Field(
        default=LINKERD_HELM_REPO,
        min_length=1,
        description="Where the Linkerd Helm charts (linkerd-crds, linkerd-control-plane; "
        "linkerd2-cni with cni) come from, at linkerd.version: a Helm repository URL (http(s)://; "
        "default Linkerd's edge repository, or your mirror of it), an OCI registry "
        "(oci://HOST/PATH, each chart under it by name), or a local directory (relative to the "
        "project directory) holding each chart as `helm pull -d DIR` saves it "
        "(NAME-VERSION.tgz) or unpacked (NAME/Chart.yaml).",
    )
    # Install the Linkerd CNI plugin (chart linkerd2-cni) and run the control plane with
    # cniEnabled: no linkerd-init container in meshed pods (docs/tasks/linkerd-cni.md).
    cni: bool = Field(
        default=False,
        description="Install the linkerd2-cni chart (namespace linkerd-cni) before the control "
        "plane and run Linkerd with cniEnabled.",
    )
    # Keep each meshed cache pod's proxy up for the node's whole stop as a Kubernetes native
    # sidecar (Kubernetes 1.29 or later); false: delay the proxy's stop by the pod's grace period
    # with proxy-wait-before-exit-seconds instead
    # (docs/how-it-works/cache-nodes.md#the-proxy-outlives-the-nodes-graceful-stop).
    native_sidecar: bool = Field(
        default=True,
        description="Run each cache pod's proxy as a Kubernetes native sidecar (Kubernetes >= "
        "1.29), so it stops after the node's graceful shutdown; false: delay the proxy's stop by "
        "the pod's grace period (proxy-wait-before-exit-seconds) instead.",
    )
    # The deployed `linkerdIdentity.trustRootsSha256` whose replacement in one `up` (a switch of
    # identity mode) the user accepts, outage included (settings/immutable.py).
    replace_trust_bundle: str | None = Field(
        default=None,
        description="Accept switching identity mode in one up (an outage until every meshed pod "
        "restarts): the deployed linkerdIdentity.trustRootsSha256.",
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

    @field_validator("charts")
    @classmethod
    def _charts(cls, value: str) -> str:
        if _is_url(value) or value.startswith("oci://"):
            return value.rstrip("/")
        if "://" in value:
            raise ValueError(
                f"{value!r} is not a chart source cachemesh can use: write a Helm repository URL "
                "(https://...), an OCI registry (oci://HOST/PATH) or a local directory"
            )
        if not Path(value).is_dir():
            raise ValueError(
                f"{value!r} is neither an http(s) or oci:// URL nor an existing directory "
                "(relative paths are read from the project directory); create it and save the "
                "charts there with helm pull (docs/tasks/install-offline.md)"
            )
        return value

    @field_validator("replace_trust_bundle")
    @classmethod
    def _bundle_hash(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError(
                "must be the deployed trust bundle's SHA-256, 64 lower-case hex digits, as "
                "`pulumi stack output linkerdIdentity` shows it in trustRootsSha256"
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
    def existing(self) -> bool:
        """The caches use the control plane the cluster already runs (cachemesh installs none)."""
        return self.enabled and self.control_plane == "existing"

    @property
    def gateway_api_version(self) -> str:
        return LINKERD_CHARTS[self.version]

    @property
    def chart_names(self) -> tuple[str, ...]:
        """The charts cachemesh installs with these settings."""
        return (CRDS_CHART, *((CNI_CHART,) if self.cni else ()), CONTROL_PLANE_CHART)

    def chart_source(self, name: str) -> ChartSource:
        """Where chart `name` comes from (`charts`); a local chart is checked by
        linkerd_problems first, so here it is found."""
        if _is_url(self.charts):
            return ChartSource(chart=name, repo=self.charts)
        if self.charts.startswith("oci://"):
            return ChartSource(chart=f"{self.charts}/{name}")
        found = local_chart(Path(self.charts), name, self.version)
        if isinstance(found, str):
            raise ValueError(found)
        return ChartSource(chart=str(found))


def linkerd_problems(
    linkerd: LinkerdSettings,
    gateway_api: GatewayApiSettings,
    secret_keys: Collection[str],
    full_key: Callable[[tuple[str, ...]], str],
) -> list[str]:
    """Rules across `cachemesh:linkerd` and `cachemesh:gatewayApi` keys (each key is valid)."""
    if linkerd.control_plane == "existing":
        return existing_control_plane_problems(linkerd, gateway_api, full_key)
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
    if linkerd.enabled:
        problems += chart_problems(linkerd, key)
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
            f"{key(field)}: {problem}. Linkerd would refuse this identity "
            "(docs/tasks/bring-your-own-certificates.md); fix the certificates, or remove all "
            "three keys to let cachemesh make them"
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
                "(or pick the Linkerd version paired with yours in docs/tasks/upgrade-linkerd.md)"
            )
    return problems


def chart_problems(linkerd: LinkerdSettings, key: Callable[..., str]) -> list[str]:
    """A local `charts` directory must hold every chart cachemesh installs, at `version`."""
    if _is_url(linkerd.charts) or linkerd.charts.startswith("oci://"):
        return []
    problems: list[str] = []
    directory = Path(linkerd.charts)
    for name in linkerd.chart_names:
        found = local_chart(directory, name, linkerd.version)
        if isinstance(found, str):
            problems.append(
                f"{key('charts')}: has no {name} chart at {key('version')} {linkerd.version}: "
                f"{found}. Fix: on a machine with internet access run helm pull {name} --repo "
                f"{LINKERD_HELM_REPO} --version {linkerd.version} -d {linkerd.charts} and copy "
                "the file over (docs/tasks/install-offline.md)"
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
            f"downtime in three `pulumi up` steps with {key('trustAnchors')} "
            "(docs/tasks/rotate-the-trust-anchor.md). Remove it with: pulumi config rm --path "
            "linkerd.rotateTrustAnchor; then, to start a rotation from anchor 1 to anchor 2: "
            "pulumi config set --path linkerd.trustAnchors.signing 1; pulumi config set --path "
            "'linkerd.trustAnchors.trusted[0]' 1; pulumi config set --path "
            "'linkerd.trustAnchors.trusted[1]' 2"
        )
    if "trust_anchors" in linkerd.model_fields_set and linkerd.bring_your_own:
        problems.append(
            f"{key('trustAnchors')}: numbers the anchors cachemesh generates, but "
            f"{key('trustAnchorPem')} brings your own. Rotate your own anchor by putting the "
            "bundle in trustAnchorPem "
            "(docs/tasks/bring-your-own-certificates.md#rotate-your-own-trust-anchor), and remove "
            "this key: pulumi config rm --path linkerd.trustAnchors"
        )
    elif not linkerd.bring_your_own:
        problems += plan_problems(linkerd.trust_anchors.plan)
    return problems


def cluster_proxy_lifetime(cluster_version: str | None) -> ProxyLifetime:
    """What the injector of a cluster's own Linkerd (`controlPlane: existing`) reads, from the
    `linkerdVersion` its linkerd-config records: `edge-26.8.1` is chart 2026.8.1 and is placed
    exactly; `stable-2.N.x` and `enterprise-2.N.x` only by N (2.15 and later have native sidecars,
    under a name cachemesh cannot tell, so all three names are written with one value); anything
    else is not known, and gets the three names too."""
    every_name = (
        NATIVE_SIDECAR_ANNOTATION,
        NATIVE_SIDECAR_ANNOTATION_BETA,
        NATIVE_SIDECAR_ANNOTATION_ALPHA,
    )
    version = cluster_version or ""
    edge = re.fullmatch(r"edge-(\d{2})\.(\d{1,2})\.(\d+)", version)
    if edge is not None:
        year, month, patch = edge.groups()
        return _proxy_lifetime(f"20{year}.{int(month)}.{patch}")
    release = re.fullmatch(r"(?:stable|enterprise)-2\.(\d+)(?:\.\d+)*", version)
    if release is not None:
        native = int(release.group(1)) >= NATIVE_SIDECAR_FIRST_STABLE_MINOR
        return ProxyLifetime(
            native_sidecar_annotations=every_name if native else (),
            native_sidecar_by_default=False,
            min_kubernetes=NATIVE_SIDECAR_MIN_KUBERNETES,
        )
    return ProxyLifetime(
        native_sidecar_annotations=every_name,
        native_sidecar_by_default=False,
        min_kubernetes=NATIVE_SIDECAR_MIN_KUBERNETES,
        known=False,
    )


def cluster_proxy_lifetime_problems(
    linkerd: LinkerdSettings, cluster_version: str | None
) -> list[str]:
    """A native sidecar asked of a cluster Linkerd that has none: its proxy would stop with the
    node, in the middle of the GRACEFUL hand-over."""
    if (
        not linkerd.native_sidecar
        or cluster_proxy_lifetime(cluster_version).native_sidecar_annotations
    ):
        return []
    return [
        "cachemesh:linkerd.nativeSidecar: the cluster's Linkerd is "
        f"{cluster_version}, which has no native sidecars (they came with edge-23.11.4, stable "
        "2.15), so each cache pod's proxy would get SIGTERM with the node and refuse its peers' "
        "connections while the node is still handing its partitions over. Fix: pulumi config set "
        "--path linkerd.nativeSidecar false (the proxy then waits the node's whole grace "
        "period, config.alpha.linkerd.io/proxy-wait-before-exit-seconds), or upgrade the "
        "cluster's Linkerd "
        "(docs/how-it-works/cache-nodes.md#the-proxy-outlives-the-nodes-graceful-stop)"
    ]


def cluster_proxy_lifetime_warning(
    linkerd: LinkerdSettings, cluster_version: str | None
) -> str | None:
    """A warning when the cluster's Linkerd version is not one cachemesh can place."""
    if not linkerd.native_sidecar or cluster_proxy_lifetime(cluster_version).known:
        return None
    return (
        f"The cluster's Linkerd reports version {cluster_version or '(none)'}, which cachemesh "
        "cannot place: "
        "the cache pods ask for a native sidecar under all three annotation names. A Linkerd "
        "older than 2.15 (edge-23.11.4) reads none of them and stops the proxy with the node; "
        "there, set pulumi config set --path linkerd.nativeSidecar false."
    )


def proxy_lifetime_annotations(
    linkerd: LinkerdSettings, grace_seconds: int, cluster_version: str | None = None
) -> dict[str, str]:
    """Pod-template annotations that keep a meshed cache pod's proxy up while its node stops
    (at most `grace_seconds`, terminationGracePeriodSeconds), in the words `linkerd.version`'s
    injector reads (with `controlPlane: existing`, the cluster's `cluster_version`): the native
    sidecar, or else a preStop sleep of the whole grace period. Never both: versions before
    edge-26.5.2 refuse the pair. The native-sidecar annotation is always written, "false" too, so
    neither the chart's default nor a namespace annotation decides."""
    if not linkerd.enabled:
        return {}
    facts = (
        cluster_proxy_lifetime(cluster_version)
        if linkerd.existing
        else LINKERD_PROXY_LIFETIME[linkerd.version]
    )
    if linkerd.native_sidecar:
        return dict.fromkeys(facts.native_sidecar_annotations, "true")
    return {
        **dict.fromkeys(facts.native_sidecar_annotations, "false"),
        WAIT_BEFORE_EXIT_ANNOTATION: str(grace_seconds),
    }


# `cachemesh:linkerd` keys that describe what cachemesh installs; with `controlPlane: existing` it
# installs nothing, so each is refused rather than silently ignored (field -> what it would do).
MANAGED_ONLY: dict[str, str] = {
    "version": "pins the Linkerd charts cachemesh installs",
    "cni": "installs the Linkerd CNI plugin",
    "charts": "says where the Linkerd charts cachemesh installs come from",
    "certificates": "sets the validity of the certificates cachemesh makes",
    "trust_anchors": "rotates the trust anchors cachemesh makes",
    "trust_anchor_pem": "hands your trust anchor to the Linkerd cachemesh installs",
    "issuer_cert_pem": "hands your issuer to the Linkerd cachemesh installs",
    "issuer_key_pem": "hands your issuer key to the Linkerd cachemesh installs",
    "rotate_trust_anchor": "was removed",
}


def existing_control_plane_problems(
    linkerd: LinkerdSettings,
    gateway_api: GatewayApiSettings,
    full_key: Callable[[tuple[str, ...]], str],
) -> list[str]:
    """`controlPlane: existing`: cachemesh installs no Gateway API CRDs, no chart and no
    certificate, so every key that configures them is refused with the reason; trust-anchor
    rotation and certificates are the platform team's (docs/tasks/use-the-clusters-linkerd.md)."""
    mode = full_key(("linkerd", "controlPlane"))
    if not linkerd.enabled:
        return [
            f"{mode}: is existing, but {full_key(('linkerd', 'enabled'))} is false (no mesh at "
            "all). Either remove it: pulumi config rm --path linkerd.controlPlane, or enable "
            "Linkerd: pulumi config set --path linkerd.enabled true"
        ]
    problems: list[str] = []
    for field, does in MANAGED_ONLY.items():
        if field not in linkerd.model_fields_set:
            continue
        alias = LinkerdSettings.model_fields[field].alias or field
        if field in ("trust_anchors", "trust_anchor_pem", "issuer_cert_pem", "issuer_key_pem"):
            why = (
                "trust-anchor rotation and the identity certificates belong to the platform team "
                "that runs the cluster's Linkerd (it rotates them with its own tooling; "
                "`linkerdIdentity` shows the trust roots cachemesh reads)"
            )
        else:
            why = "the cluster's Linkerd is the platform team's, and cachemesh installs nothing"
        problems.append(
            f"{full_key(('linkerd', alias))}: {does}, but {mode} is existing: {why}. Remove it: "
            f"pulumi config rm --path linkerd.{alias} (or set {mode} managed to have cachemesh "
            "install its own Linkerd, on a cluster that has none)"
        )
    if gateway_api.model_fields_set:
        problems.append(
            f"{full_key(('gatewayApi',))}: configures the Gateway API CRDs cachemesh installs, "
            f"but {mode} is existing: the cluster's Linkerd brings (or was installed against) its "
            "own. Remove it: pulumi config rm gatewayApi"
        )
    return problems
