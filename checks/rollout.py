"""Restart a cache's pods one at a time, each only when no data can be lost.

    python -m checks.rollout --namespace ignite --statefulset ignite --replicas 3 \\
        [--container ignite-node] [--timeout 900] [--interval 10] [--context C] [--kubeconfig F]

The StatefulSet uses `updateStrategy: OnDelete`, so the controller never replaces a pod by
itself. For the highest ordinal down to 0, skipping pods already on `status.updateRevision` (so a
stopped rollout resumes where it stopped):

1. gate: every pod Ready, and `control.sh --metric cluster` in a Ready pod shows
   `cluster.Rebalanced` = true and `cluster.TotalServerNodes` = replicas, on two polls at least
   `--interval` apart;
2. evict the pod through the Eviction API (it honours the PodDisruptionBudget);
3. wait until the pod is back, Ready and on the update revision.

The same gate runs once more after the last pod. Any wait that does not pass within `--timeout`
stops the rollout; the pods it did not reach stay on the old revision.

Prints one JSON report (top-level `completed`) and exits 0 when completed, 1 when stopped, 2 when
it cannot run at all (no kubectl, a kubectl call that fails outside a gate or on a gate's last
poll, no such StatefulSet),
3 when a SIGTERM or SIGINT stopped it (`"status": "interrupted"`, with what was done so far; the
running kubectl call is killed with its process group: checks/interrupt.py). Progress goes to
stderr.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from checks.interrupt import Interrupted, interruptible
from checks.mtls_tools import (
    CannotRun,
    add_cluster_arguments,
    cluster_tools,
    non_negative_seconds,
)
from checks.rollout_tools import (
    REBALANCED,
    TOTAL_SERVER_NODES,
    CannotPass,
    Kubectl,
    Pod,
    StatefulSetInfo,
    ToolError,
)

EXIT_COMPLETED = 0
EXIT_STOPPED = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 3
DEFAULT_CONTAINER = "ignite-node"

# Gate names, as the report and docs/troubleshooting/rollout.md give them.
GATE_OBSERVED = "statefulset-observed"
GATE_CLUSTER = "cluster-whole-and-rebalanced"
GATE_EVICTION = "eviction-allowed"
GATE_POD_BACK = "pod-ready-on-update-revision"

Action = Literal["already-updated", "restarted", "not-reached", "stopped"]
Status = Literal["completed", "stopped", "cannot-run", "interrupted"]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Wait(_Model):
    """One wait: which gate, whether it passed, how long it took, and the last reason it did not."""

    gate: str
    passed: bool
    seconds: float
    polls: int
    reason: str | None = None
    # True when the wait stopped before `--timeout` because its answer could not change.
    gave_up: bool = False


class PodStep(_Model):
    pod: str
    action: Action
    revision_before: str | None = None
    revision_after: str | None = None
    waits: list[Wait] = Field(default_factory=list)


class RolloutReport(_Model):
    completed: bool
    status: Status
    namespace: str
    statefulset: str
    replicas: int
    update_revision: str | None = None
    pods_on_update_revision: int = 0
    restarted: list[str] = Field(default_factory=list)
    pods: list[PodStep] = Field(default_factory=list)
    final_gate: Wait | None = None
    failed_gate: str | None = None
    reason: str | None = None
    started_at: datetime
    elapsed_seconds: float = 0.0

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


@dataclass(frozen=True)
class Plan:
    namespace: str
    statefulset: str
    replicas: int
    container: str = DEFAULT_CONTAINER
    timeout: float = 900.0
    interval: float = 10.0

    def pod_names(self) -> list[str]:
        return [f"{self.statefulset}-{i}" for i in range(self.replicas)]


# A poll answers (passed, reason it did not pass).
Poll = Callable[[], tuple[bool, str | None]]


@dataclass
class Rollout:
    plan: Plan
    kubectl: Kubectl
    log: Callable[[str], None] = lambda _msg: None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    # The report so far, once the StatefulSet was read: what a stopped run (a kubectl call that
    # failed outside a gate, a signal) reports.
    report: RolloutReport | None = None

    def wait(self, gate: str, poll: Poll, *, settle: bool = False) -> Wait:
        """Poll until `poll` passes (with `settle`: on two polls at least `interval` apart, none
        failing in between), until the next poll would start past `timeout`, or until a poll
        raises CannotPass (its answer will not change). A kubectl call that fails is one more
        failed poll; if the last poll's call failed, the gate could not be judged, and ToolError
        (cannot run, exit 2) is raised instead of a failed wait."""
        start = self.clock()
        deadline = start + self.plan.timeout
        polls = 0
        passed_at: float | None = None
        reason: str | None = None
        while True:
            polls += 1
            call_failed = False
            try:
                ok, reason = poll()
            except ToolError as exc:
                ok, reason, call_failed = False, str(exc), True
            except CannotPass as exc:
                now = self.clock()
                return Wait(
                    gate=gate, passed=False, seconds=round(now - start, 3), polls=polls,
                    reason=str(exc), gave_up=True,
                )  # fmt: skip
            now = self.clock()
            if ok and (
                not settle or (passed_at is not None and now - passed_at >= self.plan.interval)
            ):
                return Wait(gate=gate, passed=True, seconds=round(now - start, 3), polls=polls)
            if ok and passed_at is None:
                passed_at = now
            elif not ok:
                passed_at = None
                self.log(f"{gate}: {reason}")
            if now + self.plan.interval > deadline:
                if call_failed:
                    raise ToolError(
                        f"{gate} could not be judged: its last poll, {now - start:.0f}s into the "
                        f"wait, failed: {reason}"
                    )
                return Wait(
                    gate=gate,
                    passed=False,
                    seconds=round(now - start, 3),
                    polls=polls,
                    reason=reason or "did not hold for two polls in a row",
                )
            self.sleep(self.plan.interval)

    # --- polls ------------------------------------------------------------------------------

    def cluster_settled(self, selector: str) -> tuple[bool, str | None]:
        pods = self.kubectl.pods(selector)
        names = self.plan.pod_names()
        unready = [n for n in names if n not in pods or not pods[n].ready or pods[n].terminating]
        if unready:
            return False, f"pods not Ready: {', '.join(unready)}"
        metrics = self.kubectl.cluster_metrics(names[0], self.plan.container)
        rebalanced = metrics.get(REBALANCED)
        if rebalanced is None:
            # `No metric with specified name was found` exits 0 too: a missing row is never
            # taken as "rebalanced".
            return False, f"control.sh in {names[0]} printed no {REBALANCED} row"
        if rebalanced != "true":
            return False, f"{REBALANCED} is {rebalanced}"
        total = metrics.get(TOTAL_SERVER_NODES)
        if total is None:
            return False, f"control.sh in {names[0]} printed no {TOTAL_SERVER_NODES} row"
        if total != str(self.plan.replicas):
            return False, f"{TOTAL_SERVER_NODES} is {total}, expected {self.plan.replicas}"
        return True, None

    def pod_back(
        self, selector: str, name: str, old_uid: str, revision: str
    ) -> tuple[bool, str | None]:
        pod = self.kubectl.pods(selector).get(name)
        if pod is None or pod.uid == old_uid:
            return False, f"{name} has not been replaced yet"
        if pod.revision != revision:
            return False, f"{name} came back on revision {pod.revision}, not {revision}"
        if pod.terminating or not pod.ready:
            return False, f"{name} is not Ready"
        return True, None

    # --- the rollout ------------------------------------------------------------------------

    def run(self, started_at: datetime) -> RolloutReport:
        plan = self.plan
        start = self.clock()
        sts = self.kubectl.statefulset(plan.statefulset, first_call=True)
        report = RolloutReport(
            completed=False,
            status="stopped",
            namespace=plan.namespace,
            statefulset=plan.statefulset,
            replicas=plan.replicas,
            update_revision=sts.update_revision,
            started_at=started_at,
        )
        self.report = report

        def finish(failed: Wait | None, pods: dict[str, Pod] | None = None) -> RolloutReport:
            if pods is None:
                try:
                    pods = self.kubectl.pods(sts.selector)
                except ToolError:
                    pods = {}
            on_update = sum(
                1
                for n in plan.pod_names()
                if (p := pods.get(n)) and p.revision == report.update_revision
            )
            report.pods_on_update_revision = on_update
            report.elapsed_seconds = round(self.clock() - start, 3)
            if failed is not None:
                report.failed_gate = failed.gate
                within = "" if failed.gave_up else f" within {plan.timeout:g}s"
                report.reason = f"{failed.gate} did not pass{within}: {failed.reason}"
                return report
            report.completed = on_update == plan.replicas and bool(
                report.final_gate and report.final_gate.passed
            )
            report.status = "completed" if report.completed else "stopped"
            if not report.completed:
                report.reason = f"{on_update} of {plan.replicas} pods on the update revision"
            return report

        if not sts.observed:
            observed = self.wait(GATE_OBSERVED, lambda: self._observed(sts.name))
            if not observed.passed:
                return finish(observed)
            sts = self.kubectl.statefulset(plan.statefulset)
            report.update_revision = sts.update_revision
        revision = str(sts.update_revision)

        pods = self.kubectl.pods(sts.selector)
        ordinals = list(reversed(plan.pod_names()))
        for index, name in enumerate(ordinals):
            pod = pods.get(name)
            if pod is not None and pod.revision == revision:
                report.pods.append(
                    PodStep(pod=name, action="already-updated", revision_before=revision)
                )
                continue
            step = PodStep(
                pod=name, action="stopped", revision_before=pod.revision if pod else None
            )
            report.pods.append(step)
            gate = self.wait(GATE_CLUSTER, lambda: self.cluster_settled(sts.selector), settle=True)
            step.waits.append(gate)
            if not gate.passed:
                return self._stop(
                    report, [(n, pods.get(n)) for n in ordinals[index + 1 :]], finish, gate
                )
            # Look again: the gate may have taken long, and the uid pins what is evicted.
            current = self.kubectl.pods(sts.selector).get(name)
            if current is None or current.revision == revision:
                step.action = "already-updated"
                continue
            evicted = self.wait(GATE_EVICTION, functools.partial(self._evict, current))
            step.waits.append(evicted)
            if not evicted.passed:
                return self._stop(
                    report, [(n, pods.get(n)) for n in ordinals[index + 1 :]], finish, evicted
                )
            self.log(f"evicted {name}")
            back = self.wait(
                GATE_POD_BACK,
                functools.partial(self.pod_back, sts.selector, name, current.uid, revision),
            )
            step.waits.append(back)
            report.restarted.append(name)
            if not back.passed:
                return self._stop(
                    report, [(n, pods.get(n)) for n in ordinals[index + 1 :]], finish, back
                )
            step.action = "restarted"
            step.revision_after = revision
            self.log(f"{name} is back on {revision}")
        report.final_gate = self.wait(
            GATE_CLUSTER, lambda: self.cluster_settled(sts.selector), settle=True
        )
        if not report.final_gate.passed:
            return finish(report.final_gate)
        return finish(None)

    def _observed(self, name: str) -> tuple[bool, str | None]:
        sts = self.kubectl.statefulset(name)
        return sts.observed, None if sts.observed else "status.observedGeneration lags"

    def _evict(self, pod: Pod) -> tuple[bool, str | None]:
        result = self.kubectl.evict(pod)
        if result == "refused":
            return False, (
                f"the Eviction API refused {pod.name} (429): the PodDisruptionBudget does not "
                "allow another disruption now"
            )
        return True, None

    @staticmethod
    def _stop(
        report: RolloutReport,
        rest: list[tuple[str, Pod | None]],
        finish: Callable[[Wait | None], RolloutReport],
        failed: Wait,
    ) -> RolloutReport:
        report.pods.extend(
            PodStep(pod=name, action="not-reached", revision_before=pod.revision if pod else None)
            for name, pod in rest
        )
        return finish(failed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m checks.rollout",
        description="Restart a cache StatefulSet's pods one at a time, each only when the "
        "cluster is whole and rebalanced.",
        epilog="Exit codes: 0 completed, 1 stopped (a gate did not pass), 2 cannot run, 3 "
        "interrupted (SIGTERM/SIGINT).",
    )
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--statefulset", required=True)
    parser.add_argument("--replicas", required=True, type=int)
    parser.add_argument(
        "--container", default=DEFAULT_CONTAINER, help="the node's container (control.sh)"
    )
    parser.add_argument(
        "--timeout",
        type=non_negative_seconds,
        default=900.0,
        help="seconds each gate may take (900)",
    )
    parser.add_argument(
        "--interval", type=non_negative_seconds, default=10.0, help="seconds between polls (10)"
    )
    add_cluster_arguments(
        parser, passed_to="kubectl", call_timeout=120.0, why=": control.sh starts a JVM"
    )
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    plan = Plan(
        namespace=args.namespace,
        statefulset=args.statefulset,
        replicas=args.replicas,
        container=args.container,
        timeout=args.timeout,
        interval=args.interval,
    )

    def log(msg: str) -> None:
        print(f"checks.rollout: {msg}", file=err, flush=True)

    started_at = datetime.now(UTC)
    start = time.monotonic()
    rollout: Rollout | None = None
    try:
        with interruptible(), cluster_tools(args, 120.0) as tools:
            tools.require("kubectl")
            rollout = Rollout(plan, Kubectl(tools, plan.namespace), log=log)
            report = rollout.run(started_at)
    except Interrupted as exc:
        reason = (
            f"interrupted by {exc.signal}: the rollout stopped where it was (the running kubectl "
            "call was killed). A pod whose eviction was under way may be restarting. Run it "
            "again: it skips the pods already on the update revision and waits for the gates."
        )
        log(reason)
        so_far = rollout.report if rollout else None
        report = _unfinished(plan, "interrupted", reason, started_at, start, so_far)
        print(report.to_json(), file=out)
        return EXIT_INTERRUPTED
    except (CannotRun, ToolError) as exc:
        # A kubectl call outside a gate failed, or a gate's last poll did (its polls are retried
        # until its timeout): kubectl's own message, and what was done before it.
        log(f"cannot run: {exc}")
        so_far = rollout.report if rollout else None
        report = _unfinished(plan, "cannot-run", str(exc), started_at, start, so_far)
        print(report.to_json(), file=out)
        return EXIT_CANNOT_RUN
    except Exception as exc:  # last resort: the promise is a report, never a traceback
        log(f"internal error: {type(exc).__name__}: {exc}")
        report = _unfinished(plan, "stopped", f"internal error: {exc}", started_at, start)
        print(report.to_json(), file=out)
        return EXIT_STOPPED
    if report.reason:
        log(report.reason)
    print(report.to_json(), file=out)
    return EXIT_COMPLETED if report.completed else EXIT_STOPPED


def _unfinished(
    plan: Plan,
    status: Status,
    reason: str,
    started_at: datetime,
    start: float,
    so_far: RolloutReport | None = None,
) -> RolloutReport:
    """The report of a run that stopped outside a gate: `so_far` (what the run did before), or
    an empty one, with this status and reason."""
    elapsed = round(time.monotonic() - start, 3)
    if so_far is not None:
        return so_far.model_copy(
            update={
                "completed": False,
                "status": status,
                "reason": reason,
                "elapsed_seconds": elapsed,
            }
        )
    return RolloutReport(
        completed=False,
        status=status,
        namespace=plan.namespace,
        statefulset=plan.statefulset,
        replicas=plan.replicas,
        reason=reason,
        started_at=started_at,
        elapsed_seconds=elapsed,
    )


__all__ = [
    "EXIT_CANNOT_RUN",
    "EXIT_COMPLETED",
    "EXIT_INTERRUPTED",
    "EXIT_STOPPED",
    "Plan",
    "Rollout",
    "RolloutReport",
    "StatefulSetInfo",
    "Wait",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
