"""`cachemesh:admission`: the policy pack's one-object mandatory rules as
ValidatingAdmissionPolicies. One verdict, two engines: every case below is judged by the pack
(cachemesh_policy, as `pulumi preview --policy-pack` runs it) and by the generated CEL (celpy,
tests/admission_cel.py), and the verdicts must agree. The real API server's verdict is
e2e/test_admission.py's."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Mapping
from typing import Any

import harness
import pytest
from admission_cel import admit
from existing_linkerd_testing import RUN, EngineError
from harness import run_program

from components.admission_policies import (
    admission_rules,
    api_read_command,
    image_pattern,
    serves_admission_policies,
)
from settings.products import ALL_IMAGE_REPOSITORIES, ALL_SERVER_FIRST_PORTS

sys.path.insert(0, str(harness.PROJECT_ROOT / "policies"))
sys.path.insert(0, str(harness.PROJECT_ROOT / "tests" / "policies"))

from cachemesh_policy.authorization_rules import (
    OPEN_ACCESS_POLICIES,
    unauthenticated_reason,
)
from cachemesh_policy.evaluate import make_resource
from cachemesh_policy.rules import (
    inject_on_pod_template,
    no_port_skipping,
    opaque_ports,
)
from policy_helpers import KINDS, MESHED, OPAQUE, violations, workload

RULES = {r.name: r for r in admission_rules(ALL_SERVER_FIRST_PORTS, ALL_IMAGE_REPOSITORIES)}
SKIP_IN = "config.linkerd.io/skip-inbound-ports"
SKIP_OUT = "config.linkerd.io/skip-outbound-ports"
GOOD = {**MESHED, OPAQUE: "10800,47100,47500"}

# (what the case is, workload(...) keyword arguments, the Namespace's annotations). The inputs
# of tests/policies/test_policy_workload_rules.py, for every workload kind.
OPAQUE_CASES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("every cache port listed", {"template_annotations": GOOD}, {}),
    ("annotation missing", {"template_annotations": MESHED}, {}),
    ("a cache port dropped", {"template_annotations": {**MESHED, OPAQUE: "10800,47100"}}, {}),
    ("a range covers them", {"template_annotations": {**MESHED, OPAQUE: "10000-50000"}}, {}),
    ("a range misses one", {"template_annotations": {**MESHED, OPAQUE: "10800,47000-47200"}}, {}),
    (
        "spaces between ports, which Linkerd does not split on",
        {"template_annotations": {**MESHED, OPAQUE: "10800 47100, 47500"}},
        {},
    ),
    (
        "named ports",
        {
            "template_annotations": {**MESHED, OPAQUE: "client,comm,disco"},
            "port_names": {10800: "client", 47100: "comm", 47500: "disco"},
        },
        {},
    ),
    (
        "a name no container port has",
        {"template_annotations": {**MESHED, OPAQUE: "10800,47100,disco"}},
        {},
    ),
    (
        "garbage beside the ports",
        {"template_annotations": {**MESHED, OPAQUE: "10800,47100,47500,x!"}},
        {},
    ),
    (
        "a port out of range",
        {"template_annotations": {**MESHED, OPAQUE: "10800,47100,47500,70000"}},
        {},
    ),
    ("a backwards range", {"template_annotations": {**MESHED, OPAQUE: "47500-10800"}}, {}),
    ("cache image, no declared ports", {"template_annotations": MESHED, "ports": ()}, {}),
    (
        "other image declaring one cache port, listed",
        {"template_annotations": {**MESHED, OPAQUE: "47100"}, "ports": (47100,), "image": "x/y"},
        {},
    ),
    (
        "other image declaring one cache port, not listed",
        {"template_annotations": MESHED, "ports": (47100, 8080), "image": "x/y"},
        {},
    ),
    (
        "no cache ports at all",
        {"template_annotations": MESHED, "ports": (8080,), "image": "x/y"},
        {},
    ),
    ("injection opted out", {"template_annotations": {"linkerd.io/inject": "disabled"}}, {}),
    ("injection left to the namespace", {"template_annotations": {}}, {}),
    ("the namespace lists the ports", {"template_annotations": {}}, {OPAQUE: "10800,47100,47500"}),
    ("the namespace lists too few", {"template_annotations": {}}, {OPAQUE: "10800"}),
    (
        "gridgain through a registry mirror",
        {
            "template_annotations": MESHED,
            "ports": (),
            "image": "mirror.local:5000/gridgain/community:8",
        },
        {},
    ),
    (
        "a look-alike repository",
        {"template_annotations": MESHED, "ports": (), "image": "apacheignite/ignite-tools:1"},
        {},
    ),
]
SKIP_CASES: list[tuple[str, dict[str, str]]] = [
    ("no skip annotation", {}),
    ("inbound skips a cache port in a range", {SKIP_IN: "4190,47000-47200"}),
    ("outbound skips only a cache port", {SKIP_OUT: "47500"}),
    ("unparseable value", {SKIP_OUT: "true"}),
    ("other ports only", {SKIP_OUT: "5432,6000-6100"}),
    ("a name, which proxy-init cannot take", {SKIP_IN: "client"}),
]


def _namespace(annotations: Mapping[str, str], name: str = "ignite") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "annotations": dict(annotations)},
    }


def _pack_allows(
    policy: Any, resource_type: str, props: dict[str, Any], config: Any = None
) -> bool:
    return violations(policy, resource_type, copy.deepcopy(props), config) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("case", "kwargs", "namespace"), OPAQUE_CASES, ids=[c[0] for c in OPAQUE_CASES]
)
def test_opaque_ports_verdict_is_the_packs(
    kind: str, case: str, kwargs: dict[str, Any], namespace: dict[str, str]
) -> None:
    resource_type, props = workload(kind, **kwargs)
    config = {"namespaceOpaquePorts": {"ignite": namespace[OPAQUE]}} if namespace else None
    pack = _pack_allows(opaque_ports, resource_type, props, config)
    assert admit(RULES["opaque-ports"], props, _namespace(namespace)).allowed == pack


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "Pod"])
@pytest.mark.parametrize(
    ("own", "template"),
    [(MESHED, {}), (MESHED, MESHED), ({}, {}), ({"linkerd.io/inject": "disabled"}, GOOD)],
)
def test_inject_on_pod_template_verdict_is_the_packs(
    kind: str, own: dict[str, str], template: dict[str, str]
) -> None:
    resource_type, props = workload(kind, template, own_annotations=own)
    pack = _pack_allows(inject_on_pod_template, resource_type, props)
    assert admit(RULES["inject-on-pod-template"], props, _namespace({})).allowed == pack


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("case", "annotations"), SKIP_CASES, ids=[c[0] for c in SKIP_CASES])
def test_port_skipping_on_a_pod_template_verdict_is_the_packs(
    kind: str, case: str, annotations: dict[str, str]
) -> None:
    resource_type, props = workload(kind, {**GOOD, **annotations})
    pack = _pack_allows(no_port_skipping, resource_type, props)
    assert admit(RULES["no-port-skipping"], props, _namespace({})).allowed == pack


@pytest.mark.parametrize(("case", "annotations"), SKIP_CASES, ids=[c[0] for c in SKIP_CASES])
def test_port_skipping_on_a_namespace_verdict_is_the_packs(
    case: str, annotations: dict[str, str]
) -> None:
    namespace = _namespace(annotations, "shop")
    pack = _pack_allows(no_port_skipping, "kubernetes:core/v1:Namespace", namespace)
    assert admit(RULES["no-port-skipping"], namespace).allowed == pack


AUTHZ = "policy.linkerd.io/v1alpha1"
POLICY_CASES: list[tuple[str, list[dict[str, str]]]] = [
    ("a MeshTLSAuthentication", [{"kind": "MeshTLSAuthentication", "name": "peers"}]),
    ("a ServiceAccount", [{"kind": "ServiceAccount", "name": "ignite"}]),
    ("only a NetworkAuthentication", [{"kind": "NetworkAuthentication", "name": "all"}]),
    (
        "network and mesh together",
        [
            {"kind": "NetworkAuthentication", "name": "all"},
            {"kind": "MeshTLSAuthentication", "name": "peers"},
        ],
    ),
    ("no authentication at all", []),
]


@pytest.mark.parametrize(("case", "refs"), POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_an_authorization_policy_verdict_is_the_packs(
    case: str, refs: list[dict[str, str]]
) -> None:
    policy = {
        "apiVersion": AUTHZ,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "p", "namespace": "ignite"},
        "spec": {
            "targetRef": {
                "group": "policy.linkerd.io",
                "kind": "Server",
                "name": "ignite-discovery",
            },
            "requiredAuthenticationRefs": refs,
        },
    }
    resource = make_resource(
        "kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy", policy, "p"
    )
    pack = unauthenticated_reason(resource) is None
    assert admit(RULES["cache-server-unauthenticated"], policy, _namespace({})).allowed == pack


@pytest.mark.parametrize("access", [*OPEN_ACCESS_POLICIES, "deny", None])
def test_a_server_access_policy_is_refused_exactly_when_the_pack_calls_it_open(
    access: str | None,
) -> None:
    spec: dict[str, Any] = {"podSelector": {"matchLabels": {"app": "ignite"}}, "port": 47500}
    if access is not None:
        spec["accessPolicy"] = access
    server = {
        "apiVersion": "policy.linkerd.io/v1beta3",
        "kind": "Server",
        "metadata": {"name": "ignite-discovery", "namespace": "ignite"},
        "spec": spec,
    }
    verdict = admit(RULES["cache-server-unauthenticated"], server, _namespace({}))
    assert verdict.allowed == (access not in OPEN_ACCESS_POLICIES)


# --- the messages name the field and the fix -----------------------------------------------------


def test_the_opaque_ports_message_names_the_field_the_missing_ports_and_the_fix() -> None:
    _, props = workload("StatefulSet", {**MESHED, OPAQUE: "10800,47100"})
    [message] = admit(RULES["opaque-ports"], props, _namespace({})).messages
    field = f'spec.template.metadata.annotations["{OPAQUE}"]'
    assert message.startswith(
        "StatefulSet ignite/ignite: serves cache ports 10800,47100,47500 but "
        f'{field} = "10800,47100"'
    )
    assert "does not list cache ports 47500" in message
    assert f"Fix: list 10800,47100,47500 in {field}" in message


def test_the_inject_message_names_the_pod_template_field() -> None:
    _, props = workload("Deployment", {}, own_annotations=MESHED)
    [message] = admit(RULES["inject-on-pod-template"], props, _namespace({})).messages
    assert 'Fix: set spec.template.metadata.annotations["linkerd.io/inject"] = "enabled"' in message


def test_the_skip_message_on_a_namespace_names_its_annotation_and_the_ports() -> None:
    [message] = admit(
        RULES["no-port-skipping"], _namespace({SKIP_OUT: "47000-48000"}, "shop")
    ).messages
    assert message.startswith(
        f'Namespace shop: metadata.annotations["{SKIP_OUT}"] = "47000-48000" '
        "skips cache ports 47100,47500"
    )


def test_a_cronjob_is_judged_on_its_job_template() -> None:
    _, props = workload("CronJob", MESHED)
    [message] = admit(RULES["opaque-ports"], props, _namespace({})).messages
    assert (
        'spec.jobTemplate.spec.template.metadata.annotations["config.linkerd.io/opaque-ports"]'
        in message
    )


# --- the product data, not a second list ---------------------------------------------------------


def test_the_policies_take_the_cache_ports_and_images_from_the_product_data() -> None:
    spec = json.dumps(RULES["opaque-ports"].spec())
    assert "[10800, 47100, 47500]" in spec
    assert json.dumps(image_pattern(ALL_IMAGE_REPOSITORIES))[1:-1] in spec


@pytest.mark.parametrize(
    ("image", "cache"),
    [
        ("apacheignite/ignite:2.16.0", True),
        ("docker.io/apacheignite/ignite@sha256:00", True),
        ("localhost/gridgain/ultimate:8.9.33", True),
        ("gridgain/enterprise", True),
        ("apacheignite/ignite-tools:1", False),
        ("acme/apacheignite/ignite:1", False),
    ],
)
def test_an_image_is_a_cache_image_as_the_pack_decides(image: str, cache: bool) -> None:
    import re

    from cachemesh_policy.workloads import image_matches

    assert bool(re.match(image_pattern(ALL_IMAGE_REPOSITORIES), image)) == cache
    assert image_matches(image, ALL_IMAGE_REPOSITORIES) == cache


# --- the program ---------------------------------------------------------------------------------

ENABLED = {"admission": {"enabled": True}}
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
# What kube-apiserver v1.31.14 lists for admissionregistration.k8s.io/v1, as observed
# (`kubectl get --raw /apis/admissionregistration.k8s.io/v1` on e2e/cluster.py, 2026-12-04; the
# e2e tier also reads it through the program).
V1_RESOURCES = [
    {"name": "mutatingwebhookconfigurations", "kind": "MutatingWebhookConfiguration"},
    {"name": "validatingadmissionpolicies", "kind": "ValidatingAdmissionPolicy"},
    {"name": "validatingadmissionpolicies/status", "kind": "ValidatingAdmissionPolicy"},
    {"name": "validatingadmissionpolicybindings", "kind": "ValidatingAdmissionPolicyBinding"},
    {"name": "validatingwebhookconfigurations", "kind": "ValidatingWebhookConfiguration"},
]


def _discovery(resources: list[dict[str, str]]) -> str:
    return json.dumps(
        {
            "kind": "APIResourceList",
            "groupVersion": "admissionregistration.k8s.io/v1",
            "resources": resources,
        }
    )


V1_DISCOVERY = _discovery(V1_RESOURCES)
# What a 1.29 API server lists in v1: the webhooks only.
V1_29_DISCOVERY = _discovery([r for r in V1_RESOURCES if "webhook" in r["name"]])


class Discovery:
    """`kubectl get --raw /apis/admissionregistration.k8s.io/v1` through pulumi-command's
    `local.run` (its inputs echoed, stdout without the last newline), or kubectl failing."""

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.commands: list[str] = []

    def __call__(self, args: Any) -> Mapping[str, Any]:
        self.commands.append(args.args["command"])
        if self.answer is None:
            error = (
                'exit status 1: running "kubectl":\n'
                "error: You must be logged in to the server (Unauthorized)\n"
            )
            raise EngineError(f"invocation of {RUN} returned an error: {error}")
        return {**args.args, "stdout": self.answer, "stderr": ""}


@pytest.fixture
def v1_cluster(monkeypatch: pytest.MonkeyPatch) -> Discovery:
    fake = Discovery(V1_DISCOVERY)
    monkeypatch.setitem(harness.CALL_FAKERS, RUN, fake)
    return fake


def test_admission_policies_are_off_by_default() -> None:
    run = run_program()
    assert run.of_type(VAP) == [] and run.of_type(BINDING) == []


def test_enabled_there_is_a_policy_and_a_binding_per_rule(v1_cluster: Discovery) -> None:
    run = run_program(ENABLED)
    names = sorted(RULES[r].policy_name for r in RULES)
    assert sorted(r.inputs["metadata"]["name"] for r in run.of_type(VAP)) == names
    assert sorted(r.inputs["spec"]["policyName"] for r in run.of_type(BINDING)) == names
    assert run.outputs["admissionPolicies"] == [RULES[r].policy_name for r in RULES]
    assert v1_cluster.commands == [api_read_command(None)]


def test_the_bindings_cover_the_cache_namespaces_and_deny_by_default(v1_cluster: Discovery) -> None:
    config = {**ENABLED, "caches": [{"name": "a"}, {"name": "b", "namespace": "shop"}]}
    for binding in run_program(config).of_type(BINDING):
        spec = binding.inputs["spec"]
        assert spec["validationActions"] == ["Deny"]
        covered, excluded = spec["matchResources"]["namespaceSelector"]["matchExpressions"]
        assert covered == {
            "key": "kubernetes.io/metadata.name",
            "operator": "In",
            "values": ["ignite", "shop"],
        }
        assert excluded["operator"] == "NotIn"
        assert {"linkerd", "linkerd-cni", "kube-system"} <= set(excluded["values"])


def test_configured_namespaces_and_actions_reach_the_bindings(v1_cluster: Discovery) -> None:
    config = {
        "admission": {
            "enabled": True,
            "validationActions": ["Warn", "Audit"],
            "namespaces": ["ignite", "apps"],
        }
    }
    for binding in run_program(config).of_type(BINDING):
        spec = binding.inputs["spec"]
        assert spec["validationActions"] == ["Warn", "Audit"]
        assert spec["matchResources"]["namespaceSelector"]["matchExpressions"][0]["values"] == [
            "apps",
            "ignite",
        ]


def test_the_policies_are_children_of_the_admission_component(v1_cluster: Discovery) -> None:
    run = run_program(ENABLED)
    [component] = run.of_type("cachemesh:index:AdmissionPolicies")
    assert {r.parent for r in run.of_type(VAP) + run.of_type(BINDING)} == {component.urn}


def test_the_programs_own_objects_are_admitted(v1_cluster: Discovery) -> None:
    config = {**ENABLED, "caches": [{"name": "ignite"}, {"name": "grid", "product": "gridgain8"}]}
    run = run_program(config, secrets={"gridgainLicense": "<license/>"})
    judged = 0
    for obj in run.kubernetes_objects():
        if obj.get("metadata", {}).get("namespace") != "ignite" and obj.get("kind") != "Namespace":
            continue
        for rule in RULES.values():
            if any(obj["kind"] in kinds.values() for kinds in rule.resources.values()):
                judged += 1
                verdict = admit(rule, obj, _namespace({}))
                assert verdict.allowed, verdict.messages
    assert judged >= 5


@pytest.mark.parametrize(
    ("admission", "fragment"),
    [
        ({"validationActions": ["Deny", "Warn"]}, "cachemesh:admission.validationActions"),
        ({"validationActions": []}, "cachemesh:admission.validationActions"),
        ({"validationActions": ["Reject"]}, "cachemesh:admission.validationActions"),
        ({"namespaces": []}, "cachemesh:admission.namespaces"),
        ({"namespaces": ["Not_A_Name"]}, "cachemesh:admission.namespaces"),
        ({"namespaces": ["ignite", "linkerd"]}, r"cachemesh:admission.namespaces.*names linkerd"),
        ({"namespaces": ["kube-system"]}, r"cachemesh:admission.namespaces.*names kube-system"),
    ],
)
def test_bad_admission_settings_are_refused_naming_the_key(
    admission: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(Exception, match=fragment) as info:
        run_program({"admission": {"enabled": True, **admission}})
    assert info.value.registered == []  # type: ignore[attr-defined]


def test_admission_without_linkerd_is_refused() -> None:
    with pytest.raises(Exception, match=r"cachemesh:admission.enabled: the admission policies"):
        run_program({**ENABLED, "linkerd": {"enabled": False}})


def test_a_cluster_without_the_v1_api_is_refused_before_anything_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(harness.CALL_FAKERS, RUN, Discovery(V1_29_DISCOVERY))
    with pytest.raises(
        Exception,
        match=r"does not serve ValidatingAdmissionPolicy in admissionregistration.k8s.io/v1 "
        r"\(Kubernetes 1.30",
    ) as info:
        run_program(ENABLED)
    assert "pulumi config set --path admission.enabled false" in str(info.value)
    assert info.value.registered == []  # type: ignore[attr-defined]


def test_a_cluster_kubectl_cannot_ask_is_refused_with_kubectls_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(harness.CALL_FAKERS, RUN, Discovery(None))
    with pytest.raises(Exception, match=r"Unauthorized"):
        run_program(ENABLED)


def test_discovery_is_read_from_the_resource_list() -> None:
    assert serves_admission_policies(V1_DISCOVERY)
    assert not serves_admission_policies(V1_29_DISCOVERY)


def test_the_policies_and_bindings_are_valid_kubernetes_1_31_objects(v1_cluster: Discovery) -> None:
    import kubernetes_validate

    objects = [
        o
        for o in run_program(ENABLED).kubernetes_objects()
        if o["apiVersion"] == "admissionregistration.k8s.io/v1"
    ]
    assert len(objects) == 2 * len(RULES)
    for obj in objects:
        kubernetes_validate.validate(obj, "1.31.0", strict=True)


def test_the_pack_finds_nothing_wrong_with_the_program_with_admission_policies(
    v1_cluster: Discovery,
) -> None:
    from cachemesh_policy.evaluate import evaluate
    from test_policy_pack_on_program import policy_resources

    found = evaluate(policy_resources(run_program(ENABLED)))
    assert found == [], [v.message for v in found]
