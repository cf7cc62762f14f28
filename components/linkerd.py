"""LinkerdControlPlane: the guide's `linkerd install --crds` and `linkerd install`, as Helm charts.

Children, in order: the `linkerd` Namespace (labelled as `linkerd install` labels it), the identity
certificates (components/linkerd_identity.py) and the webhook serving Secrets, the `linkerd-crds`
release (with `installGatewayAPI: false`: GatewayApiCrds owns those CRDs), with `linkerd.cni` the
LinkerdCni component (components/linkerd_cni.py: the `linkerd2-cni` release), then the
`linkerd-control-plane` release, which waits until every control-plane object is ready.

Both charts are `helm.v3.Release`s (see docs/how-it-works/linkerd.md#helmv3release-not-helmv4chart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.linkerd_cni import LinkerdCni, LinkerdCniArgs
from components.linkerd_identity import (
    Identity,
    renewal_generation,
    secret,
    webhook_serving_cert,
)
from components.trust_anchors import (
    chart_trust_anchors,
    generated_identity,
    identity_extras,
    trust_roots_sha256,
)
from pki import linkerd as linkerd_pki
from settings.linkerd import (
    CNI_CHART,
    CONTROL_PLANE_CHART,
    CRDS_CHART,
    ChartSource,
    LinkerdSettings,
)

NAMESPACE = "linkerd"
# Seconds Helm waits for the control plane to become ready (per install/upgrade).
READY_TIMEOUT_SECONDS = 600
# values key -> (Service the webhook serves, Secret the chart mounts when externalSecret is true,
# the Secret's `linkerd.io/control-plane-component` label as the chart's own Secret carries it),
# from charts/linkerd-control-plane/templates/{proxy-injector,destination}-rbac.yaml at
# edge-26.8.1: both validators are served by the destination Deployment.
WEBHOOKS: dict[str, tuple[str, str, str]] = {
    "proxyInjector": ("linkerd-proxy-injector", "linkerd-proxy-injector-k8s-tls", "proxy-injector"),
    "profileValidator": ("linkerd-sp-validator", "linkerd-sp-validator-k8s-tls", "destination"),
    "policyValidator": (
        "linkerd-policy-validator",
        "linkerd-policy-validator-k8s-tls",
        "destination",
    ),
}


def namespace_metadata(name: str = NAMESPACE, cni: bool = False) -> k8s.meta.v1.ObjectMetaArgsDict:
    """What `linkerd install` puts on its namespace (templates/namespace.yaml): the injector and
    validators skip it, and linkerd-init needs privileged pod security; with the CNI plugin
    (`cniEnabled`) there is no linkerd-init and the template says `restricted`."""
    return {
        "name": name,
        "labels": {
            "linkerd.io/is-control-plane": "true",
            "config.linkerd.io/admission-webhooks": "disabled",
            "linkerd.io/control-plane-ns": name,
            "pod-security.kubernetes.io/enforce": "restricted" if cni else "privileged",
            "app.kubernetes.io/part-of": "cachemesh",
        },
        "annotations": {"linkerd.io/inject": "disabled"},
    }


def chart_args(source: ChartSource) -> dict[str, Any]:
    """A Release's `chart` and, for a Helm repository, `repository_opts` (an OCI reference or a
    local chart has none: pulumi-kubernetes provider/pkg/provider/helm_release.go
    chartPathOptionsFromRelease and locateChart, which looks for a local chart only without a
    repository URL)."""
    args: dict[str, Any] = {"chart": source.chart}
    if source.repo is not None:
        repo: k8s.helm.v3.RepositoryOptsArgsDict = {"repo": source.repo}
        args["repository_opts"] = repo
    return args


def crds_values() -> dict[str, Any]:
    return {"installGatewayAPI": False}


def control_plane_values(
    trust_domain: str,
    identity: Identity,
    webhook_ca_bundles: dict[str, pulumi.Input[str]],
    cni: bool = False,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "identityTrustDomain": trust_domain,
        "identityTrustAnchorsPEM": chart_trust_anchors(identity),
        "identity": {
            "issuer": {
                "scheme": "linkerd.io/tls",
                "tls": {
                    "crtPEM": identity.issuer_cert_pem,
                    "keyPEM": pulumi.Output.secret(identity.issuer_key_pem),
                },
            }
        },
    }
    for key, bundle in webhook_ca_bundles.items():
        values[key] = {"externalSecret": True, "caBundle": bundle}
    if cni:
        # The injector adds linkerd-network-validator instead of linkerd-init to meshed pods.
        values["cniEnabled"] = True
    return values


@dataclass(frozen=True)
class LinkerdControlPlaneArgs:
    settings: LinkerdSettings


class LinkerdControlPlane(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    identity: pulumi.Output[dict[str, Any]]
    health: pulumi.Output[dict[str, Any]]

    def __init__(
        self, name: str, args: LinkerdControlPlaneArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:LinkerdControlPlane", name, None, opts)
        cfg = args.settings
        certs = cfg.certificates
        # What the component waits for (the Gateway API CRDs) every child waits for too: Pulumi
        # does not pass a component's depends_on on to its children.
        outer = list(opts.depends_on or []) if opts and isinstance(opts.depends_on, list) else []
        child = pulumi.ResourceOptions(parent=self, depends_on=outer)
        generation = renewal_generation(
            linkerd_pki.utc_now(), certs.validity_hours, certs.early_renewal_hours
        )

        namespace = k8s.core.v1.Namespace(
            NAMESPACE, metadata=namespace_metadata(cni=cfg.cni), opts=child
        )
        self.namespace = namespace.metadata.name
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[*outer, namespace])

        anchor_pems: dict[int, pulumi.Output[str]] | None = None
        if cfg.bring_your_own:
            assert cfg.trust_anchor_pem and cfg.issuer_cert_pem and cfg.issuer_key_pem
            identity = Identity(
                trust_anchor_pem=pulumi.Output.from_input(cfg.trust_anchor_pem),
                issuer_cert_pem=pulumi.Output.from_input(cfg.issuer_cert_pem),
                issuer_key_pem=pulumi.Output.secret(cfg.issuer_key_pem.get_secret_value()),
                resources=[],
            )
        else:
            generated = generated_identity(
                trust_domain=cfg.trust_domain,
                plan=cfg.trust_anchors.plan,
                anchor_validity_hours=certs.trust_anchor_validity_hours,
                validity_hours=certs.validity_hours,
                early_renewal_hours=certs.early_renewal_hours,
                generation=generation,
                parent=self,
            )
            identity, anchor_pems = generated.identity, generated.anchor_pems
        # What every pod that runs with the current bundle carries
        # (docs/tasks/rotate-the-trust-anchor.md); the mTLS check compares each cache pod with it.
        self.trust_roots_sha256: pulumi.Output[str] = trust_roots_sha256(identity)

        bundles: dict[str, pulumi.Input[str]] = {}
        secrets: list[k8s.core.v1.Secret] = []
        for key, (service, secret_name, component) in WEBHOOKS.items():
            serving = webhook_serving_cert(
                service=service,
                namespace=NAMESPACE,
                validity_hours=certs.validity_hours,
                early_renewal_hours=certs.early_renewal_hours,
                generation=generation,
                parent=self,
            )
            bundles[key] = serving.cert_pem
            secrets.append(
                k8s.core.v1.Secret(
                    f"{NAMESPACE}/{secret_name}",
                    metadata={
                        "name": secret_name,
                        "namespace": NAMESPACE,
                        "labels": {
                            "linkerd.io/control-plane-component": component,
                            "linkerd.io/control-plane-ns": NAMESPACE,
                        },
                    },
                    type="kubernetes.io/tls",
                    string_data={
                        "tls.crt": serving.cert_pem,
                        "tls.key": secret(serving.key_pem),
                    },
                    opts=in_namespace,
                )
            )

        crds = k8s.helm.v3.Release(
            CRDS_CHART,
            name=CRDS_CHART,
            **chart_args(cfg.chart_source(CRDS_CHART)),
            version=cfg.version,
            namespace=NAMESPACE,
            values=crds_values(),
            timeout=READY_TIMEOUT_SECONDS,
            opts=in_namespace,
        )
        # The CNI plugin must be ready on every node before the first meshed pod (the control
        # plane's own pods are meshed) is created.
        cni_ready: list[pulumi.Resource] = []
        if cfg.cni:
            cni = LinkerdCni(
                "linkerd-cni",
                LinkerdCniArgs(version=cfg.version, source=cfg.chart_source(CNI_CHART)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*outer, crds]),
            )
            cni_ready = [cni.release]
        self.control_plane = k8s.helm.v3.Release(
            CONTROL_PLANE_CHART,
            name=CONTROL_PLANE_CHART,
            **chart_args(cfg.chart_source(CONTROL_PLANE_CHART)),
            version=cfg.version,
            namespace=NAMESPACE,
            values=control_plane_values(cfg.trust_domain, identity, bundles, cni=cfg.cni),
            # Wait until every Deployment (identity, destination, proxy injector) is ready, so
            # no cache pod is admitted before the injector can mesh it.
            skip_await=False,
            timeout=READY_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*outer, namespace, crds, *cni_ready, *secrets, *identity.resources],
            ),
        )

        report = pulumi.Output.all(identity.trust_anchor_pem, identity.issuer_cert_pem).apply(
            lambda pems: self._report(pems[0], pems[1])
        )
        self.identity = report.apply(
            lambda r: {
                "trustDomain": cfg.trust_domain,
                "source": "bring-your-own" if cfg.bring_your_own else "pulumi-tls",
                "issuerGeneration": None if cfg.bring_your_own else generation,
                **(r.as_output() if r else {"trustAnchor": None, "issuer": None}),
            }
        )
        self.identity = pulumi.Output.all(
            self.identity, identity_extras(cfg, identity, anchor_pems)
        ).apply(lambda parts: {**parts[0], **parts[1]})
        # Without certificates to read (none issued yet) nothing is claimed healthy.
        self.health = report.apply(lambda r: r.health_output() if r else {"healthy": False})
        self.register_outputs(
            {
                "namespace": self.namespace,
                "chartVersion": cfg.version,
                "cni": cfg.cni,
                "identity": self.identity,
                "health": self.health,
            }
        )

    def _report(
        self, anchor_pem: str | None, issuer_pem: str | None
    ) -> linkerd_pki.IdentityReport | None:
        if not anchor_pem or not issuer_pem:
            return None
        report = linkerd_pki.identity_report(anchor_pem, issuer_pem, linkerd_pki.utc_now())
        # Days left go to the log only: outputs hold dates, so a later run changes nothing.
        for message in report.log_lines():
            pulumi.log.warn(message, resource=self)
        return report
