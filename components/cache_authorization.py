"""CacheAuthorization: Linkerd policy so only the right identities reach a cache's ports.

For each port with an access rule (settings/products.py) a `Server` selects that port on the
cache's pods and one `AuthorizationPolicy` of the same name, targeting the Server, admits the
identities of a `MeshTLSAuthentication`:

- strict: the cluster ports (47100, 47500) admit only the cache's own identity; the thin-client
  port (10800) admits `clientIdentities`; the REST port (8080) admits `adminIdentities`;
- meshed: the cluster and thin-client ports admit any meshed identity (`*`); the REST port
  still admits only `adminIdentities`.

An empty `clientIdentities` or `adminIdentities` admits the cache's own identity only: nobody
else, not "every meshed workload of the cluster" (`*` says that, explicitly).

With the pods' default inbound policy at `deny`, every other port and every unauthenticated
(plaintext) connection is refused. A Server's `proxyProtocol` supersedes the opaque-ports
annotation for its port, so the server-first ports' Servers say `opaque` — otherwise protocol
detection, the guide's handshake stall, would come back.

Nothing here admits a client without a mesh identity: no `NetworkAuthentication`, no route for
probes. The REST API is Ignite's admin API, one path with the command in the query
(`/ignite?cmd=setstate&state=INACTIVE` wipes an in-memory cluster), and Linkerd's query-parameter
match accepts a request when ANY `name=value` pair matches while Ignite reads the FIRST `cmd`
(linkerd2-proxy `linkerd/http/route/src/http/match/query_param.rs` at da3e2bec, `is_match`:
`form_urlencoded::parse(qs).any(...)`; apache/ignite `modules/rest-http/.../jetty/
GridJettyRestHandler.java` at d20badb2, `command()`: `req.getParameter("cmd")`, the servlet
API's first value), so no route can open "only the probe commands". The probes therefore run
inside the container over loopback, which the proxy does not intercept
(components/meshed_cache.py `probes`), and the pod template has no HTTP or TCP probe for which
Linkerd would authorize a default probe route.
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
    # The cache pods' own identity; who may use the thin-client port and the REST (admin) port
    # (empty: the cache's own identity only).
    own_identity: str
    client_identities: tuple[str, ...] = ()
    admin_identities: tuple[str, ...] = ()


def proxy_protocol(port: CachePort) -> str:
    if port.server_first:
        return "opaque"
    return "HTTP/1" if port.http else "unknown"


def authentications(args: CacheAuthorizationArgs) -> dict[PortAccess, tuple[str, tuple[str, ...]]]:
    """Which MeshTLSAuthentication (name, identities) each kind of port requires, by mode."""
    own = (f"{args.cache_name}-peers", (args.own_identity,))
    admins = (f"{args.cache_name}-admins", args.admin_identities) if args.admin_identities else own
    if args.mode is AuthorizationMode.MESHED:
        anyone = (f"{args.cache_name}-any-meshed", ANY_MESHED)
        return {PortAccess.PEERS: anyone, PortAccess.CLIENTS: anyone, PortAccess.ADMINS: admins}
    clients = (
        (f"{args.cache_name}-clients", args.client_identities) if args.client_identities else own
    )
    return {PortAccess.PEERS: own, PortAccess.CLIENTS: clients, PortAccess.ADMINS: admins}


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
            server: pulumi.Resource, server_name: str, authn: tuple[str, pulumi.Resource]
        ) -> None:
            """An AuthorizationPolicy named after its Server, requiring one mesh identity."""
            authn_name, authn_resource = authn
            custom(
                "AuthorizationPolicy",
                AUTHZ_API,
                server_name,
                {
                    "targetRef": ref("Server", server_name),
                    "requiredAuthenticationRefs": [ref("MeshTLSAuthentication", authn_name)],
                },
                server,
                authn_resource,
            )

        mesh_authns: dict[PortAccess, tuple[str, pulumi.Resource]] = {}
        created: dict[str, pulumi.Resource] = {}
        for access, (authn_name, identities) in authentications(args).items():
            if authn_name not in created:
                created[authn_name] = custom(
                    "MeshTLSAuthentication", AUTHN_API, authn_name, {"identities": list(identities)}
                )
            mesh_authns[access] = (authn_name, created[authn_name])

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
            authorize(server, object_name, mesh_authns[port.access])
        self.register_outputs(
            {"servers": {str(port): server for port, server in self.server_names.items()}}
        )
