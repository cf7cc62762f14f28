"""LinkerdCni: the Linkerd CNI plugin (`linkerd install-cni`), as the `linkerd2-cni` Helm chart.

With it, the pod network is redirected to the proxy by a CNI plugin that the container runtime runs
on the node when it sets up the pod's network, instead of by the `linkerd-init` container inside
every meshed pod. The control plane must then run with `cniEnabled: true` (the injector adds the
`linkerd-network-validator` init container instead of `linkerd-init`), and the plugin must be ready
on the nodes before any meshed pod is created: LinkerdControlPlane creates this component after the
`linkerd-crds` release and before the `linkerd-control-plane` release
(docs/how-it-works/linkerd.md#what-is-installed-in-which-order).

Children: the `linkerd-cni` Namespace (labelled as the chart labels it when the CLI renders it),
then the `linkerd2-cni` release, which waits until its DaemonSet is ready on every node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from settings.linkerd import CNI_CHART, LINKERD_HELM_REPO, ChartSource

NAMESPACE = "linkerd-cni"
# Seconds Helm waits for the DaemonSet to be ready on every node (per install/upgrade).
READY_TIMEOUT_SECONDS = 600


def namespace_metadata(name: str = NAMESPACE) -> k8s.meta.v1.ObjectMetaArgsDict:
    """What `linkerd install-cni` puts on its namespace (charts/linkerd2-cni/templates/
    cni-plugin.yaml, rendered only by the CLI): the webhooks skip it, and the DaemonSet writes to
    the node's CNI directories through hostPath volumes, which only `privileged` pod security
    admits."""
    return {
        "name": name,
        "labels": {
            "linkerd.io/cni-resource": "true",
            "config.linkerd.io/admission-webhooks": "disabled",
            "pod-security.kubernetes.io/enforce": "privileged",
            "app.kubernetes.io/part-of": "cachemesh",
        },
    }


def cni_values() -> dict[str, Any]:
    """linkerd2-cni values: the chart defaults (the same proxy ports and UID as the control plane's
    defaults) plus the repair controller, which deletes meshed pods whose
    `linkerd-network-validator` failed because the pod was created before the plugin was ready on
    its node (the node-start race), so they are recreated with a working network."""
    return {"repairController": {"enabled": True}}


@dataclass(frozen=True)
class LinkerdCniArgs:
    # The Linkerd edge chart version (linkerd2-cni is published with every release's version).
    version: str
    # Where the chart comes from (`linkerd.charts`): by default Linkerd's edge repository.
    source: ChartSource = field(
        default_factory=lambda: ChartSource(chart=CNI_CHART, repo=LINKERD_HELM_REPO)
    )
    values: dict[str, Any] = field(default_factory=cni_values)


class LinkerdCni(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: LinkerdCniArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:LinkerdCni", name, None, opts)
        # Pulumi does not pass a component's depends_on on to its children: pass it on here.
        outer = list(opts.depends_on or []) if opts and isinstance(opts.depends_on, list) else []

        namespace = k8s.core.v1.Namespace(
            NAMESPACE,
            metadata=namespace_metadata(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=outer),
        )
        self.namespace = namespace.metadata.name
        self.release = k8s.helm.v3.Release(
            CNI_CHART,
            name=CNI_CHART,
            chart=args.source.chart,
            version=args.version,
            repository_opts={"repo": args.source.repo} if args.source.repo is not None else None,
            namespace=NAMESPACE,
            values=args.values,
            # Wait until the DaemonSet has installed the plugin on every node: a meshed pod
            # created on a node without it fails its linkerd-network-validator.
            skip_await=False,
            timeout=READY_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*outer, namespace]),
        )
        self.register_outputs(
            {"namespace": self.namespace, "chart": CNI_CHART, "chartVersion": args.version}
        )
