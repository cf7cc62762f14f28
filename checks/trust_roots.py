"""List every meshed pod in the cluster that runs with other Linkerd trust roots than the current
bundle: the pods to restart before the next step of a trust-anchor rotation.

    python -m checks.trust_roots                         # compare with the cluster's bundle
    python -m checks.trust_roots --trust-roots-sha256 HEX  # compare with a given bundle hash

Linkerd's injector writes `linkerd.io/trust-root-sha256` = hex(sha256(bundle)) on every pod it
meshes, the bundle being the bytes of `ca-bundle.crt` in the `linkerd-identity-trust-roots`
ConfigMap it mounts (linkerd/linkerd2 commit b24cd40: controller/proxy-injector/webhook.go reads
the file, pkg/inject/inject.go hashes it). The chart writes the same annotation on the control
plane's own pods from the chart value (charts/partials/templates/_metadata.tpl); cachemesh hands
the chart the bundle trimmed, as the ConfigMap holds it, so one hash describes every pod. Without
--trust-roots-sha256 the ConfigMap is read and hashed exactly as the injector does.

Every namespace is listed, the control plane's included. A pod counts as meshed when it has a
`linkerd-proxy` container (sidecar or native sidecar). Prints a JSON report on stdout; exits 0
when every meshed pod carries the current hash, 1 when some do not, 2 when it cannot run or cannot
tell: a listing without a single meshed pod (the control plane's own pods always are) proves
nothing, and a listing item that is not a pod is an error, not a guess.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from checks.mtls_report import PROXY_CONTAINER, TRUST_ROOT_ANNOTATION
from checks.mtls_tools import (
    CannotRun,
    Tools,
    add_cluster_arguments,
    cluster_tools,
    run_tool,
)

TRUST_ROOTS_CONFIGMAP = "linkerd-identity-trust-roots"
TRUST_ROOTS_KEY = "ca-bundle.crt"
# `kubectl rollout restart` only edits the pod template; under `updateStrategy: OnDelete` (every
# cachemesh cache, docs/tasks/change-a-running-cache.md) the controller then replaces no pod, so a
# StatefulSet's stale pods are deleted, and the controller re-creates each with the current bundle.
STATEFULSET_NOTE = (
    "StatefulSet pod: delete its stale pods one at a time, the next only once the re-created pod "
    "is Ready (for a cachemesh cache, also once its cluster has rebalanced: python -m "
    "checks.rollout, docs/tasks/change-a-running-cache.md#running-the-rollout-by-hand); "
    "`kubectl rollout restart` does not replace the pods of an OnDelete StatefulSet such as "
    "cachemesh's caches"
)
EXIT_CURRENT = 0
EXIT_STALE = 1
EXIT_CANNOT_RUN = 2


@dataclass(frozen=True)
class ListedPod:
    """What the report needs of one pod of `kubectl get pods --all-namespaces -o json`."""

    namespace: str
    name: str
    meshed: bool  # it has a linkerd-proxy container (sidecar or native sidecar)
    trust_root_sha256: str | None
    owner: str | None  # deployment/NAME, statefulset/NAME, ... (None: no owner)


def _object(value: object, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} is a {type(value).__name__}, not an object")
    return value


def _objects(value: object, what: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{what} is a {type(value).__name__}, not a list")
    return [_object(v, f"{what}[{i}]") for i, v in enumerate(value)]


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a string")
    return value


def _owner(refs: list[Mapping[str, Any]]) -> str | None:
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if not ref:
        return None
    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
    # A Deployment's pods belong to a ReplicaSet named <deployment>-<pod-template-hash>.
    if kind == "ReplicaSet" and re.search(r"-[a-z0-9]{5,10}$", name):
        return f"deployment/{name.rsplit('-', 1)[0]}"
    return f"{kind.lower()}/{name}"


def _listed_pod(item: object) -> ListedPod:
    pod = _object(item, "the pod")
    meta = _object(pod.get("metadata"), "metadata")
    spec = _object(pod.get("spec"), "spec")
    containers = [
        *_objects(spec.get("containers"), "spec.containers"),
        *_objects(spec.get("initContainers"), "spec.initContainers"),
    ]
    found = _object(meta.get("annotations"), "metadata.annotations").get(TRUST_ROOT_ANNOTATION)
    return ListedPod(
        namespace=_text(meta.get("namespace"), "metadata.namespace"),
        name=_text(meta.get("name"), "metadata.name"),
        meshed=any(c.get("name") == PROXY_CONTAINER for c in containers),
        trust_root_sha256=None if found is None else _text(found, TRUST_ROOT_ANNOTATION),
        owner=_owner(_objects(meta.get("ownerReferences"), "metadata.ownerReferences")),
    )


def listed_pods(pods_json: Mapping[str, Any]) -> list[ListedPod]:
    """The pods of a `kubectl get pods -o json` List. Raises CannotRun naming the first item that
    is not a pod as the API server writes one."""
    items = pods_json.get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        raise CannotRun(
            f"kubectl's pod listing could not be read: items is a {type(items).__name__}"
        )
    pods = []
    for index, item in enumerate(items):
        try:
            pods.append(_listed_pod(item))
        except ValueError as exc:
            raise CannotRun(
                f"kubectl's pod listing could not be read: items[{index}]: {exc}. Run kubectl "
                "get pods --all-namespaces -o json by hand; a kubectl or API server that answers "
                "this is broken."
            ) from None
    return pods


def stale_pods(pods: list[ListedPod], sha256: str) -> list[dict[str, Any]]:
    """Meshed pods whose annotation is not `sha256`, each with what to run to restart it."""
    out: list[dict[str, Any]] = []
    for pod in pods:
        if not pod.meshed or pod.trust_root_sha256 == sha256:
            continue
        kind = pod.owner.split("/")[0] if pod.owner else None
        entry: dict[str, Any] = {
            "namespace": pod.namespace,
            "pod": pod.name,
            "owner": pod.owner,
            "trustRootSha256": pod.trust_root_sha256,
            "restart": (
                f"kubectl rollout restart {pod.owner} -n {pod.namespace}"
                if kind in ("deployment", "daemonset")
                else f"kubectl delete pod/{pod.name} -n {pod.namespace}"
            ),
        }
        if kind == "statefulset":
            entry["note"] = STATEFULSET_NOTE
        out.append(entry)
    return out


def _kubectl_json(tools: Tools, *args: str) -> dict[str, Any]:
    result = run_tool(
        tools.kubectl_argv(*args, "-o", "json", f"--request-timeout={int(tools.call_timeout)}s"),
        tools.call_timeout,
    )
    if result.missing:
        raise CannotRun(f"{result.error}. Install kubectl, then re-run.")
    if not result.ok:
        raise CannotRun(
            f"{result.describe()}. Check the kubeconfig and context (--context/--kubeconfig) and "
            "that you may read pods in all namespaces and the ConfigMap in the Linkerd namespace."
        )
    try:
        doc = json.loads(result.stdout)
    except ValueError as exc:
        raise CannotRun(f"kubectl returned JSON that could not be read: {exc}") from None
    if not isinstance(doc, dict):
        raise CannotRun("kubectl returned JSON that is not an object")
    return doc


def current_sha256(tools: Tools, namespace: str) -> str:
    """hex(sha256) of the bundle the injector mounts, as it hashes it (the bytes, no trimming)."""
    doc = _kubectl_json(tools, "get", "configmap", TRUST_ROOTS_CONFIGMAP, "-n", namespace)
    bundle = (doc.get("data") or {}).get(TRUST_ROOTS_KEY)
    if not isinstance(bundle, str):
        raise CannotRun(
            f"ConfigMap {namespace}/{TRUST_ROOTS_CONFIGMAP} has no {TRUST_ROOTS_KEY}; is Linkerd "
            "installed in that namespace (--linkerd-namespace)?"
        )
    return hashlib.sha256(bundle.encode()).hexdigest()


def _sha256(text: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise argparse.ArgumentTypeError("not a SHA-256 in lower-case hex (64 characters)")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m checks.trust_roots",
        description="List meshed pods (all namespaces) not running with the current Linkerd "
        "trust bundle.",
        epilog="Exit codes: 0 every meshed pod is current, 1 some are not, 2 cannot run.",
    )
    parser.add_argument(
        "--trust-roots-sha256",
        type=_sha256,
        metavar="HEX",
        help="the current bundle's hash (stack output linkerdIdentity.trustRootsSha256); "
        f"default: hash ca-bundle.crt of ConfigMap {TRUST_ROOTS_CONFIGMAP}",
    )
    parser.add_argument("--linkerd-namespace", default="linkerd")
    add_cluster_arguments(parser, passed_to="kubectl", call_timeout=60.0)
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        with cluster_tools(args, 60.0) as tools:
            tools.require_kubeconfig()
            sha = args.trust_roots_sha256 or current_sha256(tools, args.linkerd_namespace)
            pods = listed_pods(_kubectl_json(tools, "get", "pods", "--all-namespaces"))
        meshed = sum(1 for p in pods if p.meshed)
        if not meshed:
            # The control plane's own pods are always meshed: a listing without one is not the
            # whole cluster's (another context, RBAC that hides pods), so it proves nothing.
            raise CannotRun(
                f"cannot tell: kubectl listed {len(pods)} pods and no meshed one, yet the Linkerd "
                "control plane's own pods are always meshed. Check the context "
                "(--context/--kubeconfig) and that you may list pods in all namespaces "
                "(kubectl auth can-i list pods --all-namespaces), then re-run."
            )
    except CannotRun as exc:
        print(f"checks.trust_roots: cannot run: {exc}", file=err)
        print(json.dumps({"current": None, "error": str(exc)}, indent=2), file=out)
        return EXIT_CANNOT_RUN
    stale = stale_pods(pods, sha)
    print(
        json.dumps(
            {
                "trustRootsSha256": sha,
                "meshedPods": meshed,
                "current": not stale,
                "stale": stale,
            },
            indent=2,
        ),
        file=out,
    )
    for pod in stale:
        print(
            f"{pod['namespace']}/{pod['pod']}: {TRUST_ROOT_ANNOTATION} is "
            f"{pod['trustRootSha256'] or 'missing'}; it still runs with other trust roots. "
            f"Restart it: {pod['restart']}" + (f" ({pod['note']})" if "note" in pod else ""),
            file=err,
        )
    return EXIT_CURRENT if not stale else EXIT_STALE


if __name__ == "__main__":
    sys.exit(main())
