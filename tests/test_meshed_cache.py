"""MeshedCache and the default stack: the guide's objects, object for object."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pulumi
import pytest
from harness import ProgramRun, run_program
from manifests import FIXTURES, load_reference, missing_fields, with_departures

from components.meshed_cache import MeshedCache, MeshedCacheArgs
from settings import CacheSettings

LICENSE_XML = (FIXTURES / "gridgain-license.xml").read_text()
GRIDGAIN = {"caches": [{"name": "ignite", "product": "gridgain8"}]}
STS = "kubernetes:apps/v1:StatefulSet"
CACHE_COMPONENTS = ("cachemesh:index:MeshedCache", "cachemesh:index:CacheNamespace")


def _cache_objects(run: ProgramRun) -> list[dict]:
    """What the cache components register (the mesh's own objects are tested elsewhere)."""
    return run.kubernetes_objects_under(*CACHE_COMPONENTS)


def _registered(run: ProgramRun, ref: dict) -> dict:
    name = ref["metadata"]["name"]
    namespace = ref["metadata"].get("namespace")
    found = [
        o
        for o in _cache_objects(run)
        if o["kind"] == ref["kind"]
        and o["metadata"]["name"] == name
        and o["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, f"{ref['kind']} {namespace}/{name} registered {len(found)} times"
    return found[0]


BEANS = "http://www.springframework.org/schema/beans"


def _as_guide(registered: dict) -> dict:
    """The object with the program's one deliberate addition to the guide taken out: the pods'
    stable names after the guide's discovery address
    (docs/how-it-works/what-it-deploys.md#discovery-how-the-nodes-find-each-other)."""
    xml = (registered.get("data") or {}).get("ignite-config.xml")
    if xml is None:
        return registered
    root = ET.fromstring(xml)
    for values in root.iter(f"{{{BEANS}}}list"):
        for value in list(values)[1:]:
            if re.fullmatch(
                r"[a-z0-9-]+-\d+\.[a-z0-9-]+\.[a-z0-9-]+\.svc\.cluster\.local", value.text or ""
            ):
                values.remove(value)
    return {
        **registered,
        "data": {**registered["data"], "ignite-config.xml": ET.tostring(root, encoding="unicode")},
    }


def _pod_template(run: ProgramRun, name: str = "ignite/ignite") -> dict:
    return run.one(STS, name).kubernetes_object["spec"]["template"]


@pytest.mark.parametrize(
    "reference", load_reference("ignite2-cluster.yaml"), ids=lambda r: r["kind"]
)
def test_default_stack_has_every_field_of_the_guides_ignite2_manifests(reference: dict) -> None:
    run = run_program()
    assert missing_fields(with_departures(reference), _as_guide(_registered(run, reference))) == []


@pytest.mark.parametrize(
    "reference", load_reference("gridgain8-cluster.yaml"), ids=lambda r: r["kind"]
)
def test_gridgain8_stack_has_every_field_of_the_guides_gridgain8_manifests(reference: dict) -> None:
    run = run_program(GRIDGAIN, secrets={"gridgainLicense": LICENSE_XML})
    if reference["kind"] == "Secret":
        # The guide's placeholder stands for the user's licence file.
        reference = {**reference, "stringData": {"gridgain-license.xml": LICENSE_XML}}
    assert missing_fields(with_departures(reference), _as_guide(_registered(run, reference))) == []


def test_permissive_stack_registers_the_guides_objects_plus_account_and_budget() -> None:
    run = run_program({"caches": [{"name": "ignite", "authorization": "permissive"}]})
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in _cache_objects(run))
    assert kinds == [
        ("ConfigMap", "ignite-config"),
        ("Namespace", "ignite"),
        ("PodDisruptionBudget", "ignite"),
        ("Service", "ignite-headless"),
        ("ServiceAccount", "ignite"),
        ("StatefulSet", "ignite"),
    ]


def test_kubernetes_names_follow_the_cache_name_and_are_never_auto_suffixed() -> None:
    run = run_program({"caches": [{"name": "orders", "namespace": "shop"}]})
    names = {(o["kind"], o["metadata"]["name"]) for o in _cache_objects(run)}
    assert {
        ("ConfigMap", "orders-config"),
        ("Service", "orders-headless"),
        ("StatefulSet", "orders"),
        ("ServiceAccount", "orders"),
        ("Namespace", "shop"),
    } <= names


def test_discovery_address_is_the_headless_service_of_the_cache() -> None:
    run = run_program({"caches": [{"name": "orders", "namespace": "shop"}]})
    xml = run.one("kubernetes:core/v1:ConfigMap", "shop/orders-config").inputs["data"]
    assert "<value>orders-headless.shop.svc.cluster.local</value>" in xml["ignite-config.xml"]


def _discovery_addresses(run, name: str = "shop/orders-config") -> list[str]:
    xml = run.one("kubernetes:core/v1:ConfigMap", name).inputs["data"]["ignite-config.xml"]
    root = ET.fromstring(xml)
    ns = {"b": "http://www.springframework.org/schema/beans"}
    finder = root.find(".//b:property[@name='ipFinder']/b:bean", ns)
    assert finder is not None
    return [
        v.text or "" for v in finder.findall("b:property[@name='addresses']/b:list/b:value", ns)
    ]


def test_discovery_lists_the_service_then_every_pods_stable_name() -> None:
    run = run_program({"caches": [{"name": "orders", "namespace": "shop", "replicas": 3}]})
    assert _discovery_addresses(run) == [
        "orders-headless.shop.svc.cluster.local",
        "orders-0.orders-headless.shop.svc.cluster.local",
        "orders-1.orders-headless.shop.svc.cluster.local",
        "orders-2.orders-headless.shop.svc.cluster.local",
    ]


def test_changing_replicas_changes_the_pod_list_but_restarts_no_pod() -> None:
    def run(replicas: int):
        return run_program(
            {"caches": [{"name": "orders", "namespace": "shop", "replicas": replicas}]}
        )

    two, three = run(2), run(3)
    assert len(_discovery_addresses(two)) == 3 and len(_discovery_addresses(three)) == 4
    assert (
        _pod_template(two, "shop/orders")["metadata"]
        == _pod_template(three, "shop/orders")["metadata"]
    )


def test_pod_template_carries_inject_and_opaque_ports_for_the_server_first_ports() -> None:
    annotations = _pod_template(run_program())["metadata"]["annotations"]
    assert annotations["linkerd.io/inject"] == "enabled"
    assert annotations["config.linkerd.io/opaque-ports"] == "10800,47100,47500"


def test_opaque_ports_are_derived_from_the_products_server_first_ports(monkeypatch) -> None:
    from settings import products

    port = products.CachePort(
        47200, "extra", "a test-only port", server_first=True, service_port_name="tcp-extra"
    )
    ignite = products.PRODUCTS[products.ProductKey.IGNITE2]
    patched = products.Product(**{**ignite.__dict__, "ports": (*ignite.ports, port)})
    monkeypatch.setitem(products.PRODUCTS, products.ProductKey.IGNITE2, patched)
    run = run_program()
    annotations = _pod_template(run)["metadata"]["annotations"]
    assert annotations["config.linkerd.io/opaque-ports"] == "10800,47100,47200,47500"
    service = run.one("kubernetes:core/v1:Service", "ignite/ignite-headless").kubernetes_object
    assert 47200 in [p["port"] for p in service["spec"]["ports"]]


def test_pods_run_under_the_caches_own_service_account() -> None:
    assert _pod_template(run_program())["spec"]["serviceAccountName"] == "ignite"


def test_gridgain8_mounts_the_licence_secret_where_the_plugin_xml_points() -> None:
    run = run_program(GRIDGAIN, secrets={"gridgainLicense": LICENSE_XML})
    spec = _pod_template(run)["spec"]
    volume = next(v for v in spec["volumes"] if "secret" in v)
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    xml = run.one("kubernetes:core/v1:ConfigMap", "ignite/ignite-config").inputs["data"]
    assert volume["secret"]["secretName"] == "gridgain-license"
    assert f'value="{mount["mountPath"]}/gridgain-license.xml"' in xml["ignite-config.xml"]


def test_ignite2_has_no_licence_secret_and_no_plugin_configuration() -> None:
    run = run_program()
    assert [o for o in _cache_objects(run) if o["kind"] == "Secret"] == []
    xml = run.one("kubernetes:core/v1:ConfigMap", "ignite/ignite-config").inputs["data"]
    assert "pluginConfigurations" not in xml["ignite-config.xml"]


def test_two_gridgain8_caches_in_one_namespace_share_one_licence_secret() -> None:
    config = {
        "caches": [{"name": "a", "product": "gridgain8"}, {"name": "b", "product": "gridgain8"}]
    }
    run = run_program(config, secrets={"gridgainLicense": LICENSE_XML})
    secrets = [o["metadata"]["name"] for o in _cache_objects(run) if o["kind"] == "Secret"]
    assert secrets == ["gridgain-license"]


def test_one_namespace_object_per_distinct_namespace() -> None:
    config = {"caches": [{"name": "a"}, {"name": "b", "namespace": "other"}, {"name": "c"}]}
    objects = _cache_objects(run_program(config))
    namespaces = [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"]
    assert sorted(namespaces) == ["ignite", "other"]


def test_cache_settings_become_replicas_image_resources_and_cache_beans() -> None:
    config = {
        "caches": [
            {
                "name": "ignite",
                "replicas": 3,
                "image": "registry.example.com/ignite:2.16.0",
                "resources": {"limits": {"memory": "4Gi", "cpu": 2}, "requests": {"cpu": "500m"}},
                "cacheConfigurations": [
                    {"name": "ORDERS", "cacheMode": "REPLICATED", "backups": 0},
                    {"name": "A&B<C>", "atomicityMode": "TRANSACTIONAL"},
                ],
            }
        ]
    }
    run = run_program(config)
    sts = run.one(STS, "ignite/ignite").kubernetes_object
    container = sts["spec"]["template"]["spec"]["containers"][0]
    xml = run.one("kubernetes:core/v1:ConfigMap", "ignite/ignite-config").inputs["data"]
    assert sts["spec"]["replicas"] == 3
    assert container["image"] == "registry.example.com/ignite:2.16.0"
    assert container["resources"] == {
        "limits": {"memory": "4Gi", "cpu": "2"},
        "requests": {"cpu": "500m"},
    }
    assert '<property name="cacheMode" value="REPLICATED" />' in xml["ignite-config.xml"]
    # A user-supplied name is escaped by the XML library, never spliced into markup.
    assert 'value="A&amp;B&lt;C&gt;"' in xml["ignite-config.xml"]


def test_config_change_changes_the_pod_template_so_pods_roll() -> None:
    one = _pod_template(run_program())["metadata"]["annotations"]["cachemesh.io/config-sha256"]
    other_config = {"caches": [{"name": "ignite", "cacheConfigurations": [{"name": "OTHER"}]}]}
    other = _pod_template(run_program(other_config))["metadata"]["annotations"]
    assert other["cachemesh.io/config-sha256"] != one


def test_statefulset_waits_for_its_namespace_config_service_and_account() -> None:
    run = run_program()
    waits = {
        urn.split("::")[-1] + " " + urn.split("::")[2].split("$")[-1]
        for urn in run.waits_for(run.one(STS, "ignite/ignite"))
    }
    assert {
        "ignite kubernetes:core/v1:Namespace",
        "ignite/ignite-config kubernetes:core/v1:ConfigMap",
        "ignite/ignite-headless kubernetes:core/v1:Service",
        "ignite/ignite kubernetes:core/v1:ServiceAccount",
    } <= waits


def test_every_kubernetes_object_is_a_child_of_a_cachemesh_component() -> None:
    run = run_program(GRIDGAIN, secrets={"gridgainLicense": LICENSE_XML})
    objects = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert objects
    for resource in objects:
        assert run.ancestors(resource), f"{resource.type} {resource.name} has no component"
        assert run.ancestors(resource)[-1].type.startswith("cachemesh:index:")


def test_caches_output_describes_each_cache_for_dashboards() -> None:
    run = run_program({"caches": [{"name": "orders", "namespace": "shop", "replicas": 3}]})
    assert run.outputs["caches"] == {
        "orders": {
            "namespace": "shop",
            "product": "ignite2",
            "replicas": 3,
            "podManagementPolicy": "OrderedReady",
            "statefulset": "orders",
            "serviceDnsName": "orders-headless.shop.svc.cluster.local",
            "serviceAccount": "orders",
            "identity": "orders.shop.serviceaccount.identity.linkerd.cluster.local",
            "meshed": True,
            "backupsOnOtherNodes": True,
        }
    }


def test_caches_output_keys_by_namespace_when_a_name_repeats() -> None:
    config = {"caches": [{"name": "c", "namespace": "a"}, {"name": "c", "namespace": "b"}]}
    assert sorted(run_program(config).outputs["caches"]) == ["a/c", "b/c"]


def test_licence_is_secret_in_the_registered_secret_and_absent_from_outputs_and_logs() -> None:
    run = run_program(GRIDGAIN, secrets={"gridgainLicense": LICENSE_XML})
    secret = run.one("kubernetes:core/v1:Secret", "ignite/gridgain-license")
    assert "stringData" in secret.secret_inputs
    assert "DO-NOT-LEAK" not in repr(run.outputs)
    assert "DO-NOT-LEAK" not in repr(run.logs)
    for resource in run.resources:
        if resource is not secret:
            assert "DO-NOT-LEAK" not in repr(resource.inputs), resource.name


@pulumi.runtime.test
def test_meshed_cache_component_outputs_name_its_statefulset_service_and_identity():
    pulumi.runtime.set_mocks(_EchoMocks(), project="cachemesh", stack="unit")
    component = MeshedCache(
        "shop/orders",
        MeshedCacheArgs(
            cache=CacheSettings(name="orders", namespace="shop"),
            meshed=True,
            trust_domain="example.org",
        ),
    )

    def check(values: list) -> None:
        assert values == [
            "shop",
            "orders",
            "orders-headless.shop.svc.cluster.local",
            "orders",
            "orders.shop.serviceaccount.identity.linkerd.example.org",
        ]

    return pulumi.Output.all(
        component.namespace,
        component.statefulset_name,
        component.service_dns_name,
        component.service_account_name,
        component.identity,
    ).apply(check)


class _EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}, None


def test_reference_fixtures_are_the_shared_guide_manifests() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "reference"
    if not shared.exists():
        pytest.skip("the shared reference folder is not beside this checkout")
    for name in ("ignite2-cluster.yaml", "gridgain8-cluster.yaml"):
        assert (FIXTURES / name).read_text() == (shared / name).read_text()
