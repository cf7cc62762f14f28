"""CacheAuthorization: Linkerd policy so only the right identities reach a cache's ports.

For each port with an access rule (settings/products.py) a `Server` selects that port on the
cache's pods and one `AuthorizationPolicy` of the same name admits the identities of a
`MeshTLSAuthentication`:

- strict: the cluster ports (47100, 47500) admit only the cache's own identity; the client ports
  (10800, 8080) admit `clientIdentities`, or any meshed identity when none are listed;
- meshed: every port admits any meshed identity (`*`).

With the pods' default inbound policy at `deny`, every other port and every unauthenticated
(plaintext) connection is refused. A Server's `proxyProtocol` supersedes the opaque-ports
annotation for its port, so the server-first ports' Servers say `opaque` — otherwise protocol
detection, the guide's handshake stall, would come back.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kube import child_options
from settings.caches import AuthorizationMode
from settings.products import CachePort, PortAccess

POLICY_GROUP = "policy.linkerd.io"
SERVER_API = f"{POLICY_GROUP}/v1beta3"
AUTHN_API = f"{POLICY_GROUP}/v1alpha1"
AUTHZ_API = f"{POLICY_GROUP}/v1alpha1"
ANY_MESHED = ("*",)


@dataclass(frozen=True)
class CacheAuthorizationArgs:
    cache_name: str
    namespace: str
    mode: AuthorizationMode
    pod_selector: dict[str, str]
    labels: dict[str, str]
    ports: tuple[CachePort, ...]
    # The cache pods' own identity, and who may use the client ports (empty: any meshed).
    own_identity: str
    client_identities: tuple[str, ...] = ()


def proxy_protocol(port: CachePort) -> str:
    if port.server_first:
        return "opaque"
    return "HTTP/1" if port.http else "unknown"


def authentications(args: CacheAuthorizationArgs) -> dict[PortAccess, tuple[str, tuple[str, ...]]]:
    """Which MeshTLSAuthentication (name, identities) each kind of port requires, by mode."""
    if args.mode is AuthorizationMode.MESHED:
        anyone = (f"{args.cache_name}-any-meshed", ANY_MESHED)
        return {PortAccess.PEERS: anyone, PortAccess.CLIENTS: anyone}
    return {
        PortAccess.PEERS: (f"{args.cache_name}-peers", (args.own_identity,)),
        PortAccess.CLIENTS: (f"{args.cache_name}-clients", args.client_identities or ANY_MESHED),
    }


def server_names(cache_name: str, ports: tuple[CachePort, ...]) -> dict[int, str]:
    """Port -> the name of its Server (and AuthorizationPolicy)."""
    return {p.number: f"{cache_name}-{p.key}" for p in ports if p.access is not PortAccess.NONE}


class CacheAuthorization(pulumi.ComponentResource):
    server_names: dict[int, str]

    def __init__(
        self, name: str, args: CacheAuthorizationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:CacheAuthorization", name, None, opts)
        if args.mode is AuthorizationMode.PERMISSIVE:
            raise ValueError("permissive mode has no Linkerd policy objects")
        # The policy CRDs come with Linkerd: every object waits for what this component waits for.
        child = child_options(self, opts)
        ns = args.namespace

        def meta(object_name: str) -> dict:
            return {"name": object_name, "namespace": ns, "labels": args.labels}

        authns: dict[str, k8s.apiextensions.CustomResource] = {}
        for authn_name, identities in dict(authentications(args).values()).items():
            authns[authn_name] = k8s.apiextensions.CustomResource(
                f"{ns}/{authn_name}",
                api_version=AUTHN_API,
                kind="MeshTLSAuthentication",
                metadata=meta(authn_name),
                spec={"identities": list(identities)},
                opts=child,
            )

        required = authentications(args)
        self.server_names = server_names(args.cache_name, args.ports)
        for port in args.ports:
            if port.access is PortAccess.NONE:
                continue
            object_name = self.server_names[port.number]
            server = k8s.apiextensions.CustomResource(
                f"{ns}/{object_name}",
                api_version=SERVER_API,
                kind="Server",
                metadata=meta(object_name),
                spec={
                    "podSelector": {"matchLabels": args.pod_selector},
                    "port": port.number,
                    "proxyProtocol": proxy_protocol(port),
                },
                opts=child,
            )
            authn_name, _ = required[port.access]
            k8s.apiextensions.CustomResource(
                f"{ns}/{object_name}-authz",
                api_version=AUTHZ_API,
                kind="AuthorizationPolicy",
                metadata=meta(object_name),
                spec={
                    "targetRef": {"group": POLICY_GROUP, "kind": "Server", "name": object_name},
                    "requiredAuthenticationRefs": [
                        {"group": POLICY_GROUP, "kind": "MeshTLSAuthentication", "name": authn_name}
                    ],
                },
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(depends_on=[server, authns[authn_name]])
                ),
            )
        self.register_outputs(
            {"servers": {str(port): server for port, server in self.server_names.items()}}
        )
