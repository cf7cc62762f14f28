"""The configuration reference and the stack-file JSON Schema, both from the settings model.

One source: `Settings.model_json_schema(by_alias=True)` (pydantic), which carries every key's
camelCase name, type, default, allowed values, bounds and the `description=` of its field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from scripts.docs_markdown import cell, generated_header
from settings.base import CONFIG_NAMESPACE
from settings.model import Settings
from settings.scheduling import KUBERNETES_TYPE

Node = dict[str, Any]
REQUIRED = object()

HEADER = generated_header("settings/*.py (each field's description=)")

#: Keys of other namespaces the project reads (docs/how-it-works/linkerd.md,
#: "Running the rollout by hand"): the Kubernetes provider's.
OTHER_KEYS: dict[str, Node] = {
    "kubernetes:context": {
        "type": "string",
        "description": "The kubeconfig context the Kubernetes provider, the mTLS check and the "
        "rollout use.",
    },
    "kubernetes:kubeconfig": {
        "type": "string",
        "description": "The kubeconfig (path or contents) the Kubernetes provider, the mTLS "
        "check and the rollout use.",
    },
    "kubernetes:upsertExistingObjects": {
        "anyOf": [{"type": "boolean"}, {"enum": ["true", "false"]}],
        "description": "Adopt objects that already exist in the cluster (once, when taking over "
        "Gateway API CRDs another installer made).",
    },
}


def settings_schema() -> Node:
    return Settings.model_json_schema(by_alias=True)


def _resolve(node: Node, defs: Node) -> Node:
    """`node` with its `$ref` replaced by the definition (the node's own keys win)."""
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = {**defs[name], **rest}
    return node


def _non_null(node: Node, defs: Node) -> tuple[Node, bool]:
    """The node without its `null` alternative, and whether it had one."""
    options = node.get("anyOf")
    if options and any(o.get("type") == "null" for o in options):
        rest = [o for o in options if o.get("type") != "null"]
        outer = {k: v for k, v in node.items() if k != "anyOf"}
        inner = rest[0] if len(rest) == 1 else {"anyOf": rest}
        return {**_resolve(inner, defs), **outer}, True
    return _resolve(node, defs), False


def _is_object(node: Node) -> bool:
    return node.get("type") == "object" and "properties" in node


def _is_secret(node: Node) -> bool:
    return node.get("format") == "password" and node.get("writeOnly") is True


def _ours(node: Node) -> bool:
    """An object whose keys this reference describes: not one that restates a Kubernetes API
    type (settings/scheduling.py KUBERNETES_TYPE), whose fields Kubernetes documents."""
    return _is_object(node) and KUBERNETES_TYPE not in node


def fields(node: Node, defs: Node, path: str = "") -> Iterator[tuple[str, Node, Node, bool, bool]]:
    """Every key under an object node, depth first: (path, field node as written, the field's
    value schema with refs resolved and null dropped, nullable, required)."""
    required = set(node.get("required", ()))
    for key, raw in node.get("properties", {}).items():
        here = f"{path}.{key}" if path else key
        inner, nullable = _non_null(raw, defs)
        yield here, raw, inner, nullable, key in required
        if _ours(inner):
            yield from fields(inner, defs, here)
        elif inner.get("type") == "array":
            items = _resolve(inner.get("items", {}), defs)
            if _ours(items):
                yield from fields(items, defs, f"{here}[]")


def missing_descriptions(schema: Node | None = None) -> list[str]:
    """The settings keys whose field has no `description=`."""
    schema = schema or settings_schema()
    defs = schema.get("$defs", {})
    return [path for path, raw, _i, _n, _r in fields(schema, defs) if not raw.get("description")]


def _type(node: Node, defs: Node) -> str:
    if _is_secret(node):
        return "string (secret)"
    if "enum" in node or "const" in node:
        return "string"
    if "anyOf" in node:
        return " or ".join(_type(_resolve(o, defs), defs) for o in node["anyOf"])
    kind = node.get("type")
    if kind == "array":
        items = _resolve(node.get("items", {}), defs)
        return "list of objects" if _is_object(items) else f"list of {_type(items, defs)}"
    if kind == "object" and not _is_object(node):
        values = node.get("additionalProperties", {})
        return f"map of string to {_type(values, defs) if values else 'any'}"
    return str(kind or "any")


_BOUNDS = (
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} character(s)"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} item(s)"),
    ("maxItems", "at most {} item(s)"),
    ("pattern", "matches `{}`"),
)


def _allowed(node: Node, defs: Node) -> str:
    if "enum" in node:
        return ", ".join(f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    parts = [text.format(node[key]) for key, text in _BOUNDS if key in node]
    if node.get("type") == "array":
        items = _resolve(node.get("items", {}), defs)
        if not _is_object(items):
            item = _allowed(items, defs)
            if item:
                parts.append(f"each: {item}")
    return "; ".join(parts)


def _default(raw: Node, inner: Node, required: bool) -> str:
    if required:
        return "required"
    if "default" not in raw:
        return "empty"  # a default_factory: an empty list or map
    value = _drop_nulls(raw["default"])
    if value is None:
        return "unset"
    text = json.dumps(value, separators=(", ", ": "))
    if len(text) > 70:
        return "see below" if _is_object(inner) else "see description"
    return f"`{text}`"


def _drop_nulls(value: Any) -> Any:
    """A default as one would write it: keys left unset are not shown."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def configuration_md() -> str:
    schema = settings_schema()
    defs = schema.get("$defs", {})
    out = [
        HEADER,
        "# Configuration reference",
        "",
        "Every key cachemesh reads from stack config (`Pulumi.<stack>.yaml`), under the "
        f"`{CONFIG_NAMESPACE}` namespace. The program validates them all before anything is "
        "deployed and names the key and the fix of each problem. Set a nested key with "
        "`--path`, for example `pulumi config set --path 'caches[0].replicas' 3`; a list "
        "item's keys are written `caches[].name` here.",
        "",
        "Editors can check a stack file against the same model: see "
        "[Stack file schema](stack-schema.md).",
        "",
    ]
    required = set(schema.get("required", ()))
    for key, raw in schema["properties"].items():
        inner, _nullable = _non_null(raw, defs)
        out += [f"## `{CONFIG_NAMESPACE}:{key}`", ""]
        rows = [(key, raw, inner, key in required)]
        nested = fields({"properties": {key: raw}}, defs)
        next(nested)  # the key itself
        rows += [(path, r, i, req) for path, r, i, _n, req in nested]
        out += [
            "| key | type | default | allowed values | description |",
            "|---|---|---|---|---|",
        ]
        for path, r, i, req in rows:
            out.append(
                f"| `{path}` | {cell(_type(i, defs))} | {cell(_default(r, i, req))} | "
                f"{cell(_allowed(i, defs))} | {cell(r.get('description', ''))} |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# --- the stack file's JSON Schema -----------------------------------------------------------------

SECURE: Node = {
    "type": "object",
    "description": "A Pulumi secret, as `pulumi config set --secret` writes it.",
    "properties": {"secure": {"type": "string", "minLength": 1}},
    "required": ["secure"],
    "additionalProperties": False,
}
JSON_STRING: Node = {
    "type": "string",
    "pattern": r"^\s*[\[{]",
    "description": "The value JSON-encoded, as `pulumi config set KEY '<json>'` writes it.",
}


def _secure_secrets(node: Any) -> Any:
    """Secret fields take only a `secure:` value: the program refuses them in plain text."""
    if isinstance(node, dict):
        if _is_secret(node):
            return {"$ref": "#/definitions/PulumiSecureValue"}
        return {k: _secure_secrets(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_secure_secrets(v) for v in node]
    return node


def _holds_secret(node: Node, defs: Node) -> bool:
    return any(_is_secret(_non_null(raw, defs)[0]) for *_x, raw in _all_raw(node, defs))


def _all_raw(node: Node, defs: Node) -> Iterator[tuple[str, Node]]:
    for path, raw, _inner, _n, _r in fields({"properties": {"k": node}}, defs):
        yield path, raw


def _draft7(node: Any) -> Any:
    """Draft 7 spelling: the YAML language server validates with draft 7 (newer drafts are
    "partial or not at all": microsoft/vscode-json-languageservice #117, redhat-developer/
    yaml-language-server #856). Draft 7 ignores the siblings of a `$ref`, so a `$ref` beside a
    description or default moves into an `allOf`; definitions live under `definitions`."""
    if isinstance(node, list):
        return [_draft7(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _draft7(v) for k, v in node.items()}
    if isinstance(out.get("$ref"), str):
        out["$ref"] = out["$ref"].replace("#/$defs/", "#/definitions/")
        if len(out) > 1:
            out["allOf"] = [{"$ref": out.pop("$ref")}]
    return out


def stack_schema() -> Node:
    schema = settings_schema()
    defs = schema.get("$defs", {})
    config: dict[str, Node] = {}
    for key, raw in schema["properties"].items():
        inner, _nullable = _non_null(raw, defs)
        value = _secure_secrets(copy.deepcopy(raw))
        options = [value]
        if inner.get("type") in ("object", "array"):
            options.append(JSON_STRING)
        if _holds_secret(raw, defs) and not _is_secret(inner):
            options.append({"$ref": "#/definitions/PulumiSecureValue"})
        entry = value if len(options) == 1 else {"anyOf": options}
        entry["description"] = raw.get("description", "")
        config[f"{CONFIG_NAMESPACE}:{key}"] = entry
    config.update(OTHER_KEYS)
    out_defs = _secure_secrets(copy.deepcopy(defs))
    out_defs["PulumiSecureValue"] = SECURE
    return _draft7(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "Pulumi.<stack>.yaml of the cachemesh project",
            "description": "Generated by scripts/gen_docs.py from settings/*.py. Stack config "
            "keys: "
            f"`{CONFIG_NAMESPACE}:*` (the program's settings model), the Kubernetes provider's "
            "`kubernetes:*` and Pulumi's `pulumi:*`.",
            "type": "object",
            "properties": {
                "config": {
                    "type": "object",
                    "properties": config,
                    "patternProperties": {"^kubernetes:": {}, "^pulumi:": {}},
                    "additionalProperties": False,
                },
                "secretsprovider": {"type": "string"},
                "encryptedkey": {"type": "string"},
                "encryptionsalt": {"type": "string"},
                "environment": {},
            },
            "definitions": out_defs,
        }
    )


def stack_schema_json() -> str:
    return json.dumps(stack_schema(), indent=2, ensure_ascii=False) + "\n"
