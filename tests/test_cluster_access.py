"""`kubernetes:context` and `kubernetes:kubeconfig` for the checks the program runs
(settings/cluster_access.py): refused before anything deploys when the checks could not use them,
and the kubeconfig only ever handed on as a secret."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
from harness import run_program

COMMAND = "command:local:Command"
KUBECONFIG_TEXT = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: tok-5ecret}\n"


def _refused(config: dict) -> pulumi.RunError:
    with pytest.raises(pulumi.RunError) as caught:
        run_program(config)
    return caught.value


def test_a_context_starting_with_a_dash_is_refused_naming_the_key() -> None:
    error = _refused({"kubernetes:context": "-x"})
    assert "kubernetes:context: '-x' starts with '-'" in str(error)
    assert "pulumi config set kubernetes:context NAME" in str(error)


def test_a_refused_cluster_access_registers_nothing() -> None:
    assert _refused({"kubernetes:context": "--kubeconfig"}).registered == []  # type: ignore[attr-defined]


def test_a_kubeconfig_naming_no_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    error = _refused({"kubernetes:kubeconfig": str(tmp_path / "missing-kubeconfig.yaml")})
    assert "kubernetes:kubeconfig: the value names no existing file" in str(error)
    assert "pulumi config set --secret kubernetes:kubeconfig < kubeconfig.yaml" in str(error)


def test_a_refused_kubeconfig_is_never_echoed(tmp_path: Path) -> None:
    error = _refused({"kubernetes:kubeconfig": str(tmp_path / "tok-5ecret")})
    assert "tok-5ecret" not in str(error)


def test_a_kubeconfig_naming_a_directory_is_refused(tmp_path: Path) -> None:
    error = _refused({"kubernetes:kubeconfig": str(tmp_path)})
    assert "kubernetes:kubeconfig: the value names a directory" in str(error)


def test_a_kubeconfig_path_is_handed_on_as_a_secret_too(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(KUBECONFIG_TEXT)
    run = run_program({"kubernetes:kubeconfig": str(path)})
    command = run.one(COMMAND, "ignite/ignite-rollout")
    assert command.inputs["environment"] == {"CACHEMESH_KUBECONFIG": str(path)}
    assert "environment.CACHEMESH_KUBECONFIG" in command.secret_inputs


def test_a_kubeconfig_set_with_secret_reaches_no_command_line() -> None:
    run = run_program(secrets={"kubernetes:kubeconfig": KUBECONFIG_TEXT})
    assert all("tok-5ecret" not in r.inputs["create"] for r in run.of_type(COMMAND))
