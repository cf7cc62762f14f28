"""Comparing what the program registers with the guide's manifests."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).parent / "fixtures"


def load_reference(name: str) -> list[dict[str, Any]]:
    """The guide's manifests (tests/fixtures/<name>), one dict per object."""
    with (FIXTURES / name).open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


# Where cachemesh departs from the guide on purpose, each with its reason; the equivalence tests
# compare with the guide plus these. Issue 11: a node holding the last copy of a partition waits
# for a backup before it stops (docs/tasks/change-a-running-cache.md).
_WORK_DIRECTORY = '<property name="workDirectory" value="/ignite/work"/>'
_GRACEFUL = '<property name="shutdownPolicy" value="GRACEFUL"/>'
# Issue 22: a PARTITIONED cache's backups go to another Kubernetes node than its primary (the node
# name reaches Ignite as an environment variable,
# docs/tasks/place-cache-pods.md#spreading-a-cache-across-nodes-and-zones).
_BACKUPS = '<property name="backups" value="1"/>'
_BACKUP_FILTER = (
    '<property name="affinity">'
    '<bean class="org.apache.ignite.cache.affinity.rendezvous.RendezvousAffinityFunction">'
    '<property name="affinityBackupFilter">'
    '<bean class="org.apache.ignite.cache.affinity.rendezvous.'
    'ClusterNodeAttributeAffinityBackupFilter">'
    '<constructor-arg><array value-type="java.lang.String"><value>CACHEMESH_K8S_NODE_NAME</value>'
    "</array></constructor-arg></bean></property></bean></property>"
)
# … which reads the pod's node name from the downward API.
_NODE_NAME_ENV = {
    "name": "CACHEMESH_K8S_NODE_NAME",
    "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
}


def with_departures(reference: dict[str, Any]) -> dict[str, Any]:
    """The guide's object with cachemesh's deliberate departures applied."""
    if reference.get("kind") == "StatefulSet":
        patched_set = copy.deepcopy(reference)
        patched_set["spec"]["template"]["spec"]["containers"][0]["env"].append(_NODE_NAME_ENV)
        return patched_set
    if reference.get("kind") != "ConfigMap" or "ignite-config.xml" not in reference.get("data", {}):
        return reference
    xml = reference["data"]["ignite-config.xml"]
    assert _WORK_DIRECTORY in xml, "the guide's XML no longer has its workDirectory property"
    patched = xml.replace(_WORK_DIRECTORY, _WORK_DIRECTORY + _GRACEFUL, 1)
    assert patched.count(_BACKUPS) == 1, "the guide's XML no longer has one PARTITIONED cache"
    patched = patched.replace(_BACKUPS, _BACKUPS + _BACKUP_FILTER, 1)
    return {**reference, "data": {**reference["data"], "ignite-config.xml": patched}}


def _normalize_xml(element: ET.Element) -> tuple:
    return (
        element.tag,
        {k: " ".join(v.split()) for k, v in element.attrib.items()},
        (element.text or "").strip(),
        tuple(_normalize_xml(child) for child in element),
    )


def same_xml(a: str, b: str) -> bool:
    """Equal as XML documents: same elements, attributes and text; layout ignored."""
    return _normalize_xml(ET.fromstring(a.encode())) == _normalize_xml(ET.fromstring(b.encode()))


def missing_fields(reference: Any, actual: Any, path: str = "") -> list[str]:
    """Every field of `reference` that is absent from `actual` or has another value there.

    Lists must match item for item; `actual` may carry extra mapping keys (added labels, say).
    Values that are XML documents are compared as XML. Kubernetes int-or-string quantities
    (`cpu: 1` vs "1") compare by their text.
    """
    if isinstance(reference, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a mapping, got {actual!r}"]
        problems = []
        for key, value in reference.items():
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                problems.append(f"{sub}: missing")
            else:
                problems.extend(missing_fields(value, actual[key], sub))
        return problems
    if isinstance(reference, list):
        if not isinstance(actual, list) or len(actual) != len(reference):
            return [f"{path}: expected {len(reference)} items, got {actual!r}"]
        return [
            p
            for i, (r, a) in enumerate(zip(reference, actual, strict=True))
            for p in missing_fields(r, a, f"{path}[{i}]")
        ]
    if isinstance(reference, str) and reference.lstrip().startswith("<?xml"):
        ok = isinstance(actual, str) and same_xml(reference, actual)
        return [] if ok else [f"{path}: XML differs"]
    if isinstance(reference, int | float) and isinstance(actual, str) and "resources" in path:
        return [] if str(reference) == actual else [f"{path}: {actual!r} != {reference!r}"]
    return [] if reference == actual else [f"{path}: {actual!r} != {reference!r}"]
