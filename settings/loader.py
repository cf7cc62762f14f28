"""Reads `cachemesh:*` stack config into the validated Settings tree, before anything is deployed.

Every problem is reported at once, each with its full config key, what is wrong and how to fix it.
Secret values (the licence) are never echoed.
"""

from __future__ import annotations

import json
import typing
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from checks.mtls_prometheus import parse_service, parse_url
from settings.base import CONFIG_NAMESPACE
from settings.caches import AuthorizationMode
from settings.linkerd import linkerd_problems
from settings.model import Settings

# Keys that hold a secret: their values must never appear in messages and must be set with --secret.
SECRET_KEYS = frozenset({"gridgainLicense"})


#: The troubleshooting page of what start-up validation refuses: each refusal, its cause and fix.
START_UP_PAGE = "docs/troubleshooting/start-up.md"


class SettingsError(Exception):
    """Invalid stack configuration; the message lists every problem with its key and fix, and
    ends with the page that explains each kind of refusal."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "the cachemesh stack configuration is invalid; nothing was deployed:\n"
            + "\n".join(f"  - {p}" for p in self.problems)
            + f"\nEvery refusal, its cause and fix: {START_UP_PAGE}"
        )


def config_key(loc: Iterable[str | int]) -> str:
    """('caches', 1, 'replicas') -> 'caches[1].replicas', as `pulumi config set --path` takes."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def full_key(loc: Iterable[str | int]) -> str:
    return f"{CONFIG_NAMESPACE}:{config_key(loc)}"


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Union, tuple[...] and Annotated down to the model class, if any."""
    for arg in typing.get_args(annotation) or ():
        if arg is type(None) or arg is Ellipsis:
            continue
        found = _unwrap(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    model: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = next(
            (f for n, f in model.model_fields.items() if part in (n, f.alias)),
            None,
        )
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    path = config_key(loc)
    key = full_key(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = sorted(f.alias or n for n, f in parent.model_fields.items()) if parent else []
        return (
            f"{key}: unknown key. Known keys here: {', '.join(known)}. "
            f"Fix the spelling or remove it with: pulumi config rm --path '{path}'"
        )
    message = error["msg"].removeprefix("Value error, ")
    if len(loc) >= 2 and loc[-1] == "[key]":
        # pydantic's location of a bad key of a mapping (nodeSelector, annotations): the key
        # itself, then "[key]". Pulumi's --path spells such a key ["..."].
        where, bad = config_key(loc[:-2]), loc[-2]
        return (
            f"{full_key(loc[:-2])}: the key {bad!r}: {message}. Remove it with: pulumi config rm "
            f"--path '{where}[\"{bad}\"]', and set the value under a valid key"
        )
    if loc and loc[-1] in SECRET_KEYS:
        fix = f"pulumi config set --secret {path} < gridgain-license.xml"
        return f"{key}: {message}. Set it with: {fix}"
    return f"{key}: {message}. Fix with: pulumi config set --path '{path}' <value>"


def _cross_checks(settings: Settings, secret_keys: set[str]) -> list[str]:
    """Rules that span several keys; pydantic has already checked each key on its own."""
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for i, cache in enumerate(settings.caches):
        where = (cache.namespace, cache.name)
        if where in seen:
            problems.append(
                f"{full_key(('caches', i, 'name'))}: cache {cache.name!r} is already defined in "
                f"namespace {cache.namespace!r} by caches[{seen[where]}]. Give it another name "
                f"or namespace: pulumi config set --path 'caches[{i}].name' <new-name>"
            )
        else:
            seen[where] = i

    licensed = [(i, c) for i, c in enumerate(settings.caches) if c.product_spec.license is not None]
    license_key = full_key(("gridgainLicense",))
    if licensed and settings.gridgain_license is None:
        first, cache = licensed[0]
        problems.append(
            f"{license_key}: required because {full_key(('caches', first, 'product'))} is "
            f"{cache.product.value!r}. Set it from your licence file with: "
            "pulumi config set --secret gridgainLicense < gridgain-license.xml"
        )
    if settings.gridgain_license is not None:
        if license_key not in secret_keys:
            problems.append(
                f"{license_key}: is stored in plain text in the stack file. Store it encrypted "
                "with: pulumi config set --secret gridgainLicense < gridgain-license.xml"
            )
        try:
            ET.fromstring(settings.gridgain_license.get_secret_value())
        except ET.ParseError as exc:
            # ParseError carries only a position, never the document's text.
            problems.append(
                f"{license_key}: is not well-formed XML ({exc}). Set it from the licence file "
                "GridGain sent you: pulumi config set --secret gridgainLicense "
                "< gridgain-license.xml"
            )
    problems += linkerd_problems(settings.linkerd, settings.gateway_api, secret_keys, full_key)
    problems += _mtls_check_problems(settings)
    problems += _prometheus_source_problems(settings)
    problems += _identity_list_problems(settings)
    if settings.admission.enabled and not settings.linkerd.enabled:
        problems.append(
            f"{full_key(('admission', 'enabled'))}: the admission policies refuse cache "
            f"workloads that are not meshed right, and {full_key(('linkerd', 'enabled'))} is "
            "false, so they would refuse the caches themselves. Turn them off: pulumi config "
            "set --path admission.enabled false"
        )
    if settings.monitoring.prometheus_rules and not settings.linkerd.enabled:
        problems.append(
            f"{full_key(('monitoring', 'prometheusRules'))}: the alerts watch Linkerd proxy "
            f"metrics, and {full_key(('linkerd', 'enabled'))} is false, so they would only ever "
            "say the proxies are missing. Turn it off: pulumi config set --path "
            "monitoring.prometheusRules false"
        )
    return problems


def _prometheus_source_problems(settings: Settings) -> list[str]:
    """`metricsSource: prometheus` needs exactly one of prometheusUrl / prometheusService (in the
    form the check takes), and those keys mean nothing with another source."""
    check = settings.mtls_check
    source_key = full_key(("mtlsCheck", "metricsSource"))
    url_key = full_key(("mtlsCheck", "prometheusUrl"))
    service_key = full_key(("mtlsCheck", "prometheusService"))
    given = [
        (key, value)
        for key, value in ((url_key, check.prometheus_url), (service_key, check.prometheus_service))
        if value is not None
    ]
    if check.metrics_source != "prometheus":
        return [
            f"{key}: only used with {source_key} prometheus (it is {check.metrics_source!r}). "
            "Either pulumi config set --path mtlsCheck.metricsSource prometheus, or remove it: "
            f"pulumi config rm --path '{key.removeprefix(CONFIG_NAMESPACE + ':')}'"
            for key, _ in given
        ]
    if len(given) != 1:
        which = "both are set" if given else "neither is set"
        return [
            f"{source_key}: 'prometheus' needs exactly one of {url_key} or {service_key} "
            f"({which}). Set one: pulumi config set --path mtlsCheck.prometheusUrl "
            "http://prometheus.linkerd-viz.svc:9090, or pulumi config set --path "
            "mtlsCheck.prometheusService linkerd-viz/prometheus:9090"
        ]
    key, value = given[0]
    try:
        if key == url_key:
            parse_url(value)
        else:
            parse_service(value)
    except ValueError as exc:
        path = key.removeprefix(CONFIG_NAMESPACE + ":")
        return [f"{key}: {exc}. Fix with: pulumi config set --path '{path}' <value>"]
    return []


# Which authorization modes read each identity list (components/cache_authorization.py).
_IDENTITY_LISTS: tuple[tuple[str, str, tuple[AuthorizationMode, ...]], ...] = (
    ("clientIdentities", "client_identities", (AuthorizationMode.STRICT,)),
    ("adminIdentities", "admin_identities", (AuthorizationMode.STRICT, AuthorizationMode.MESHED)),
)


def _identity_list_problems(settings: Settings) -> list[str]:
    """An identity list the cache's authorization mode does not read would look like a limit
    and be none (meshed admits any meshed identity on the thin-client port; permissive admits
    anyone everywhere)."""
    problems: list[str] = []
    for i, cache in enumerate(settings.caches):
        for key, attribute, modes in _IDENTITY_LISTS:
            if not getattr(cache, attribute) or cache.authorization in modes:
                continue
            used = " or ".join(repr(m.value) for m in modes)
            problems.append(
                f"{full_key(('caches', i, key))}: only used with authorization {used}; "
                f"{full_key(('caches', i, 'authorization'))} is {cache.authorization.value!r}, "
                "which ignores it, so it limits nothing. Either pulumi config set --path "
                f"'caches[{i}].authorization' strict, or remove it: pulumi config rm --path "
                f"'caches[{i}].{key}'"
            )
    return problems


def _mtls_check_problems(settings: Settings) -> list[str]:
    check = settings.mtls_check
    if not (settings.linkerd.enabled and check.enabled and check.metrics_source == "kubectl"):
        return []
    denying = [
        i
        for i, c in enumerate(settings.caches)
        if c.authorization is not AuthorizationMode.PERMISSIVE
    ]
    if not denying:
        return []
    # `kubectl get --raw …/pods/NAME:4191/proxy/metrics` reaches the proxy's admin port from the
    # API server, which the pods' default-deny policy refuses; port-forwarded requests arrive
    # from localhost, which Linkerd always admits (linkerd2-proxy#1259).
    return [
        f"{full_key(('mtlsCheck', 'metricsSource'))}: 'kubectl' cannot read proxy metrics from "
        f"pods under a default-deny policy ({full_key(('caches', denying[0], 'authorization'))} "
        f"is {settings.caches[denying[0]].authorization.value!r}). Use the Linkerd CLI: "
        "pulumi config set --path mtlsCheck.metricsSource linkerd"
    ]


def _parse_value(key: str, raw: Any) -> Any:
    """Stack config arrives as strings; structured keys (objects, lists) are JSON-encoded."""
    if key in SECRET_KEYS or not isinstance(raw, str):
        return raw
    stripped = raw.strip()
    if stripped[:1] in ("{", "[") or stripped in ("true", "false") or stripped.isdigit():
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def validate_settings(raw: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> Settings:
    """Validate raw stack config (keys without the `cachemesh:` prefix) into Settings."""
    secrets = set(secret_keys)
    # An empty string is how Pulumi.yaml's schema default spells "not set".
    values = {k: _parse_value(k, v) for k, v in raw.items() if v != ""}
    try:
        settings = Settings.model_validate(values, by_alias=True)
    except ValidationError as exc:
        errors = exc.errors()
        # A list whose items failed also reports "too short"; the item errors are the real news.
        errors = [
            e
            for e in errors
            if not (
                e["type"] == "too_short"
                and any(
                    o is not e and tuple(o["loc"][: len(e["loc"])]) == tuple(e["loc"])
                    for o in errors
                )
            )
        ]
        raise SettingsError(_describe(e) for e in errors) from None
    problems = _cross_checks(settings, secrets)
    if problems:
        raise SettingsError(problems)
    return settings


def load_settings() -> Settings:
    """Read every `cachemesh:*` key of the current stack and validate it."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{CONFIG_NAMESPACE}:"
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    raw = {
        k.removeprefix(prefix): runtime_config.get_config(k)
        for k in sorted(keys)
        if k.startswith(prefix)
    }
    secret_keys = {k for k in keys if runtime_config.is_config_secret(k)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env())
    return validate_settings(raw, secret_keys)
