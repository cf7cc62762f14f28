"""The pack as a whole: names, default levels, one source of defaults, config, entry point."""

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
import yaml
from cachemesh_policy import DEFAULT_CACHE_IMAGES, DEFAULT_CACHE_PORTS, POLICIES, default_levels
from policy_helpers import args

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"

EXPECTED_LEVELS = {
    "opaque-ports": "mandatory",
    "inject-on-pod-template": "mandatory",
    "no-port-skipping": "mandatory",
    "no-port-skipping-other-ports": "advisory",
    "service-opaque-ports": "advisory",
    "cache-workloads-meshed": "mandatory",
    "cache-workload-patches": "mandatory",
    "no-injection-override": "mandatory",
    "no-injection-override-elsewhere": "advisory",
    "require-linkerd-mesh-injection": "advisory",
    "require-linkerd-server": "advisory",
    "check-linkerd-authorizationpolicy": "advisory",
    "linkerd-control-plane-first": "advisory",
    "cache-ports-authorized": "mandatory",
    "cache-server-unauthenticated": "mandatory",
    "cache-server-extra-authorization": "advisory",
    "cache-rest-probes-over-network": "mandatory",
    "cache-ports-authorized-permissive": "advisory",
    "cache-ports-legacy-authorization": "advisory",
    "server-opaque-protocol": "mandatory",
    "add-linkerd-mesh-injection": "disabled",
    "add-linkerd-policy-annotation": "disabled",
    "proxy-outlives-node": "advisory",
}


def test_every_rule_has_its_name_and_default_level() -> None:
    assert default_levels() == EXPECTED_LEVELS


def test_every_cache_ports_schema_defaults_to_the_one_constant() -> None:
    for policy in POLICIES:
        properties = policy.config_schema.properties if policy.config_schema else {}
        if "cachePorts" in properties:
            assert properties["cachePorts"]["default"] == list(DEFAULT_CACHE_PORTS), policy.name
        if "cacheImages" in properties:
            assert properties["cacheImages"]["default"] == list(DEFAULT_CACHE_IMAGES), policy.name


def test_no_schema_declares_enforcement_level() -> None:
    for policy in POLICIES:
        if policy.config_schema:
            assert "enforcementLevel" not in policy.config_schema.properties


def test_example_config_names_every_policy_and_only_declared_keys() -> None:
    config = json.loads((POLICIES_DIR / "config.example.json").read_text())
    by_name = {p.name: p for p in POLICIES}
    assert set(config) == set(by_name)
    for name, values in config.items():
        schema = by_name[name].config_schema
        declared = set(schema.properties) if schema else set()
        assert set(values) - {"enforcementLevel"} <= declared, name


def test_example_config_gives_each_key_its_schema_default() -> None:
    config = json.loads((POLICIES_DIR / "config.example.json").read_text())
    for policy in POLICIES:
        properties = policy.config_schema.properties if policy.config_schema else {}
        for key, value in config[policy.name].items():
            if key != "enforcementLevel":
                assert value == properties[key]["default"], (policy.name, key)


def test_policy_project_file_runs_python_in_its_venv() -> None:
    project = yaml.safe_load((POLICIES_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}


def test_main_only_builds_the_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kw: built.update(kw))
    runpy.run_path(str(POLICIES_DIR / "__main__.py"), run_name="__main__")
    assert built["name"] == "cachemesh"
    assert built["policies"] == POLICIES


def test_unknown_value_during_preview_propagates_for_the_sdk_to_skip() -> None:
    from cachemesh_policy.rules import opaque_ports
    from policy_helpers import workload
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

    rtype, props = workload("StatefulSet", {"linkerd.io/inject": "enabled"})
    props["spec"]["template"]["metadata"]["annotations"]["config.linkerd.io/opaque-ports"] = (
        UNKNOWN_STRING_VALUE
    )
    with pytest.raises(UnknownValueError):
        opaque_ports.validate(args(rtype, unknown_checking_proxy(props)), lambda m, u=None: None)


def test_the_engines_schema_defaults_give_the_same_settings_as_no_config() -> None:
    # The CLI fills every absent key with its schema default before calling the pack (pulumi/pulumi
    # pkg/resource/analyzer/config.go, createConfigWithDefaults); tests run with no config at all.
    from cachemesh_policy.settings import read_settings

    for policy in POLICIES:
        properties = policy.config_schema.properties if policy.config_schema else {}
        defaults = {key: value["default"] for key, value in properties.items()}
        assert read_settings(defaults) == read_settings({}), policy.name
