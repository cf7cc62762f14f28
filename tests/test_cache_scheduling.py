"""Where a cache's pods run: spreading across nodes and zones, Ignite's backups on other nodes (the
rendered XML of both products), and the per-cache scheduling knobs, under the mock engine.

What only real nodes can show (Ignite reading the attribute and placing backups by it, the
scheduler honouring the constraints) is listed in
docs/tasks/place-cache-pods.md#ignite-places-backups-on-other-nodes, "What was verified where"."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from harness import ProgramRun, run_program
from manifests import FIXTURES

from settings import SettingsError
from settings.loader import validate_settings

STS = "kubernetes:apps/v1:StatefulSet"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
ROLLOUT = "command:local:Command"
BEANS = "{http://www.springframework.org/schema/beans}"
NODE_NAME = "CACHEMESH_K8S_NODE_NAME"
FILTER = "org.apache.ignite.cache.affinity.rendezvous.ClusterNodeAttributeAffinityBackupFilter"
LICENSE = {"gridgainLicense": (FIXTURES / "gridgain-license.xml").read_text()}
PRODUCTS = {"ignite2": None, "gridgain8": LICENSE}
TWO_CACHES = [
    {"name": "PERSON", "cacheMode": "PARTITIONED", "backups": 1},
    {"name": "CODES", "cacheMode": "REPLICATED"},
]


def _cache(**extra) -> dict:
    return {"caches": [{"name": "ignite", **extra}]}


def _pod(run: ProgramRun) -> dict:
    return run.one(STS, "ignite/ignite").kubernetes_object["spec"]["template"]


def _rollout(run: ProgramRun) -> dict:
    return run.one(ROLLOUT, "ignite/ignite-rollout").inputs


def _xml(run: ProgramRun) -> ET.Element:
    data = run.one(CONFIG_MAP, "ignite/ignite-config").kubernetes_object["data"]
    return ET.fromstring(data["ignite-config.xml"])


def _cache_beans(root: ET.Element) -> dict[str, ET.Element]:
    beans = {}
    for bean in root.iter(f"{BEANS}bean"):
        if bean.get("class") == "org.apache.ignite.configuration.CacheConfiguration":
            name = next(p.get("value") for p in bean if p.get("name") == "name")
            beans[str(name)] = bean
    return beans


def _filter_attributes(cache_bean: ET.Element) -> list[str] | None:
    """The attribute names of the cache's affinity backup filter, None without one."""
    for prop in cache_bean:
        if prop.get("name") != "affinity":
            continue
        [function] = list(prop)
        [filter_prop] = [p for p in function if p.get("name") == "affinityBackupFilter"]
        [bean] = list(filter_prop)
        assert bean.get("class") == FILTER
        return [v.text or "" for v in bean.iter(f"{BEANS}value")]
    return None


# --- spreading --------------------------------------------------------------------------------


def test_pods_spread_across_nodes_strictly_and_across_zones_by_preference_by_default():
    constraints = _pod(run_program())["spec"]["topologySpreadConstraints"]
    selector = {"matchLabels": {"app": "ignite", "type": "server"}}
    assert constraints == [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": selector,
            "nodeTaintsPolicy": "Honor",
        },
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": selector,
            "nodeTaintsPolicy": "Honor",
        },
    ]


def test_spreading_is_configurable_per_cache():
    placement = {"spreadAcrossNodes": "ScheduleAnyway", "spreadAcrossZones": "off", "maxSkew": 2}
    [constraint] = _pod(run_program(_cache(placement=placement)))["spec"][
        "topologySpreadConstraints"
    ]
    assert constraint["topologyKey"] == "kubernetes.io/hostname"
    assert (constraint["whenUnsatisfiable"], constraint["maxSkew"]) == ("ScheduleAnyway", 2)


def test_spreading_off_on_both_leaves_no_constraint():
    placement = {"spreadAcrossNodes": "off", "spreadAcrossZones": "off"}
    assert "topologySpreadConstraints" not in _pod(run_program(_cache(placement=placement)))["spec"]


# --- Ignite's backups on other nodes ------------------------------------------------------------


@pytest.mark.parametrize("product", list(PRODUCTS))
def test_partitioned_caches_filter_backups_on_the_node_name_attribute(product):
    run = run_program(
        _cache(product=product, cacheConfigurations=TWO_CACHES), secrets=PRODUCTS[product]
    )
    beans = _cache_beans(_xml(run))
    assert _filter_attributes(beans["PERSON"]) == [NODE_NAME]
    # A REPLICATED cache has a copy on every node: nothing to place.
    assert _filter_attributes(beans["CODES"]) is None


@pytest.mark.parametrize("product", list(PRODUCTS))
def test_the_filtered_attribute_is_the_pods_node_name_from_the_downward_api(product):
    run = run_program(_cache(product=product), secrets=PRODUCTS[product])
    env = _pod(run)["spec"]["containers"][0]["env"]
    assert {"name": NODE_NAME, "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}} in env


def test_the_affinity_function_is_the_rendezvous_function_ignite_uses_by_default():
    person = _cache_beans(_xml(run_program()))["PERSON"]
    [affinity] = [p for p in person if p.get("name") == "affinity"]
    [function] = list(affinity)
    assert function.get("class") == (
        "org.apache.ignite.cache.affinity.rendezvous.RendezvousAffinityFunction"
    )
    [arg] = list(function.iter(f"{BEANS}constructor-arg"))
    [array] = list(arg)
    assert (array.tag, array.get("value-type")) == (f"{BEANS}array", "java.lang.String")


def test_backups_on_other_nodes_off_leaves_the_xml_and_env_without_it():
    run = run_program(_cache(placement={"backupsOnOtherNodes": False}))
    assert _filter_attributes(_cache_beans(_xml(run))["PERSON"]) is None
    assert NODE_NAME not in str(_pod(run)["spec"]["containers"][0]["env"])


def test_turning_the_backup_filter_on_restarts_the_pods_through_the_rollout():
    before = run_program(_cache(placement={"backupsOnOtherNodes": False}))
    after = run_program()
    assert _rollout(before)["triggers"] != _rollout(after)["triggers"]


# --- scheduling knobs -------------------------------------------------------------------------

KNOBS = {
    "nodeSelector": {"node.kubernetes.io/pool": "caches"},
    "tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "caches", "effect": "NoSchedule"},
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 30,
        },
    ],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}
                        ]
                    }
                ]
            }
        },
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 50,
                    "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "kafka"}},
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }
            ]
        },
    },
    "priorityClassName": "cache-critical",
    "imagePullSecrets": ["gridgain-registry"],
    "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}},
}


def test_scheduling_knobs_reach_the_pod_template():
    spec = _pod(run_program(_cache(**KNOBS)))["spec"]
    assert spec["nodeSelector"] == {"node.kubernetes.io/pool": "caches"}
    assert spec["tolerations"] == [
        {"key": "dedicated", "value": "caches", "effect": "NoSchedule"},  # Equal is the default
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 30,
        },
    ]
    assert spec["affinity"] == KNOBS["affinity"]
    assert spec["priorityClassName"] == "cache-critical"
    assert spec["imagePullSecrets"] == [{"name": "gridgain-registry"}]


def test_service_account_annotations_are_on_the_service_account_and_restart_the_pods():
    run = run_program(_cache(**KNOBS))
    account = run.one(SERVICE_ACCOUNT, "ignite/ignite").kubernetes_object
    assert account["metadata"]["annotations"] == KNOBS["serviceAccount"]["annotations"]
    assert "cachemesh.io/service-account-sha256" in _pod(run)["metadata"]["annotations"]
    assert _rollout(run)["triggers"] != _rollout(run_program())["triggers"]


def test_no_knob_set_leaves_the_pod_template_without_them():
    spec = _pod(run_program())["spec"]
    for key in ("nodeSelector", "tolerations", "affinity", "priorityClassName", "imagePullSecrets"):
        assert key not in spec


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"nodeSelector": {"bad key!": "x"}}, "caches[0].nodeSelector", "label or annotation key"),
        ({"nodeSelector": {"pool": "-x"}}, "caches[0].nodeSelector.pool", "label value"),
        (
            {"tolerations": [{"key": "a", "operator": "Exists", "value": "b"}]},
            "caches[0].tolerations[0]",
            "operator Exists takes no value",
        ),
        (
            {"tolerations": [{"key": "a", "effect": "NoSchedule", "tolerationSeconds": 5}]},
            "caches[0].tolerations[0]",
            "only allowed with effect NoExecute",
        ),
        (
            {"tolerations": [{"key": "a", "operator": "Exist"}]},
            "caches[0].tolerations[0].operator",
            "'Exists' or 'Equal'",
        ),
        (
            {
                "affinity": {
                    "podAntiAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 0,
                                "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"},
                            }
                        ]
                    }
                }
            },
            "caches[0].affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"
            "[0].weight",
            "greater than or equal to 1",
        ),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "a", "operator": "In"}]}
                            ]
                        }
                    }
                }
            },
            "caches[0].affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
            ".nodeSelectorTerms[0].matchExpressions[0]",
            "operator In needs at least one value",
        ),
        ({"priorityClassName": "Critical"}, "caches[0].priorityClassName", "not a DNS name"),
        ({"imagePullSecrets": ["My_Secret"]}, "caches[0].imagePullSecrets[0]", "not a DNS name"),
        (
            {"serviceAccount": {"annotations": {"/role": "x"}}},
            "caches[0].serviceAccount.annotations",
            "the key '/role': '/role' is not a Kubernetes label or annotation key",
        ),
        (
            {"placement": {"spreadAcrossNodes": "Never"}},
            "caches[0].placement.spreadAcrossNodes",
            "'DoNotSchedule', 'ScheduleAnyway' or 'off'",
        ),
    ],
)
def test_a_bad_scheduling_key_is_refused_naming_the_key(extra, key, says):
    with pytest.raises(SettingsError) as caught:
        validate_settings(_cache(**extra))
    [problem] = caught.value.problems
    assert problem.startswith(f"cachemesh:{key}"), problem
    assert says in problem


def test_a_bad_mapping_key_is_named_with_the_path_that_removes_it():
    with pytest.raises(SettingsError) as caught:
        validate_settings(_cache(nodeSelector={"pool name": "caches"}))
    [problem] = caught.value.problems
    assert problem.startswith("cachemesh:caches[0].nodeSelector: the key 'pool name': ")
    assert "pulumi config rm --path 'caches[0].nodeSelector[\"pool name\"]'" in problem


# --- a running cache keeps its placement ------------------------------------------------------

DEPLOYED_BEFORE_THE_KEY = {"caches": {"ignite": {"namespace": "ignite", "replicas": 2}}}


def _placement_warnings(run: ProgramRun) -> list[str]:
    return [w for w in run.warnings() if "placement.backupsOnOtherNodes" in w]


def test_the_caches_output_records_whether_backups_are_kept_on_other_nodes():
    assert run_program().outputs["caches"]["ignite"]["backupsOnOtherNodes"] is True


def test_turning_the_filter_on_for_a_running_cache_warns_that_the_cache_keeps_its_placement():
    [warning] = _placement_warnings(run_program(previous_outputs=DEPLOYED_BEFORE_THE_KEY))
    assert "caches[ignite].placement.backupsOnOtherNodes is now true" in warning
    assert "a running cache keeps the placement it was created with" in warning


def test_turning_the_filter_off_for_a_running_cache_warns_too():
    deployed = {"caches": {"ignite": {"backupsOnOtherNodes": True}}}
    run = run_program(_cache(placement={"backupsOnOtherNodes": False}), previous_outputs=deployed)
    [warning] = _placement_warnings(run)
    assert "is now false" in warning


def test_an_unchanged_setting_or_a_first_deployment_says_nothing():
    deployed = {"caches": {"ignite": {"backupsOnOtherNodes": True}}}
    assert _placement_warnings(run_program(previous_outputs=deployed)) == []
    assert _placement_warnings(run_program()) == []
