"""`linkerd.controlPlane: existing` on the real engine (docs/tasks/use-the-clusters-linkerd.md):
an application team's stack uses the Linkerd a platform team installed.

On a cluster without Linkerd the stack is refused with the fix before anything reaches the
cluster. Then the "platform team" installs Linkerd (here: the shipped dev stack, whose stand-in
charts render `linkerd-config`, the trust roots and the proxy injector as the real chart does),
and the application stack deploys its cache on it: it registers no chart, no certificate and no
Gateway API object, and its outputs carry what it read from the cluster."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import yaml

from e2e.cluster import CACHE_NAMESPACES, Cluster, throwaway_cluster
from e2e.pulumi_cli import Project, Result

APP_NAMESPACE = "shop"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """This module's cluster: kwok's stand-in control.sh also answers in the app's namespace."""
    with throwaway_cluster(exec_namespaces=(*CACHE_NAMESPACES, APP_NAMESPACE)) as running:
        yield running


@pytest.fixture(scope="module")
def app(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = Project(tmp_path_factory.mktemp("existing-app"), cluster)
    project.init()
    # Only the cluster's access and the check's e2e settings are kept from the dev stack's e2e
    # overrides: the keys that say what cachemesh installs are refused in existing mode.
    stack = yaml.safe_load(project.stack_file().read_text())
    config = stack["config"]
    config.pop("cachemesh:gatewayApi", None)
    config["cachemesh:linkerd"] = {"controlPlane": "existing"}
    config["cachemesh:caches"][0].update({"name": "orders", "namespace": APP_NAMESPACE})
    project.stack_file().write_text(yaml.safe_dump(stack, sort_keys=False))
    yield project


@pytest.fixture(scope="module")
def refused_on_a_bare_cluster(app: Project) -> Result:
    return app.up(check=False)


@pytest.fixture(scope="module")
def platform_linkerd(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory, refused_on_a_bare_cluster: Result
) -> Result:
    platform = Project(tmp_path_factory.mktemp("platform"), cluster)
    platform.init()
    return platform.up()


@pytest.fixture(scope="module")
def app_up(app: Project, platform_linkerd: Result) -> Result:
    return app.up()


def test_on_a_cluster_without_linkerd_the_stack_is_refused_with_the_fix(
    cluster: Cluster, refused_on_a_bare_cluster: Result
) -> None:
    result = refused_on_a_bare_cluster
    assert result.returncode != 0
    assert "cachemesh:linkerd.controlPlane is existing" in result.output
    assert "pulumi config set --path linkerd.controlPlane managed" in result.output
    assert "Traceback" not in result.output
    assert not cluster.exists("namespace", APP_NAMESPACE)


def test_on_the_platforms_linkerd_the_stack_deploys(app_up: Result) -> None:
    assert app_up.returncode == 0


def test_no_chart_certificate_or_gateway_api_object_is_registered(
    app: Project, app_up: Result
) -> None:
    types = {r["type"] for r in app.resources()}
    assert not [t for t in types if t.startswith(("kubernetes:helm.sh", "tls:"))], types
    assert "kubernetes:yaml:ConfigFile" not in types
    assert "cachemesh:index:ExistingLinkerd" in types
    assert "cachemesh:index:LinkerdControlPlane" not in types


def test_the_cache_is_meshed_with_the_annotation_the_clusters_injector_reads(
    cluster: Cluster, app_up: Result
) -> None:
    sts = cluster.get_json("statefulset", "orders", "-n", APP_NAMESPACE)
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert annotations["linkerd.io/inject"] == "enabled"
    # The stand-in chart's linkerdVersion is edge-26.8.1: the GA name (settings/linkerd.py).
    native = {k: v for k, v in annotations.items() if k.endswith("proxy-enable-native-sidecar")}
    assert native == {"config.linkerd.io/proxy-enable-native-sidecar": "true"}


def test_the_outputs_carry_the_trust_roots_read_from_the_cluster(
    app: Project, cluster: Cluster, app_up: Result
) -> None:
    bundle = cluster.get_json("configmap", "linkerd-identity-trust-roots", "-n", "linkerd")["data"][
        "ca-bundle.crt"
    ]
    identity = app.outputs()["linkerdIdentity"]
    assert identity["controlPlane"] == "existing"
    assert identity["linkerdVersion"] == "edge-26.8.1"
    assert identity["trustRootsSha256"] == hashlib.sha256(bundle.encode()).hexdigest()


def test_the_mtls_check_ran_against_the_cache(app: Project, app_up: Result) -> None:
    report = app.command_report(f"{APP_NAMESPACE}/orders-mtls-check")
    assert report["namespace"] == APP_NAMESPACE and report["statefulset"] == "orders"
    # No proxy runs under kwok: nothing can be verified, and the check never says it is.
    assert report["verified"] is False
