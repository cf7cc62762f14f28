"""A kubeconfig given as a path or as its contents, handed to kubectl as a file only its user reads.

The Pulumi program passes the stack's `kubernetes:kubeconfig` to the checks it runs in the
environment variable CACHEMESH_KUBECONFIG (a secret `environment` of the pulumi-command resource:
never on a command line, in `ps`, or in a message). The value means what it means to
pulumi-kubernetes (provider/pkg/provider/util.go `parseKubeconfigString`, commit
94977969d64112b04e19945818a7d5d5f38f631d): `~` and `~/...` are the home directory; a value that
names an existing file is that file's path; anything else is the kubeconfig's contents (YAML or
JSON). kubectl only takes a path, so contents are written to a file of mode 0600 in a fresh
directory of mode 0700 (`tempfile.mkdtemp`) for as long as the check runs, then removed; the
provider itself does the same for Helm (`writeKubeconfigToFile`, os.CreateTemp, same file).

One refinement: a single line that names no file and does not start with `{` is not kubeconfig
contents (YAML ones have several lines, JSON ones start with `{`): it is a path that does not exist,
and said so, instead of being handed to kubectl as a broken kubeconfig.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ENVIRONMENT = "CACHEMESH_KUBECONFIG"


class KubeconfigError(ValueError):
    """The value is neither an existing kubeconfig file nor kubeconfig contents."""


def expand_home(value: str) -> str:
    """`~` and `~/...` as pulumi-kubernetes expands them (no `~user`)."""
    if value == "~" or value.startswith("~/"):
        return str(Path.home()) + value[1:]
    return value


def kubeconfig_path(value: str, cwd: Path) -> Path | None:
    """The file `value` names (relative paths from `cwd`), or None when it is contents. Raises
    KubeconfigError for a path that names no file, or a directory."""
    expanded = expand_home(value)
    if "\n" not in expanded and not expanded.lstrip().startswith("{"):
        path = cwd / expanded
        if path.is_dir():
            raise KubeconfigError("names a directory, not a kubeconfig file")
        if not path.is_file():
            raise KubeconfigError(
                f"names no existing file (relative paths are read from {cwd}) and is not "
                "kubeconfig contents (YAML with several lines, or JSON)"
            )
        return path
    return None


@contextmanager
def kubeconfig_file(value: str | None, cwd: Path | None = None) -> Iterator[str | None]:
    """The path to hand kubectl for `value` (None: not set): the file it names, or a private
    temporary copy of the contents, removed when the block ends (a SIGKILL is the one way to
    leave it behind)."""
    if not value or not value.strip():
        yield None
        return
    path = kubeconfig_path(value, cwd or Path.cwd())
    if path is not None:
        yield str(path)
        return
    directory = tempfile.mkdtemp(prefix="cachemesh-kubeconfig-")  # mode 0700
    try:
        target = os.path.join(directory, "kubeconfig")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        yield target
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """CACHEMESH_KUBECONFIG's value, if set."""
    return (os.environ if environ is None else environ).get(ENVIRONMENT) or None
