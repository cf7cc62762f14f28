"""The import graph points one way (docs/how-it-works.md#layers): __main__ -> components -> settings
-> pki; pki imports none of them; checks/ and policies/ stand alone (components/ may run checks/,
settings/ may reuse its pure parsers)."""

from __future__ import annotations

import ast
from pathlib import Path

from harness import PROJECT_ROOT

LAYERS = ("components", "settings", "pki", "checks", "policies")
# What each top-level package may import from the project.
ALLOWED = {
    "components": {"components", "settings", "pki", "checks"},
    # checks/ is pure and stands alone; settings reuses its parsers so both read a value alike.
    "settings": {"settings", "pki", "checks"},
    "pki": {"pki"},
    "checks": {"checks"},
    "policies": {"policies", "cachemesh_policy"},
}


def _imports(path: Path, package: tuple[str, ...]) -> set[str]:
    """Top-level project packages `path` imports; `package` is the package it lives in (as
    dotted parts), against which relative imports (`from ..components import x`) resolve."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            parts = base + (node.module.split(".") if node.module else [])
            if parts:
                found.add(parts[0])
            else:  # `from .. import components` at the top of the tree
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found & set(LAYERS)


def _arrows() -> set[tuple[str, str, str]]:
    arrows = set()
    for layer in LAYERS:
        for path in (PROJECT_ROOT / layer).rglob("*.py"):
            if "venv" in path.parts:
                continue
            package = path.relative_to(PROJECT_ROOT).parent.parts
            for target in _imports(path, package):
                arrows.add((layer, target, str(path.relative_to(PROJECT_ROOT))))
    return arrows


def test_settings_never_imports_components():
    assert not {a for a in _arrows() if a[:2] == ("settings", "components")}


def test_every_import_points_down_the_layers():
    wrong = sorted(a for a in _arrows() if a[1] not in ALLOWED[a[0]])
    assert wrong == []


def test_the_arrow_finder_sees_imports():
    # Guards the two tests above against passing because nothing was found.
    assert ("settings", "pki", "settings/linkerd.py") in _arrows()
    assert ("components", "settings", "components/linkerd.py") in _arrows()


def test_the_arrow_finder_resolves_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from ..components import linkerd\nfrom . import base\n")
    assert _imports(module, ("settings",)) == {"components", "settings"}
