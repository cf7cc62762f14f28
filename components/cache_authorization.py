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

The REST port is HTTP, and the kubelet probes it. Left alone, Linkerd authorizes probes with a
default route: GET on the probe's *path* from `probeNetworks` (0.0.0.0/0 by default). Ignite's
REST API is one path, `/ignite`, with the command in the query, so that default route would open
the whole REST API (`?cmd=get`, `?cmd=put`, …) to anyone. So the REST Server gets two HTTPRoutes:
one matching exactly the probe commands (path and `cmd` query parameter), authorized for the
probe networks by a `NetworkAuthentication`, and one for everything else, authorized like any
client port. A Server with routes gets no default probe route.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components.kube import child_options
from settings.caches import AuthorizationMode
from settings.products import CachePort, PortAccess

POLICY_GROUP = "policy.linkerd.io"
SERVER_API = f"{POLICY_GROUP}/v1beta3"
AUTHN_API = f"{POLICY_GROUP}/v1alpha1"
AUTHZ_API = f"{POLICY_GROUP}/v1alpha1"
ROUTE_API = f"{POLICY_GROUP}/v1beta3"
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
    # The kubelet's HTTP probe paths (with query) on the REST port, and where probes come from.
    probe_paths: tuple[str, ...] = ()
    probe_networks: tuple[str, ...] = ()


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


def probe_match(probe_path: str) -> dict:
    """An exact HTTPRoute match for one probe request: path, query parameters, GET."""
    url = urlsplit(probe_path)
    match: dict = {"path": {"type": "Exact", "value": url.path or "/"}, "method": "GET"}
    params = parse_qsl(url.query, keep_blank_values=True)
    if params:
        match["queryParams"] = [{"type": "Exact", "name": k, "value": v} for k, v in params]
    return match


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

        def custom(
            kind: str, api_version: str, object_name: str, spec: dict, *after: pulumi.Resource
        ) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(
                f"{ns}/{object_name}-{kind.lower()}",
                api_version=api_version,
                kind=kind,
                metadata=meta(object_name),
                spec=spec,
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(depends_on=list(after))
                ),
            )

        def ref(kind: str, object_name: str) -> dict:
            return {"group": POLICY_GROUP, "kind": kind, "name": object_name}

        def authorize(
            target_kind: str,
            target_name: str,
            target: pulumi.Resource,
            authn: tuple[str, str, pulumi.Resource],
        ) -> None:
            """An AuthorizationPolicy named after its target, requiring one authentication."""
            authn_kind, authn_name, authn_resource = authn
            custom(
                "AuthorizationPolicy",
                AUTHZ_API,
                target_name,
                {
                    "targetRef": ref(target_kind, target_name),
                    "requiredAuthenticationRefs": [ref(authn_kind, authn_name)],
                },
                target,
                authn_resource,
            )

        mesh_authns: dict[PortAccess, tuple[str, str, pulumi.Resource]] = {}
        created: dict[str, pulumi.Resource] = {}
        for access, (authn_name, identities) in authentications(args).items():
            if authn_name not in created:
                created[authn_name] = custom(
                    "MeshTLSAuthentication", AUTHN_API, authn_name, {"identities": list(identities)}
                )
            mesh_authns[access] = ("MeshTLSAuthentication", authn_name, created[authn_name])

        self.server_names = server_names(args.cache_name, args.ports)
        for port in args.ports:
            if port.access is PortAccess.NONE:
                continue
            object_name = self.server_names[port.number]
            server = custom(
                "Server",
                SERVER_API,
                object_name,
                {
                    "podSelector": {"matchLabels": args.pod_selector},
                    "port": port.number,
                    "proxyProtocol": proxy_protocol(port),
                },
            )
            if not port.http:
                authorize("Server", object_name, server, mesh_authns[port.access])
                continue
            # HTTP: per-route authorization, so probes get only the probe commands.
            parent = {"parentRefs": [ref("Server", object_name)]}
            everything = custom(
                "HTTPRoute",
                ROUTE_API,
                object_name,
                {
                    **parent,
                    "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}],
                },
                server,
            )
            authorize("HTTPRoute", object_name, everything, mesh_authns[port.access])
            if args.probe_paths:
                probe_name = f"{object_name}-probes"
                probes = custom(
                    "HTTPRoute",
                    ROUTE_API,
                    probe_name,
                    {**parent, "rules": [{"matches": [probe_match(p) for p in args.probe_paths]}]},
                    server,
                )
                networks = custom(
                    "NetworkAuthentication",
                    AUTHN_API,
                    probe_name,
                    {"networks": [{"cidr": cidr} for cidr in args.probe_networks]},
                )
                authorize(
                    "HTTPRoute", probe_name, probes, ("NetworkAuthentication", probe_name, networks)
                )
        self.register_outputs(
            {"servers": {str(port): server for port, server in self.server_names.items()}}
        )
