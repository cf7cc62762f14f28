"""Small Kubernetes helpers shared by the components: labels and well-known annotation keys."""

from __future__ import annotations

import pulumi

LINKERD_INJECT = "linkerd.io/inject"
LINKERD_OPAQUE_PORTS = "config.linkerd.io/opaque-ports"
LINKERD_DEFAULT_INBOUND_POLICY = "config.linkerd.io/default-inbound-policy"
# Which authorization mode the program applied (read by the policy pack and by people).
AUTHORIZATION_MODE = "cachemesh.io/authorization"
# Pods roll when the node configuration changes (a ConfigMap edit alone would not restart them).
CONFIG_CHECKSUM = "cachemesh.io/config-sha256"
# The Linkerd version the pods' proxies were injected by: a Linkerd upgrade changes it, which
# restarts the caches (safely, through CacheRollout) so their proxies run the new version.
LINKERD_VERSION = "cachemesh.io/linkerd-version"


def selector_labels(cache_name: str) -> dict[str, str]:
    """The guide's selector (`app`, `type: server`); immutable on a StatefulSet, so kept minimal."""
    return {"app": cache_name, "type": "server"}


def common_labels(cache_name: str, product_key: str) -> dict[str, str]:
    return {
        **selector_labels(cache_name),
        "app.kubernetes.io/name": product_key,
        "app.kubernetes.io/instance": cache_name,
        "app.kubernetes.io/component": "cache-node",
        "app.kubernetes.io/part-of": "cachemesh",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def mesh_annotations(opaque_ports: str) -> dict[str, str]:
    """What puts a pod in the Linkerd mesh with its server-first ports opaque."""
    return {LINKERD_INJECT: "enabled", LINKERD_OPAQUE_PORTS: opaque_ports}


def linkerd_identity(service_account: str, namespace: str, trust_domain: str) -> str:
    """The mTLS identity Linkerd issues to pods running as this ServiceAccount."""
    return f"{service_account}.{namespace}.serviceaccount.identity.linkerd.{trust_domain}"


def child_options(
    parent: pulumi.Resource, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """Options for a component's children: parented to it, and waiting for whatever the
    component itself waits for (children do not inherit a component's depends_on)."""
    return pulumi.ResourceOptions(parent=parent, depends_on=opts.depends_on if opts else None)
