"""`make up` (scripts/up.sh) cannot surprise: it names the target cluster first, asks (through
`pulumi up`'s own preview and question) when run in a terminal, deploys unattended (--yes) only to
a cluster the stack names, and uses the published passphrase for the dev stack only. Run against
stand-in pulumi/kubectl/kind (tests/fixtures/up/fake_cli.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from harness import PROJECT_ROOT, REAL_KUBECTL, put_on_path

FAKE = Path(__file__).parent / "fixtures" / "up" / "fake_cli.py"
UP = PROJECT_ROOT / "scripts" / "up.sh"


class Tools:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        put_on_path(tmp_path, monkeypatch, FAKE, ("pulumi", "kubectl", "kind"))
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.log = tmp_path / "calls.jsonl"
        monkeypatch.setenv("FAKE_CLI_STATE", str(self.state))
        monkeypatch.setenv("FAKE_CLI_LOG", str(self.log))
        monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path / 'backend'}")
        monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
        monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)

    def context(self, name: str) -> None:
        (self.state / "context").write_text(name)

    def stack_config(self, stack: str, **values: str) -> None:
        (self.state / "config.json").write_text(json.dumps({stack: values}))

    def calls(self, tool: str = "pulumi") -> list[dict]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [c for c in map(json.loads, lines) if c["tool"] == tool]

    def ups(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls() if c["argv"][:1] == ["up"]]


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tools:
    return Tools(tmp_path, monkeypatch)


def up(*args: str, terminal: bool = False) -> subprocess.CompletedProcess[str]:
    if not terminal:
        return subprocess.run(
            ["bash", str(UP), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
    controller, terminal_fd = os.openpty()
    try:
        return subprocess.run(
            ["bash", str(UP), *args], capture_output=True, text=True, stdin=terminal_fd
        )
    finally:
        os.close(controller)
        os.close(terminal_fd)


def test_the_target_context_is_printed_before_anything_is_deployed(tools):
    tools.context("prod-eu")
    result = up("dev", terminal=True)
    assert result.returncode == 0, result.stderr
    assert "Target: stack 'dev' -> kube context 'prod-eu' (https://127.0.0.1:6443)" in result.stderr
    assert "kubectl's current context" in result.stderr


def test_the_target_line_comes_before_the_first_pulumi_up(tools, monkeypatch, tmp_path):
    # The stand-in `pulumi up` writes a marker to the same stderr, so the order shows there.
    tools.context("prod-eu")
    monkeypatch.setenv("FAKE_CLI_UP_SAYS", "PULUMI-UP-RAN")
    result = up("dev", terminal=True)
    assert result.returncode == 0, result.stderr
    assert 0 <= result.stderr.index("Target: stack 'dev'") < result.stderr.index("PULUMI-UP-RAN")


KUBECONFIG_OF_STACK = """apiVersion: v1
kind: Config
current-context: team-prod
contexts:
- name: team-prod
  context: {cluster: prod-cluster, user: deployer}
clusters:
- name: prod-cluster
  cluster: {server: "https://prod.example:6443"}
users:
- name: deployer
  user: {token: not-a-real-token}
"""


def test_a_stack_kubeconfig_file_names_the_target_not_kubectls_own(tools, tmp_path):
    tools.context("kind-cachemesh")  # kubectl's default kubeconfig points elsewhere
    path = tmp_path / "prod.kubeconfig"
    path.write_text(KUBECONFIG_OF_STACK)
    tools.stack_config("dev", **{"kubernetes:kubeconfig": str(path)})
    result = up("dev", terminal=True)
    assert result.returncode == 0, result.stderr
    assert "kube context 'team-prod' (https://prod.example:6443)" in result.stderr
    assert "the current context of the stack's kubernetes:kubeconfig" in result.stderr
    assert [c["argv"] for c in tools.calls("kind")] == []


def test_stack_kubeconfig_contents_name_the_target_through_a_private_file_removed_after(tools):
    tools.stack_config("dev", **{"kubernetes:kubeconfig": KUBECONFIG_OF_STACK})
    result = up("dev", terminal=True)
    assert result.returncode == 0, result.stderr
    assert "kube context 'team-prod' (https://prod.example:6443)" in result.stderr
    [view] = [c["argv"] for c in tools.calls("kubectl") if "view" in c["argv"]]
    handed = Path(view[view.index("--kubeconfig") + 1])
    assert not handed.exists() and not handed.parent.exists()
    assert KUBECONFIG_OF_STACK not in result.stderr + result.stdout


def test_with_the_real_kubectl_a_stack_kubeconfig_names_the_target(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    # The stand-in pulumi and kind; kubectl is the machine's own, with an empty home, so what it
    # reads is the stack's file and nothing else.
    if REAL_KUBECTL is None:
        pytest.skip("no kubectl installed")
    put_on_path(tmp_path, monkeypatch, FAKE, ("pulumi", "kind"))
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("FAKE_CLI_STATE", str(state))
    monkeypatch.setenv("FAKE_CLI_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path / 'backend'}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    path = tmp_path / "prod.kubeconfig"
    path.write_text(KUBECONFIG_OF_STACK)
    (state / "config.json").write_text(json.dumps({"dev": {"kubernetes:kubeconfig": str(path)}}))
    result = up("dev", terminal=True)
    assert result.returncode == 0, result.stderr
    assert "kube context 'team-prod' (https://prod.example:6443)" in result.stderr


def test_a_stack_kubeconfig_naming_no_file_is_refused_with_the_fix(tools, tmp_path):
    tools.stack_config("dev", **{"kubernetes:kubeconfig": str(tmp_path / "missing.kubeconfig")})
    result = up("dev", terminal=True)
    assert result.returncode == 2
    assert "names no existing file" in result.stderr
    assert "pulumi config set kubernetes:kubeconfig" in result.stderr
    assert tools.ups() == []


def test_unattended_up_refuses_the_context_a_stack_kubeconfig_merely_implies(tools, tmp_path):
    path = tmp_path / "prod.kubeconfig"
    path.write_text(KUBECONFIG_OF_STACK)
    tools.stack_config("dev", **{"kubernetes:kubeconfig": str(path)})
    result = up("dev", "--yes")
    assert result.returncode == 2
    assert "pulumi config set kubernetes:context 'team-prod' --stack dev" in result.stderr
    assert tools.ups() == []


def test_in_a_terminal_pulumi_shows_the_preview_and_asks(tools):
    tools.context("kind-cachemesh")
    up("dev", terminal=True)
    assert tools.ups() == [["up", "--stack", "dev"]]  # no --yes: pulumi asks


def test_unattended_up_refuses_a_stack_that_does_not_name_its_cluster(tools):
    tools.context("prod-eu")
    result = up("dev", "--yes")
    assert result.returncode == 2
    assert "pulumi config set kubernetes:context 'prod-eu' --stack dev" in result.stderr
    assert tools.ups() == []


def test_unattended_up_deploys_to_the_cluster_the_stack_names(tools):
    tools.context("whatever-kubectl-says")
    tools.stack_config("dev", **{"kubernetes:context": "kind-cachemesh"})
    result = up("dev", "--yes")
    assert result.returncode == 0, result.stderr
    assert "kube context 'kind-cachemesh'" in result.stderr
    assert tools.ups() == [["up", "--stack", "dev", "--yes"]]


def test_unattended_up_may_use_the_kind_cluster_it_just_created_and_records_it(tools):
    result = up("dev", "--yes")  # no kube context at all
    assert result.returncode == 0, result.stderr
    assert [c["argv"] for c in tools.calls("kind")] == [
        ["create", "cluster", "--name", "cachemesh", "--config", "scripts/kind-cachemesh.yaml"]
    ]
    assert ["config", "set", "kubernetes:context", "kind-cachemesh", "--stack", "dev"] in [
        c["argv"] for c in tools.calls()
    ]
    assert tools.ups() == [["up", "--stack", "dev", "--yes"]]


def test_without_a_terminal_or_yes_nothing_is_deployed(tools):
    tools.context("kind-cachemesh")
    result = up("dev")
    assert result.returncode == 2
    assert "make up YES=1" in result.stderr
    assert tools.ups() == []


def test_the_dev_stack_gets_the_published_passphrase(tools):
    tools.context("kind-cachemesh")
    up("dev", terminal=True)
    assert {c["passphrase"] for c in tools.calls()} == {"cachemesh-dev"}


def test_any_other_stack_without_its_own_passphrase_is_refused_before_pulumi_runs(tools):
    tools.context("prod-eu")
    result = up("prod", terminal=True)
    assert result.returncode == 2
    assert "the published 'cachemesh-dev' is for the dev stack only" in result.stderr
    assert tools.calls() == []


def test_a_stack_with_another_secrets_provider_needs_no_passphrase(tools, monkeypatch):
    tools.context("prod-eu")
    monkeypatch.setenv("CACHEMESH_SECRETS_PROVIDER", "default")
    result = up("prod", terminal=True)
    assert result.returncode == 0, result.stderr
    [select] = [c for c in tools.calls() if c["argv"][:2] == ["stack", "select"]]
    assert select["argv"][-2:] == ["--secrets-provider", "default"]
    assert select["passphrase"] is None


def test_another_stack_runs_with_its_own_passphrase(tools, monkeypatch):
    tools.context("prod-eu")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "s3cret-of-prod")
    up("prod", terminal=True)
    assert {c["passphrase"] for c in tools.calls()} == {"s3cret-of-prod"}


def test_the_makefile_sets_the_passphrase_for_dev_only():
    def exported(stack: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG_PASS")}
        result = subprocess.run(
            ["make", "-s", "-f", "-", f"STACK={stack}", "show"],
            input=(PROJECT_ROOT / "Makefile").read_text()
            + '\nshow:\n\t@echo "[$$PULUMI_CONFIG_PASSPHRASE]"\n',
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            env=env,
        )
        return result.stdout.strip()

    assert exported("dev") == "[cachemesh-dev]"
    assert exported("prod") == "[]"


def test_make_up_yes_1_runs_the_script_unattended():
    def recipe(*args: str) -> str:
        result = subprocess.run(
            ["make", "-n", "-s", "up", *args, "VENV=/nonexistent-venv"],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "MAKEFLAGS": ""},
        )
        [line] = [x for x in result.stdout.splitlines() if "scripts/up.sh" in x]
        return line.strip()

    assert recipe("YES=1") == "scripts/up.sh dev --yes"
    assert recipe() == "scripts/up.sh dev"


def test_the_kind_cluster_make_up_creates_has_two_workers_to_spread_the_caches_over():
    config = yaml.safe_load((PROJECT_ROOT / "scripts" / "kind-cachemesh.yaml").read_text())
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
