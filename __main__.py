"""cachemesh: Apache Ignite 2 / GridGain 8 clusters on Kubernetes, meshed and mTLS'd by Linkerd.

Thin on purpose: read the validated settings, build the components, export the outputs.
"""

from __future__ import annotations

import pulumi

from components.admission_policies import (
    AdmissionPolicies,
    AdmissionPoliciesArgs,
    require_admission_api,
)
from components.cache_alerts import CacheAlerts, CacheAlertsArgs
from components.cache_namespace import CacheNamespace, CacheNamespaceArgs
from components.cache_rollout import CacheRollout, CacheRolloutArgs
from components.cache_scheduling import BACKUPS_ON_OTHER_NODES, backup_filter_change
from components.existing_linkerd import (
    ClusterLinkerd,
    ExistingLinkerd,
    ExistingLinkerdArgs,
    check_control_plane_switch,
    read_cluster_linkerd,
)
from components.gateway_api import GatewayApiCrds, GatewayApiCrdsArgs
from components.kube import LINKERD_VERSION
from components.linkerd import LinkerdControlPlane, LinkerdControlPlaneArgs
from components.meshed_cache import CONTAINER_NAME, MeshedCache, MeshedCacheArgs
from components.mtls_check import MtlsCheck, MtlsCheckArgs, all_verified, not_checked
from components.previous_deployment import previous_identity, previous_outputs
from components.trust_anchors import cache_restart_annotations, check_rotation_step
from settings import (
    CacheSettings,
    SettingsError,
    check_identity_mode,
    check_no_replacement,
    load_settings,
)
from settings.cluster_access import load_cluster_access, plain_kubeconfig
from settings.linkerd import (
    cluster_proxy_lifetime_problems,
    cluster_proxy_lifetime_warning,
    proxy_lifetime_annotations,
)
from settings.outputs import cache_output_keys
from settings.products import ALL_IMAGE_REPOSITORIES, ALL_SERVER_FIRST_PORTS

cluster_linkerd: ClusterLinkerd | None = None
try:
    settings = load_settings()
    # Judged against the last deployment: a trust-anchor rotation moves one step per `up`, the
    # identity mode does not switch with the trust bundle in one `up`, the control plane is not
    # swapped under running caches, and no change may make Kubernetes recreate a running cache's
    # StatefulSet.
    deployed = previous_outputs()
    check_identity_mode(settings.linkerd, previous_identity(deployed))
    check_control_plane_switch(
        settings.linkerd.control_plane, settings.linkerd.enabled, previous_identity(deployed)
    )
    check_rotation_step(settings.linkerd, deployed)
    check_no_replacement(settings.caches, deployed.get("caches"))
    # kubernetes:context/kubeconfig for the checks the program runs; the kubeconfig as a secret.
    cluster_access = load_cluster_access()
    if settings.linkerd.existing:
        # The cluster's own Linkerd (docs/tasks/use-the-clusters-linkerd.md): read before
        # anything is registered, refused with the fix when there is none to use.
        cluster_linkerd = read_cluster_linkerd(
            cluster_access.context,
            plain_kubeconfig(),
            settings.linkerd.trust_domain
            if "trust_domain" in settings.linkerd.model_fields_set
            else None,
        )
        # Its proxies must outlive the node's GRACEFUL stop as the managed ones do.
        if problems := cluster_proxy_lifetime_problems(settings.linkerd, cluster_linkerd.version):
            raise SettingsError(problems)
    if settings.admission.enabled:
        # The admission policies need the v1 API (Kubernetes 1.30+): asked before anything is
        # registered (docs/tasks/admission-policies.md).
        require_admission_api(cluster_access.context, plain_kubeconfig())
except SettingsError as error:
    # A clean message naming each key, no traceback, and nothing registered.
    raise pulumi.RunError(str(error)) from None

if cluster_linkerd is not None and (
    warning := cluster_proxy_lifetime_warning(settings.linkerd, cluster_linkerd.version)
):
    pulumi.log.warn(warning)
meshed = settings.linkerd.enabled
if not meshed:
    pulumi.log.warn(
        "cachemesh:linkerd.enabled is false: the caches are deployed WITHOUT Linkerd, so traffic "
        "between cache nodes is plain TCP, unencrypted and unauthenticated."
    )

# Gateway API CRDs -> Linkerd CRDs -> control plane -> every cache (docs/how-it-works/linkerd.md);
# with the cluster's existing Linkerd, only the component that carries what was read from it.
mesh: list[pulumi.Resource] = []
control_plane: LinkerdControlPlane | ExistingLinkerd | None = None
trust_domain = settings.linkerd.trust_domain
if cluster_linkerd is not None:
    control_plane = ExistingLinkerd("linkerd", ExistingLinkerdArgs(cluster=cluster_linkerd))
    trust_domain = cluster_linkerd.trust_domain
    mesh.append(control_plane)
elif meshed:
    gateway_api = (
        GatewayApiCrds(
            "gateway-api",
            GatewayApiCrdsArgs(
                version=settings.gateway_api.version, source=settings.gateway_api.source
            ),
        )
        if settings.gateway_api.install
        else None
    )
    control_plane = LinkerdControlPlane(
        "linkerd",
        LinkerdControlPlaneArgs(settings=settings.linkerd),
        opts=pulumi.ResourceOptions(depends_on=[gateway_api] if gateway_api else None),
    )
    mesh.append(control_plane)

license_xml = (
    pulumi.Output.secret(settings.gridgain_license.get_secret_value())
    if settings.gridgain_license is not None
    else None
)
namespaces: dict[str, CacheNamespace] = {}
for namespace in settings.namespaces:
    licenses = {c.product_spec.license for c in settings.caches if c.namespace == namespace}
    license_spec = next((spec for spec in licenses if spec is not None), None)
    namespaces[namespace] = CacheNamespace(
        namespace,
        CacheNamespaceArgs(
            name=namespace,
            meshed=meshed,
            license=license_spec,
            license_xml=license_xml if license_spec is not None else None,
        ),
    )

# Pod-template annotations whose change restarts every cache (through its CacheRollout, after
# the control plane is ready): a Linkerd upgrade reaches the proxies only when the pods restart,
# and each trust-anchor rotation step must reach them too (docs/tasks/rotate-the-trust-anchor.md).
restart_annotations: dict[str, str] = cache_restart_annotations(settings.linkerd)
if meshed and cluster_linkerd is None:
    restart_annotations[LINKERD_VERSION] = settings.linkerd.version

# (output key, settings, component) per cache, in configuration order.
caches: list[tuple[str, CacheSettings, MeshedCache]] = [
    (
        key,
        cache,
        MeshedCache(
            f"{cache.namespace}/{cache.name}",
            MeshedCacheArgs(
                cache=cache,
                meshed=meshed,
                trust_domain=trust_domain,
                # + what keeps the proxy up during the node's GRACEFUL stop (per cache: the
                # fallback waits for its own grace period; docs/tasks/change-a-running-cache.md).
                restart_annotations={
                    **restart_annotations,
                    **proxy_lifetime_annotations(
                        settings.linkerd,
                        cache.termination_grace_period_seconds,
                        cluster_linkerd.version if cluster_linkerd else None,
                    ),
                },
            ),
            opts=pulumi.ResourceOptions(depends_on=[namespaces[cache.namespace], *mesh]),
        ),
    )
    for key, cache in zip(cache_output_keys(settings.caches), settings.caches, strict=True)
]

pulumi.export(
    "caches",
    {
        key: {
            "namespace": component.namespace,
            "product": cache.product.value,
            "replicas": cache.replicas,
            "podManagementPolicy": cache.pod_management_policy,
            "statefulset": component.statefulset_name,
            "serviceDnsName": component.service_dns_name,
            "serviceAccount": component.service_account_name,
            "identity": component.identity,
            "meshed": meshed,
            BACKUPS_ON_OTHER_NODES: cache.placement.backups_on_other_nodes,
        }
        for key, cache, component in caches
    },
)
# Ignite keeps a running cache's backup placement: say so when the setting changes under it.
deployed_caches = deployed.get("caches")
for key, cache, component in caches:
    previous = deployed_caches.get(key) if isinstance(deployed_caches, dict) else None
    note = backup_filter_change(key, cache, previous)
    if note is not None:
        pulumi.log.warn(note, resource=component)

# The StatefulSets are OnDelete: each cache's pods are restarted by its rollout, one at a time and
# only when the cluster is whole and rebalanced (docs/tasks/change-a-running-cache.md).
rollouts: dict[str, CacheRollout] = {
    key: CacheRollout(
        f"{cache.namespace}/{cache.name}",
        CacheRolloutArgs(
            namespace=cache.namespace,
            statefulset=cache.name,
            replicas=cache.replicas,
            container=CONTAINER_NAME,
            timeout_seconds=cache.rollout.timeout_seconds,
            interval_seconds=cache.rollout.interval_seconds,
            pod_template_fingerprint=component.pod_template_fingerprint,
            kube_context=cluster_access.context,
            kubeconfig=cluster_access.kubeconfig,
            restart_loses_data=cache.restart_loses_data,
        ),
        opts=pulumi.ResourceOptions(depends_on=[component, *mesh]),
    )
    for key, cache, component in caches
}
pulumi.export("rollout", {key: rollout.summary for key, rollout in rollouts.items()})

# Prove it: one post-deploy mTLS check per cache, once its pods and the control plane are ready.
check = settings.mtls_check
mtls: dict[str, pulumi.Input[dict]] = {}
for key, cache, component in caches:
    if not meshed:
        mtls[key] = not_checked("not-meshed", "cachemesh:linkerd.enabled is false")
    elif not check.enabled:
        mtls[key] = not_checked("not-checked", "cachemesh:mtlsCheck.enabled is false")
    else:
        mtls[key] = MtlsCheck(
            f"{cache.namespace}/{cache.name}",
            MtlsCheckArgs(
                namespace=cache.namespace,
                statefulset=cache.name,
                replicas=cache.replicas,
                ports=cache.product_spec.inter_node_ports,
                identity=component.expected_identity,
                timeout_seconds=check.timeout_seconds,
                interval_seconds=check.interval_seconds,
                enforce=check.enforce,
                metrics_source=check.metrics_source,
                pod_template_fingerprint=component.pod_template_fingerprint,
                authorization=cache.authorization.value,
                servers=component.server_names,
                trust_roots_sha256=control_plane.trust_roots_sha256 if control_plane else None,
                kube_context=cluster_access.context,
                kubeconfig=cluster_access.kubeconfig,
                prometheus_url=check.prometheus_url,
                prometheus_service=check.prometheus_service,
                prometheus_job=check.prometheus_job,
            ),
            opts=pulumi.ResourceOptions(depends_on=[component, rollouts[key], *mesh]),
        ).report
pulumi.export("mtls", mtls)

# Keep watching after deploy day: a PrometheusRule per cache (needs the Prometheus Operator).
if meshed and settings.monitoring.prometheus_rules:
    pulumi.export(
        "prometheusRules",
        {
            key: CacheAlerts(
                f"{cache.namespace}/{cache.name}",
                CacheAlertsArgs.for_cache(
                    cache,
                    component.expected_identity,
                    settings.monitoring,
                    settings.linkerd.certificates.early_renewal_hours,
                ),
                opts=pulumi.ResourceOptions(depends_on=[component]),
            ).rule_name
            for key, cache, component in caches
        },
    )
pulumi.export("mtlsVerified", pulumi.Output.all(*mtls.values()).apply(all_verified))

# The pack's one-object mandatory rules again in the API server, for objects Pulumi never sees
# (docs/tasks/admission-policies.md).
if settings.admission.enabled:
    admission = AdmissionPolicies(
        "cachemesh-admission",
        AdmissionPoliciesArgs(
            settings=settings.admission,
            namespaces=settings.admission_namespaces,
            cache_ports=ALL_SERVER_FIRST_PORTS,
            image_repositories=ALL_IMAGE_REPOSITORIES,
        ),
    )
    pulumi.export("admissionPolicies", admission.policy_names)

if control_plane is not None:
    pulumi.export("linkerdIdentity", control_plane.identity)
    pulumi.export("linkerdHealthy", control_plane.health)
