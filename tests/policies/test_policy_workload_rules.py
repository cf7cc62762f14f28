"""Resource rules on every workload kind: opaque-ports, inject-on-pod-template, port skipping."""

import pytest
from cachemesh_policy.rules import (
    inject_on_pod_template,
    no_port_skipping,
    no_port_skipping_other_ports,
    opaque_ports,
)
from policy_helpers import KINDS, MESHED, OPAQUE, annotations_path, violations, workload

GOOD = {**MESHED, OPAQUE: "10800,47100,47500"}
SKIP_IN = "config.linkerd.io/skip-inbound-ports"
SKIP_OUT = "config.linkerd.io/skip-outbound-ports"

kinds = pytest.mark.parametrize("kind", KINDS)


# --- opaque-ports -----------------------------------------------------------------------------


@kinds
def test_opaque_ports_passes_a_meshed_workload_listing_every_cache_port(kind: str) -> None:
    assert violations(opaque_ports, *workload(kind, GOOD)) == []


@kinds
def test_opaque_ports_fails_when_the_annotation_is_missing(kind: str) -> None:
    [message] = violations(opaque_ports, *workload(kind, MESHED))
    field = f'{annotations_path(kind)}["{OPAQUE}"]'
    assert f"{kind} ignite/ignite" in message
    assert f'set {field} = "10800,47100,47500"' in message


@kinds
def test_opaque_ports_fails_when_a_cache_port_is_dropped(kind: str) -> None:
    [message] = violations(opaque_ports, *workload(kind, {**MESHED, OPAQUE: "10800,47100"}))
    assert "does not list cache ports 47500" in message
    assert '= "10800,47100,47500"' in message


@kinds
def test_opaque_ports_fix_keeps_existing_entries(kind: str) -> None:
    [message] = violations(opaque_ports, *workload(kind, {**MESHED, OPAQUE: "8080, 47100-47200"}))
    assert '= "8080,47100-47200,10800,47500"' in message


@kinds
def test_opaque_ports_accepts_a_range_covering_cache_ports(kind: str) -> None:
    annotations = {**MESHED, OPAQUE: "10800, 47100-47600"}
    assert violations(opaque_ports, *workload(kind, annotations)) == []


@kinds
def test_opaque_ports_resolves_named_ports(kind: str) -> None:
    names = {10800: "thin", 47100: "comm", 47500: "disco"}
    annotations = {**MESHED, OPAQUE: "thin,comm,disco"}
    assert violations(opaque_ports, *workload(kind, annotations, port_names=names)) == []


@kinds
def test_opaque_ports_reports_garbage_instead_of_crashing(kind: str) -> None:
    [message] = violations(opaque_ports, *workload(kind, {**MESHED, OPAQUE: "10800;47100,47500"}))
    assert "cannot parse" in message
    assert '"10800;47100"' in message


@kinds
def test_opaque_ports_requires_all_cache_ports_for_a_cache_image_without_declared_ports(
    kind: str,
) -> None:
    [message] = violations(opaque_ports, *workload(kind, MESHED, ports=()))
    assert '"10800,47100,47500"' in message


@kinds
def test_opaque_ports_requires_only_declared_cache_ports_for_other_images(kind: str) -> None:
    props = workload(kind, MESHED, ports=(47100,), image="example/app:1")
    [message] = violations(opaque_ports, *props)
    assert '= "47100"' in message


@kinds
def test_opaque_ports_ignores_workloads_without_cache_ports(kind: str) -> None:
    props = workload(kind, MESHED, ports=(8080,), image="nginx:1.27")
    assert violations(opaque_ports, *props) == []


@kinds
def test_opaque_ports_ignores_an_explicit_injection_opt_out(kind: str) -> None:
    props = workload(kind, {"linkerd.io/inject": "disabled"})
    assert violations(opaque_ports, *props) == []


@kinds
def test_opaque_ports_applies_when_injection_is_left_to_the_namespace(kind: str) -> None:
    assert len(violations(opaque_ports, *workload(kind, {}))) == 1


@kinds
def test_opaque_ports_accepts_a_namespace_annotation_declared_in_config(kind: str) -> None:
    config = {"namespaceOpaquePorts": {"ignite": "10800,47100,47500"}}
    assert violations(opaque_ports, *workload(kind, {}), config) == []


@kinds
def test_opaque_ports_uses_configured_cache_ports(kind: str) -> None:
    props = workload(kind, {**MESHED, OPAQUE: "10800,47100,47500"}, ports=(9000,), image="x/y")
    [message] = violations(opaque_ports, *props, {"cachePorts": [9000.0]})
    assert '= "10800,47100,47500,9000"' in message


@kinds
def test_opaque_ports_uses_configured_cache_images(kind: str) -> None:
    props = workload(kind, MESHED, ports=(), image="registry.local/acme/cache:3")
    assert violations(opaque_ports, *props) == []
    assert len(violations(opaque_ports, *props, {"cacheImages": ["acme/*"]})) == 1


def test_opaque_ports_matches_gridgain_images_through_a_registry_mirror() -> None:
    props = workload(
        "StatefulSet", MESHED, ports=(), image="mirror.local:5000/gridgain/community:8"
    )
    assert len(violations(opaque_ports, *props)) == 1


def test_opaque_ports_ignores_resources_without_a_pod_template() -> None:
    props = {"metadata": {"name": "ignite"}, "data": {}}
    assert violations(opaque_ports, "kubernetes:core/v1:ConfigMap", props) == []


def test_opaque_ports_tolerates_a_workload_with_nothing_in_it() -> None:
    assert violations(opaque_ports, "kubernetes:apps/v1:StatefulSet", {}) == []


def test_opaque_ports_reads_float_container_ports_from_the_engine() -> None:
    rtype, props = workload("StatefulSet", MESHED, ports=())
    props["spec"]["template"]["spec"]["containers"][0]["image"] = "x/y"
    props["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 47100.0}]
    [message] = violations(opaque_ports, rtype, props)
    assert '= "47100"' in message


# --- inject-on-pod-template -------------------------------------------------------------------

controllers = pytest.mark.parametrize("kind", [k for k in KINDS if k != "Pod"])


@controllers
def test_inject_on_pod_template_fails_when_only_the_controller_is_annotated(kind: str) -> None:
    props = workload(kind, {OPAQUE: "10800,47100,47500"}, own_annotations=MESHED)
    [message] = violations(inject_on_pod_template, *props)
    assert f'set {annotations_path(kind)}["linkerd.io/inject"] = "enabled"' in message
    assert "1/1" in message


@kinds
def test_inject_on_pod_template_passes_when_the_template_is_annotated(kind: str) -> None:
    assert violations(inject_on_pod_template, *workload(kind, GOOD, own_annotations=MESHED)) == []


@kinds
def test_inject_on_pod_template_passes_without_any_inject_annotation(kind: str) -> None:
    assert violations(inject_on_pod_template, *workload(kind, {})) == []


# --- no-port-skipping / no-port-skipping-other-ports ------------------------------------------


@kinds
@pytest.mark.parametrize("key", [SKIP_IN, SKIP_OUT])
def test_no_port_skipping_fails_when_a_cache_port_is_skipped(kind: str, key: str) -> None:
    props = workload(kind, {**GOOD, key: "4190,47000-47200"})
    [message] = violations(no_port_skipping, *props)
    assert "skips cache ports 47100" in message
    assert f'set {annotations_path(kind)}["{key}"] = "4190,47000-47099,47101-47200"' in message
    assert violations(no_port_skipping_other_ports, *props) == []


@kinds
def test_no_port_skipping_says_remove_when_only_cache_ports_are_skipped(kind: str) -> None:
    [message] = violations(no_port_skipping, *workload(kind, {**GOOD, SKIP_IN: "47500"}))
    assert f'remove {annotations_path(kind)}["{SKIP_IN}"]' in message


@kinds
def test_no_port_skipping_fails_on_an_unparseable_value(kind: str) -> None:
    [message] = violations(no_port_skipping, *workload(kind, {**GOOD, SKIP_OUT: "true"}))
    assert "cannot be parsed" in message


@kinds
def test_other_port_skipping_is_advisory_not_mandatory(kind: str) -> None:
    props = workload(kind, {**GOOD, SKIP_OUT: "5432"})
    assert violations(no_port_skipping, *props) == []
    [message] = violations(no_port_skipping_other_ports, *props)
    assert '"5432"' in message


@kinds
def test_no_port_skipping_passes_without_skip_annotations(kind: str) -> None:
    props = workload(kind, GOOD)
    assert violations(no_port_skipping, *props) == []
    assert violations(no_port_skipping_other_ports, *props) == []


def test_no_port_skipping_uses_configured_cache_ports() -> None:
    props = workload("Deployment", {**GOOD, SKIP_OUT: "5432"})
    assert len(violations(no_port_skipping, *props, {"cachePorts": [5432]})) == 1
