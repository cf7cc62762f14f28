"""MtlsCheck: after a MeshedCache is ready, prove its inter-node traffic is Linkerd mTLS.

Wraps a pulumi-command local `Command` that runs `python -m checks.mtls` (see checks/) and turns
its JSON report into outputs. The command re-runs whenever its arguments change or the cache's
pod template changes (a trigger), i.e. whenever the pods were replaced and what was proven
about them may no longer hold.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_command as command
from pydantic import ValidationError

from checks.kubeconfig import ENVIRONMENT as KUBECONFIG_ENVIRONMENT
from checks.mtls_report import Report

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class MtlsCheckArgs:
    namespace: str
    statefulset: str
    replicas: int
    ports: tuple[int, ...]
    identity: str
    timeout_seconds: int
    interval_seconds: int
    enforce: bool
    metrics_source: str
    # Changes whenever the pods are replaced (MeshedCache.pod_template_fingerprint).
    pod_template_fingerprint: str
    # The cache's authorization mode; in strict/meshed mode inbound connections must be admitted
    # by the program's own Servers (port -> Server name).
    authorization: str = "permissive"
    servers: dict[int, str] = field(default_factory=dict)
    # linkerd.io/trust-root-sha256 of the current trust bundle (LinkerdControlPlane): every pod
    # must carry it, and a new bundle re-runs the check.
    trust_roots_sha256: pulumi.Input[str] | None = None
    kube_context: str | None = None
    # kubernetes:kubeconfig, a path or the contents (settings/cluster_access.py): a secret, never
    # on the command line (see command_environment).
    kubeconfig: pulumi.Input[str] | None = None
    # metrics_source "prometheus": where the Prometheus API is (one of the two) and the proxies'
    # scrape job (cachemesh:mtlsCheck.prometheusUrl / prometheusService / prometheusJob).
    prometheus_url: str | None = None
    prometheus_service: str | None = None
    prometheus_job: str | None = None


def check_command(args: MtlsCheckArgs, trust_roots_sha256: str | None = None) -> str:
    argv = [
        # This program's own interpreter: the venv that has the check's dependencies. An
        # absolute path, so a checkout elsewhere re-runs the check once (harmless), and the
        # same machine never sees a diff.
        sys.executable,
        "-m",
        "checks.mtls",
        "--namespace", args.namespace,
        "--statefulset", args.statefulset,
        "--replicas", str(args.replicas),
        "--ports", ",".join(str(p) for p in args.ports),
        "--identity", args.identity,
        "--timeout", str(args.timeout_seconds),
        "--interval", str(args.interval_seconds),
        "--metrics-source", args.metrics_source,
        "--authorization", args.authorization,
    ]  # fmt: skip
    checked_servers = {port: args.servers[port] for port in args.ports if port in args.servers}
    if checked_servers:
        argv += [
            "--servers",
            ",".join(f"{p}={name}" for p, name in sorted(checked_servers.items())),
        ]
    if args.metrics_source == "prometheus":
        if args.prometheus_url:
            argv += ["--prometheus-url", args.prometheus_url]
        if args.prometheus_service:
            argv += ["--prometheus-service", args.prometheus_service]
        if args.prometheus_job:
            argv += ["--prometheus-job", args.prometheus_job]
    if trust_roots_sha256:
        argv += ["--trust-roots-sha256", trust_roots_sha256]
    if args.kube_context:
        argv += ["--context", args.kube_context]
    line = shlex.join(argv)
    # Enforced: a non-zero exit fails the Command, so `pulumi up` fails with the check's reasons
    # and the next `up` checks again. Not enforced: the report (verified: false) is the result.
    return line if args.enforce else f"{line} || true"


def command_environment(
    kubeconfig: pulumi.Input[str] | None,
) -> dict[str, pulumi.Input[str]] | None:
    """The environment of a check's command: the kubeconfig (path or contents) as a secret in
    CACHEMESH_KUBECONFIG, which the checks hand to kubectl as a file of mode 0600
    (checks/kubeconfig.py). A secret input stays encrypted in the state; pulumi-command appends
    `environment` to the process's environment and writes it to no log or error message (only the
    command line and its output: pulumi/pulumi-command provider/pkg/provider/local/
    commandOutputs.go `run`, tag v1.2.1); and its outputs are secret only where an input of the
    same name is (pulumi/pulumi-go-provider infer/resource.go `ensureDefaultSecrets`, v1.3.0), so
    `environment` stays secret and `stdout`, the report, stays readable. None without a
    kubeconfig: no `environment` input at all, as before, so such a stack sees no change."""
    if kubeconfig is None:
        return None
    return {KUBECONFIG_ENVIRONMENT: pulumi.Output.secret(kubeconfig)}


def not_checked(status: str, reason: str) -> dict[str, Any]:
    """The report of a cache that was not (or not yet) checked: never verified."""
    return {"verified": False, "status": status, "reasons": [reason]}


def parse_check_output(stdout: str | None) -> dict[str, Any]:
    """The check's JSON report as a plain dict; anything else is "not verified", with the reason.

    Only a report that parses as a complete check report and says `verified: true` counts.
    """
    if not stdout or not stdout.strip():
        return not_checked("no-report", "the mTLS check printed no report")
    try:
        report = Report.model_validate_json(stdout.strip())
    except (ValidationError, ValueError) as error:
        summary = str(error).splitlines()[0]
        return not_checked("no-report", f"the mTLS check's output is not a report: {summary}")
    return report.model_dump(mode="json", by_alias=True)


class MtlsCheck(pulumi.ComponentResource):
    report: pulumi.Output[dict[str, Any]]
    verified: pulumi.Output[bool]

    def __init__(
        self, name: str, args: MtlsCheckArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("cachemesh:index:MtlsCheck", name, None, opts)
        create: pulumi.Input[str] = check_command(args)
        triggers: list[pulumi.Input[str]] = [args.pod_template_fingerprint]
        if args.trust_roots_sha256 is not None:
            create = pulumi.Output.from_input(args.trust_roots_sha256).apply(
                lambda sha: check_command(args, sha)
            )
            triggers.append(args.trust_roots_sha256)
        run = command.local.Command(
            f"{name}-mtls-check",
            create=create,
            triggers=triggers,
            environment=command_environment(args.kubeconfig),
            # Run from the project so `-m checks.mtls` resolves whatever the CLI's directory.
            dir=str(PROJECT_ROOT),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.report = run.stdout.apply(parse_check_output)
        self.verified = self.report.apply(lambda r: r.get("verified") is True)
        self.register_outputs({"report": self.report, "verified": self.verified})


def all_verified(reports: list[dict[str, Any]]) -> bool:
    """The `mtlsVerified` output: true only when there are reports and every one is verified."""
    return bool(reports) and all(r.get("verified") is True for r in reports)
