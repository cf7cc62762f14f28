"""ExistingLinkerd: the caches use the Linkerd control plane the cluster already runs
(`cachemesh:linkerd.controlPlane: existing`), installed and upgraded by the platform team.

cachemesh then installs no Gateway API CRDs, no chart and no certificate. Before it registers
anything it reads, with one `kubectl get` (pulumi-command's `local.run` function, which runs on
preview and on up alike), what the caches depend on:

- the policy CRDs CacheAuthorization writes, each serving the API version it writes;
- `linkerd-config` (the chart's values, keys removed): the trust domain, which names the identity
  every cache pod gets and the mTLS check expects;
- `linkerd-identity-trust-roots`: the bundle whose SHA-256 the proxy injector writes on every
  meshed pod (`linkerd.io/trust-root-sha256`), so `trustRootsSha256` and the check keep working;
- the `linkerd-proxy-injector` Deployment with an available replica: without the injector the
  cache pods start unmeshed.

Anything missing refuses the run, naming what is missing and the fix. The component creates no
Kubernetes object: it carries the facts read (outputs `linkerdIdentity`), and its one child is a
read (`Deployment.get`) of the proxy injector through the stack's Kubernetes provider. That read
makes the provider confirm the injector on the cluster it deploys to (kubectl and the provider
could be pointed at different clusters), and it is what the caches wait for: a `depends_on` on a
component means its children (pulumi sdk/python/lib/pulumi/resource.py `_add_dependency`), so a
childless component would order nothing. The policy pack's linkerd-control-plane-first rule
recognises both the component and the injector Deployment.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from cryptography.hazmat.primitives import serialization

from components.cache_authorization import AUTHN_API, AUTHZ_API, SERVER_API
from components.cluster_read import KubectlReadFailed, kubectl_read
from pki.linkerd import CertificateProblem, read_certificates
from settings.loader import START_UP_PAGE, SettingsError

NAMESPACE = "linkerd"
CONFIG_MAP = "linkerd-config"
TRUST_ROOTS_CONFIG_MAP = "linkerd-identity-trust-roots"
TRUST_ROOTS_KEY = "ca-bundle.crt"
INJECTOR = "linkerd-proxy-injector"


def _version(api: str) -> str:
    return api.rsplit("/", 1)[1]


# CRD name -> the version cachemesh writes (components/cache_authorization.py: Servers, one
# AuthorizationPolicy per Server and its MeshTLSAuthentication; no route and no
# NetworkAuthentication since the probes moved to loopback).
REQUIRED_CRDS: dict[str, str] = {
    "servers.policy.linkerd.io": _version(SERVER_API),
    "authorizationpolicies.policy.linkerd.io": _version(AUTHZ_API),
    "meshtlsauthentications.policy.linkerd.io": _version(AUTHN_API),
}
# `kind/name` arguments of the one `kubectl get`, in the order kubectl lists what it finds.
OBJECTS: tuple[str, ...] = (
    f"configmap/{CONFIG_MAP}",
    f"configmap/{TRUST_ROOTS_CONFIG_MAP}",
    f"deployment/{INJECTOR}",
    *(f"customresourcedefinition/{name}" for name in REQUIRED_CRDS),
)
FIX_NO_LINKERD = (
    "Install Linkerd on the cluster first (the platform team's way, or `linkerd install --crds | "
    "kubectl apply -f - && linkerd install | kubectl apply -f -`), check it with `linkerd check`, "
    "or let cachemesh install its own on a cluster that has none: pulumi config set --path "
    "linkerd.controlPlane managed"
)
# A top-level `identityTrustDomain:` of linkerd-config's `values` (the chart writes the values
# with `toYaml`, top-level keys at column 0, and fills an empty trust domain with clusterDomain:
# linkerd/linkerd2 charts/linkerd-control-plane/templates/config.yaml, b24cd40; the CLI reads the
# same key of the same document: pkg/healthcheck/healthcheck.go FetchCurrentConfiguration).
_TOP_LEVEL = r"^{key}:[ \t]*[\"']?([^\"'\s]+)[\"']?[ \t]*$"


class NoUsableLinkerd(SettingsError):
    """`controlPlane: existing` and the cluster has no Linkerd the caches can use."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        Exception.__init__(
            self,
            "cachemesh:linkerd.controlPlane is existing, but the cluster's Linkerd cannot be used; "
            "nothing was deployed:\n"
            + "\n".join(f"  - {p}" for p in self.problems)
            + f"\nCause and fix: {START_UP_PAGE}#the-clusters-linkerd-cannot-be-used",
        )


@dataclass(frozen=True)
class ClusterLinkerd:
    """What was read from the cluster's Linkerd."""

    trust_domain: str
    # `ca-bundle.crt` exactly as the ConfigMap holds it (the bytes the injector hashes).
    trust_roots_pem: str
    version: str | None

    @property
    def trust_roots_sha256(self) -> str:
        return hashlib.sha256(self.trust_roots_pem.encode()).hexdigest()


def read_command(kube_context: str | None) -> str:
    """The `kubectl get` that reads every object at once. `--ignore-not-found` makes missing
    objects absent from the answer instead of an error, so each can be named with its fix. The
    kubeconfig is never on it: the command line is quoted in pulumi-command's errors and seen in
    `ps` (`kubeconfig_environment`)."""
    argv = ["kubectl", "get", "--ignore-not-found", "-o", "json", "-n", NAMESPACE, *OBJECTS]
    if kube_context:
        argv += ["--context", kube_context]
    return shlex.join(argv)


def parse_kubectl_get(stdout: str) -> list[dict[str, Any]]:
    """The objects of `kubectl get -o json --ignore-not-found KIND/NAME...`. With several
    `KIND/NAME` arguments kubectl prints one `List` of what it found, and nothing at all when it
    found none (kubernetes/kubectl pkg/cmd/get/get.go printGeneric, dee3483a: several items are
    not `singleItemImplied`, so they are always wrapped in a List; `len(infos) == 0 &&
    IgnoreNotFound` returns before printing)."""
    if not stdout.strip():
        return []
    doc = json.loads(stdout)
    if doc.get("kind") == "List":
        return [item for item in doc.get("items") or [] if isinstance(item, dict)]
    return [doc]


def _find(objects: Sequence[Mapping[str, Any]], kind: str, name: str) -> Mapping[str, Any] | None:
    for obj in objects:
        if obj.get("kind") == kind and (obj.get("metadata") or {}).get("name") == name:
            return obj
    return None


def _top_level(values: str, key: str) -> str | None:
    match = re.search(_TOP_LEVEL.format(key=re.escape(key)), values, re.MULTILINE)
    return match.group(1) if match else None


def cluster_linkerd(
    objects: Sequence[Mapping[str, Any]], configured_trust_domain: str | None
) -> ClusterLinkerd:
    """The facts the caches need, or NoUsableLinkerd naming every missing one and its fix.
    `configured_trust_domain`: `linkerd.trustDomain` when the stack sets it (must match)."""
    problems: list[str] = []
    missing_crds = []
    for name, wanted in REQUIRED_CRDS.items():
        crd = _find(objects, "CustomResourceDefinition", name)
        if crd is None:
            missing_crds.append(name)
            continue
        versions = (crd.get("spec") or {}).get("versions") or []
        served = ", ".join(str(v.get("name")) for v in versions if v.get("served")) or "none"
        if wanted not in served.split(", "):
            problems.append(
                f"CustomResourceDefinition {name} does not serve {wanted}, the version cachemesh "
                f"writes (it serves {served}): the cluster's Linkerd "
                "is older than cachemesh supports. Ask the platform team to upgrade Linkerd, or "
                "use controlPlane managed on a cluster without Linkerd"
            )
    if missing_crds:
        problems.append(
            f"the Linkerd policy CRDs {', '.join(missing_crds)} do not exist: the cluster runs no "
            f"Linkerd (or not its CRDs). {FIX_NO_LINKERD}"
        )

    config = _find(objects, "ConfigMap", CONFIG_MAP)
    values = ((config or {}).get("data") or {}).get("values")
    trust_domain: str | None = None
    version: str | None = None
    if config is None:
        problems.append(
            f"ConfigMap {NAMESPACE}/{CONFIG_MAP} does not exist: there is no Linkerd control plane "
            f"in namespace {NAMESPACE}. {FIX_NO_LINKERD}"
        )
    elif not isinstance(values, str) or _top_level(values, "identityTrustDomain") is None:
        problems.append(
            f"ConfigMap {NAMESPACE}/{CONFIG_MAP} has no identityTrustDomain in data.values, so "
            "the identity of the cache pods is unknown. Check the control plane with `linkerd "
            "check` (a Linkerd installed by its chart or CLI writes it)"
        )
    else:
        trust_domain = _top_level(values, "identityTrustDomain")
        version = _top_level(values, "linkerdVersion")
    if (
        trust_domain is not None
        and configured_trust_domain is not None
        and configured_trust_domain != trust_domain
    ):
        problems.append(
            f"cachemesh:linkerd.trustDomain is {configured_trust_domain!r}, but the cluster's "
            f"Linkerd issues identities in {trust_domain!r}. Remove it (the cluster's is used): "
            "pulumi config rm --path linkerd.trustDomain"
        )

    roots = _find(objects, "ConfigMap", TRUST_ROOTS_CONFIG_MAP)
    bundle = ((roots or {}).get("data") or {}).get(TRUST_ROOTS_KEY)
    if roots is None:
        problems.append(
            f"ConfigMap {NAMESPACE}/{TRUST_ROOTS_CONFIG_MAP} does not exist: the cluster's "
            "Linkerd is older than the trust-roots ConfigMap, or not installed. "
            f"{FIX_NO_LINKERD}"
        )
    elif not isinstance(bundle, str):
        problems.append(
            f"ConfigMap {NAMESPACE}/{TRUST_ROOTS_CONFIG_MAP} has no {TRUST_ROOTS_KEY}: the "
            "proxies have no trust roots. Check the control plane with `linkerd check`"
        )
    else:
        try:
            read_certificates(bundle)
        except CertificateProblem as exc:
            problems.append(
                f"ConfigMap {NAMESPACE}/{TRUST_ROOTS_CONFIG_MAP} {TRUST_ROOTS_KEY}: {exc}. Check "
                "the control plane with `linkerd check`"
            )

    injector = _find(objects, "Deployment", INJECTOR)
    if injector is None:
        problems.append(
            f"Deployment {NAMESPACE}/{INJECTOR} does not exist: nothing would mesh the cache pods "
            f"(they would start without a proxy). {FIX_NO_LINKERD}"
        )
    elif not ((injector.get("status") or {}).get("availableReplicas") or 0):
        problems.append(
            f"Deployment {NAMESPACE}/{INJECTOR} has no available replica: cache pods created now "
            "would start without a proxy. Wait for it, or ask the platform team (`linkerd check`)"
        )
    if problems:
        raise NoUsableLinkerd(problems)
    assert trust_domain is not None and isinstance(bundle, str)
    return ClusterLinkerd(trust_domain=trust_domain, trust_roots_pem=bundle, version=version)


def read_cluster_linkerd(
    kube_context: str | None, kubeconfig: str | None, configured_trust_domain: str | None
) -> ClusterLinkerd:
    """Read the cluster's Linkerd now (synchronously, before anything is registered), with the
    stack's kube context and kubeconfig (components/cluster_read.py)."""
    try:
        stdout = kubectl_read(read_command(kube_context), kubeconfig)
    except KubectlReadFailed as failed:
        raise NoUsableLinkerd(
            [
                f"could not read the cluster's Linkerd with kubectl: {failed.output}. "
                "Check that kubectl reaches the cluster the stack deploys to "
                "(kubernetes:context) and may read ConfigMaps and Deployments in namespace "
                f"{NAMESPACE} and CustomResourceDefinitions"
            ]
        ) from None
    try:
        objects = parse_kubectl_get(stdout)
    except (ValueError, AttributeError) as error:
        raise NoUsableLinkerd([f"kubectl printed no JSON list ({error})"]) from None
    return cluster_linkerd(objects, configured_trust_domain)


def anchors_of(bundle: str) -> list[dict[str, Any]]:
    """Each trust anchor of the bundle with its fingerprint and expiry (public data)."""
    out: list[dict[str, Any]] = []
    for cert in read_certificates(bundle):
        der = cert.public_bytes(serialization.Encoding.DER)
        out.append(
            {
                "generation": None,
                "sha256Fingerprint": hashlib.sha256(der).hexdigest(),
                "notAfter": cert.not_valid_after_utc.isoformat(),
                "signing": None,
            }
        )
    return out


PLATFORM_NOTE = (
    "controlPlane existing: the trust anchors, the issuer and their rotation belong to the "
    "platform team that runs the cluster's Linkerd; cachemesh reads the trust roots and never "
    "changes them"
)


@dataclass(frozen=True)
class ExistingLinkerdArgs:
    cluster: ClusterLinkerd


class ExistingLinkerd(pulumi.ComponentResource):
    """The cluster's Linkerd, as read: no child resources, outputs only."""

    identity: pulumi.Output[dict[str, Any]]
    health: pulumi.Output[dict[str, Any]]

    def __init__(
        self, name: str, args: ExistingLinkerdArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:ExistingLinkerd", name, None, opts)
        cluster = args.cluster
        self.trust_domain = cluster.trust_domain
        self.proxy_injector = k8s.apps.v1.Deployment.get(
            f"{NAMESPACE}/{INJECTOR}",
            f"{NAMESPACE}/{INJECTOR}",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.trust_roots_sha256: pulumi.Output[str] = pulumi.Output.from_input(
            cluster.trust_roots_sha256
        )
        identity: dict[str, Any] = {
            "controlPlane": "existing",
            "managedBy": "platform team",
            "trustDomain": cluster.trust_domain,
            "source": "existing",
            "linkerdVersion": cluster.version,
            "issuerGeneration": None,
            "trustAnchor": None,
            "issuer": None,
            "anchors": anchors_of(cluster.trust_roots_pem),
            "trustRootsSha256": cluster.trust_roots_sha256,
            "rotation": PLATFORM_NOTE,
        }
        self.identity = pulumi.Output.from_input(identity)
        # Not judged here: the issuer is the platform team's (its key never leaves its Secret).
        self.health = pulumi.Output.from_input(
            {"healthy": None, "checked": False, "reason": PLATFORM_NOTE}
        )
        self.register_outputs(
            {
                "controlPlane": "existing",
                "namespace": NAMESPACE,
                "identity": self.identity,
                "health": self.health,
            }
        )


def check_control_plane_switch(
    control_plane: str, enabled: bool, previous_identity: Mapping[str, Any] | None
) -> None:
    """Refuse switching `controlPlane` on a deployed stack in one `up`. From managed, the `up`
    would delete the control plane (and the CRDs, and with them every Linkerd policy object of
    the cluster) under the running caches; from existing, it would install a second control plane
    into the platform team's namespace. `previous_identity`: the last deployment's
    `linkerdIdentity` (no `controlPlane` key: deployed before the key existed, so managed)."""
    if not enabled or previous_identity is None:
        return
    deployed = str(previous_identity.get("controlPlane") or "managed")
    if deployed == control_plane:
        return
    key = "cachemesh:linkerd.controlPlane"
    if deployed == "managed":
        raise SettingsError(
            [
                f"{key}: is {control_plane}, but this stack deployed its own Linkerd (managed). "
                "Switching in one `pulumi up` would delete that control plane and its CRDs (and "
                "with them every Linkerd policy object in the cluster) under the running caches. "
                "Either keep it: pulumi config set --path linkerd.controlPlane managed; or remove "
                "this stack completely first (docs/getting-started.md#uninstalling), then deploy "
                "again with "
                "controlPlane existing on a cluster whose Linkerd the platform team runs"
            ]
        )
    raise SettingsError(
        [
            f"{key}: is {control_plane}, but this stack runs on the cluster's existing Linkerd. "
            "cachemesh would install a second control plane into the platform team's namespace "
            f"{NAMESPACE}, which collides with theirs. Keep it: pulumi config set --path "
            "linkerd.controlPlane existing"
        ]
    )
