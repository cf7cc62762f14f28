"""MeshedCache: one Ignite 2 / GridGain 8 cluster whose node-to-node traffic runs through Linkerd.

For a cache N in namespace S it registers the guide's objects — ConfigMap `N-config`, headless
Service `N-headless`, StatefulSet `N` — plus a ServiceAccount `N`, so the pods' mesh identity is
the cache's own (`N.S.serviceaccount.identity.linkerd.<trust domain>`), not the namespace's
shared `default`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.cache_authorization import CacheAuthorization, CacheAuthorizationArgs
from components.cache_scheduling import (
    backup_filter,
    node_name_env,
    pod_scheduling,
    service_account_annotations,
    template_annotations,
)
from components.ignite_xml import render_ignite_config
from components.kube import (
    AUTHORIZATION_MODE,
    CONFIG_CHECKSUM,
    LINKERD_DEFAULT_INBOUND_POLICY,
    LINKERD_OPAQUE_PORTS,
    child_options,
    common_labels,
    linkerd_identity,
    mesh_annotations,
    selector_labels,
)
from components.rest_probe import rest_probe_command
from settings.caches import AuthorizationMode, CacheSettings

CONFIG_KEY = "ignite-config.xml"
CONFIG_MOUNT = "/ignite/config"
WORK_VOLUME = "ignite-work"
WORK_MOUNT = "/ignite/work"
CONFIG_VOLUME = "ignite-config"
CONTAINER_NAME = "ignite-node"
# The guide's node environment: REST for probes and tools, IPv4 for the JVM's socket binding.
NODE_ENV: tuple[tuple[str, str], ...] = (
    ("IGNITE_QUIET", "false"),
    ("OPTION_LIBS", "ignite-rest-http"),
    ("CONFIG_URI", f"file://{CONFIG_MOUNT}/{CONFIG_KEY}"),
    ("JVM_OPTS", "-Djava.net.preferIPv4Stack=true"),
)

# The JVM must get SIGTERM for ShutdownPolicy GRACEFUL to act (its shutdown hook runs the wait).
# The kubelet signals only the container's PID 1. apacheignite/ignite: Dockerfile `CMD
# $IGNITE_HOME/run.sh` (shell form) and run.sh ends in `exec java` (apache/ignite
# deliveries/docker/apache-ignite/run.sh, 00fe69fc544e; x86_64/Dockerfile, 1fb866919ae5), so
# java is PID 1 when /bin/sh execs its single command. gridgain/enterprise: its Dockerfile is not
# public; the last public one (gridgain/gridgain 9505c0cfd72^ docker/apache-ignite/run.sh) runs
# bin/ignite.sh without exec, and ignite.sh runs java in a restart loop without exec (tag 8.9.33
# bin/ignite.sh), so bash is PID 1 and, having no SIGTERM handler as PID 1, drops the signal.
# Rather than depend on either, a preStop hook sends SIGTERM to the node's JVM (found by its main
# class; the hook's own shell, whose command line names it too, is skipped) and waits until it
# has exited. Within terminationGracePeriodSeconds; after that the kubelet SIGKILLs regardless.
# When the JVM is PID 1 the hook returns right after the signal: when PID 1 exits, the kernel
# kills every other process of the PID namespace, so a hook still waiting would be SIGKILLed
# and reported as FailedPreStopHook; the kubelet itself waits for PID 1 to exit (its own
# SIGTERM then reaches a JVM already running its shutdown hooks, which changes nothing).
NODE_MAIN_CLASS = "org.apache.ignite.startup.cmdline.CommandLineStartup"
STOP_NODE_SCRIPT = (
    "self=$$; "
    "for d in /proc/[0-9]*; do "
    'pid="${d#/proc/}"; '
    '[ "$pid" = "$self" ] && continue; '
    f'if grep -q {NODE_MAIN_CLASS} "$d/cmdline" 2>/dev/null; then '
    'kill -TERM "$pid" 2>/dev/null; '
    '[ "$pid" = 1 ] && continue; '
    'while kill -0 "$pid" 2>/dev/null; do sleep 1; done; '
    "fi; "
    "done"
)


def probes(
    cache: CacheSettings,
) -> tuple[k8s.core.v1.ProbeArgsDict, k8s.core.v1.ProbeArgsDict] | None:
    """Readiness and liveness (in that order): exec probes asking the REST API over loopback.
    Never an HTTP or TCP probe: Linkerd would authorize the kubelet's probe route for it from
    the probe networks, unauthenticated (components/cache_authorization.py)."""
    settings = cache.probes
    if not settings.enabled:
        return None
    product = cache.product_spec

    def probe(path: str, initial_delay: int) -> k8s.core.v1.ProbeArgsDict:
        return {
            "exec_": {
                "command": rest_probe_command(
                    product.http_port.number, path, settings.timeout_seconds
                )
            },
            "initial_delay_seconds": initial_delay,
            "period_seconds": settings.period_seconds,
            "timeout_seconds": settings.timeout_seconds,
            "failure_threshold": settings.failure_threshold,
        }

    return (
        probe(cache.readiness_probe_path, settings.readiness_initial_delay_seconds),
        probe(product.liveness_probe_path, settings.liveness_initial_delay_seconds),
    )


@dataclass(frozen=True)
class MeshedCacheArgs:
    cache: CacheSettings
    meshed: bool
    trust_domain: str
    # Pod template annotations whose change must restart the cache's pods (a Linkerd upgrade, a
    # trust-anchor rotation step): plain data, so they are part of the pod template fingerprint
    # and every restart they cause goes through the same path as a configuration change.
    restart_annotations: Mapping[str, str] = field(default_factory=dict)


class MeshedCache(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    statefulset_name: pulumi.Output[str]
    service_dns_name: pulumi.Output[str]
    service_account_name: pulumi.Output[str]
    identity: pulumi.Output[str]

    def __init__(
        self, name: str, args: MeshedCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:MeshedCache", name, None, opts)
        cache = args.cache
        product = cache.product_spec
        # What the component waits for (its namespace and licence, the mesh control plane) every
        # child waits for too: no cache pod may start before the proxy injector exists.
        child = child_options(self, opts)
        ns = cache.namespace
        labels = common_labels(cache.name, product.key)
        headless_name = f"{cache.name}-headless"
        service_dns = f"{headless_name}.{ns}.svc.cluster.local"
        mode = cache.authorization
        mesh: dict[str, str] = {}
        if args.meshed:
            mesh = {
                **mesh_annotations(product.opaque_ports_annotation),
                AUTHORIZATION_MODE: mode.value,
            }
            if mode is not AuthorizationMode.PERMISSIVE:
                # Fixed when the proxy starts: anything no Server admits is refused.
                mesh[LINKERD_DEFAULT_INBOUND_POLICY] = "deny"
        # Known before deployment, so the mTLS check's command line can carry it.
        self.expected_identity: str = linkerd_identity(cache.name, ns, args.trust_domain)

        def meta(
            k8s_name: str, annotations: dict[str, str] | None = None
        ) -> k8s.meta.v1.ObjectMetaArgsDict:
            return {"name": k8s_name, "namespace": ns, "labels": labels, "annotations": annotations}

        # Each pod's stable name as well as the Service's: Ignite resolves a name in the IP
        # finder to one address, so the Service name alone can resolve to the starting pod itself
        # (docs/how-it-works/what-it-deploys.md#discovery-how-the-nodes-find-each-other).
        pod_dns = tuple(
            f"{cache.name}-{i}.{headless_name}.{ns}.svc.cluster.local"
            for i in range(cache.replicas)
        )
        config_xml = render_ignite_config(
            caches=cache.cache_configurations,
            discovery_address=service_dns,
            plugin_beans=product.plugin_beans,
            pod_addresses=pod_dns,
            backup_filter=backup_filter(cache),
        )
        # The restart checksum leaves the pod list out: changing `replicas` changes the list in
        # the ConfigMap but restarts no running pod (they are in the ring already; new pods read
        # the new list).
        checksum_xml = render_ignite_config(
            caches=cache.cache_configurations,
            discovery_address=service_dns,
            plugin_beans=product.plugin_beans,
            backup_filter=backup_filter(cache),
        )
        config_map = k8s.core.v1.ConfigMap(
            f"{ns}/{cache.name}-config",
            metadata=meta(f"{cache.name}-config"),
            data={CONFIG_KEY: config_xml},
            opts=child,
        )
        service_account = k8s.core.v1.ServiceAccount(
            f"{ns}/{cache.name}",
            metadata=meta(cache.name, service_account_annotations(cache)),
            opts=child,
        )
        service_spec: k8s.core.v1.ServiceSpecArgsDict = {
            "cluster_ip": "None",
            # Nodes must find each other before they are Ready, or the first pod forms the
            # cluster alone (the IP finder reads the Service's endpoints).
            "publish_not_ready_addresses": True,
            "ports": [
                {"port": p.number, "name": p.service_port_name}
                for p in product.ports
                if p.service_port_name is not None
            ],
            "selector": selector_labels(cache.name),
        }
        service = k8s.core.v1.Service(
            f"{ns}/{headless_name}",
            # Clients resolving through the Service get opaque treatment too (Linkerd docs).
            metadata=meta(
                headless_name,
                {LINKERD_OPAQUE_PORTS: product.opaque_ports_annotation} if args.meshed else None,
            ),
            spec=service_spec,
            opts=child,
        )

        # Linkerd policy first, so the pods meet their Servers when they start.
        ready_first: list[pulumi.Resource] = [config_map, service_account, service]
        self.server_names: dict[int, str] = {}
        if args.meshed and mode is not AuthorizationMode.PERMISSIVE:
            authorization = CacheAuthorization(
                f"{ns}/{cache.name}",
                CacheAuthorizationArgs(
                    cache_name=cache.name,
                    namespace=ns,
                    mode=mode,
                    pod_selector=selector_labels(cache.name),
                    labels=labels,
                    ports=product.ports,
                    own_identity=self.expected_identity,
                    client_identities=cache.client_identities,
                    admin_identities=cache.admin_identities,
                ),
                opts=child,
            )
            ready_first.append(authorization)
            self.server_names = authorization.server_names
            if mode is AuthorizationMode.STRICT and not cache.client_identities:
                # The safe default (docs/tasks/let-an-application-in.md): say it, so an application
                # that used to get in through an empty list learns why it no longer does.
                pulumi.log.info(
                    f"cachemesh:caches[{cache.name}].clientIdentities is empty: in strict mode the "
                    f"thin-client port of {ns}/{cache.name} admits only the cache's own identity. "
                    "List your clients' identities there, or ['*'] for any meshed workload.",
                    resource=self,
                )
        elif args.meshed:
            pulumi.log.warn(
                f"cachemesh:caches[{cache.name}].authorization is permissive: traffic between "
                "meshed cache nodes is mTLS, but plaintext and foreign clients are still let in "
                "(the guide's all-unauthenticated default). Use strict or meshed to refuse them.",
                resource=self,
            )

        # Names are explicit, so the pod template is plain data: it can be fingerprinted, and
        # ordering comes from depends_on rather than from output references.
        volumes: list[k8s.core.v1.VolumeArgsDict] = [
            {"name": CONFIG_VOLUME, "config_map": {"name": f"{cache.name}-config"}}
        ]
        mounts: list[k8s.core.v1.VolumeMountArgsDict] = [
            {"mount_path": CONFIG_MOUNT, "name": CONFIG_VOLUME}
        ]
        if product.license is not None:
            volumes.append(
                {
                    "name": product.license.volume_name,
                    "secret": {"secret_name": product.license.secret_name},
                }
            )
            mounts.append(
                {"mount_path": product.license.mount_path, "name": product.license.volume_name}
            )
        volumes.append({"name": WORK_VOLUME, "empty_dir": {}})
        mounts.append({"mount_path": WORK_MOUNT, "name": WORK_VOLUME})

        checksum = hashlib.sha256(checksum_xml.encode()).hexdigest()
        requirements = cache.resources.as_dict()
        resources: k8s.core.v1.ResourceRequirementsArgsDict = {}
        if "limits" in requirements:
            resources["limits"] = requirements["limits"]
        if "requests" in requirements:
            resources["requests"] = requirements["requests"]
        container: k8s.core.v1.ContainerArgsDict = {
            "name": CONTAINER_NAME,
            "image": cache.effective_image,
            "resources": resources,
            "env": [
                *(k8s.core.v1.EnvVarArgsDict(name=k, value=v) for k, v in NODE_ENV),
                *node_name_env(cache),
            ],
            "ports": [{"container_port": p.number} for p in product.ports],
            "volume_mounts": mounts,
            "lifecycle": {"pre_stop": {"exec_": {"command": ["/bin/sh", "-c", STOP_NODE_SCRIPT]}}},
        }
        node_probes = probes(cache)
        if node_probes is not None:
            container["readiness_probe"], container["liveness_probe"] = node_probes
        pod_template: k8s.core.v1.PodTemplateSpecArgsDict = {
            "metadata": {
                "labels": labels,
                "annotations": {
                    **mesh,
                    CONFIG_CHECKSUM: checksum,
                    **dict(sorted(args.restart_annotations.items())),
                    **template_annotations(cache),
                },
            },
            "spec": {
                # Optional keys built from validated settings (a partial PodSpec is no TypedDict).
                **pod_scheduling(cache),  # type: ignore[typeddict-item]
                "service_account_name": cache.name,
                "termination_grace_period_seconds": cache.termination_grace_period_seconds,
                "volumes": volumes,
                "containers": [container],
            },
        }
        statefulset_spec: k8s.apps.v1.StatefulSetSpecArgsDict = {
            "replicas": cache.replicas,
            "pod_management_policy": cache.pod_management_policy,
            # The controller never replaces a pod by itself: CacheRollout (checks.rollout)
            # evicts them one at a time, each only when the cluster is whole and rebalanced.
            "update_strategy": {"type": "OnDelete"},
            "service_name": headless_name,
            "selector": {"match_labels": selector_labels(cache.name)},
            "template": pod_template,
        }
        # Protected: Pulumi refuses to replace (every pod at once) or delete it unless the cache
        # says allowReplacement, whatever the previous outputs say (settings/immutable.py).
        if cache.allow_replacement:
            pulumi.log.warn(
                f"cachemesh:caches[{cache.name}].allowReplacement is true: Pulumi may replace or "
                f"delete StatefulSet {ns}/{cache.name} — a replacement recreates every pod at "
                "once and loses the cache's in-memory data. Set it back to false afterwards.",
                resource=self,
            )
        statefulset = k8s.apps.v1.StatefulSet(
            f"{ns}/{cache.name}",
            metadata=meta(cache.name),
            spec=statefulset_spec,
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(depends_on=ready_first, protect=not cache.allow_replacement),
            ),
        )
        budget = cache.pod_disruption_budget
        if budget.enabled:
            budget_spec: k8s.policy.v1.PodDisruptionBudgetSpecArgsDict = {
                "max_unavailable": budget.max_unavailable,
                "selector": {"match_labels": selector_labels(cache.name)},
            }
            k8s.policy.v1.PodDisruptionBudget(
                f"{ns}/{cache.name}", metadata=meta(cache.name), spec=budget_spec, opts=child
            )

        self.namespace = statefulset.metadata.namespace
        self.statefulset_name = statefulset.metadata.name
        self.service_dns_name = pulumi.Output.from_input(service_dns)
        self.service_account_name = service_account.metadata.name
        self.identity = service_account.metadata.name.apply(
            lambda sa: linkerd_identity(sa, ns, args.trust_domain)
        )
        # Changes here restart the pods, so whatever was verified about them must be re-checked.
        self.pod_template_fingerprint: str = hashlib.sha256(
            json.dumps(pod_template, sort_keys=True).encode()
        ).hexdigest()
        self.register_outputs(
            {
                "namespace": self.namespace,
                "statefulsetName": self.statefulset_name,
                "serviceDnsName": self.service_dns_name,
                "service_account_name": self.service_account_name,
                "identity": self.identity,
            }
        )
