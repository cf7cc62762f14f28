"""Linkerd's policy CRDs as test oracles: does a custom resource use only the fields, types and
values that the CustomResourceDefinition Linkerd installs accepts?

The CRDs are Linkerd's own: the policy.linkerd.io CustomResourceDefinitions of Linkerd's
linkerd-crds Helm chart (linkerd/linkerd2 charts/linkerd-crds/templates/policy/; the folder's
SOURCES.md names the commit) for Server, MeshTLSAuthentication, AuthorizationPolicy,
NetworkAuthentication and HTTPRoute. They are read from the folder that CACHEMESH_LINKERD_CRDS
names, else from ``../shared/reference/linkerd-crds`` beside the repository root, else from the
e2e tier's stand-in `linkerd-crds` chart, whose `templates/policy/` holds the same files byte for
byte (tests/fixtures/standin-charts/SOURCES.md; a test below says they still are), so a clone
without ../shared (CI's) checks the same schemas instead of skipping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml

_REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
SHARED_CRD_DIR = _REPOSITORY_ROOT.parent / "shared" / "reference" / "linkerd-crds"
STANDIN_CRD_DIR = (
    _REPOSITORY_ROOT / "tests" / "fixtures" / "standin-charts" / "linkerd-crds" / "templates"
) / "policy"
CRD_DIR = Path(
    os.environ.get("CACHEMESH_LINKERD_CRDS")
    or (SHARED_CRD_DIR if SHARED_CRD_DIR.exists() else STANDIN_CRD_DIR)
)


def _load_crd(path: Path) -> dict[str, Any]:
    # Helm templates: only metadata lines carry `{{ … }}`, which the schema does not need.
    text = "\n".join(line for line in path.read_text().splitlines() if "{{" not in line)
    return next(doc for doc in yaml.safe_load_all(text) if doc)


def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema, for every served version."""
    schemas = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = _load_crd(path)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Field names in `value` that the schema does not declare (CRDs prune those silently)."""
    if isinstance(value, dict) and "properties" in schema:
        problems = []
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if key not in schema["properties"]:
                problems.append(sub)
            else:
                problems.extend(unknown_fields(item, schema["properties"][key], sub))
        return problems
    if isinstance(value, list) and "items" in schema:
        return [
            p
            for i, v in enumerate(value)
            for p in unknown_fields(v, schema["items"], f"{path}[{i}]")
        ]
    return []


def problems_with(obj: dict[str, Any], schemas: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """Why the CRD would refuse or prune this object (empty when it is accepted as written)."""
    key = (obj["apiVersion"], obj["kind"])
    if key not in schemas:
        return [f"no served CRD version for {key}"]
    schema = schemas[key]
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    problems = [f"unknown field {f}" for f in unknown_fields(body, schema)]
    validator = jsonschema.Draft7Validator(schema)
    problems += [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(body)]
    return problems
