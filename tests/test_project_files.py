"""Pulumi.yaml and the dev stack file are what the program and Pulumi expect."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from harness import PROJECT_ROOT, run_program

from settings import validate_settings

# Pulumi's project schema (sdk/go/common/workspace/project.json) types config as one of these.
PULUMI_CONFIG_TYPES = {"string", "integer", "boolean", "array"}


def _load(name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / name).read_text())


def _dev_stack_config() -> dict:
    config = _load("Pulumi.dev.yaml")["config"]
    return {key.removeprefix("cachemesh:"): value for key, value in config.items()}


def test_project_runs_python_with_pip_and_a_local_state_backend() -> None:
    project = _load("Pulumi.yaml")
    assert project["name"] == "cachemesh"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["toolchain"] == "pip"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert project["backend"]["url"].startswith("file://")


# Pulumi's Python language host (pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go,
# Run): with `typechecker: mypy` it checks that mypy is installed in the program's venv (else
# it fails asking for "an entry for mypy to requirements.txt"), then runs
# `python -m mypy --exclude <venv relative to the program dir> <program dir>` from the program
# dir and stops on a non-zero exit, before the program runs.


def test_pulumi_type_checks_the_program_with_mypy_from_its_venv() -> None:
    options = _load("Pulumi.yaml")["runtime"]["options"]
    assert options["typechecker"] == "mypy"
    # `make up` builds .venv from requirements.txt alone; the language host looks for mypy there.
    pins = (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("mypy==") for line in pins)


def _mypy_sources(monkeypatch: pytest.MonkeyPatch, *args: str) -> set[str]:
    """The files mypy would check for this command line, run from the project root."""
    from mypy.main import process_options

    monkeypatch.chdir(PROJECT_ROOT)
    sources, _ = process_options(list(args))
    return {Path(s.path).resolve().relative_to(PROJECT_ROOT).as_posix() for s in sources if s.path}


def _python_files(*roots: str) -> set[str]:
    found: set[str] = set()
    for root in roots:
        path = PROJECT_ROOT / root
        files = [path] if path.is_file() else path.rglob("*.py")
        found |= {f.relative_to(PROJECT_ROOT).as_posix() for f in files}
    return found


PROGRAM = ("__main__.py", "components", "settings", "pki", "checks")


def test_the_language_hosts_mypy_run_checks_the_program_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = _mypy_sources(monkeypatch, "--exclude", ".venv", str(PROJECT_ROOT))
    assert checked == _python_files(*PROGRAM)


def test_make_lints_mypy_run_checks_the_program_and_the_policy_pack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "\t$(VENV)/bin/mypy\n" in (PROJECT_ROOT / "Makefile").read_text()
    checked = _mypy_sources(monkeypatch)
    assert checked == _python_files(*PROGRAM, "policies/cachemesh_policy")


def test_make_lint_and_ci_also_type_check_the_policy_packs_entry_point() -> None:
    # A second module named __main__ cannot share the first run (mypy: "Duplicate module").
    assert "\t$(VENV)/bin/mypy policies/__main__.py" in (PROJECT_ROOT / "Makefile").read_text()
    assert '"$VENV/bin/mypy" policies/__main__.py' in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_project_config_schema_uses_only_types_pulumi_accepts_and_describes_each_key() -> None:
    for key, declaration in _load("Pulumi.yaml")["config"].items():
        assert declaration["type"] in PULUMI_CONFIG_TYPES, key
        assert declaration.get("description"), key
        # A secret key with a default is rejected by Pulumi >= 3.202 (pulumi/pulumi#21865).
        assert not (declaration.get("secret") and "default" in declaration), key


def test_every_project_config_key_is_a_settings_key() -> None:
    for key, declaration in _load("Pulumi.yaml")["config"].items():
        validate_settings({key: declaration.get("default", "")})


def test_dev_stack_sets_caches_explicitly_to_the_guides_cluster() -> None:
    settings = validate_settings(_dev_stack_config())
    assert settings == validate_settings({})
    assert "caches" in _dev_stack_config()


def _objects_by_name(config: dict) -> dict[tuple[str, str], dict]:
    # Registration order is not deterministic (outputs resolve concurrently); names are.
    # Only the caches' objects: the mesh's certificates are fresh keys on every (fake) run.
    objects = run_program(config).kubernetes_objects_under(
        "cachemesh:index:MeshedCache", "cachemesh:index:CacheNamespace"
    )
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_dev_stack_config_deploys_the_same_objects_as_the_default() -> None:
    assert _objects_by_name(_dev_stack_config()) == _objects_by_name({})


def test_ci_runs_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "\nmake test\n" in ci
    assert "make test" in readme
    assert Path(PROJECT_ROOT / "Makefile").read_text().count("\ntest:") == 1
