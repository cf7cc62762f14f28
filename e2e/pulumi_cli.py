"""The real Pulumi CLI on a copy of the program, with a local file backend, for the e2e tier.

`Project` copies the program (what `pulumi up` runs: __main__.py, the packages it imports,
Pulumi.yaml, the dev stack file) into a temporary directory, links `.venv` (Pulumi.yaml's
`virtualenv`) to the Python environment running the tests, and copies the stand-in charts in as
`charts/` (relative paths in the stack config, as an air-gapped user writes them). Every `pulumi`
command runs with the real tools first on PATH, a backend and PULUMI_HOME of its own, and no
network: update checks and plugin downloads are off, so a missing plugin fails instead of being
fetched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from e2e.cluster import Cluster
from e2e.tools.manifest import tool_dirs

ROOT = Path(__file__).resolve().parent.parent
# What the program is: Pulumi.yaml, its entry point and every package it imports (the layers of
# tests/test_layers.py), and the shipped dev stack file the e2e stack starts from.
PROGRAM_FILES = (
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "__main__.py",
    "requirements.txt",
    # mypy's configuration for the language host's type check (`typechecker: mypy`).
    "pyproject.toml",
)
PROGRAM_PACKAGES = ("components", "settings", "pki", "checks")
STANDIN_CHARTS = ROOT / "tests" / "fixtures" / "standin-charts"
GATEWAY_API_STANDIN = "gateway-api-standard-install.standin.yaml"
POLICY_PACK = ROOT / "policies"
PASSPHRASE = "cachemesh-e2e"
STACK = "e2e"
# Seconds one pulumi command may take before the test fails (a hung engine must not hang CI).
COMMAND_TIMEOUT = 300


@dataclass
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


class PulumiError(AssertionError):
    pass


def e2e_overrides(cluster: Cluster) -> dict[str, Any]:
    """What the e2e stack adds to the dev stack: the throwaway cluster, the stand-in charts and
    Gateway API manifest (relative to the project, as `charts/` is copied there), and an mTLS
    check that reports instead of failing the `up` (there is no Linkerd proxy under kwok, so
    nothing can be verified) and gives up quickly."""
    return {
        "kubernetes:kubeconfig": str(cluster.kubeconfig),
        "kubernetes:context": cluster.context,
        "cachemesh:linkerd": {"charts": "charts"},
        "cachemesh:gatewayApi": {"manifest": f"charts/{GATEWAY_API_STANDIN}"},
        "cachemesh:mtlsCheck": {"enforce": False, "timeoutSeconds": 10, "intervalSeconds": 2},
    }


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class Project:
    def __init__(
        self,
        directory: Path,
        cluster: Cluster,
        stack: str = STACK,
        program: Path | None = None,
    ) -> None:
        """`program`: a directory holding another Pulumi program to run instead of cachemesh
        (a fixture under e2e/fixtures/); its stacks start from the cluster's access only."""
        self.directory = directory / "project"
        self.state = directory / "state"
        self.home = directory / "pulumi-home"
        self.cluster = cluster
        self.stack = stack
        self.program = program
        self.state.mkdir(parents=True)
        self.home.mkdir()
        if program is not None:
            shutil.copytree(program, self.directory)
        else:
            self.directory.mkdir()
            for name in PROGRAM_FILES:
                shutil.copy2(ROOT / name, self.directory / name)
            for package in PROGRAM_PACKAGES:
                shutil.copytree(
                    ROOT / package,
                    self.directory / package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            shutil.copytree(STANDIN_CHARTS, self.directory / "charts")
        # Pulumi.yaml's `virtualenv: .venv`: the environment running the tests has every
        # requirement of the program (requirements-dev.txt includes requirements.txt).
        (self.directory / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
        # mypy's cache for the language host's type check (Pulumi.yaml `typechecker: mypy`):
        # one per machine, so only the first e2e run pays for reading the SDKs' types.
        cache = Path(
            os.environ.get("CACHEMESH_E2E_MYPY_CACHE")
            or Path.home() / ".cache" / "cachemesh" / "e2e-mypy-cache"
        )
        cache.mkdir(parents=True, exist_ok=True)
        (self.directory / ".mypy_cache").symlink_to(cache, target_is_directory=True)

    @property
    def env(self) -> dict[str, str]:
        tools = [str(path) for path in tool_dirs().values()]
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PULUMI_", "KUBECONFIG"))
        }
        env.update(
            {
                "PATH": os.pathsep.join(
                    [*tools, str(Path(sys.prefix) / "bin"), env.get("PATH", "")]
                ),
                "PULUMI_BACKEND_URL": f"file://{self.state}",
                "PULUMI_HOME": str(self.home),
                "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
                # Kubernetes clients read the stack's kubernetes:kubeconfig, never ~/.kube.
                "KUBECONFIG": str(self.cluster.kubeconfig),
                "NO_COLOR": "1",
            }
        )
        return env

    def pulumi(
        self,
        *args: str,
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT,
        stack: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        """`env`: variables added to the command's environment (e.g. program_clock's)."""
        argv = ["pulumi", *args, "--non-interactive"]
        if stack:
            argv += ["--stack", self.stack]
        try:
            completed = subprocess.run(
                argv,
                cwd=self.directory,
                env={**self.env, **(env or {})},
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            out = expired.stdout.decode(errors="replace") if expired.stdout else ""
            err = expired.stderr.decode(errors="replace") if expired.stderr else ""
            raise PulumiError(
                f"{' '.join(argv)} did not finish in {timeout:.0f} s\n--- stdout ---\n"
                f"{out[-8000:]}\n--- stderr ---\n{err[-4000:]}"
            ) from None
        result = Result(argv, completed.returncode, completed.stdout, completed.stderr)
        if check and result.returncode != 0:
            raise PulumiError(
                f"{' '.join(argv)} exited {result.returncode}\n--- stdout ---\n"
                f"{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
            )
        return result

    def stack_file(self) -> Path:
        return self.directory / f"Pulumi.{self.stack}.yaml"

    def init(self, overrides: Mapping[str, Any] | None = None) -> None:
        """A new stack whose config is the shipped dev stack's (cachemesh) plus `overrides`."""
        self.pulumi("stack", "init", self.stack, stack=False)
        current = yaml.safe_load(self.stack_file().read_text()) or {}
        if self.program is not None:
            config = {
                "kubernetes:kubeconfig": str(self.cluster.kubeconfig),
                "kubernetes:context": self.cluster.context,
            }
        else:
            dev = yaml.safe_load((self.directory / "Pulumi.dev.yaml").read_text())
            config = _merge(dev.get("config") or {}, e2e_overrides(self.cluster))
        config = _merge(config, overrides or {})
        current["config"] = config
        self.stack_file().write_text(yaml.safe_dump(current, sort_keys=False))

    def set_config(self, key: str, value: str, *, path: bool = True) -> None:
        self.pulumi("config", "set", *(["--path"] if path else []), key, value)

    def up(self, *extra: str, check: bool = True) -> Result:
        return self.pulumi("up", "--yes", "--skip-preview", *extra, check=check)

    def outputs(self) -> dict[str, Any]:
        result: dict[str, Any] = self.pulumi("stack", "output", "--json").json()
        return result

    def resources(self) -> list[dict[str, Any]]:
        """The stack's resources as `pulumi stack export` has them (secrets stay encrypted)."""
        deployment = self.pulumi("stack", "export").json()["deployment"]
        resources: list[dict[str, Any]] = deployment.get("resources") or []
        return resources

    def command_report(self, name: str) -> Any:
        """The JSON report a `command:local:Command` named `name` printed on its last run (its
        `stdout` in the state), e.g. `ignite/ignite-rollout`."""
        for resource in self.resources():
            if resource["type"] == "command:local:Command" and resource["urn"].endswith(
                f"::{name}"
            ):
                return json.loads(resource["outputs"]["stdout"])
        raise PulumiError(f"no command:local:Command named {name} in the stack")

    def planned(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """What `pulumi preview` would do: resource name -> operation, for every step that
        changes something (not `same`, and not the `read` of the stack's reference to itself,
        which every run does: components/previous_deployment.py)."""
        steps = self.pulumi("preview", "--json", env=env).json().get("steps") or []
        return {
            step["urn"].split("::")[-1]: step["op"]
            for step in steps
            if step["op"] not in ("same", "read")
        }


# Debian's libfaketime (package `faketime`), as .ci/run installs it.
FAKETIME_LIBRARIES = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",)


def program_clock(at: datetime) -> dict[str, str]:
    """Environment that starts the program's clock at `at` (UTC) and lets it run on from there:
    libfaketime, preloaded into every process the command starts. It moves what reads the clock
    through libc: the Python program (and the policy pack), where cachemesh decides on
    certificate renewal (components/linkerd_identity.py renewal_generation). Go binaries (the
    CLI, the providers) keep the real clock: Go reads it through the vDSO, not libc."""
    library = next((path for path in FAKETIME_LIBRARIES if Path(path).exists()), None)
    if library is None:
        raise PulumiError(
            f"libfaketime not found ({', '.join(FAKETIME_LIBRARIES)}); "
            "install it with `apt-get install faketime`"
        )
    stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    # FAKETIME "@<time>": start there and advance; TZ so the stamp is read as UTC.
    return {"LD_PRELOAD": library, "FAKETIME": f"@{stamp}", "TZ": "UTC"}
