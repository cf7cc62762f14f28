"""Test cases for the Kyverno mapping, written for cachemesh.

These cases restate, in cachemesh's own words, the scenarios that the Kyverno policy library tests
for its Linkerd policies (kyverno/policies, folder ``linkerd/<policy>/``, the ``.chainsaw-test`` and
``.kyverno-test`` cases). That folder is the reference only. Nothing here is copied from it. The
names, images, labels and layout are ours. The facts that decide a verdict carry over: which
annotation, with which value, at which path, on which kind gives which verdict.

* ``VALIDATIONS[policy]`` lists ``Case``s. A case is a manifest and the verdict Kyverno gives it
  (``"pass"`` or ``"fail"``). Names are unique within one policy.
* ``CONTEXT[policy]`` lists the manifests that a case needs in the same stack, for example the
  Linkerd ``Server`` that a workload must be matched by. They are not judged.
* ``MUTATIONS[policy]`` lists ``Mutation``s: a Namespace before the mutation, and its annotations
  after it.

Besides the library's own scenarios, a few cases pin down how Kyverno's policy text decides
where its tests are silent (kyverno/policies @ b9c4317ce022, ``linkerd/<policy>/<policy>.yaml``):
require-linkerd-server matches Deployment and Service only; check-linkerd-authorizationpolicy
compares ``targetRef.name`` with the names of the namespace's Servers and policy.linkerd.io
HTTPRoutes and never reads ``targetRef.kind``. The pack's default configuration must give all
of these verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["pass", "fail"]

INJECT = "linkerd.io/inject"
PROXY_AWAIT = "config.linkerd.io/proxy-await"
SKIP_IN = "config.linkerd.io/skip-inbound-ports"
SKIP_OUT = "config.linkerd.io/skip-outbound-ports"
INBOUND_POLICY = "config.linkerd.io/default-inbound-policy"

# An annotation that no Linkerd policy looks at. It shows that other annotations change nothing.
UNRELATED = {"cachemesh.dev/owner": "platform"}

# A non-cache image, so the cache-specific rules stay out of the verdicts.
IMAGE = "registry.example.net/cachemesh/echo:2.3"
LINKERD_POLICY_API = "policy.linkerd.io"


@dataclass(frozen=True)
class Case:
    manifest: Mapping[str, Any]
    verdict: Verdict

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])


@dataclass(frozen=True)
class Mutation:
    before: Mapping[str, Any]
    after_annotations: Mapping[str, str]
    label: str = field(default="")


def _annotated(meta: dict[str, Any], annotations: Mapping[str, str] | None) -> dict[str, Any]:
    if annotations is not None:
        meta["annotations"] = dict(annotations)
    return meta


def _container(index: int, port: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": f"echo-{index}", "image": IMAGE}
    if port is not None:
        container["ports"] = [{"containerPort": port, "protocol": "TCP"}]
    return container


def namespace(name: str, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _annotated({"name": name}, annotations),
    }


def pod(name: str, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _annotated({"name": name}, annotations),
        "spec": {"containers": [_container(1)]},
    }


def deployment(
    name: str,
    annotations: Mapping[str, str] | None = None,
    pod_labels: Mapping[str, str] | None = None,
    ports_on: Sequence[int | None] = (None,),
    own_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Deployment; ``ports_on`` gives each container's one port (``None``: no ports)."""
    labels = dict(pod_labels or {"app": name})
    template_meta = _annotated({"labels": labels}, annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(own_labels or labels)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": template_meta,
                "spec": {"containers": [_container(i, p) for i, p in enumerate(ports_on, 1)]},
            },
        },
    }


def statefulset(name: str, pod_labels: Mapping[str, str], port: int) -> dict[str, Any]:
    labels = dict(pod_labels)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [_container(1, port)]},
            },
        },
    }


def replication_controller(
    name: str, annotations: Mapping[str, str] | None = None
) -> dict[str, Any]:
    template_meta = _annotated({"labels": {"rc": name}}, annotations)
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"rc": name},
            "template": {"metadata": template_meta, "spec": {"containers": [_container(1)]}},
        },
    }


def cronjob(name: str, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    template_meta = _annotated({"labels": {"job": name}}, annotations)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": "*/15 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "metadata": template_meta,
                        "spec": {"restartPolicy": "Never", "containers": [_container(1)]},
                    }
                }
            },
        },
    }


def service(name: str, selector: Mapping[str, str], port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"tier": "edge"}},
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [{"port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


def server(name: str, pod_labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": f"{LINKERD_POLICY_API}/v1beta1",
        "kind": "Server",
        "metadata": {"name": name},
        "spec": {
            "podSelector": {"matchLabels": dict(pod_labels)},
            "port": "api",
            "proxyProtocol": "HTTP/2",
        },
    }


def http_route(name: str, parent_server: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{LINKERD_POLICY_API}/v1beta3",
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"group": LINKERD_POLICY_API, "kind": "Server", "name": parent_server}],
            "rules": [
                {"matches": [{"method": "GET", "path": {"type": "PathPrefix", "value": "/v1/"}}]}
            ],
        },
    }


def authorization_policy(name: str, target_kind: str, target_name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{LINKERD_POLICY_API}/v1alpha1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name},
        "spec": {
            "targetRef": {"group": LINKERD_POLICY_API, "kind": target_kind, "name": target_name},
            "requiredAuthenticationRefs": [{"kind": "ServiceAccount", "name": "frontend"}],
        },
    }


def _ok(manifest: Mapping[str, Any]) -> Case:
    return Case(manifest, "pass")


def _bad(manifest: Mapping[str, Any]) -> Case:
    return Case(manifest, "fail")


# require-linkerd-mesh-injection: a Namespace passes only with linkerd.io/inject == "enabled".
_MESH_INJECTION = [
    _ok(namespace("ns-inject-enabled", {INJECT: "enabled", **UNRELATED})),
    _ok(namespace("ns-inject-enabled-listed-last", {**UNRELATED, INJECT: "enabled"})),
    _bad(namespace("ns-inject-disabled", {**UNRELATED, INJECT: "disabled"})),
    _bad(namespace("ns-inject-missing", UNRELATED)),
    _bad(namespace("ns-no-annotations")),
]

# prevent-linkerd-pod-injection-override: linkerd.io/inject may be absent or anything but
# "disabled", on a Pod and in the pod template of a controller (Deployment, CronJob).
_INJECTION_OVERRIDE = [
    _ok(pod("pod-inject-enabled", {INJECT: "enabled"})),
    _ok(pod("pod-no-annotations")),
    _ok(deployment("deploy-no-annotations")),
    _ok(deployment("deploy-inject-enabled", {INJECT: "enabled"})),
    _ok(cronjob("cron-no-annotations")),
    _ok(cronjob("cron-inject-enabled", {INJECT: "enabled"})),
    _bad(pod("pod-inject-disabled", {INJECT: "disabled"})),
    _bad(deployment("deploy-inject-disabled", {INJECT: "disabled"})),
    _bad(cronjob("cron-inject-disabled", {INJECT: "disabled"})),
    # Kyverno auto-generates its Pod rules for ReplicationControllers too.
    _ok(replication_controller("rc-inject-enabled", {INJECT: "enabled"})),
    _bad(replication_controller("rc-inject-disabled", {INJECT: "disabled"})),
]

# prevent-linkerd-port-skipping: either skip annotation, whatever its value, fails; on a Pod and
# in the pod template of a Deployment or CronJob.
_SKIPS: dict[str, dict[str, str]] = {
    "skip-in": {SKIP_IN: "true"},
    "skip-out": {SKIP_OUT: "true"},
    "skip-both": {SKIP_OUT: "true", SKIP_IN: "true"},
}
_PORT_SKIPPING = [
    _ok(pod("pod-no-annotations")),
    _ok(pod("pod-unrelated-annotation", UNRELATED)),
    _ok(deployment("deploy-no-annotations")),
    _ok(deployment("deploy-unrelated-annotation", UNRELATED)),
    _ok(cronjob("cron-no-annotations")),
    _ok(cronjob("cron-unrelated-annotation", UNRELATED)),
    _ok(replication_controller("rc-unrelated-annotation", UNRELATED)),
    *(
        _bad(build(f"{prefix}-{suffix}", {**UNRELATED, **skips}))
        for prefix, build in (
            ("pod", pod),
            ("deploy", deployment),
            ("cron", cronjob),
            ("rc", replication_controller),
        )
        for suffix, skips in _SKIPS.items()
    ),
]

# require-linkerd-server: a Deployment that declares a container port, and a Service, must be
# selected by a Server's podSelector (matched against the pod template labels / the Service
# selector; the Deployment's own labels do not count). A Deployment without ports is exempt.
_SERVED = {"app": "ledger-api"}
_UNSERVED = {"app": "ledger-batch"}
_REQUIRE_SERVER = [
    _ok(deployment("deploy-served-port-on-second", None, _SERVED, (None, 9090), _UNSERVED)),
    _ok(deployment("deploy-served-port-on-first", None, _SERVED, (9090, None), _UNSERVED)),
    _ok(deployment("deploy-served-no-ports", None, _SERVED, (None, None), _UNSERVED)),
    _ok(service("svc-served", _SERVED, 9090)),
    _bad(deployment("deploy-unserved-port-on-second", None, _UNSERVED, (None, 9090))),
    _bad(deployment("deploy-unserved-port-on-first", None, _UNSERVED, (9090, None))),
    _bad(service("svc-unserved", _UNSERVED, 9090)),
    # Not a Deployment: Kyverno's rule does not match it.
    _ok(statefulset("sts-unserved-port", _UNSERVED, 9090)),
]

# check-linkerd-authorizationpolicy: targetRef.name must name a Server or an HTTPRoute in the
# namespace.
_AUTHZ_SERVER = "ledger-grpc"
_AUTHZ_ROUTE = "ledger-read-route"
_AUTHORIZATION = [
    _ok(authorization_policy("authz-to-route", "HTTPRoute", _AUTHZ_ROUTE)),
    _ok(authorization_policy("authz-to-server", "Server", _AUTHZ_SERVER)),
    _bad(authorization_policy("authz-to-missing-route", "HTTPRoute", "ledger-write-route")),
    _bad(authorization_policy("authz-to-missing-server", "Server", "ledger-admin")),
    # Only the name is compared: a Server-kind target that names the HTTPRoute passes, and a
    # Namespace target fails unless a Server or HTTPRoute has the namespace's name.
    _ok(authorization_policy("authz-server-kind-naming-the-route", "Server", _AUTHZ_ROUTE)),
    _bad(authorization_policy("authz-to-namespace", "Namespace", "ledger")),
]

VALIDATIONS: dict[str, list[Case]] = {
    "require-linkerd-mesh-injection": _MESH_INJECTION,
    "prevent-linkerd-pod-injection-override": _INJECTION_OVERRIDE,
    "prevent-linkerd-port-skipping": _PORT_SKIPPING,
    "require-linkerd-server": _REQUIRE_SERVER,
    "check-linkerd-authorizationpolicy": _AUTHORIZATION,
}

CONTEXT: dict[str, list[dict[str, Any]]] = {
    "require-linkerd-server": [server("ledger-api-server", _SERVED)],
    "check-linkerd-authorizationpolicy": [
        server(_AUTHZ_SERVER, {"app": "ledger"}),
        # The route's parent need not exist: only the route's own name is looked up.
        http_route(_AUTHZ_ROUTE, "ledger-http"),
    ],
}

# add-linkerd-mesh-injection adds inject=enabled and proxy-await=enabled, each only if absent.
# add-linkerd-policy-annotation adds default-inbound-policy=deny only if absent.
MUTATIONS: dict[str, list[Mutation]] = {
    "add-linkerd-mesh-injection": [
        Mutation(
            namespace("mesh-add-both", UNRELATED),
            {**UNRELATED, INJECT: "enabled", PROXY_AWAIT: "enabled"},
            "neither present: both added",
        ),
        Mutation(
            namespace("mesh-keep-enabled", {PROXY_AWAIT: "enabled", INJECT: "enabled"}),
            {INJECT: "enabled", PROXY_AWAIT: "enabled"},
            "both enabled: unchanged",
        ),
        Mutation(
            namespace("mesh-keep-disabled", {PROXY_AWAIT: "disabled", INJECT: "disabled"}),
            {INJECT: "disabled", PROXY_AWAIT: "disabled"},
            "both disabled: unchanged",
        ),
        Mutation(
            namespace("mesh-add-inject", {PROXY_AWAIT: "disabled"}),
            {PROXY_AWAIT: "disabled", INJECT: "enabled"},
            "only proxy-await (disabled): inject added",
        ),
        Mutation(
            namespace("mesh-add-await", {INJECT: "disabled"}),
            {INJECT: "disabled", PROXY_AWAIT: "enabled"},
            "only inject (disabled): proxy-await added",
        ),
    ],
    "add-linkerd-policy-annotation": [
        Mutation(
            namespace("inbound-add-deny", UNRELATED),
            {**UNRELATED, INBOUND_POLICY: "deny"},
            "absent: deny added",
        ),
        Mutation(
            namespace("inbound-keep-allow", {INBOUND_POLICY: "allow"}),
            {INBOUND_POLICY: "allow"},
            "already set (allow): unchanged",
        ),
    ],
}

# How many cases the Kyverno library's own tests give each policy; ours must not have fewer.
UPSTREAM_CASE_COUNTS: dict[str, int] = {
    "require-linkerd-mesh-injection": 5,
    "prevent-linkerd-pod-injection-override": 9,
    "prevent-linkerd-port-skipping": 15,
    "require-linkerd-server": 7,
    "check-linkerd-authorizationpolicy": 4,
    "add-linkerd-mesh-injection": 5,
    "add-linkerd-policy-annotation": 2,
}
