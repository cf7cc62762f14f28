"""Stack configuration: defaults, and every kind of bad input refused before anything deploys."""

from __future__ import annotations

import pulumi
import pytest
from harness import run_program
from manifests import FIXTURES

from settings import ProductKey, SettingsError, validate_settings

LICENSE_XML = (FIXTURES / "gridgain-license.xml").read_text()


def _problems(raw: dict, secret_keys: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        validate_settings(raw, secret_keys)
    return caught.value.problems


def test_no_config_gives_the_guides_single_ignite2_cluster() -> None:
    (cache,) = validate_settings({}).caches
    assert (cache.name, cache.product, cache.namespace, cache.replicas) == (
        "ignite",
        ProductKey.IGNITE2,
        "ignite",
        2,
    )
    assert cache.effective_image == "apacheignite/ignite:2.16.0"
    assert cache.resources.as_dict() == {
        "limits": {"memory": "1536Mi", "cpu": "1"},
        "requests": {"memory": "1536Mi", "cpu": "1"},
    }
    assert [(c.name, c.cache_mode.value, c.backups) for c in cache.cache_configurations] == [
        ("PERSON", "PARTITIONED", 1)
    ]


def test_gridgain8_defaults_to_the_enterprise_image() -> None:
    raw = {"caches": '[{"name": "gg", "product": "gridgain8"}]', "gridgainLicense": LICENSE_XML}
    (cache,) = validate_settings(raw, {"cachemesh:gridgainLicense"}).caches
    assert cache.effective_image == "gridgain/enterprise:8.9.33-openjdk17-slim"


def test_stack_config_values_arrive_as_json_text_and_are_decoded() -> None:
    settings = validate_settings({"caches": '[{"name": "a", "replicas": 4}]'})
    assert settings.caches[0].replicas == 4


def test_unknown_key_names_its_full_key_and_the_known_ones() -> None:
    (problem,) = _problems({"caches": [{"name": "a", "replica": 3}]})
    assert problem.startswith("cachemesh:caches[0].replica: unknown key.")
    assert "replicas" in problem
    assert "pulumi config rm --path 'caches[0].replica'" in problem


def test_unknown_top_level_key_is_refused() -> None:
    (problem,) = _problems({"cache": []})
    assert problem.startswith("cachemesh:cache: unknown key.")


def test_unknown_product_lists_the_products() -> None:
    (problem,) = _problems({"caches": [{"name": "a"}, {"name": "b", "product": "redis"}]})
    assert problem.startswith("cachemesh:caches[1].product:")
    assert "'ignite2' or 'gridgain8'" in problem


@pytest.mark.parametrize("name", ["Ignite", "ignite_1", "-ignite", "x" * 53, ""])
def test_cache_name_must_be_a_dns1123_label(name: str) -> None:
    (problem,) = _problems({"caches": [{"name": name}]})
    assert problem.startswith("cachemesh:caches[0].name:")


def test_namespace_must_be_a_dns1123_label() -> None:
    (problem,) = _problems({"caches": [{"name": "a", "namespace": "My.NS"}]})
    assert problem.startswith("cachemesh:caches[0].namespace:")
    assert "DNS-1123" in problem


@pytest.mark.parametrize("replicas", [0, -1])
def test_replicas_below_one_is_refused_with_the_fix(replicas: int) -> None:
    (problem,) = _problems({"caches": [{"name": "a"}, {"name": "b", "replicas": replicas}]})
    assert problem.startswith("cachemesh:caches[1].replicas:")
    assert "greater than or equal to 1" in problem
    assert "pulumi config set --path 'caches[1].replicas'" in problem


def test_duplicate_cache_names_in_one_namespace_are_refused() -> None:
    (problem,) = _problems({"caches": [{"name": "a"}, {"name": "b"}, {"name": "a"}]})
    assert problem.startswith("cachemesh:caches[2].name:")
    assert "caches[0]" in problem


def test_the_same_name_in_two_namespaces_is_allowed() -> None:
    settings = validate_settings({"caches": [{"name": "a"}, {"name": "a", "namespace": "b"}]})
    assert len(settings.caches) == 2


@pytest.mark.parametrize(
    ("field", "value"), [("memory", "1.5 GB"), ("memory", "lots"), ("cpu", "-1"), ("cpu", "1x")]
)
def test_malformed_quantities_are_refused(field: str, value: str) -> None:
    (problem,) = _problems({"caches": [{"name": "a", "resources": {"limits": {field: value}}}]})
    assert problem.startswith(f"cachemesh:caches[0].resources.limits.{field}:")
    assert "Kubernetes quantity" in problem


def test_duplicate_cache_configuration_names_are_refused() -> None:
    raw = {"caches": [{"name": "a", "cacheConfigurations": [{"name": "P"}, {"name": "P"}]}]}
    (problem,) = _problems(raw)
    assert problem.startswith("cachemesh:caches[0].cacheConfigurations:")


def test_gridgain8_without_a_licence_says_how_to_set_it() -> None:
    (problem,) = _problems({"caches": [{"name": "gg", "product": "gridgain8"}]})
    assert problem.startswith("cachemesh:gridgainLicense: required because")
    assert "cachemesh:caches[0].product" in problem
    assert "pulumi config set --secret gridgainLicense < gridgain-license.xml" in problem


def test_a_licence_that_is_not_xml_is_refused_without_echoing_it() -> None:
    raw = {"caches": [{"name": "gg", "product": "gridgain8"}], "gridgainLicense": "SECRET-42 <"}
    (problem,) = _problems(raw, ("cachemesh:gridgainLicense",))
    assert problem.startswith("cachemesh:gridgainLicense: is not well-formed XML")
    assert "SECRET-42" not in problem


def test_a_licence_stored_in_plain_text_is_refused() -> None:
    raw = {"caches": [{"name": "gg", "product": "gridgain8"}], "gridgainLicense": LICENSE_XML}
    (problem,) = _problems(raw, secret_keys=())
    assert "plain text" in problem
    assert "--secret" in problem


def test_all_problems_are_reported_at_once() -> None:
    problems = _problems({"caches": [{"name": "A", "replicas": 0}, {"name": "b", "product": "x"}]})
    assert len(problems) == 3


def test_program_stops_with_a_clean_error_and_registers_nothing() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        run_program({"caches": [{"name": "a", "replicas": 0}]})
    assert "cachemesh:caches[0].replicas" in str(caught.value)
    assert "nothing was deployed" in str(caught.value)
    assert caught.value.registered == []


def test_program_error_never_contains_the_licence() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        run_program(
            {"caches": [{"name": "gg", "product": "gridgain8", "replicas": 0}]},
            secrets={"gridgainLicense": LICENSE_XML},
        )
    assert "DO-NOT-LEAK" not in str(caught.value)
    assert "DO-NOT-LEAK" not in repr(caught.value.__cause__)


def test_an_unknown_authorization_mode_lists_the_three() -> None:
    (problem,) = _problems({"caches": [{"name": "a", "authorization": "open"}]})
    assert problem.startswith("cachemesh:caches[0].authorization:")
    assert "'strict', 'meshed' or 'permissive'" in problem


@pytest.mark.parametrize(
    "identity",
    [
        "web",
        "web.shop",
        "web.shop.svc.cluster.local",
        "Web.shop.serviceaccount.identity.linkerd.cluster.local",
    ],
)
def test_a_client_identity_that_is_not_a_linkerd_identity_is_refused(identity: str) -> None:
    (problem,) = _problems({"caches": [{"name": "a", "clientIdentities": ["*", identity]}]})
    assert problem.startswith("cachemesh:caches[0].clientIdentities[1]:")
    assert "serviceaccount.identity.linkerd" in problem


@pytest.mark.parametrize(
    "identity",
    [
        "*",
        "web.shop.serviceaccount.identity.linkerd.cluster.local",
        "*.shop.serviceaccount.identity.linkerd.example.org",
    ],
)
def test_client_identities_take_linkerd_identities_and_wildcards(identity: str) -> None:
    settings = validate_settings({"caches": [{"name": "a", "clientIdentities": [identity]}]})
    assert settings.caches[0].client_identities == (identity,)


def test_probe_networks_are_gone_with_the_network_probes() -> None:
    # Probes run over loopback (exec): no network is opened for them any more.
    (problem,) = _problems({"caches": [{"name": "a", "probes": {"networks": ["10.0.0.0/16"]}}]})
    assert problem.startswith("cachemesh:caches[0].probes.networks: unknown key")
    assert "pulumi config rm --path 'caches[0].probes.networks'" in problem


@pytest.mark.parametrize(
    ("mode", "key"),
    [
        ("meshed", "clientIdentities"),
        ("permissive", "clientIdentities"),
        ("permissive", "adminIdentities"),
    ],
)
def test_an_identity_list_the_mode_ignores_is_refused(mode: str, key: str) -> None:
    identity = "ops.admin.serviceaccount.identity.linkerd.cluster.local"
    (problem,) = _problems({"caches": [{"name": "a", "authorization": mode, key: [identity]}]})
    assert problem.startswith(f"cachemesh:caches[0].{key}: only used with authorization")
    assert f"pulumi config rm --path 'caches[0].{key}'" in problem


def test_meshed_mode_reads_admin_identities() -> None:
    identity = "ops.admin.serviceaccount.identity.linkerd.cluster.local"
    config = {"caches": [{"name": "a", "authorization": "meshed", "adminIdentities": [identity]}]}
    assert validate_settings(config).caches[0].admin_identities == (identity,)


def test_admin_identities_take_linkerd_identities() -> None:
    identity = "ops.admin.serviceaccount.identity.linkerd.cluster.local"
    settings = validate_settings({"caches": [{"name": "a", "adminIdentities": [identity]}]})
    assert settings.caches[0].admin_identities == (identity,)


def test_kubectl_metrics_source_is_refused_when_pods_deny_by_default() -> None:
    (problem,) = _problems({"mtlsCheck": {"metricsSource": "kubectl"}})
    assert problem.startswith("cachemesh:mtlsCheck.metricsSource:")
    assert "cachemesh:caches[0].authorization" in problem
    assert "pulumi config set --path mtlsCheck.metricsSource linkerd" in problem


def test_kubectl_metrics_source_is_fine_for_permissive_caches() -> None:
    raw = {
        "mtlsCheck": {"metricsSource": "kubectl"},
        "caches": [{"name": "a", "authorization": "permissive"}],
    }
    assert validate_settings(raw).mtls_check.metrics_source == "kubectl"
