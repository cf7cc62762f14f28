"""CacheAlerts: a Prometheus Operator `PrometheusRule` that keeps proving a cache's mTLS after
deploy day (`cachemesh:monitoring.prometheusRules`).

The post-deploy check (checks/) proves the mesh once, at `pulumi up`. These alerts watch the same
proxy counters afterwards, on the cache's inter-node ports and — when its clients must be meshed
(strict/meshed authorization) — the thin-client port; never the REST port (its probes run
over loopback, which the proxy never sees; who may use it is its AuthorizationPolicy's concern).
They fire when:

- CachemeshPlaintextConnection: a connection is accepted or opened without TLS;
- CachemeshUnexpectedIdentity: an identity other than the admitted ones connects (inter-node ports:
  the cache's own; thin-client port: `clientIdentities`, the cache's own when the list is empty);
- CachemeshConnectionsDenied: the proxies refuse connections by authorization;
- CachemeshProxiesMissing: fewer meshed proxies are scraped than there are replicas;
- CachemeshProxyCertificateExpiring / CachemeshIssuerCertificateExpiring: a proxy's identity
  certificate, or the identity issuer's, nears expiry.

Counters are cumulative, so the counter alerts fire on an increase over `window`, and on a series
that first appeared within the window (a first connection creates its series at 1, which
`increase()` alone cannot see). Series are selected by the labels linkerd-viz's scrape job
attaches (`job`, `namespace`, `pod`: checks/mtls_prometheus.py `selector`, shared with the
check's Prometheus source) and the proxy's own labels. The advice in the annotations is the
check's own (`checks.mtls_evaluate.advice`), with the pod left to Prometheus' template.

The PrometheusRule CRD comes with the Prometheus Operator (kube-prometheus-stack); the program
does not install it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from checks.mtls_advice import restart_steps
from checks.mtls_evaluate import advice
from checks.mtls_prometheus import DEFAULT_JOB, promql_string, selector
from checks.mtls_report import Expectation
from components.kube import child_options
from settings.caches import AuthorizationMode, CacheSettings
from settings.monitoring import MonitoringSettings
from settings.products import PortAccess

API_VERSION = "monitoring.coreos.com/v1"
KIND = "PrometheusRule"
POD = "{{ $labels.pod }}"
PORT = "{{ $labels.target_port }}"
# A proxy certificate lives 24 h by default (Linkerd's identity.issuer.issuanceLifetime) and is
# renewed well before; one with less than this left has failed to renew.
PROXY_CERT_MIN_SECONDS = 3600
# The proxy's gauge of its identity certificate's expiry (linkerd/linkerd2-proxy
# linkerd/identity/src/metrics.rs: `expiration_timestamp`, unit seconds). Its prefix is the
# registry it is registered in: since v2.227.0 (commit 31d7464ef, #2887) the `cert` sub-registry
# of `control_identity` (linkerd/app/src/lib.rs and linkerd/app/src/identity.rs at
# 29637b64f6cebedaf15bfbf516818d7a28a4d5a6); before, `identity_cert` (the name in
# linkerd-metrics-samples/01). The alert reads either, so it works across a proxy upgrade.
PROXY_CERT_EXPIRY_METRICS = (
    "control_identity_cert_expiration_timestamp_seconds",
    "identity_cert_expiration_timestamp_seconds",
)


@dataclass(frozen=True)
class CacheAlertsArgs:
    cache_name: str  # also the StatefulSet's name: its pods are <cache_name>-<ordinal>
    namespace: str
    replicas: int
    inter_node_ports: tuple[int, ...]
    own_identity: str
    # Thin-client ports whose clients must be meshed, and who is admitted there (empty, or a
    # `*`: any meshed identity, so no identity alert on them).
    client_ports: tuple[int, ...] = ()
    client_identities: tuple[str, ...] = ()
    job: str = DEFAULT_JOB
    window: str = "10m"
    # The issuer alert fires when fewer hours are left than the program's early renewal.
    issuer_renewal_hours: int = 1440
    # On the PrometheusRule's metadata, for the operator's ruleSelector (e.g. release: ...).
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_cache(
        cls,
        cache: CacheSettings,
        own_identity: str,
        monitoring: MonitoringSettings,
        issuer_renewal_hours: int,
    ) -> CacheAlertsArgs:
        """The alerts of one configured cache: its inter-node ports, plus the binary client
        ports when its authorization makes clients be meshed (never the HTTP/REST port)."""
        product = cache.product_spec
        meshed_clients = cache.authorization is not AuthorizationMode.PERMISSIVE
        client_ports = tuple(
            p.number
            for p in product.ports
            if meshed_clients and p.access is PortAccess.CLIENTS and not p.http and not p.inter_node
        )
        strict = cache.authorization is AuthorizationMode.STRICT
        return cls(
            cache_name=cache.name,
            namespace=cache.namespace,
            replicas=cache.replicas,
            inter_node_ports=product.inter_node_ports,
            own_identity=own_identity,
            client_ports=client_ports,
            # strict with no list admits the cache's own identity only (CacheAuthorization).
            client_identities=(cache.client_identities or (own_identity,)) if strict else ("*",),
            job=monitoring.job,
            window=monitoring.window,
            issuer_renewal_hours=issuer_renewal_hours,
            labels=dict(monitoring.rule_labels),
        )

    @property
    def expectation(self) -> Expectation:
        return Expectation(
            namespace=self.namespace,
            statefulset=self.cache_name,
            replicas=self.replicas,
            ports=self.inter_node_ports,
            identity=self.own_identity,
        )


def identity_regex(patterns: tuple[str, ...]) -> str | None:
    """An RE2 regex for admitted identities (`*` for the service account matches one label);
    None when anyone meshed is admitted."""
    if not patterns or "*" in patterns:
        return None
    parts = [
        "[^.]+" + re.escape(p[1:]) if p.startswith("*.") else re.escape(p) for p in sorted(patterns)
    ]
    return "|".join(parts)


def _ports(ports: tuple[int, ...]) -> str:
    return "|".join(str(p) for p in sorted(ports))


def _rising(series: str, by: str, window: str) -> str:
    """Series of `by` whose counter rose within `window`, or appeared within it."""
    return (
        f"(sum by ({by}) (increase({series}[{window}])) > 0)\n"
        f"or\n(sum by ({by}) ({series} unless {series} offset {window}) > 0)"
    )


def _advice(kind: str, args: CacheAlertsArgs) -> dict[str, str]:
    cause, fix = advice(kind, args.expectation, POD)
    return {"likely_cause": cause, "fix": fix}


def rule_groups(args: CacheAlertsArgs) -> list[dict[str, Any]]:
    """The rule groups of one cache's PrometheusRule (also a plain Prometheus rule file's)."""
    exp = args.expectation
    sel = selector(exp, args.job)
    win = args.window
    inter = _ports(args.inter_node_ports)
    watched = _ports(args.inter_node_ports + args.client_ports)
    static = {"cache": args.cache_name, "namespace": args.namespace}
    where = f"cache {args.namespace}/{args.cache_name}"

    def labels(severity: str) -> dict[str, str]:
        return {"severity": severity, **static}

    plaintext = (
        f'tcp_open_total{{{sel},target_port=~"{watched}",tls!="true",no_tls_reason!="loopback"}}'
    )
    own = promql_string(args.own_identity)
    identity_terms = [
        _rising(
            f'tcp_open_total{{{sel},direction="inbound",tls="true",target_port=~"{inter}",'
            f"client_id!={own}}}",
            "namespace, pod, direction, target_port, client_id",
            win,
        ),
        _rising(
            f'tcp_open_total{{{sel},direction="outbound",tls="true",target_port=~"{inter}",'
            f"server_id!={own}}}",
            "namespace, pod, direction, target_port, server_id",
            win,
        ),
    ]
    admitted = identity_regex(args.client_identities)
    if args.client_ports and admitted is not None:
        identity_terms.append(
            _rising(
                f'tcp_open_total{{{sel},direction="inbound",tls="true",'
                f'target_port=~"{_ports(args.client_ports)}",client_id!~{promql_string(admitted)}}}',
                "namespace, pod, direction, target_port, client_id",
                win,
            )
        )
    # Refusals are counted by inbound_tcp_authz_deny_total only: inbound_tcp_errors_total has
    # never carried error="unauthorized" together with target_port — linkerd2-proxy #1237
    # (29c22af55, 2021-09) removed that error kind ("tracked separately") in the same change
    # that gave the error counter its target labels (linkerd/app/inbound/src/metrics/error.rs).
    denied = _rising(
        f'inbound_tcp_authz_deny_total{{{sel},target_port=~"{watched}"}}',
        "namespace, pod, target_port, srv_name",
        win,
    )
    rules: list[dict[str, Any]] = [
        {
            "alert": "CachemeshPlaintextConnection",
            "expr": _rising(
                plaintext, "namespace, pod, direction, target_port, no_tls_reason", win
            ),
            "labels": labels("critical"),
            "annotations": {
                "summary": f"Plaintext {{{{ $labels.direction }}}} connection on {where}, "
                f"pod {POD}, port {PORT}",
                "description": f"{{{{ $labels.direction }}}} connection(s) without TLS "
                f"({{{{ $labels.no_tls_reason }}}}) on port {PORT} of {POD} in the last {win}.",
                **_advice("plaintext", args),
            },
        },
        {
            "alert": "CachemeshUnexpectedIdentity",
            "expr": "\nor\n".join(identity_terms),
            "labels": labels("critical"),
            "annotations": {
                "summary": f"Unexpected mTLS identity on {where}, pod {POD}, port {PORT}",
                "description": f"{{{{ $labels.direction }}}} TLS connection(s) on port {PORT} of "
                f"{POD} with identity {{{{ $labels.client_id }}}}{{{{ $labels.server_id }}}}; "
                f"admitted: {args.own_identity} on the inter-node ports"
                + (
                    f", {', '.join(args.client_identities)} on the client port(s)"
                    if admitted is not None and args.client_ports
                    else ""
                )
                + ".",
                **_advice("wrong-identity", args),
            },
        },
        {
            "alert": "CachemeshConnectionsDenied",
            "expr": denied,
            "labels": labels("warning"),
            "annotations": {
                "summary": f"Connections refused by authorization on {where}, pod {POD}, "
                f"port {PORT}",
                "description": f"The proxy of {POD} refused connection(s) on port {PORT} in "
                f"the last {win} (Server {{{{ $labels.srv_name }}}}). The policy is working; "
                "something is trying to reach the cache that it does not admit.",
                "likely_cause": "A client that is not meshed, or meshed under an identity the "
                "cache does not admit (not in cachemesh:caches[].clientIdentities), or another "
                "workload scanning the cache ports.",
                "fix": f"Find the client: linkerd viz tap -n {args.namespace} po/{POD} (or the "
                "proxy log). Mesh it (linkerd.io/inject: enabled) and add its identity to "
                "cachemesh:caches[].clientIdentities, then pulumi up; or stop it connecting.",
            },
        },
        {
            "alert": "CachemeshProxiesMissing",
            "expr": f"(count(count by (pod) (up{{{sel}}} == 1)) or vector(0)) < {args.replicas}",
            "for": "5m",
            "labels": labels("critical"),
            "annotations": {
                "summary": f"Fewer meshed proxies than replicas on {where}",
                "description": f"{{{{ $value }}}} of {args.replicas} pods' proxies are scraped "
                f"by job {args.job}: a pod is missing, not injected, or its proxy does not answer.",
                "likely_cause": advice("no-proxy", exp)[0]
                + " Or: "
                + advice("pod-missing", exp)[0],
                "fix": advice("no-proxy", exp)[1] + " " + advice("pod-missing", exp)[1],
            },
        },
        {
            "alert": "CachemeshProxyCertificateExpiring",
            "expr": "min by (namespace, pod) ("
            f'{{__name__=~"{"|".join(PROXY_CERT_EXPIRY_METRICS)}",{sel}}}) - time() '
            f"< {PROXY_CERT_MIN_SECONDS}",
            "for": "10m",
            "labels": labels("critical"),
            "annotations": {
                "summary": f"Proxy identity certificate of {POD} ({where}) expires soon",
                "description": f"The proxy of {POD} holds an mTLS certificate that expires in "
                "{{ $value | humanizeDuration }}: it has failed to renew it.",
                "likely_cause": "The proxy cannot reach linkerd-identity, or the identity issuer "
                "has expired or been replaced without the trust anchor that signs it.",
                # A new proxy asks linkerd-identity for a fresh certificate when it starts. The
                # StatefulSet is OnDelete: `kubectl rollout restart` alone only marks a new
                # revision; checks.rollout then replaces the pods one at a time through the gates.
                "fix": f"kubectl logs {POD} -n {args.namespace} -c linkerd-proxy | grep -i "
                "identity; linkerd check --proxy -n "
                f"{args.namespace}; fix what they report (the issuer, the trust anchor, the "
                "proxy's way to linkerd-identity), then restart the cache's pods through the "
                "gated rollout: "
                + restart_steps(args.namespace, args.cache_name, args.replicas)
                + ".",
            },
        },
        {
            "alert": "CachemeshIssuerCertificateExpiring",
            "expr": f"min(issuer_cert_ttl_seconds) < {args.issuer_renewal_hours * 3600}",
            "for": "10m",
            "labels": labels("warning"),
            "annotations": {
                "summary": f"Linkerd identity issuer certificate expires soon ({where})",
                "description": "The identity issuer certificate expires in "
                "{{ $value | humanizeDuration }}; after that no proxy of the mesh can renew "
                "its certificate and mTLS between cache nodes stops.",
                "likely_cause": "The issuer certificate is inside its early-renewal window "
                "(cachemesh:linkerd.certificates.earlyRenewalHours) and no pulumi up has "
                "renewed it, or a bring-your-own issuer was not rotated.",
                "fix": "Run pulumi up: the program renews its issuer inside the early-renewal "
                "window. For cachemesh:linkerd.issuerCertPem, issue a new issuer from the same "
                "trust anchor and set it (pulumi config set --secret --path "
                "linkerd.issuerCertPem / issuerKeyPem), then pulumi up.",
            },
        },
    ]
    return [
        {
            "name": f"cachemesh.{args.namespace}.{args.cache_name}.mtls",
            "rules": rules,
        }
    ]


class CacheAlerts(pulumi.ComponentResource):
    """One `PrometheusRule` named `<cache>-mtls-alerts` in the cache's namespace."""

    rule_name: str

    def __init__(
        self, name: str, args: CacheAlertsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:CacheAlerts", name, None, opts)
        self.rule_name = f"{args.cache_name}-mtls-alerts"
        metadata: k8s.meta.v1.ObjectMetaArgsDict = {
            "name": self.rule_name,
            "namespace": args.namespace,
            "labels": {
                "app.kubernetes.io/instance": args.cache_name,
                "app.kubernetes.io/part-of": "cachemesh",
                "app.kubernetes.io/managed-by": "pulumi",
                **args.labels,
            },
        }
        k8s.apiextensions.CustomResource(
            f"{args.namespace}/{args.cache_name}-mtls-alerts",
            api_version=API_VERSION,
            kind=KIND,
            metadata=metadata,
            spec={"groups": rule_groups(args)},
            opts=child_options(self, opts),
        )
        self.register_outputs({"ruleName": self.rule_name})
