"""The kubectl half of the rollout: the four calls it makes, each with its own timeout, and what
their output means.

Nothing here decides anything. `CannotRun` (from checks.mtls_tools) is raised only when the
rollout cannot start at all; every other failure is a `ToolError` the caller may retry.

The calls (always with `-n NS`, and `--context`/`--kubeconfig` when given):
- `kubectl get statefulset NAME -o json`
- `kubectl get pods -l SELECTOR -o json`
- `kubectl exec POD -c CONTAINER -- sh -c '... control.sh --metric cluster'`
- `kubectl create --raw /api/v1/namespaces/NS/pods/POD/eviction -f FILE`
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from checks.mtls_tools import (
    CallResult,
    CannotRun,
    Tools,
    _pod_info,
    first_call_failed,
    run_tool,
)

# The label the StatefulSet controller puts on each pod: the revision it was created from.
REVISION_LABEL = "controller-revision-hash"
REBALANCED = "cluster.Rebalanced"
TOTAL_SERVER_NODES = "cluster.TotalServerNodes"
# control.sh reads CONTROL_JVM_OPTS, not JVM_OPTS (it prints a warning when JVM_OPTS is set), and
# sets no -Xmx of its own: a small heap keeps it beside the node inside the container's limit.
# It connects to 127.0.0.1:11211 (the binary connector), which Linkerd's proxy-init leaves alone
# (loopback is not redirected). gridgain/gridgain tag 8.9.33 bin/control.sh;
# ../shared/research/day2-lifecycle.md 1b. Apache Ignite 2.17.0's utility connects to the
# thin-client port 127.0.0.1:10800 instead, and to 11211 only with
# -DIGNITE_CONTROL_UTILITY_USE_CONNECTOR_CONNECTION=true (its CommandHandler: DFLT_PORT 10800 and
# that property's "Deprecated protocol (ConnectorConfiguration)" warning; read from the
# ignite-control-utility 2.17.0 jar): loopback either way. Checked against real 2.16.0 nodes:
# tests/test_ignite_real.py.
CONTROL_JVM_OPTS = "-Xms32m -Xmx128m"
CONTROL_COMMAND = (
    f'CONTROL_JVM_OPTS="{CONTROL_JVM_OPTS}" exec "$IGNITE_HOME/bin/control.sh" --metric cluster'
)
# The metric table of `control.sh --metric`: a `metric  value` header, then one row per metric,
# columns joined by four spaces and padded (PrintingUtils.printTable in gridgain/gridgain
# modules/control-utility, tag 8.9.33 = 25fc6163f1b3, MetricCommand there: no confirmation
# prompt, GridClient to TaskExecutor.DFLT_HOST/DFLT_PORT 127.0.0.1:11211; apache/ignite's
# management framework prints the same table: internal/management/metric/MetricCommand.java
# (stored commit 138a48b4a00f, a ComputeCommand over GridClientNode) calling
# SystemViewCommand.printTable (stored commit 03d8a231677a); not checked against the 2.16.0 tag
# itself). control.sh is a bash script (`#!/usr/bin/env bash`, `+=`); both images have bash.
# Anything before the header (JVM_OPTS warnings, the
# utility's banner, the line of dashes) and after the rows (`Command [METRIC] finished ...`) is
# not a row.
_HEADER = re.compile(r"^metric\s+value\s*$")
_ROW = re.compile(r"^(\S+)\s+(\S.*?)\s*$")
_END = re.compile(r"^Command \[")

EvictionResult = Literal["evicted", "refused", "gone"]


class ToolError(Exception):
    """One call failed; a later poll may succeed."""


class CannotPass(Exception):
    """The answer will not change however long the gate waits: stop it now."""


@dataclass(frozen=True)
class StatefulSetInfo:
    name: str
    replicas: int
    selector: str
    update_revision: str | None
    current_revision: str | None
    generation: int
    observed_generation: int

    @property
    def observed(self) -> bool:
        """The controller has seen the latest spec, so `updateRevision` is current."""
        return self.observed_generation >= self.generation and self.update_revision is not None


@dataclass(frozen=True)
class Pod:
    name: str
    uid: str
    revision: str | None
    ready: bool
    terminating: bool


def _selector(match_labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))


def parse_statefulset(text: str) -> StatefulSetInfo:
    try:
        doc = json.loads(text)
        meta, spec, status = doc["metadata"], doc["spec"], doc.get("status") or {}
        labels = spec["selector"]["matchLabels"]
        return StatefulSetInfo(
            name=meta["name"],
            replicas=int(spec.get("replicas", 1)),
            selector=_selector(labels),
            update_revision=status.get("updateRevision"),
            current_revision=status.get("currentRevision"),
            generation=int(meta.get("generation", 0)),
            observed_generation=int(status.get("observedGeneration", 0)),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ToolError(f"kubectl returned StatefulSet JSON that could not be read: {exc}") from exc


def parse_pods(text: str) -> dict[str, Pod]:
    try:
        doc = json.loads(text)
        pods: dict[str, Pod] = {}
        for item in doc["items"]:
            info = _pod_info(item)
            meta = item["metadata"]
            pods[info.name] = Pod(
                name=info.name,
                uid=str(meta.get("uid", "")),
                revision=(meta.get("labels") or {}).get(REVISION_LABEL),
                ready=info.ready,
                terminating=info.terminating,
            )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ToolError(f"kubectl returned pod JSON that could not be read: {exc}") from exc
    return pods


def parse_metric_table(text: str) -> dict[str, str]:
    """Rows of `control.sh --metric` output; {} when there is no table (for example `No metric
    with specified name was found`, which still exits 0)."""
    rows: dict[str, str] = {}
    in_table = False
    for line in text.splitlines():
        if not in_table:
            in_table = bool(_HEADER.match(line))
            continue
        if _END.match(line) or not line.strip():
            break
        match = _ROW.match(line)
        if match:
            rows[match[1]] = match[2]
    return rows


@dataclass(frozen=True)
class Kubectl:
    tools: Tools
    namespace: str

    def _run(self, *args: str) -> CallResult:
        # -n before the subcommand: after `exec POD -- ...` it would reach the remote command.
        argv = self.tools.kubectl_argv("-n", self.namespace, *args)
        result = run_tool(argv, self.tools.call_timeout)
        if result.missing:
            raise CannotRun(f"{result.error}. Install kubectl, then re-run.")
        return result

    def statefulset(self, name: str, *, first_call: bool = False) -> StatefulSetInfo:
        result = self._run("get", "statefulset", name, "-o", "json")
        if not result.ok:
            text = (result.stderr + " " + (result.error or "")).lower()
            if first_call and "notfound" in text.replace(" ", ""):
                raise CannotRun(
                    f'StatefulSet "{name}" not found in namespace "{self.namespace}": check '
                    "--namespace/--statefulset (kubectl get statefulsets -n "
                    f"{self.namespace}), then re-run."
                )
            if first_call:
                # Whatever kubectl said: nothing was read yet, so the rollout cannot start.
                raise first_call_failed(result, "read StatefulSets and pods in the namespace")
            raise ToolError(f"reading the StatefulSet failed: {result.describe()}")
        return parse_statefulset(result.stdout)

    def pods(self, selector: str) -> dict[str, Pod]:
        result = self._run("get", "pods", "-l", selector, "-o", "json")
        if not result.ok:
            raise ToolError(f"listing pods failed: {result.describe()}")
        return parse_pods(result.stdout)

    def cluster_metrics(self, pod: str, container: str) -> dict[str, str]:
        result = self._run("exec", pod, "-c", container, "--", "sh", "-c", CONTROL_COMMAND)
        if not result.ok:
            raise ToolError(f"control.sh --metric cluster in {pod} failed: {result.describe()}")
        return parse_metric_table(result.stdout)

    def evict(self, pod: Pod) -> EvictionResult:
        """Ask the Eviction API to remove the pod (it honours the PodDisruptionBudget). The uid
        precondition makes sure only the pod that was looked at is evicted."""
        body: dict[str, Any] = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod.name, "namespace": self.namespace},
            "deleteOptions": {"preconditions": {"uid": pod.uid}},
        }
        fd, path = tempfile.mkstemp(prefix="cachemesh-eviction-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(body, fh)
            url = f"/api/v1/namespaces/{self.namespace}/pods/{pod.name}/eviction"
            result = self._run("create", "--raw", url, "-f", path)
        finally:
            os.unlink(path)
        if result.ok:
            return "evicted"
        text = result.stderr.lower()
        # The eviction subresource's answers (kubernetes/kubernetes
        # pkg/registry/core/pod/storage/eviction.go, commit 01aa0f3f6052), as kubectl prints them
        # on stderr with exit 1 ("Error from server (Reason): message", kubernetes/kubectl
        # pkg/cmd/util/helpers.go StandardErrorMessage, commit dee3483a3d6a):
        # - 500, no reason: more than one PodDisruptionBudget matches the pod. The API server
        #   refuses every eviction of it whatever the budgets allow, so waiting cannot help.
        if "more than one poddisruptionbudget" in text:
            raise CannotPass(
                f"the Eviction API refused {pod.name} (500): more than one PodDisruptionBudget "
                "selects it, which the eviction subresource does not support. Keep one budget "
                f"per cache (kubectl get pdb -n {self.namespace}), then re-run."
            )
        # - 429 TooManyRequests: the budget does not allow it now (another pod of the set is
        #   unavailable, or the budget's status lags its spec).
        if "toomanyrequests" in text.replace(" ", "") or "disruption budget" in text:
            return "refused"
        # - 404 NotFound: the pod is gone; 409 Conflict: the uid precondition names a pod that
        #   was already replaced. Either way the successor is what the next wait looks for.
        if "notfound" in text.replace(" ", "") or "conflict" in text:
            return "gone"
        raise ToolError(f"evicting {pod.name} failed: {result.describe()}")
