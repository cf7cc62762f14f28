"""The real engine runs cachemesh's policy pack on a program that is not cachemesh: a meshed
Ignite StatefulSet without opaque cache ports is refused before anything is created, and the
REMEDIATE level makes the same preview pass with the ports added."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.cluster import Cluster
from e2e.pulumi_cli import POLICY_PACK, Project

PROGRAM = Path(__file__).resolve().parent / "fixtures" / "unopaque-cache"


@pytest.fixture(scope="module")
def project(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = Project(tmp_path_factory.mktemp("unopaque"), cluster, program=PROGRAM)
    project.init()
    yield project


def test_a_meshed_cache_without_opaque_ports_is_refused_with_the_packs_message(
    project: Project, cluster: Cluster
) -> None:
    result = project.pulumi("up", "--yes", "--policy-pack", str(POLICY_PACK), check=False)
    assert result.returncode != 0
    assert re.search(
        r"- \[mandatory\] \[severity: critical\] +opaque-ports +\(kubernetes:apps/v1:"
        r"StatefulSet: ignite\)",
        result.output,
    ), result.output
    assert 'spec.template.metadata.annotations["config.linkerd.io/opaque-ports"] is not set' in (
        result.output
    )
    assert not cluster.exists("statefulset", "ignite", "default")


def test_the_remediate_level_adds_the_cache_ports_instead(
    project: Project, cluster: Cluster, tmp_path: Path
) -> None:
    config = tmp_path / "pack-config.json"
    # The Servers this fixture lacks are another mandatory rule's; only the opaque ports are
    # under test here.
    config.write_text(
        json.dumps({"opaque-ports": "remediate", "cache-ports-authorized": "advisory"})
    )
    project.pulumi(
        "up", "--yes", "--policy-pack", str(POLICY_PACK),
        "--policy-pack-config", str(config),
    )  # fmt: skip
    sts = cluster.get_json("statefulset", "ignite", "-n", "default")
    opaque = sts["spec"]["template"]["metadata"]["annotations"]["config.linkerd.io/opaque-ports"]
    assert set(opaque.split(",")) >= {"10800", "47100", "47500"}
