"""How the checks the program runs (rollout, mTLS check) reach the cluster: the stack's
`kubernetes:context` and `kubernetes:kubeconfig`, the keys pulumi-kubernetes' default provider
reads.

`kubernetes:kubeconfig` may hold a kubeconfig's contents, credentials included, so it is read as
a secret and only ever handed on as one (components/: a secret `environment` of the command,
CACHEMESH_KUBECONFIG, which checks/kubeconfig.py turns into a file only its user reads). Its
plain value is looked at once, here, to refuse what the checks could not use, and never echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from checks.kubeconfig import KubeconfigError, kubeconfig_path

if TYPE_CHECKING:
    import pulumi

CONTEXT_KEY = "kubernetes:context"
KUBECONFIG_KEY = "kubernetes:kubeconfig"


@dataclass(frozen=True)
class ClusterAccess:
    context: str | None = None
    # A secret Output: a path or the contents, as pulumi-kubernetes reads the key.
    kubeconfig: pulumi.Output[str] | None = None


def cluster_access_problems(context: str | None, kubeconfig: str | None, cwd: Path) -> list[str]:
    """What is wrong with the two keys' plain values, each problem naming its key and the fix;
    the kubeconfig's value is never part of a message."""
    problems: list[str] = []
    if context and context.startswith("-"):
        problems.append(
            f"{CONTEXT_KEY}: {context!r} starts with '-', which the checks' command lines would "
            "read as a flag: give the context's name (kubectl config get-contexts): pulumi "
            f"config set {CONTEXT_KEY} NAME"
        )
    if kubeconfig:
        try:
            kubeconfig_path(kubeconfig, cwd)
        except KubeconfigError as exc:
            problems.append(
                f"{KUBECONFIG_KEY}: the value {exc}. Give the path of a kubeconfig file or its "
                f"contents: pulumi config set --secret {KUBECONFIG_KEY} < kubeconfig.yaml"
            )
    return problems


def plain_kubeconfig() -> str | None:
    """`kubernetes:kubeconfig`'s plain value, for a read the program itself makes before anything
    is registered (components/existing_linkerd.py), without the SDK's warning for reading a secret
    with `Config.get`. Hand it on only as a file or a secret, never on a command line."""
    from pulumi.runtime import config as runtime_config

    return runtime_config.get_config(KUBECONFIG_KEY) or None


def load_cluster_access() -> ClusterAccess:
    """The two keys of the current stack, validated; raises SettingsError naming each bad one."""
    import pulumi

    from settings.loader import SettingsError

    config = pulumi.Config("kubernetes")
    context = config.get("context") or None
    plain = plain_kubeconfig()
    problems = cluster_access_problems(context, plain, Path.cwd())
    if problems:
        raise SettingsError(problems)
    return ClusterAccess(
        context=context,
        kubeconfig=config.get_secret("kubeconfig") if plain else None,
    )
