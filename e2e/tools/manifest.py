"""Where the e2e tier's real tools live: one cache directory per tool and version.

`make e2e-tools` builds each tool into ``$CACHEMESH_CACHE/e2e-tools/<name>-<key>/`` (default
``~/.cache/cachemesh``) and builds nothing that is already there; the e2e harness puts the same
directories on PATH. This module is the one place that names the versions, so the build and the
harness cannot disagree. Pure standard library: the build script calls it with ``python3``.

Stand-ins (our own Go code, for modules the Go proxy does not serve) are keyed by the content of
their source, so a change to a stand-in's source builds it anew: their key is
"standin-src-<first 12 hex of source_digest(<their source tree>)>", recorded below and checked
against the source by tests/test_e2e_tools.py (`python3 e2e/tools/manifest.py keys` prints the
keys the sources have now).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name → version (the cache key). Real tools carry their upstream version.
TOOL_VERSIONS: dict[str, str] = {
    "pulumi": "v3.260.0",
    "pulumi-resource-kubernetes": "v4.0.0-20260115033456-f47bc2d6f199",
    "etcd": "v3.5.21",
    "kube-apiserver": "v1.31.14",
    "kube-controller-manager": "v1.31.14",
    "kube-scheduler": "v1.31.14",
    "kubectl": "v1.31.14",
    "kwok": "v0.7.0",
    # Stand-ins: "standin-src-<first 12 hex of the source tree's digest>".
    "pulumi-language-python": "standin-src-d73341d2b6a4",
    "pulumi-resource-tls": "standin-src-95d09f19115e",
    "pulumi-resource-command": "standin-src-95d09f19115e",
}

# Stand-in → its source tree (a Go module under e2e/tools/standins/). The two providers share one
# module, so they share one key.
STANDIN_SOURCES: dict[str, Path] = {
    "pulumi-language-python": HERE / "standins" / "pulumi-language-python",
    "pulumi-resource-tls": HERE / "standins" / "providers",
    "pulumi-resource-command": HERE / "standins" / "providers",
}


def source_digest(tree: Path) -> str:
    """SHA-256 over every file of `tree` (relative path and bytes, in path order; caches and
    build output left out), so any change to a stand-in's source changes its key."""
    digest = hashlib.sha256()
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        rel = path.relative_to(tree).as_posix()
        if "__pycache__" in rel.split("/"):
            continue
        data = path.read_bytes()
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def standin_key(name: str) -> str:
    """The cache key a stand-in's current source gives it."""
    return f"standin-src-{source_digest(STANDIN_SOURCES[name])[:12]}"


def cache_root() -> Path:
    base = os.environ.get("CACHEMESH_CACHE") or str(Path.home() / ".cache" / "cachemesh")
    return Path(base) / "e2e-tools"


def tool_dir(name: str) -> Path:
    return cache_root() / f"{name}-{TOOL_VERSIONS[name]}"


def tool_dirs() -> dict[str, Path]:
    return {name: tool_dir(name) for name in TOOL_VERSIONS}


def missing_tools() -> list[str]:
    """The tools whose binary is not built yet (the e2e tier is skipped, saying which)."""
    return [name for name, path in tool_dirs().items() if not (path / name).is_file()]


if __name__ == "__main__":
    # `python3 e2e/tools/manifest.py dir NAME` | `version NAME` | `names` | `keys` | `missing` |
    # `path` (a PATH fragment).
    command = sys.argv[1] if len(sys.argv) > 1 else "missing"
    if command == "dir":
        print(tool_dir(sys.argv[2]))
    elif command == "version":
        print(TOOL_VERSIONS[sys.argv[2]])
    elif command == "names":
        print("\n".join(TOOL_VERSIONS))
    elif command == "keys":
        for name in STANDIN_SOURCES:
            print(f"{name} {standin_key(name)} (recorded: {TOOL_VERSIONS[name]})")
    elif command == "path":
        print(os.pathsep.join(str(p) for p in tool_dirs().values()))
    else:
        print("\n".join(missing_tools()))
