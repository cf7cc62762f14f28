"""GatewayApiCrds: the guide's `kubectl apply --server-side -f .../standard-install.yaml`.

The manifest (the pinned release URL, or a local file or URL for air-gapped clusters) is applied by
`kubernetes:yaml/v2:ConfigFile`: the provider reads it and registers every CRD as a child. The
provider applies server-side by default (pulumi-kubernetes >= 4: `enableServerSideApply` true),
which is what `--server-side` asks kubectl for; the CRDs are too large for client-side apply's
last-applied annotation. Each CRD is awaited until Established before anything that depends on
this component (the Linkerd charts) starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class GatewayApiCrdsArgs:
    version: str
    # The release URL for `version`, or the user's manifest (file path or URL).
    source: str


class GatewayApiCrds(pulumi.ComponentResource):
    version: str
    source: str

    def __init__(
        self, name: str, args: GatewayApiCrdsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:GatewayApiCrds", name, None, opts)
        self.version = args.version
        self.source = args.source
        self.crds = k8s.yaml.v2.ConfigFile(
            "gateway-api-standard-install",
            file=args.source,
            # Deleting these CRDs deletes every HTTPRoute/GRPCRoute in the cluster, also those
            # other tools made: `pulumi destroy` leaves them in place.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.register_outputs({"version": args.version, "source": args.source})
