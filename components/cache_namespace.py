"""CacheNamespace: a namespace that holds cache clusters, and the licence Secret they share."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kube import LINKERD_INJECT
from settings.products import LicenseSpec


@dataclass(frozen=True)
class CacheNamespaceArgs:
    name: str
    meshed: bool
    # Set when a licensed product (GridGain 8) runs here; one Secret serves every cache in the
    # namespace, under the fixed name the guide and the node configuration use.
    license: LicenseSpec | None = None
    license_xml: pulumi.Input[str] | None = None


class CacheNamespace(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: CacheNamespaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:CacheNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        annotations = {LINKERD_INJECT: "enabled"} if args.meshed else None
        self.resource = k8s.core.v1.Namespace(
            args.name,
            metadata={
                "name": args.name,
                "labels": {"app.kubernetes.io/part-of": "cachemesh"},
                "annotations": annotations,
            },
            opts=child,
        )
        self.namespace = self.resource.metadata.name
        outputs: dict[str, pulumi.Input[str]] = {"namespace": self.namespace}
        if args.license is not None:
            if args.license_xml is None:
                raise ValueError(f"namespace {args.name}: a licence spec needs licence XML")
            secret = k8s.core.v1.Secret(
                f"{args.name}/{args.license.secret_name}",
                metadata={"name": args.license.secret_name, "namespace": self.namespace},
                type="Opaque",
                string_data={args.license.secret_key: pulumi.Output.secret(args.license_xml)},
                opts=child,
            )
            outputs["licenseSecretName"] = secret.metadata.name
        self.register_outputs(outputs)
