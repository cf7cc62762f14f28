"""The admission policies' CEL, evaluated as the API server evaluates a ValidatingAdmissionPolicy,
with cel-python (`celpy`, PyPI `cel-python`) standing in for cel-go.

What the API server gives the expressions (k8s.io/apiserver/pkg/admission/plugin/policy/
validating): `object`, `oldObject`, `request`, `namespaceObject` (null for a cluster-scoped
object), `params` and `variables`, each variable evaluated from the ones before it. A validation
whose expression is false, or fails to evaluate, denies under `failurePolicy: Fail`; its
`messageExpression` gives the message.

Four functions of Kubernetes' CEL environment are not in celpy and are added here, as their
sources define them:
- `findAll(regex)`: k8s.io/apiserver/pkg/cel/library/regex.go `findAll` = Go's
  `regexp.FindAllString(s, -1)` (RE2; Python's `re` agrees on the patterns used here);
- `split(separator)`: cel-go ext/strings.go `split` = `strings.Split` (every piece, empty ones
  included, which Python's `str.split` with a separator also gives);
- `trim()`: cel-go ext/strings.go `trim` = `strings.TrimSpace` (Unicode white space; Python's
  `str.strip()` differs only on characters no annotation here holds);
- `join(separator)`: cel-go ext/strings.go `join` = `strings.Join`.
The real API server is the judge of the rest (types, cost): e2e/test_admission.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes

from components.admission_policies import AdmissionRule


def _find_all(text: Any, pattern: Any) -> celtypes.ListType:
    return celtypes.ListType(celtypes.StringType(m) for m in re.findall(str(pattern), str(text)))


def _join(items: Any, separator: Any = "") -> celtypes.StringType:
    return celtypes.StringType(str(separator).join(str(item) for item in items))


def _split(text: Any, separator: Any) -> celtypes.ListType:
    return celtypes.ListType(celtypes.StringType(p) for p in str(text).split(str(separator)))


def _trim(text: Any) -> celtypes.StringType:
    return celtypes.StringType(str(text).strip())


FUNCTIONS = {"findAll": _find_all, "join": _join, "split": _split, "trim": _trim}
_ENV = celpy.Environment()
_PROGRAMS: dict[str, Any] = {}


def _program(expression: str) -> Any:
    if expression not in _PROGRAMS:
        _PROGRAMS[expression] = _ENV.program(_ENV.compile(expression), functions=FUNCTIONS)
    return _PROGRAMS[expression]


class CelError(AssertionError):
    """An expression failed to evaluate (the API server would deny with an error)."""


def _evaluate(expression: str, activation: Mapping[str, Any]) -> Any:
    try:
        value = _program(expression).evaluate(dict(activation))
    except celpy.CELEvalError as error:
        raise CelError(f"{expression!r}: {error}") from None
    if isinstance(value, celpy.CELEvalError):
        raise CelError(f"{expression!r}: {value}")
    return value


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    messages: tuple[str, ...]


def admit(
    rule: AdmissionRule,
    obj: Mapping[str, Any],
    namespace: Mapping[str, Any] | None = None,
) -> Verdict:
    """The policy's verdict on creating `obj` (in `namespace`, a Namespace object)."""
    meta = obj.get("metadata") or {}
    activation: dict[str, Any] = {
        "object": celpy.json_to_cel(dict(obj)),
        "oldObject": None,
        "namespaceObject": celpy.json_to_cel(dict(namespace)) if namespace is not None else None,
        "request": celpy.json_to_cel(
            {
                "operation": "CREATE",
                "namespace": meta.get("namespace", "") if obj.get("kind") != "Namespace" else "",
                "name": meta.get("name", ""),
            }
        ),
        "params": None,
    }
    variables: dict[str, Any] = {}
    for name, expression in rule.variables:
        activation["variables"] = celtypes.MapType(variables)
        variables[celtypes.StringType(name)] = _evaluate(expression, activation)
    activation["variables"] = celtypes.MapType(variables)
    messages = []
    for validation in rule.validations:
        if not _evaluate(validation["expression"], activation):
            messages.append(str(_evaluate(validation["messageExpression"], activation)))
    return Verdict(not messages, tuple(messages))
