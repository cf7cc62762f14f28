"""The comparison the guide-equivalence tests rely on really tells objects apart."""

from manifests import load_reference, missing_fields, same_xml

REFERENCE = load_reference("ignite2-cluster.yaml")
STATEFULSET = next(o for o in REFERENCE if o["kind"] == "StatefulSet")
CONFIGMAP = next(o for o in REFERENCE if o["kind"] == "ConfigMap")


def test_an_identical_object_has_no_missing_fields() -> None:
    assert missing_fields(STATEFULSET, STATEFULSET) == []


def test_extra_labels_on_the_actual_object_are_allowed() -> None:
    actual = {**STATEFULSET, "metadata": {**STATEFULSET["metadata"], "labels": {"x": "y"}}}
    assert missing_fields(STATEFULSET, actual) == []


def test_a_dropped_annotation_is_reported_with_its_path() -> None:
    template = STATEFULSET["spec"]["template"]
    annotations = {"linkerd.io/inject": "enabled"}
    actual = {
        **STATEFULSET,
        "spec": {
            **STATEFULSET["spec"],
            "template": {
                **template,
                "metadata": {**template["metadata"], "annotations": annotations},
            },
        },
    }
    assert missing_fields(STATEFULSET, actual) == [
        "spec.template.metadata.annotations.config.linkerd.io/opaque-ports: missing"
    ]


def test_a_changed_list_item_is_reported() -> None:
    spec = STATEFULSET["spec"]["template"]["spec"]
    container = {**spec["containers"][0], "image": "apacheignite/ignite:2.17.0"}
    actual = {
        **STATEFULSET,
        "spec": {
            **STATEFULSET["spec"],
            "template": {
                **STATEFULSET["spec"]["template"],
                "spec": {**spec, "containers": [container]},
            },
        },
    }
    assert missing_fields(STATEFULSET, actual) == [
        "spec.template.spec.containers[0].image: "
        "'apacheignite/ignite:2.17.0' != 'apacheignite/ignite:2.16.0'"
    ]


def test_xml_compares_by_content_not_layout() -> None:
    xml = CONFIGMAP["data"]["ignite-config.xml"]
    one_line = "".join(line.strip() + " " for line in xml.splitlines()[1:])
    assert same_xml(xml, one_line)
    assert not same_xml(xml, xml.replace('value="1"', 'value="2"'))
