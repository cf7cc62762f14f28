"""CacheRollout: after a cache's StatefulSet changes, restart its pods one at a time, each only
when the cluster is whole and rebalanced.

The StatefulSet uses `updateStrategy: OnDelete` (components/meshed_cache.py), so a pod template
change alone restarts nothing, and `pulumi up` does not wait for pods to be replaced:
pulumi-kubernetes' StatefulSet await, for OnDelete at generation > 1, is satisfied once
`.status.replicas` and `.status.readyReplicas` match `.spec.replicas` (pulumi/pulumi-kubernetes
provider/pkg/await/statefulset.go, commit 94977969d641, `sia.currentGeneration > 1 &&
updateStrategyType == OnDelete`). This component then runs `python -m checks.rollout` as a
pulumi-command local `Command`, re-run whenever the pod template fingerprint changes. The rollout
exits 1 when a gate does not pass, which fails the Command and the `up`; a failed Command is not
recorded as done, so the next `up` runs it again and it resumes with the pods still on the old
revision.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command
from pydantic import ValidationError

from checks.rollout import RolloutReport
from components.kube import child_options
from components.mtls_check import PROJECT_ROOT, command_environment


@dataclass(frozen=True)
class CacheRolloutArgs:
    namespace: str
    statefulset: str
    replicas: int
    container: str
    timeout_seconds: int
    interval_seconds: int
    # Changes whenever the pods must be replaced (MeshedCache.pod_template_fingerprint).
    pod_template_fingerprint: str
    kube_context: str | None = None
    # kubernetes:kubeconfig (a secret): in the command's environment, never on its command line.
    kubeconfig: pulumi.Input[str] | None = None
    # Why no restart of this cache can be safe (CacheSettings.restart_loses_data), or None.
    restart_loses_data: str | None = None


def rollout_command(args: CacheRolloutArgs) -> str:
    argv = [
        # This program's own interpreter (see components/mtls_check.py check_command).
        sys.executable,
        "-m",
        "checks.rollout",
        "--namespace", args.namespace,
        "--statefulset", args.statefulset,
        "--replicas", str(args.replicas),
        "--container", args.container,
        "--timeout", str(args.timeout_seconds),
        "--interval", str(args.interval_seconds),
    ]  # fmt: skip
    if args.kube_context:
        argv += ["--context", args.kube_context]
    return shlex.join(argv)


def rollout_summary(stdout: str | None) -> dict[str, Any]:
    """The `rollout` output of one cache: the update revision, how many pods are on it, and
    whether the last rollout completed. Anything but a rollout report counts as not completed."""
    try:
        report = RolloutReport.model_validate_json((stdout or "").strip())
    except (ValidationError, ValueError):
        return {
            "completed": False,
            "updateRevision": None,
            "podsOnUpdateRevision": None,
            "reason": "the rollout printed no report",
        }
    return {
        "completed": report.completed,
        "updateRevision": report.update_revision,
        "podsOnUpdateRevision": report.pods_on_update_revision,
        "reason": report.reason,
    }


class CacheRollout(pulumi.ComponentResource):
    summary: pulumi.Output[dict[str, Any]]

    def __init__(
        self, name: str, args: CacheRolloutArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:CacheRollout", name, None, opts)
        if args.restart_loses_data:
            pulumi.log.warn(
                f"cache {args.namespace}/{args.statefulset}: {args.restart_loses_data}, so every "
                "restart of a pod (a configuration, image or Linkerd change) loses the data it "
                "held, gates or not. Use replicas >= 2 and backups >= 1 to keep data through "
                "changes.",
                resource=self,
            )
        run = command.local.Command(
            f"{name}-rollout",
            create=rollout_command(args),
            triggers=[args.pod_template_fingerprint],
            environment=command_environment(args.kubeconfig),
            # Run from the project so `-m checks.rollout` resolves whatever the CLI's directory.
            dir=str(PROJECT_ROOT),
            # After the StatefulSet (and the mesh control plane) the component waits for.
            opts=child_options(self, opts),
        )
        self.summary = run.stdout.apply(rollout_summary)
        self.register_outputs({"summary": self.summary})
