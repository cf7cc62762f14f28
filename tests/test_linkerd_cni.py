"""`cachemesh:linkerd.cni` under the mock engine: the linkerd2-cni release, its namespace, the
ordering Gateway API CRDs -> linkerd-crds -> linkerd2-cni -> control plane -> caches, the values
sent (checked against the charts' own value keys), and the bad-input errors."""

from __future__ import annotations

import fake_providers  # noqa: F401
import pytest
from harness import run_program
from linkerd_chart_values import known_paths
from linkerd_testing import CONFIG_FILE, CONTROL_PLANE, CRDS, STATEFULSET, key_paths

import settings.linkerd as linkerd_settings

CNI = ("kubernetes:helm.sh/v3:Release", "linkerd2-cni")
CNI_NAMESPACE = ("kubernetes:core/v1:Namespace", "linkerd-cni")
CNI_COMPONENT = "cachemesh:index:LinkerdCni"
ON = {"linkerd": {"cni": True}}


@pytest.fixture(scope="module")
def cni_run():
    return run_program(ON)


@pytest.fixture(scope="module")
def default_run():
    return run_program()


def _known_keys(chart: str) -> set[str]:
    return known_paths(chart)


# --- off by default -------------------------------------------------------------------------


def test_without_cni_there_is_no_plugin_and_linkerd_init_stays(default_run):
    run = default_run
    assert not [r for r in run.of_type(CNI[0]) if r.name == CNI[1]]
    assert CNI_COMPONENT not in {r.type for r in run.resources}
    assert "linkerd-cni" not in {r.name for r in run.of_type(CNI_NAMESPACE[0])}
    assert "cniEnabled" not in run.one(*CONTROL_PLANE).inputs["values"]
    labels = run.one("kubernetes:core/v1:Namespace", "linkerd").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


# --- the release and its namespace ----------------------------------------------------------


def test_cni_chart_comes_from_the_edge_repository_at_the_linkerd_version(cni_run):
    inputs = cni_run.one(*CNI).inputs
    assert inputs["chart"] == "linkerd2-cni"
    assert inputs["name"] == "linkerd2-cni"
    assert inputs["namespace"] == "linkerd-cni"
    control_plane = cni_run.one(*CONTROL_PLANE).inputs
    assert inputs["repositoryOpts"] == control_plane["repositoryOpts"]
    assert inputs["repositoryOpts"] == {"repo": "https://helm.linkerd.io/edge"}
    assert inputs["version"] == control_plane["version"] == "2026.8.1"


def test_cni_chart_version_tracks_linkerd_version():
    run = run_program(
        {"linkerd": {"cni": True, "version": "2026.8.3"}, "gatewayApi": {"version": "v1.5.1"}}
    )
    versions = {r.name: r.inputs["version"] for r in run.of_type(CNI[0])}
    assert versions == {
        "linkerd-crds": "2026.8.3",
        "linkerd2-cni": "2026.8.3",
        "linkerd-control-plane": "2026.8.3",
    }


def test_cni_release_waits_until_the_daemonset_is_ready(cni_run):
    inputs = cni_run.one(*CNI).inputs
    assert inputs["skipAwait"] is False
    assert inputs["timeout"] >= 300


def test_cni_namespace_is_labelled_as_linkerd_install_cni_labels_it(cni_run):
    meta = cni_run.one(*CNI_NAMESPACE).inputs["metadata"]
    assert meta["name"] == "linkerd-cni"
    assert meta["labels"]["linkerd.io/cni-resource"] == "true"
    assert meta["labels"]["config.linkerd.io/admission-webhooks"] == "disabled"
    assert meta["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_cni_is_a_component_under_the_control_plane_with_its_outputs(cni_run):
    run = cni_run
    (component,) = run.of_type(CNI_COMPONENT)
    assert run.by_urn(component.parent).type == "cachemesh:index:LinkerdControlPlane"
    for child in (run.one(*CNI), run.one(*CNI_NAMESPACE)):
        assert child.parent == component.urn
    outputs = run.component_outputs[component.urn]["values"]
    assert outputs == {
        "namespace": "linkerd-cni",
        "chart": "linkerd2-cni",
        "chartVersion": "2026.8.1",
    }


# --- ordering -------------------------------------------------------------------------------


def test_cni_waits_for_gateway_api_crds_and_linkerd_crds(cni_run):
    run = cni_run
    cni = run.one(*CNI)
    # Recorded on the release itself: a component's depends_on does not reach its children.
    assert run.one(*CRDS).urn in cni.dependencies
    assert run.one(*CONFIG_FILE).urn in cni.dependencies
    assert run.one(*CNI_NAMESPACE).urn in cni.dependencies
    assert run.one(*CONTROL_PLANE).urn not in run.waits_for(cni)


def test_control_plane_waits_for_the_cni_plugin(cni_run):
    run = cni_run
    control_plane = run.one(*CONTROL_PLANE)
    assert run.one(*CNI).urn in control_plane.dependencies
    assert run.one(*CNI).urn in run.waits_for(control_plane)


def test_every_cache_waits_for_the_whole_chain(cni_run):
    run = cni_run
    waits = run.waits_for(run.one(*STATEFULSET))
    for dep in (CONFIG_FILE, CRDS, CNI, CONTROL_PLANE):
        assert run.one(*dep).urn in waits


# --- values ---------------------------------------------------------------------------------


def test_control_plane_runs_with_cni_enabled_using_only_keys_of_the_chart(cni_run):
    values = cni_run.one(*CONTROL_PLANE).inputs["values"]
    assert values["cniEnabled"] is True
    assert not set(key_paths(values)) - _known_keys("linkerd-control-plane")


def test_cni_values_use_only_keys_of_the_chart_and_enable_the_repair_controller(cni_run):
    values = cni_run.one(*CNI).inputs["values"]
    assert values == {"repairController": {"enabled": True}}
    assert set(key_paths(values)) <= _known_keys("linkerd2-cni")


def test_linkerd_namespace_is_restricted_without_linkerd_init(cni_run):
    labels = cni_run.one("kubernetes:core/v1:Namespace", "linkerd").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_chart_version_in_the_pairing_table_is_checked_for_cni():
    assert set(linkerd_settings.LINKERD_CNI_CHARTS) <= set(linkerd_settings.LINKERD_CHARTS)
    assert linkerd_settings.DEFAULT_LINKERD_VERSION in linkerd_settings.LINKERD_CNI_CHARTS


# --- bad input ------------------------------------------------------------------------------


def _fails(match: str, config) -> Exception:
    with pytest.raises(Exception, match=match) as info:
        run_program(config)
    assert not info.value.registered  # type: ignore[attr-defined]
    return info.value


def test_cni_with_a_linkerd_version_not_checked_for_cni_names_the_key_and_the_fix(monkeypatch):
    monkeypatch.setattr(
        linkerd_settings,
        "LINKERD_CNI_CHARTS",
        linkerd_settings.LINKERD_CNI_CHARTS - {"2026.8.3"},
    )
    config = {"linkerd": {"cni": True, "version": "2026.8.3"}, "gatewayApi": {"version": "v1.5.1"}}
    message = str(
        _fails(r"cachemesh:linkerd\.cni: the Linkerd CNI plugin is not supported with", config)
    )
    assert "cachemesh:linkerd.version 2026.8.3" in message
    assert "pulumi config set --path linkerd.version 2026.8.1" in message
    assert "pulumi config set --path gatewayApi.version v1.2.1" in message
    assert "pulumi config set --path linkerd.cni false" in message


def test_cni_with_linkerd_disabled_names_the_key():
    _fails(
        r"cachemesh:linkerd\.cni: is true but cachemesh:linkerd\.enabled is false",
        {"linkerd": {"cni": True, "enabled": False}},
    )


def test_cni_that_is_not_a_boolean_names_the_key():
    _fails(r"cachemesh:linkerd\.cni", {"linkerd": {"cni": "sometimes"}})
