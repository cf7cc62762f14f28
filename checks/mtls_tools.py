"""The tool-running half of the mTLS check: kubectl and the linkerd CLI, each call with its own
timeout.

Nothing here decides anything: it turns tool output into `PodInfo`, metrics text or `ScrapeFailure`,
and into `Failure`s when a tool misbehaves. `CannotRun` is raised only for problems a retry cannot
cure (a missing executable, an unreachable cluster on the first call).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from checks import interrupt, kubeconfig
from checks.mtls_report import (
    PROXY_CONTAINER,
    TRUST_ROOT_ANNOTATION,
    Expectation,
    Failure,
    PodInfo,
    ProxyKind,
    ScrapeFailure,
)

# prometheus: checks/mtls_prometheus.py (one aggregated query per round, not a scrape per pod).
MetricsSource = Literal["linkerd", "kubectl", "prometheus"]

_STDERR_TAIL = 600
# client-go's klog lines (`E1203 07:58:57.562303    7157 memcache.go:265] ...`): kubectl logs them
# on stderr before its own one-line message (kubectl v1.32.4, observed: see
# docs/tasks/run-the-mtls-check.md#exit-codes).
_KLOG_LINE = re.compile(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [^\s\]]+\] ")
# With an https server and no credentials in the kubeconfig, kubectl prompts for a username on
# stdout, reads EOF from /dev/null and says only `error: EOF` (kubectl v1.32.4, observed).
_USERNAME_PROMPT = "Please enter Username:"
# Global flags whose values are credentials or name where they are: never shown in a message.
_SECRET_FLAGS = frozenset(
    {"--kubeconfig", "--token", "--username", "--password", "--client-key", "--client-certificate"}
)
# Flags every call carries that say nothing about which call failed.
_QUIET_FLAGS = frozenset({"--context", "--request-timeout"})
_SHOWN_WORDS = 6
# Credentials in a URL's userinfo (`https://user:password@host`): kubectl's klog lines quote the
# kubeconfig's server URL as it is (kubectl v1.32.4, observed).
_USERINFO = re.compile(r"(?<=://)[^/\s@\"']+@")


class CannotRun(Exception):
    """The check cannot run at all; the message says what to do."""


class ListingFailed(Exception):
    """The pod listing's kubectl call failed after the first round: that round saw nothing, and
    if it is the last one the check could not run (exit 2), whatever kubectl said."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.problem)
        self.failure = failure


def shown_argv(argv: Sequence[str]) -> list[str]:
    """`argv` as messages may show it: the values of credential flags (`--kubeconfig`, `--token`,
    ...) replaced by `<redacted>`, `--context`/`--request-timeout` left out."""
    shown: list[str] = []
    hide: str | None = None
    for arg in argv:
        if hide is not None:
            if hide in _SECRET_FLAGS:
                shown.append("<redacted>")
            hide = None
            continue
        flag, eq, _ = arg.partition("=")
        if flag in _SECRET_FLAGS:
            shown.append(f"{flag}=<redacted>" if eq else flag)
            hide = None if eq else flag
        elif flag in _QUIET_FLAGS:
            hide = None if eq else flag
        else:
            shown.append(arg)
    return shown


def redact_url(url: str) -> str:
    """A URL without the password of its userinfo (`http://user:<redacted>@host/...`)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:<redacted>@{host}"))


@dataclass(frozen=True)
class CallResult:
    argv: tuple[str, ...]
    returncode: int | None  # None: the call did not complete (timeout, could not start)
    stdout: str
    stderr: str
    error: str | None = None
    missing: bool = False  # the executable was not found

    @property
    def ok(self) -> bool:
        return self.error is None and self.returncode == 0

    def message(self) -> str:
        """What the tool itself said: its stderr without client-go's log lines (all of it when
        nothing else is there), the tail of it."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        own = [line for line in lines if not _KLOG_LINE.match(line)] or lines
        text = _USERINFO.sub("<redacted>@", "\n".join(own))[-_STDERR_TAIL:] or "(no stderr)"
        if self.stdout.lstrip().startswith(_USERNAME_PROMPT):
            text += (
                " (kubectl prompted for a username: the kubeconfig has no credentials for this "
                "cluster's user)"
            )
        return text

    def describe(self) -> str:
        """The call (credentials redacted) and how it failed, in kubectl's own words."""
        words = shown_argv(self.argv)
        cmd = " ".join(words[:_SHOWN_WORDS]) + (" ..." if len(words) > _SHOWN_WORDS else "")
        if self.error:
            return f"{cmd}: {self.error}"
        return f"{cmd} exited {self.returncode}: {self.message()}"


def run_tool(argv: Sequence[str], timeout: float) -> CallResult:
    """Run one tool call; never raises but `Interrupted`. The whole process group is killed on
    timeout because `linkerd diagnostics` spawns a port-forward that would otherwise hold the
    pipes open; and on any exception (a signal, checks/interrupt.py), so no call outlives the
    check."""
    args = tuple(argv)
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except FileNotFoundError:
        return CallResult(
            args, None, "", "", f"{args[0]}: executable not found on PATH", missing=True
        )
    except OSError as exc:
        return CallResult(args, None, "", "", f"{args[0]}: cannot start: {exc}")
    interrupt.started(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        interrupt.kill_group(proc)
        out, err = proc.communicate()
        return CallResult(args, None, out, err, f"timed out after {timeout:g}s")
    except BaseException:
        interrupt.kill_group(proc)
        proc.wait()
        raise
    finally:
        interrupt.finished(proc)
    return CallResult(args, proc.returncode, out, err)


@dataclass(frozen=True)
class Tools:
    """How to call the tools: the cluster to talk to and the per-call timeout."""

    context: str | None = None
    kubeconfig: str | None = None
    call_timeout: float = 30.0
    kubectl: str = "kubectl"
    linkerd: str = "linkerd"

    def _global_flags(self) -> list[str]:
        # kubectl and the linkerd CLI both accept --kubeconfig and --context before the subcommand.
        flags: list[str] = []
        if self.kubeconfig:
            flags += ["--kubeconfig", self.kubeconfig]
        if self.context:
            flags += ["--context", self.context]
        return flags

    def kubectl_argv(self, *args: str) -> list[str]:
        return [self.kubectl, *self._global_flags(), *args]

    def linkerd_argv(self, *args: str) -> list[str]:
        return [self.linkerd, *self._global_flags(), *args]

    def require(self, source: MetricsSource) -> None:
        """Fail fast, before any round, when a needed executable is not installed or the
        kubeconfig file is missing."""
        self.require_kubeconfig()
        if shutil.which(self.kubectl) is None:
            raise CannotRun(
                f"kubectl not found on PATH ({self.kubectl!r}). Install kubectl and make sure it "
                "can reach "
                "the cluster (kubectl get nodes), then re-run."
            )
        if source == "linkerd" and shutil.which(self.linkerd) is None:
            raise CannotRun(
                f"linkerd CLI not found on PATH ({self.linkerd!r}). Install it "
                "(https://linkerd.io/2/"
                "getting-started/) or re-run with --metrics-source kubectl."
            )

    def require_kubeconfig(self) -> None:
        """An explicit --kubeconfig must be a readable file (kubectl would only say `error: stat
        PATH: no such file or directory`)."""
        if not self.kubeconfig:
            return
        path = Path(self.kubeconfig)
        if not path.is_file():
            problem = "is a directory" if path.is_dir() else "no such file"
            raise CannotRun(
                f"--kubeconfig {self.kubeconfig}: {problem}. Pass the path of a kubeconfig file "
                "(kubectl config view shows the one in use), or leave --kubeconfig out to use "
                "$KUBECONFIG or ~/.kube/config, then re-run."
            )
        if not os.access(path, os.R_OK):
            raise CannotRun(f"--kubeconfig {self.kubeconfig}: not readable by this user.")


# --- pods --------------------------------------------------------------------------------


def _pod_info(item: Mapping[str, Any]) -> PodInfo:
    meta = item.get("metadata") or {}
    spec = item.get("spec") or {}
    status = item.get("status") or {}
    containers = spec.get("containers") or []
    init_containers = spec.get("initContainers") or []
    proxy: ProxyKind | None = None
    if any(c.get("name") == PROXY_CONTAINER for c in containers):
        proxy = "sidecar"
    elif any(
        c.get("name") == PROXY_CONTAINER and c.get("restartPolicy") == "Always"
        for c in init_containers
    ):
        # Linkerd's native sidecar mode: a restartable init container (a Kubernetes sidecar).
        proxy = "native-sidecar"
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    name = meta["name"]
    if not isinstance(name, str):
        raise TypeError("metadata.name is not a string")
    return PodInfo(
        name=name,
        exists=True,
        phase=status.get("phase"),
        ready=ready,
        terminating=meta.get("deletionTimestamp") is not None,
        proxy=proxy,
        service_account=spec.get("serviceAccountName"),
        trust_root_sha256=(meta.get("annotations") or {}).get(TRUST_ROOT_ANNOTATION),
    )


def parse_pods(text: str) -> dict[str, PodInfo]:
    """Parse `kubectl get pods -o json` (a List, or one Pod). Raises ValueError on anything else."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("top level is not an object")
        items = [doc] if doc.get("kind") == "Pod" else doc["items"]
        if not isinstance(items, list):
            raise ValueError("items is not a list")
        pods = [_pod_info(item) for item in items]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"kubectl returned pod JSON that could not be read: {exc}") from exc
    return {p.name: p for p in pods}


def get_pods(
    tools: Tools, exp: Expectation, *, first_call: bool = False
) -> tuple[dict[str, PodInfo], list[Failure]]:
    """Fetch the expected pods. A failed kubectl call raises CannotRun on the first call and
    ListingFailed later (one more failed round, unless it is the last)."""
    # The StatefulSet controller labels each pod with its own name; selecting on it lists exactly
    # the expected pods in one call, and an absent pod is simply not in the List (no NotFound
    # error).
    selector = f"statefulset.kubernetes.io/pod-name in ({','.join(exp.pod_names)})"
    argv = tools.kubectl_argv(
        "get",
        "pods",
        "-n",
        exp.namespace,
        "-l",
        selector,
        "-o",
        "json",
        f"--request-timeout={max(1, int(tools.call_timeout))}s",
    )
    result = run_tool(argv, tools.call_timeout)
    if result.missing:
        raise CannotRun(f"{result.error}. Install kubectl, then re-run.")
    if not result.ok:
        if first_call:
            # Whatever kubectl said: before anything was read, no later round can do better.
            raise first_call_failed(result, "list pods in the namespace")
        raise ListingFailed(_tool_failure(exp, f"listing pods failed: {result.describe()}"))
    try:
        return parse_pods(result.stdout), []
    except ValueError as exc:
        return {}, [_tool_failure(exp, str(exc))]


def first_call_failed(result: CallResult, may: str) -> CannotRun:
    """The check's first kubectl call failed, so it cannot run: kubectl's own message (whatever
    its wording: unreachable, refused, no credentials, unknown context, RBAC, a timeout) and what
    to check."""
    return CannotRun(
        f"the first kubectl call failed: {result.describe()}. Check the kubeconfig and context "
        "(kubectl config current-context; pass --context/--kubeconfig), that the API server is "
        f"up and that you may {may}, then re-run."
    )


def _tool_failure(exp: Expectation, problem: str) -> Failure:
    return Failure(
        pod=None,
        port=None,
        problem=problem,
        likely_cause="kubectl failed or answered with something unexpected (API server trouble, "
        "RBAC, "
        "a kubectl/cluster version mismatch).",
        fix=f"Run kubectl get pods -n {exp.namespace} -o json by hand and fix what it reports.",
    )


# --- metrics --------------------------------------------------------------------------------


def scrape_argv(tools: Tools, exp: Expectation, source: MetricsSource, pod: str) -> list[str]:
    if source == "kubectl":
        path = f"/api/v1/namespaces/{exp.namespace}/pods/{pod}:4191/proxy/metrics"
        return tools.kubectl_argv("get", "--raw", path)
    return tools.linkerd_argv("diagnostics", "proxy-metrics", "-n", exp.namespace, f"po/{pod}")


def scrape(tools: Tools, exp: Expectation, source: MetricsSource, pod: str) -> str | ScrapeFailure:
    result = run_tool(scrape_argv(tools, exp, source, pod), tools.call_timeout)
    if not result.ok:
        return ScrapeFailure(error=result.describe())
    return result.stdout


def scrape_all(
    tools: Tools,
    exp: Expectation,
    source: MetricsSource,
    pods: Iterable[str],
    max_parallel: int = 32,
) -> dict[str, str | ScrapeFailure]:
    """Scrape pods concurrently so a round costs about one scrape, not one per pod."""
    names = list(pods)
    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(names)))) as pool:
        try:
            results = pool.map(lambda name: scrape(tools, exp, source, name), names)
            return dict(zip(names, results, strict=True))
        except BaseException:
            # Interrupted: the running scrapes were killed; start none of the queued ones.
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def non_negative_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more (`nan` compares false with every
    deadline and `inf` never ends: a wait that would never stop)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number of seconds: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def flag_value(text: str) -> str:
    """An argparse type for --context/--kubeconfig: a value that starts with '-' is a flag given
    where the value belongs (`--context=--kubeconfig`), never passed on to kubectl."""
    if text.startswith("-"):
        raise argparse.ArgumentTypeError(
            f"{text!r} starts with '-': give the context name or kubeconfig path itself"
        )
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def add_cluster_arguments(
    parser: argparse.ArgumentParser, *, passed_to: str, call_timeout: float, why: str = ""
) -> None:
    """--context, --kubeconfig and --call-timeout, as every command line of checks/ takes them."""
    parser.add_argument("--context", type=flag_value, help=f"kube context, passed to {passed_to}")
    parser.add_argument(
        "--kubeconfig", type=flag_value, help=f"kubeconfig path, passed to {passed_to}"
    )
    parser.add_argument(
        "--call-timeout",
        type=non_negative_seconds,
        default=call_timeout,
        help=f"seconds allowed for each {passed_to} call (default {call_timeout:g}{why})",
    )


@contextmanager
def cluster_tools(args: argparse.Namespace, default_timeout: float) -> Iterator[Tools]:
    """The Tools for what add_cluster_arguments parsed (--call-timeout 0 means the default), for
    the duration of the block. Without --kubeconfig, CACHEMESH_KUBECONFIG (how the Pulumi
    program passes `kubernetes:kubeconfig`, a path or the contents) is handed to kubectl as a
    file only this user can read (checks/kubeconfig.py)."""
    value = None if args.kubeconfig else kubeconfig.from_environment()
    try:
        if value:
            kubeconfig.kubeconfig_path(value, Path.cwd())
    except kubeconfig.KubeconfigError as exc:
        raise CannotRun(
            f"{kubeconfig.ENVIRONMENT} (the stack's kubernetes:kubeconfig) {exc}. Set it to the "
            "path of a kubeconfig file or to its contents: pulumi config set --secret "
            "kubernetes:kubeconfig < kubeconfig.yaml"
        ) from None
    with kubeconfig.kubeconfig_file(value) as path:
        yield Tools(
            context=args.context,
            kubeconfig=args.kubeconfig or path,
            call_timeout=args.call_timeout or default_timeout,
        )
