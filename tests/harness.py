"""Runs the real cachemesh program (`__main__.py`) under Pulumi's mock engine and records what it
registers: every resource with its inputs, parent, dependencies and options, which of its input
values are secret, the stack outputs, and the engine log.

    run = run_program({"caches": [...]}, secrets={"gridgainLicense": "<xml/>"})
    sts = run.one("kubernetes:apps/v1:StatefulSet", "ignite/ignite")

The program runs inside `@pulumi.runtime.test`, which waits for every registration and output
before returning, so tests assert on the complete record.
"""

from __future__ import annotations

import io
import json
import logging
import os
import runpy
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAIN = PROJECT_ROOT / "__main__.py"
STACK_TYPE = "pulumi:pulumi:Stack"

# Extra outputs a fake provider returns for a resource type, beyond echoing its inputs. Tests (and
# later components) register fakers here, e.g. real PEMs for pulumi-tls resources.
OutputFaker = Callable[[pulumi_mocks.MockResourceArgs], Mapping[str, Any]]
OUTPUT_FAKERS: dict[str, OutputFaker] = {}
# Fake results of provider functions (invokes), keyed by token.
CALL_FAKERS: dict[str, Callable[[pulumi_mocks.MockCallArgs], Mapping[str, Any]]] = {}
# The live state a provider answers a read (`Resource.get`) with, keyed by resource type; the
# faker raises for an object that does not exist.
READ_FAKERS: dict[str, Callable[[pulumi_mocks.MockResourceArgs], Mapping[str, Any]]] = {}


def _secret_paths(value: Any, path: str = "") -> Iterator[str]:
    """Paths (a.b[0].c) of values marked secret in a serialized property struct."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            yield path
            return
        for k, v in value.items():
            yield from _secret_paths(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _secret_paths(v, f"{path}[{i}]")


def _strip_secrets(value: Any) -> Any:
    """A serialized property with secret wrappers replaced by their plain values."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _strip_secrets(value.get("value"))
        return {k: _strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(v) for v in value]
    return value


def _is_stack(urn: str) -> bool:
    return urn.split("::")[2] == STACK_TYPE


def _struct_to_dict(struct: Any) -> dict[str, Any]:
    return json_format.MessageToDict(struct) if struct is not None else {}


def normalize_numbers(value: Any) -> Any:
    """Numbers cross the engine as doubles; give whole ones back as ints (2.0 -> 2)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(v) for v in value]
    return value


@dataclass
class Registered:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    secret_inputs: set[str]
    options: dict[str, Any]
    # A `Resource.get` read of an existing object (outputs only), not a registration.
    read: bool = False

    @property
    def kubernetes_object(self) -> dict[str, Any]:
        """The object as Kubernetes would receive it (apiVersion, kind, metadata, …)."""
        return normalize_numbers(self.inputs)


@dataclass
class ProgramRun:
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    component_outputs: dict[str, dict[str, Any]]
    logs: list[tuple[str, str]] = field(default_factory=list)
    # Stacks whose outputs the program read (readStackOutputs; org/project/stack).
    stack_references: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> Registered:
        found = [r for r in self.resources if r.type == type_ and r.name == name]
        names = sorted(r.name for r in self.of_type(type_))
        assert len(found) == 1, f"expected one {type_} named {name!r}; registered: {names}"
        return found[0]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        return [
            r.kubernetes_object
            for r in self.resources
            if r.custom and r.type.startswith("kubernetes:") and "kind" in r.inputs
        ]

    def kubernetes_objects_under(self, *component_types: str) -> list[dict[str, Any]]:
        """Kubernetes objects whose enclosing components include one of these types."""
        return [
            r.kubernetes_object
            for r in self.resources
            if r.custom
            and r.type.startswith("kubernetes:")
            and "kind" in r.inputs
            and any(a.type in component_types for a in self.ancestors(r))
        ]

    def ancestors(self, resource: Registered) -> list[Registered]:
        chain, urn = [], resource.parent
        while urn and not _is_stack(urn):
            parent = self.by_urn(urn)
            chain.append(parent)
            urn = parent.parent
        return chain

    def waits_for(self, resource: Registered) -> set[str]:
        """URNs this resource waits for, directly or through its ancestors' dependencies,
        expanded transitively (a dependency on a component means its children too)."""
        pending = list(resource.dependencies)
        for ancestor in self.ancestors(resource):
            pending.extend(ancestor.dependencies)
        seen: set[str] = set()
        while pending:
            urn = pending.pop()
            if urn in seen:
                continue
            seen.add(urn)
            dep = self.by_urn(urn)
            pending.extend(dep.dependencies)
            pending.extend(r.urn for r in self.resources if r.parent == urn)
        return seen

    def warnings(self) -> list[str]:
        return [m for level, m in self.logs if level == "warning"]


# The builtin provider's function that reads a stack's outputs (pulumi/pulumi v3.260.0
# pkg/resource/deploy/builtins.go), spelt here as Pulumi spells it, not imported from the program.
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"


# What pulumi.get_organization() says on a DIY (file://, s3://, ...) backend.
DIY_ORGANIZATION = "organization"


def referenced_stack(name: str, organization: str, project: str) -> tuple[str, str]:
    """(project, stack) a stack reference name resolves to, as the backend resolves it, or
    ValueError with the backend's message (pulumi/pulumi commit 1b59498): Pulumi Cloud requires
    `<org>/<project>/<stack>` (pkg/backend/httpstate/backend.go httpstateBackendClient
    .GetStackOutputs); DIY's legacy layout takes a bare stack name only, its project layout also
    `organization/[project/]stack` with a bare name in the current project
    (pkg/backend/diy/store.go ParseReference, both stores)."""
    parts = name.split("/")
    if organization != DIY_ORGANIZATION:
        if len(parts) != 3:
            raise ValueError(
                "a stack reference's name should be of the form '<organization>/<project>/<stack>'"
            )
        if parts[0] != organization:
            raise ValueError(f"stack {name!r} not found")
        return parts[1], parts[2]
    if len(parts) != 1:
        # Accepted by the project layout only; a program must work on both.
        raise ValueError(f"{name!r}: the DIY backend's legacy layout takes a bare stack name")
    return project, parts[0]


class _Mocks(pulumi.runtime.Mocks):
    def __init__(
        self,
        previous_outputs: Mapping[str, Any] | None = None,
        *,
        organization: str = DIY_ORGANIZATION,
        project: str = "cachemesh",
        stack: str = "dev",
    ) -> None:
        self.previous_outputs = dict(previous_outputs or {})
        self.stack_references: list[str] = []
        self.read_failures: list[Exception] = []
        self.organization, self.project, self.stack = organization, project, stack

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        if args.resource_id:
            return self._read(args)
        outputs = dict(args.inputs)
        faker = OUTPUT_FAKERS.get(args.typ)
        if faker is not None:
            outputs.update(faker(args))
        return f"{args.name}-id", outputs

    def _read_stack_outputs(self, name: str) -> dict:
        """As Pulumi's builtin provider answers `pulumi:pulumi:readStackOutputs` (v3.260.0
        pkg/resource/deploy/builtins.go readStackReference): the referenced stack's outputs, {}
        for a stack never deployed; an unknown stack fails the call. `read_failures` are the
        engine's answers to the first calls (a gRPC error, as the engine returns a failed
        invoke), in order."""
        self.stack_references.append(name)
        if self.read_failures:
            raise self.read_failures.pop(0)
        if referenced_stack(name, self.organization, self.project) != (self.project, self.stack):
            raise ValueError(f"unknown stack {name!r}")
        return {"name": name, "outputs": self.previous_outputs, "secretOutputNames": []}

    @staticmethod
    def _read(args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        """A read answers with the requested id and the object's live state; a read of an object
        that does not exist fails the run (pulumi-kubernetes answers a 404 with an empty
        response, provider/pkg/provider/provider.go Read `deleteResponse`, 94977969; the engine
        then fails the read step)."""
        faker = READ_FAKERS.get(args.typ)
        if faker is None:
            raise Exception(f"resource '{args.resource_id}' does not exist")
        return str(args.resource_id), dict(faker(args))

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict:
        # A bare dict: MockMonitor.Invoke iterates the second item of a tuple as check failures,
        # so (result, None) fails there (pulumi sdk/python/lib/pulumi/runtime/mocks.py Invoke).
        if args.token == READ_STACK_OUTPUTS:
            return self._read_stack_outputs(args.args["name"])
        faker = CALL_FAKERS.get(args.token)
        return dict(faker(args)) if faker else {}


def _where(request: Any, response: Any) -> dict[str, str]:
    """Type, name, URN and parent of a registered or read resource."""
    return {
        "type": request.type,
        "name": request.name,
        "urn": response.urn,
        "parent": request.parent,
    }


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[Registered] = []
        self.component_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        raw = _struct_to_dict(request.object)
        self.records.append(
            Registered(
                **_where(request, response),
                custom=request.custom,
                # Plain values; which of them were secret is kept in secret_inputs.
                inputs=_strip_secrets(rpc.deserialize_properties(request.object)),
                outputs=_strip_secrets(rpc.deserialize_properties(response.object))
                if request.custom
                else {},
                dependencies=list(request.dependencies),
                property_dependencies={
                    k: list(v.urns) for k, v in request.propertyDependencies.items()
                },
                secret_inputs=set(_secret_paths(raw)),
                options={
                    "protect": request.protect if request.HasField("protect") else False,
                    "retainOnDelete": request.retainOnDelete
                    if request.HasField("retainOnDelete")
                    else False,
                    "ignoreChanges": list(request.ignoreChanges),
                    "replaceOnChanges": list(request.replaceOnChanges),
                    "additionalSecretOutputs": list(request.additionalSecretOutputs),
                    "deleteBeforeReplace": request.deleteBeforeReplace,
                    "customTimeouts": _struct_to_dict(request.customTimeouts)
                    if request.HasField("customTimeouts")
                    else {},
                    "provider": request.provider,
                    "version": request.version,
                },
            )
        )
        return response

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)
        state = _strip_secrets(rpc.deserialize_properties(response.properties))
        read = Registered(
            **_where(request, response),
            custom=True,
            inputs=state,
            outputs=state,
            dependencies=list(request.dependencies),
            property_dependencies={},
            secret_inputs=set(),
            options={},
            read=True,
        )
        self.records.append(read)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        raw = _struct_to_dict(request.outputs)
        if not _is_stack(request.urn):
            self.component_outputs[request.urn] = {
                "values": _strip_secrets(rpc.deserialize_properties(request.outputs)),
                "secrets": set(_secret_paths(raw)),
            }
        return super().RegisterResourceOutputs(request)


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname.lower(), record.getMessage()))


def config_for(
    values: Mapping[str, Any], secrets: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Stack config as the Pulumi engine hands it to a program: `cachemesh:`-prefixed keys, with
    structured values JSON-encoded, plus the list of keys set with --secret."""
    config: dict[str, str] = {}
    for key, value in {**values, **(secrets or {})}.items():
        full = key if ":" in key else f"cachemesh:{key}"
        config[full] = value if isinstance(value, str) else json.dumps(value)
    secret_keys = [k if ":" in k else f"cachemesh:{k}" for k in (secrets or {})]
    return config, secret_keys


def run_program(
    config: Mapping[str, Any] | None = None,
    *,
    secrets: Mapping[str, str] | None = None,
    preview: bool = False,
    stack: str = "dev",
    previous_outputs: Mapping[str, Any] | None = None,
    organization: str = DIY_ORGANIZATION,
    stack_read_failures: Sequence[Exception] = (),
) -> ProgramRun:
    """Run __main__.py under mocks with this stack config; return everything it registered.

    `previous_outputs` are the stack outputs of the last deployment, as a StackReference to the
    stack itself reads them (none: the stack was never deployed). `organization` is what
    pulumi.get_organization() says: "organization" on a DIY backend, the org on Pulumi Cloud.

    Exceptions the program raises (for instance a pulumi.RunError for bad config) propagate.
    """
    mocks = _Mocks(previous_outputs, organization=organization, stack=stack)
    mocks.read_failures = list(stack_read_failures)
    monitor = _RecordingMonitor(mocks)
    logger = logging.getLogger(f"cachemesh-test-{id(monitor)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)  # the whole engine log, info included (not the root's WARNING)
    collector = _LogCollector()
    logger.addHandler(collector)
    # A fresh root stack per run, so one run's exports never show up in the next.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        mocks,
        project="cachemesh",
        stack=stack,
        preview=preview,
        logger=logger,
        monitor=monitor,
        organization=organization,
    )
    all_config, secret_keys = config_for(config or {}, secrets)
    pulumi.runtime.set_all_config(all_config, secret_keys)

    exported: dict[str, Any] = {}

    async def capture_exports() -> None:
        # The mock root stack is finished before the program runs, so `pulumi.export`s never
        # reach the monitor; serialize them as the engine would, keeping the secret markers.
        root = pulumi.runtime.get_root_resource()
        outputs = getattr(root, "outputs", {}) or {}
        exported["raw"] = await rpc.serialize_property(dict(outputs), [], None)

    @pulumi.runtime.test
    def program() -> Any:
        runpy.run_path(str(MAIN), run_name="__main__")
        return capture_exports()

    try:
        program()
    except Exception as error:
        # Let tests check what (if anything) was registered before the program stopped.
        error.registered = list(monitor.records)  # type: ignore[attr-defined]
        raise
    raw_outputs = exported.get("raw") or {}
    return ProgramRun(
        resources=monitor.records,
        outputs=_strip_secrets(raw_outputs),
        secret_outputs=set(_secret_paths(raw_outputs)),
        component_outputs=monitor.component_outputs,
        logs=collector.records,
        stack_references=mocks.stack_references,
    )


def put_on_path(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: Path,
    names: tuple[str, ...],
    *,
    no_site: bool = False,
) -> Path:
    """Install the stand-in script `source` as executables `names` in a fresh folder put first
    on PATH, so the real subprocess code of checks/ runs against it; returns that folder.
    `no_site` starts it with `-S` (no site-packages: faster, for stand-ins that need only the
    standard library)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    flags = " -S" if no_site else ""
    text = source.read_text()
    for name in names:
        tool = bin_dir / name
        tool.write_text(f"#!{sys.executable}{flags}\n{text}")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir


# The kubectl on the PATH the tests started with (the stand-ins are put first on PATH per test).
REAL_KUBECTL = shutil.which("kubectl")


def put_real_kubectl_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, user: bool
) -> Path:
    """The real kubectl alone on PATH, with a kubeconfig (returned) whose API server refuses
    connections (https://127.0.0.1:1); `user`: with a token user, else with no credentials. HOME
    is `tmp_path`, so kubectl's discovery cache stays there. Skips when no kubectl is installed."""
    if REAL_KUBECTL is None:
        pytest.skip("no kubectl installed")
    bin_dir = tmp_path / "real-bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").symlink_to(REAL_KUBECTL)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    user_entry = "  user: {token: not-a-real-token}\n" if user else "  user: {}\n"
    kubeconfig = tmp_path / "refusing-kubeconfig.yaml"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters:\n- name: refusing\n  cluster:\n    server: https://127.0.0.1:1\n"
        "users:\n- name: u\n"
        + user_entry
        + "contexts:\n- name: refusing\n  context: {cluster: refusing, user: u}\n"
        "current-context: refusing\n"
    )
    return kubeconfig


# The last line the real kubectl (v1.32.4) prints against put_real_kubectl_on_path's server, by
# `user` (docs/tasks/run-the-mtls-check.md#exit-codes of the mTLS check).
REAL_KUBECTL_SAYS = {True: "was refused", False: "error: EOF"}


def run_with_real_kubectl(
    main: Callable[..., int],
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    user: bool,
) -> tuple[int, dict[str, Any]]:
    """A check's `main(argv + --kubeconfig)` against the real kubectl and a server that refuses
    connections (put_real_kubectl_on_path): its exit code and JSON report."""
    kubeconfig = put_real_kubectl_on_path(tmp_path, monkeypatch, user=user)
    out = io.StringIO()
    rc = main([*argv, "--kubeconfig", str(kubeconfig)], stdout=out, stderr=io.StringIO())
    return rc, json.loads(out.getvalue())


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, waiting to be reaped, does not)."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            # The state follows the parenthesised command name: `pid (comm) S ...`.
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class InterruptedRun:
    returncode: int
    stdout: str
    stderr: str
    hung_pids: list[int]

    def report(self, signum: int, reason: str) -> dict[str, Any]:
        """The JSON report, once asserted to be an "interrupted" one (exit 3) whose `reason`
        field (a string or the first of a list) names the signal."""
        assert self.returncode == 3, self.stderr
        report: dict[str, Any] = json.loads(self.stdout)
        assert report["status"] == "interrupted"
        said = report[reason] if isinstance(report[reason], str) else report[reason][0]
        assert signal.Signals(signum).name in said
        return report

    @property
    def still_running(self) -> list[int]:
        """The hung tool calls' pids that are still running (there were some)."""
        assert self.hung_pids
        return [pid for pid in self.hung_pids if process_alive(pid)]


def interrupt_cli(
    module: str, argv: list[str], pidfile: Path, signum: int, env: Mapping[str, str]
) -> InterruptedRun:
    """Run `python -m module argv` as a user would, wait until a stand-in tool call hangs (it
    writes its pid to `pidfile`), send the check `signum`, and return what the check did."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *argv],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no tool call hung"
            time.sleep(0.05)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    pids = [int(line) for line in pidfile.read_text().split()]
    return InterruptedRun(proc.returncode, out, err, pids)
