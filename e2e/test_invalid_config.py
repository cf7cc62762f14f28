"""Bad stack config on the real engine: the CLI shows the program's message, naming the key and
the fix, without a Python traceback, exits non-zero, and nothing reaches the cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.cluster import Cluster
from e2e.pulumi_cli import Project, Result


@pytest.fixture(scope="module")
def refused(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Result]:
    project = Project(tmp_path_factory.mktemp("invalid"), cluster)
    project.init()
    project.set_config("caches[0].replicas", "0")
    yield project.up(check=False)


def test_the_up_fails(refused: Result) -> None:
    assert refused.returncode != 0


def test_the_message_names_the_key_and_nothing_else_is_printed_as_a_traceback(
    refused: Result,
) -> None:
    assert "cachemesh:caches[0].replicas" in refused.output, refused.output
    assert "Traceback (most recent call last)" not in refused.output


def test_nothing_reaches_the_cluster(refused: Result, cluster: Cluster) -> None:
    assert not cluster.exists("namespace", "ignite")
    assert not cluster.exists("namespace", "linkerd")
    assert not cluster.exists("crd", "servers.policy.linkerd.io")
