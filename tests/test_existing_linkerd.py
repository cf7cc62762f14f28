"""`cachemesh:linkerd.controlPlane: existing`: the caches and the mTLS check on the cluster's own
Linkerd, read from the cluster (tests/existing_linkerd_testing.py answers the read as
pulumi-command and kubectl do), with no chart, certificate or Gateway API resource registered."""

from __future__ import annotations

import hashlib
from pathlib import Path

import harness
import pytest
from existing_linkerd_testing import (
    DEPLOYMENT,
    RUN,
    UNREACHABLE,
    KubectlCluster,
    linkerd_objects,
)
from harness import run_program
from linkerd_testing import CONFIG_FILE, STATEFULSET

from components.existing_linkerd import parse_kubectl_get
from settings import SettingsError
from settings.loader import validate_settings

EXISTING = {"linkerd": {"controlPlane": "existing"}}
MTLS_CHECK = "command:local:Command"

# Contents with a (fake) credential, as `pulumi config set --secret kubernetes:kubeconfig <
# file` stores them.
KUBECONFIG_CONTENTS = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {client-key-data: c2VjcmV0}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> KubectlCluster:
    fake = KubectlCluster(linkerd_objects())
    monkeypatch.setitem(harness.CALL_FAKERS, RUN, fake)
    monkeypatch.setitem(harness.READ_FAKERS, DEPLOYMENT, fake.read)
    return fake


def _bundle(cluster: KubectlCluster) -> str:
    return cluster.find("ConfigMap", "linkerd-identity-trust-roots")["data"]["ca-bundle.crt"]


def _check(run: harness.ProgramRun) -> dict:
    [check] = [r for r in run.of_type(MTLS_CHECK) if r.name.endswith("mtls-check")]
    return check.inputs


def _refusal(config: dict) -> tuple[str, list]:
    with pytest.raises(Exception) as caught:
        run_program(config)
    return str(caught.value), caught.value.registered  # type: ignore[attr-defined]


def test_existing_mode_registers_no_chart_certificate_or_gateway_api_resource(cluster):
    run = run_program(EXISTING)
    types = {r.type for r in run.resources}
    assert not {t for t in types if t.startswith(("kubernetes:helm.sh", "tls:"))}
    assert not [r for r in run.resources if r.type == CONFIG_FILE[0]]
    assert not [r for r in run.resources if "gateway.networking.k8s.io" in r.type]
    assert not [r for r in run.of_type("kubernetes:core/v1:Namespace") if r.name == "linkerd"]
    # … and still runs the caches, meshed, and their check.
    sts = run.one(*STATEFULSET).inputs
    assert sts["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
    assert _check(run)["create"]


def test_every_cache_waits_for_the_providers_read_of_the_proxy_injector(cluster):
    run = run_program(EXISTING)
    injector = run.one(DEPLOYMENT, "linkerd/linkerd-proxy-injector")
    assert injector.read
    assert injector.parent == run.one("cachemesh:index:ExistingLinkerd", "linkerd").urn
    assert injector.urn in run.waits_for(run.one(*STATEFULSET))


def test_the_check_compares_pods_with_the_clusters_trust_roots(cluster):
    run = run_program(EXISTING)
    sha = hashlib.sha256(_bundle(cluster).encode()).hexdigest()
    assert run.outputs["linkerdIdentity"]["trustRootsSha256"] == sha
    assert f"--trust-roots-sha256 {sha}" in _check(run)["create"]


def test_cache_identities_use_the_clusters_trust_domain(cluster):
    config = cluster.find("ConfigMap", "linkerd-config")
    config["data"]["values"] = config["data"]["values"].replace(
        "identityTrustDomain: cluster.local", "identityTrustDomain: mesh.example.org"
    )
    run = run_program(EXISTING)
    identity = "ignite.ignite.serviceaccount.identity.linkerd.mesh.example.org"
    assert run.outputs["caches"]["ignite"]["identity"] == identity
    assert f"--identity {identity}" in _check(run)["create"]
    assert run.outputs["linkerdIdentity"]["trustDomain"] == "mesh.example.org"


def test_outputs_say_rotation_and_certificates_are_the_platform_teams(cluster):
    run = run_program(EXISTING)
    identity = run.outputs["linkerdIdentity"]
    assert identity["controlPlane"] == "existing"
    assert identity["managedBy"] == "platform team"
    assert "platform team" in identity["rotation"]
    assert identity["linkerdVersion"] == "edge-26.8.1"
    assert [a["signing"] for a in identity["anchors"]] == [None, None]
    assert run.outputs["linkerdHealthy"]["checked"] is False


def test_the_read_is_one_kubectl_get_against_the_stacks_context(cluster):
    run_program({**EXISTING, "kubernetes:context": "kind-platform"})
    [command] = cluster.commands
    assert command.startswith("kubectl get --ignore-not-found -o json -n linkerd ")
    assert command.endswith("--context kind-platform")


def test_a_cluster_without_linkerd_is_refused_with_the_fix_before_anything_is_registered(
    monkeypatch,
):
    monkeypatch.setitem(harness.CALL_FAKERS, RUN, KubectlCluster([]))
    message, registered = _refusal(EXISTING)
    assert "cannot be used; nothing was deployed" in message
    assert "pulumi config set --path linkerd.controlPlane managed" in message
    assert "servers.policy.linkerd.io" in message
    assert not [r for r in registered if r.custom]


def test_an_unreachable_cluster_is_refused_with_kubectls_message_and_not_its_command_line(
    monkeypatch, tmp_path
):
    kubeconfig = tmp_path / "secret-config"
    kubeconfig.write_text(KUBECONFIG_CONTENTS)
    fake = KubectlCluster(linkerd_objects(), fail_with=UNREACHABLE)
    monkeypatch.setitem(harness.CALL_FAKERS, RUN, fake)
    message, _ = _refusal({**EXISTING, "kubernetes:kubeconfig": str(kubeconfig)})
    assert "was refused - did you specify the right host or port?" in message
    assert "secret-config" not in message


def test_a_kubeconfig_path_reaches_the_read_as_kubeconfig_never_on_its_command_line(
    cluster, tmp_path
):
    kubeconfig = tmp_path / "secret-config"
    kubeconfig.write_text(KUBECONFIG_CONTENTS)
    run_program({**EXISTING, "kubernetes:kubeconfig": str(kubeconfig)})
    [command] = cluster.commands
    assert "secret-config" not in command and "--kubeconfig" not in command
    assert cluster.kubeconfigs == [(str(kubeconfig), KUBECONFIG_CONTENTS)]


def test_kubeconfig_contents_reach_the_read_as_a_private_file_removed_afterwards(cluster):
    run_program({**EXISTING, "kubernetes:kubeconfig": KUBECONFIG_CONTENTS})
    [command] = cluster.commands
    assert "client-key-data" not in command
    [(path, contents)] = cluster.kubeconfigs
    assert contents == KUBECONFIG_CONTENTS
    assert path is not None and not Path(path).exists()


def test_policy_crds_too_old_for_the_versions_cachemesh_writes_are_refused(cluster):
    crd = cluster.find("CustomResourceDefinition", "servers.policy.linkerd.io")
    crd["spec"]["versions"] = [v for v in crd["spec"]["versions"] if v["name"] != "v1beta3"]
    message, _ = _refusal(EXISTING)
    assert "servers.policy.linkerd.io does not serve v1beta3" in message
    assert "v1alpha1, v1beta1, v1beta2" in message


def test_a_proxy_injector_without_an_available_replica_is_refused(cluster):
    cluster.find("Deployment", "linkerd-proxy-injector")["status"]["availableReplicas"] = 0
    message, _ = _refusal(EXISTING)
    assert "linkerd-proxy-injector has no available replica" in message


def test_a_configured_trust_domain_other_than_the_clusters_is_refused(cluster):
    message, _ = _refusal({"linkerd": {"controlPlane": "existing", "trustDomain": "other.org"}})
    assert "issues identities in 'cluster.local'" in message
    assert "pulumi config rm --path linkerd.trustDomain" in message


def test_switching_a_deployed_managed_stack_to_existing_is_refused(cluster):
    deployed = {"linkerdIdentity": {"trustDomain": "cluster.local", "source": "pulumi-tls"}}
    with pytest.raises(Exception, match="would delete that control plane") as caught:
        run_program(EXISTING, previous_outputs=deployed)
    assert not cluster.commands  # refused before the cluster is read
    assert "pulumi config set --path linkerd.controlPlane managed" in str(caught.value)


def test_switching_a_deployed_existing_stack_to_managed_is_refused():
    deployed = {"linkerdIdentity": {"controlPlane": "existing"}}
    with pytest.raises(Exception, match="second control plane"):
        run_program({}, previous_outputs=deployed)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("trustAnchors", {"signing": 1, "trusted": [1, 2]}),
        ("certificates", {"validityHours": 100}),
        ("version", "2026.8.1"),
        ("cni", True),
    ],
)
def test_keys_for_what_cachemesh_installs_are_refused_in_existing_mode(key, value):
    with pytest.raises(SettingsError) as caught:
        validate_settings({"linkerd": {"controlPlane": "existing", key: value}})
    [problem] = caught.value.problems
    assert problem.startswith(f"cachemesh:linkerd.{key}: ")
    assert f"pulumi config rm --path linkerd.{key}" in problem


def test_trust_anchor_rotation_is_refused_as_the_platform_teams_in_existing_mode():
    with pytest.raises(SettingsError) as caught:
        validate_settings({"linkerd": {"controlPlane": "existing", "trustAnchors": {"signing": 2}}})
    assert (
        "trust-anchor rotation and the identity certificates belong to the platform team"
        in (caught.value.problems[0])
    )


def test_gateway_api_keys_are_refused_in_existing_mode():
    with pytest.raises(SettingsError, match="pulumi config rm gatewayApi"):
        validate_settings(
            {"linkerd": {"controlPlane": "existing"}, "gatewayApi": {"install": True}}
        )


def test_existing_with_linkerd_disabled_is_refused():
    with pytest.raises(
        SettingsError, match=r"is existing, but cachemesh:linkerd\.enabled is false"
    ):
        validate_settings({"linkerd": {"controlPlane": "existing", "enabled": False}})


def test_kubectl_prints_nothing_when_it_finds_none_of_the_objects():
    assert parse_kubectl_get("") == []


GA, BETA, ALPHA = (
    "config.linkerd.io/proxy-enable-native-sidecar",
    "config.beta.linkerd.io/proxy-enable-native-sidecar",
    "config.alpha.linkerd.io/proxy-enable-native-sidecar",
)


def _with_cluster_version(cluster: KubectlCluster, cluster_version: str) -> None:
    config_map = cluster.find("ConfigMap", "linkerd-config")
    config_map["data"]["values"] = config_map["data"]["values"].replace(
        "linkerdVersion: edge-26.8.1", f"linkerdVersion: {cluster_version}"
    )


def _pod_annotations(run: harness.ProgramRun) -> dict[str, str]:
    return run.one(*STATEFULSET).inputs["spec"]["template"]["metadata"]["annotations"]


@pytest.mark.parametrize(
    ("cluster_version", "annotations"),
    [
        # edge-26.5.2 onwards reads config.linkerd.io/... first (linkerd2 commit 009a25fa).
        ("edge-26.8.1", (GA,)),
        # edge-25.10.2 up to it: the beta annotation first (settings/linkerd.py's sources).
        ("edge-26.1.1", (BETA,)),
        ("edge-25.10.2", (BETA,)),
        # edge-23.11.4 up to edge-25.10.2: only the alpha one.
        ("edge-25.10.1", (ALPHA,)),
        ("edge-23.11.4", (ALPHA,)),
        # A stable or enterprise 2.15+ release, or a version cachemesh cannot place: every name,
        # one value, so whichever the injector reads first says it.
        ("stable-2.15.1", (GA, BETA, ALPHA)),
        ("enterprise-2.16.1", (GA, BETA, ALPHA)),
        ("custom-build", (GA, BETA, ALPHA)),
    ],
)
def test_the_proxy_lifetime_annotation_is_the_one_the_clusters_injector_reads(
    cluster, cluster_version, annotations
):
    _with_cluster_version(cluster, cluster_version)
    run = run_program(EXISTING)
    native = {k: v for k, v in _pod_annotations(run).items() if k.endswith("native-sidecar")}
    assert native == dict.fromkeys(annotations, "true")


@pytest.mark.parametrize("cluster_version", ["edge-23.11.3", "stable-2.14.10"])
def test_a_native_sidecar_asked_of_a_linkerd_without_one_is_refused_with_the_fix(
    cluster, cluster_version
):
    _with_cluster_version(cluster, cluster_version)
    message, registered = _refusal(EXISTING)
    assert "cachemesh:linkerd.nativeSidecar" in message
    assert f"is {cluster_version}, which has no native sidecars" in message
    assert "pulumi config set --path linkerd.nativeSidecar false" in message
    assert registered == []


def test_the_wait_fallback_works_on_a_linkerd_without_native_sidecars(cluster):
    _with_cluster_version(cluster, "stable-2.14.10")
    run = run_program({"linkerd": {"controlPlane": "existing", "nativeSidecar": False}})
    annotations = _pod_annotations(run)
    assert not [k for k in annotations if k.endswith("native-sidecar")]
    assert annotations["config.alpha.linkerd.io/proxy-wait-before-exit-seconds"].isdigit()


def test_a_linkerd_version_cachemesh_cannot_place_is_warned_about(cluster):
    _with_cluster_version(cluster, "custom-build")
    run = run_program(EXISTING)
    [warning] = [w for w in run.warnings() if "cannot place" in w]
    assert "custom-build" in warning and "linkerd.nativeSidecar false" in warning
