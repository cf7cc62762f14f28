"""The likely cause and the fix of every kind of failure the mTLS check reports, as a table.

Worded after the guide's troubleshooting. Each entry is a pair of templates; `advice` fills in the
cache's namespace, StatefulSet, pod and the shared sentences below. The table is data so that the
docs (docs/reference/) and the PrometheusRule's annotations (components/cache_alerts.py) can list
the same text the check prints.
"""

from __future__ import annotations

from checks.mtls_report import FAILURES_PAGE, Expectation, Failure

# The guide's value is "10800,47100,47500": the thin-client port plus the cache ports.
THIN_CLIENT_PORT = 10800

_OPAQUE = (
    'Confirm the pod template carries config.linkerd.io/opaque-ports: "{opaque_ports}" under '
    "spec.template.metadata.annotations, then restart the StatefulSet: {restart}."
)
_INJECT = (
    "Put linkerd.io/inject: enabled under spec.template.metadata.annotations (the pod template, "
    "not the StatefulSet's own metadata), reapply, then {restart}."
)
# cachemesh's StatefulSets use updateStrategy OnDelete: `kubectl rollout restart` only marks a new
# revision, and checks.rollout replaces the pods one at a time, each only when the cluster is whole
# and rebalanced (docs/tasks/change-a-running-cache.md#running-the-rollout-by-hand). A pod template
# change applied by `pulumi up` runs that rollout by itself.
_RESTART = (
    "kubectl rollout restart statefulset/{sts} -n {ns}, then python -m checks.rollout "
    "--namespace {ns} --statefulset {sts} --replicas {replicas}"
)

_OPAQUE_PORTS_CAUSE = (
    "The nodes have not formed a cluster over the mesh: without the opaque-ports annotation "
    "Linkerd's protocol detection stalls on the server-first discovery/communication protocols "
    "and the nodes' handshakes time out. Or the cluster is still forming and has sent no traffic "
    "yet."
)
_OPAQUE_PORTS_FIX = (
    _OPAQUE + " Check the node logs for handshake timeouts: kubectl logs {target} -n {ns}."
)

#: kind of failure -> (likely cause, fix), both `str.format` templates over `_fields`.
ADVICE: dict[str, tuple[str, str]] = {
    "pod-missing": (
        "The StatefulSet has not created this pod (still scaling up, fewer replicas than "
        "expected, or the pod was deleted).",
        "Compare --replicas with kubectl get statefulset/{sts} -n {ns}; look at its events with "
        "kubectl describe statefulset/{sts} -n {ns}.",
    ),
    "pod-not-ready": (
        "The pod is still starting, crash-looping or failing readiness. A crash loop in the "
        "proxy-init/linkerd-init container points at missing iptables kernel modules "
        "(xt_multiport, xt_comment, xt_owner); handshake timeouts in the node log point at "
        "missing opaque ports.",
        "kubectl describe pod/{target} -n {ns} and kubectl logs {target} -n {ns} "
        "--all-containers; wait until every pod is Running and READY 2/2. " + _OPAQUE,
    ),
    "no-proxy": (
        "The Linkerd proxy was not injected (the pod shows 1/1 instead of 2/2): the inject "
        "annotation is missing or sits on the StatefulSet instead of its pod template, or the "
        "namespace/pod disables injection.",
        _INJECT,
    ),
    "plaintext": (
        "A peer reached this port without a Linkerd proxy on one side: a cache pod without the "
        "proxy (not injected), a config.linkerd.io/skip-inbound-ports or skip-outbound-ports "
        "annotation that lists the port, or a non-meshed client or TCP probe.",
        _INJECT + " Remove the port from any skip-inbound-ports/skip-outbound-ports annotation "
        "and keep non-meshed clients off the cache ports.",
    ),
    "wrong-identity": (
        "The peers run under a different ServiceAccount than the expected identity names, or the "
        "mesh uses a different trust domain. A Linkerd identity reads "
        "<serviceAccount>.<namespace>.serviceaccount.identity.linkerd.<trustDomain>.",
        "Check the pods' serviceAccountName (kubectl get pods -n {ns} -o "
        "jsonpath='{{.items[*].spec.serviceAccountName}}') and the trust domain the control plane "
        "was installed with; fix the pod template's serviceAccountName or pass the right "
        "--identity.",
    ),
    "no-traffic": (_OPAQUE_PORTS_CAUSE, _OPAQUE_PORTS_FIX),
    "not-participating": (_OPAQUE_PORTS_CAUSE, _OPAQUE_PORTS_FIX),
    "direction-missing": (
        "Connections on this port are seen from one end only: the other end's proxy is bypassed "
        "(skip-inbound-ports/skip-outbound-ports), or a proxy restarted and its counters were "
        "reset.",
        "Remove the port from any skip-*-ports annotation on the pod template, then {restart}; "
        "re-run the check once traffic has flowed again. " + _OPAQUE,
    ),
    "default-policy": (
        "Connections on this port were admitted by a default inbound policy, not by the "
        "program's Server: the Server is missing (not created, or created in another "
        "namespace), or its spec.podSelector does not select these pods, or its spec.port "
        "names neither this port number nor the container port's name. A port no Server "
        "selects falls back to the default policy. A default that still admits traffic (e.g. "
        "all-unauthenticated) while the pod template says "
        "config.linkerd.io/default-inbound-policy: deny also means the pods were created "
        "before that annotation: the default policy is fixed when the proxy starts.",
        "kubectl get server -n {ns} (expected: {servers}); kubectl get server/<name> -n {ns} "
        "-o yaml and compare spec.podSelector.matchLabels with the pods' labels "
        "(kubectl get pods -n {ns} --show-labels) and spec.port with the container port; "
        "kubectl get authorizationpolicy -n {ns}. Fix the Server (pulumi up re-creates the "
        "program's objects), then {restart} so the proxies start with the deny default.",
    ),
    "wrong-server": (
        "Another Server selects these pods on this port and the proxy uses it instead of the "
        "program's (Linkerd picks one Server per pod port; overlapping Servers are "
        "ambiguous), or --servers names the wrong Server.",
        "kubectl get server -n {ns} -o yaml: remove the other Server or narrow its "
        "podSelector/port so only the program's Server covers the port; or pass the "
        "Server names the program created (stack output) to --servers.",
    ),
    "wrong-authorization": (
        "The connections were authorized by something other than the program's "
        "AuthorizationPolicy of the same name as the Server: another AuthorizationPolicy or "
        "a legacy ServerAuthorization targets the Server and let them in.",
        "kubectl get authorizationpolicy,serverauthorization -n {ns}: remove the extra "
        "authorization that targets the program's Server; let applications in through "
        "the cache's clientIdentities instead.",
    ),
    "no-server-label": (
        "The proxy does not label inbound connections with the Server that admitted them "
        "(no srv_name label): a proxy from before Linkerd's policy support, or metrics "
        "from something that is not a Linkerd proxy.",
        "Upgrade Linkerd (the program's Server/AuthorizationPolicy objects need 2.12 or "
        "later) and restart the pods; until then only --authorization permissive can be "
        "checked.",
    ),
    "stale-trust-roots": (
        "The pod was injected with other trust roots than the current bundle (its "
        "linkerd.io/trust-root-sha256 annotation differs or is missing): it still runs with "
        "the old trust anchors, so during a trust-anchor rotation it will reject peers whose "
        "certificates chain to the new anchor.",
        "Restart it so the injector gives it the current bundle: kubectl delete pod/{target} "
        "-n {ns} (the StatefulSet re-creates it; `kubectl rollout restart` replaces no pod "
        "of an OnDelete StatefulSet). Delete several one at a time, the next only once the "
        "re-created pod is Ready and the cluster has rebalanced (python -m checks.rollout). "
        "List every meshed pod still on other trust roots with: python -m checks.trust_roots",
    ),
    "metrics": (
        "The proxy's admin endpoint (port 4191) could not be read or did not return Prometheus "
        "text: the proxy is not up yet, the pod is going away, or the CLI cannot reach it.",
        "Run the scrape by hand: linkerd diagnostics proxy-metrics -n {ns} po/{target} (or "
        "kubectl get --raw /api/v1/namespaces/{ns}/pods/{target}:4191/proxy/metrics) and "
        "linkerd check --proxy -n {ns}.",
    ),
}
#: Any other kind (kubectl failed while collecting, ...).
FALLBACK = ("The check could not observe the cluster.", "Re-run the check; see the problem text.")


def _fields(exp: Expectation, pod: str | None) -> dict[str, object]:
    place = {
        "ns": exp.namespace,
        "sts": exp.statefulset,
        "replicas": exp.replicas,
        "target": pod or f"{exp.statefulset}-0",
    }
    restart = restart_steps(exp.namespace, exp.statefulset, exp.replicas)
    return {
        **place,
        "restart": restart,
        "opaque_ports": ",".join(str(p) for p in sorted({THIN_CLIENT_PORT, *exp.ports})),
        "servers": ", ".join(f"{p}={n}" for p, n in sorted(exp.expected_servers.items())),
    }


def restart_steps(namespace: str, statefulset: str, replicas: int) -> str:
    """How to restart a cache's pods by hand: a new revision, then the gated rollout (OnDelete)."""
    return _RESTART.format(ns=namespace, sts=statefulset, replicas=replicas)


def advice(kind: str, exp: Expectation, pod: str | None = None) -> tuple[str, str]:
    """(likely cause, fix) for a kind of failure, worded after the guide's troubleshooting."""
    cause, fix = ADVICE.get(kind, FALLBACK)
    fields = _fields(exp, pod)
    return cause.format(**fields), fix.format(**fields)


def failure(
    exp: Expectation, kind: str, pod: str | None, port: int | None, problem: str
) -> Failure:
    """A Failure of `kind` on `pod`/`port` with its advice."""
    cause, fix = advice(kind, exp, pod)
    docs = f"{FAILURES_PAGE}#{kind if kind in ADVICE else 'anything-else'}"
    return Failure(pod=pod, port=port, problem=problem, likely_cause=cause, fix=fix, docs=docs)
