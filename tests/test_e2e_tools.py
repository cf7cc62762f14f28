"""The e2e tools' manifest (e2e/tools/manifest.py): a stand-in's cache key follows its source.

No Go needed: these tests read the stand-ins' sources, they do not build them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from harness import PROJECT_ROOT


def _manifest() -> ModuleType:
    path = PROJECT_ROOT / "e2e" / "tools" / "manifest.py"
    spec = importlib.util.spec_from_file_location("e2e_tools_manifest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MANIFEST = _manifest()


@pytest.mark.parametrize("name", sorted(MANIFEST.STANDIN_SOURCES))
def test_recorded_standin_key_is_the_digest_of_its_source(name: str) -> None:
    # A stand-in whose source changed without a new key would never be rebuilt: `make e2e-tools`
    # finds the old key's directory and keeps the old binary. Fix: run
    # `python3 e2e/tools/manifest.py keys` and copy the new key into TOOL_VERSIONS.
    assert MANIFEST.TOOL_VERSIONS[name] == MANIFEST.standin_key(name), (
        f"{name}: TOOL_VERSIONS records {MANIFEST.TOOL_VERSIONS[name]} but its source "
        f"{MANIFEST.STANDIN_SOURCES[name]} gives {MANIFEST.standin_key(name)}"
    )


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_source_digest_changes_with_a_file_content(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"go.mod": "module x\n", "a/main.go": "package main\n"})
    before = MANIFEST.source_digest(tree)
    (tree / "a" / "main.go").write_text("package main // changed\n")
    assert MANIFEST.source_digest(tree) != before


def test_source_digest_changes_with_a_file_name(tmp_path: Path) -> None:
    a = MANIFEST.source_digest(_tree(tmp_path / "a", {"x.go": "package main\n"}))
    b = MANIFEST.source_digest(_tree(tmp_path / "b", {"y.go": "package main\n"}))
    assert a != b


def test_source_digest_ignores_python_caches(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"main.go": "package main\n"})
    before = MANIFEST.source_digest(tree)
    _tree(tmp_path, {"__pycache__/m.cpython-312.pyc": "bytes"})
    assert MANIFEST.source_digest(tree) == before


def test_every_standin_is_keyed_by_its_source_and_every_real_tool_by_a_version() -> None:
    for name, version in MANIFEST.TOOL_VERSIONS.items():
        if name in MANIFEST.STANDIN_SOURCES:
            assert version.startswith("standin-src-"), name
        else:
            assert version.startswith("v"), f"{name}: a real tool carries its upstream version"


def test_tool_dir_is_name_and_key_under_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CACHEMESH_CACHE", str(tmp_path))
    key = MANIFEST.TOOL_VERSIONS["etcd"]
    assert MANIFEST.tool_dir("etcd") == tmp_path / "e2e-tools" / f"etcd-{key}"
