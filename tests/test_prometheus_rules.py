"""`cachemesh:monitoring.prometheusRules`: a PrometheusRule per cache whose alerts keep watching.

The rules are checked by the real `promtool` (Debian's prometheus package; `.ci/run` installs it):
every rule file passes `promtool check rules`, and `promtool test rules` unit tests show each alert
firing on a bad series and staying quiet on a healthy mesh. The object is validated against the
Prometheus Operator's PrometheusRule schema as PyPI's `cloudcoil-models-prometheus-operator`
(pinned in requirements-dev.txt) generates it from the operator's CRDs.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from cloudcoil.models.prometheus_operator.v1 import PrometheusRule
from harness import run_program
from prometheus_testing import require

from components.cache_alerts import CacheAlertsArgs, rule_groups
from settings import validate_settings
from settings.caches import CacheSettings
from settings.monitoring import MonitoringSettings

RULE_TYPE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
OWN = "ignite.ignite.serviceaccount.identity.linkerd.cluster.local"
CLIENT = "web.shop.serviceaccount.identity.linkerd.cluster.local"
SEL = 'job="linkerd-proxy",namespace="ignite"'


def alerts_args(**cache: Any) -> CacheAlertsArgs:
    settings = CacheSettings.model_validate({"name": "ignite", **cache}, by_alias=True)
    return CacheAlertsArgs.for_cache(settings, OWN, MonitoringSettings(), 1440)


STRICT_WITH_CLIENTS = alerts_args(clientIdentities=[CLIENT])


def write_rules(tmp_path: Path, args: CacheAlertsArgs, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"groups": rule_groups(args)}, sort_keys=False))
    return path


def promtool(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require("promtool"), *map(str, argv)], capture_output=True, text=True, timeout=60
    )


def operator_schema_problems(obj: dict[str, Any]) -> list[str]:
    """Why the operator's PrometheusRule CRD would refuse or prune `obj` (empty when it is
    accepted as written).

    The schema is cloudcoil-models-prometheus-operator's pydantic models (v1.PrometheusRule),
    generated from the Prometheus Operator's CRDs. Those models ignore unknown keys and coerce
    lax types ("5" for an integer), so validating alone would pass a misspelt key: the validated
    model is dumped back (by alias, only what was set) and must equal the input. A key missing
    from the dump is one the schema does not know, which the API server would prune; a value
    that differs is one the CRD would refuse."""
    try:
        model = PrometheusRule.model_validate(obj)
    except pydantic.ValidationError as err:
        return [f"{dotted(e['loc'])}: {e['msg']}" for e in err.errors()]
    return differences(obj, model.model_dump(by_alias=True, exclude_unset=True, mode="json"))


def dotted(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)[1:]


def differences(given: Any, read: Any, path: str = "") -> list[str]:
    """Where `read` (the model's dump) is not `given` (the object as the program wrote it)."""
    if isinstance(given, dict) and isinstance(read, dict):
        found = []
        for key, value in given.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in read:
                found.append(f"{sub}: unknown field (the CRD would prune it)")
            else:
                found.extend(differences(value, read[key], sub))
        found.extend(f"{path}.{key}: added by the schema" for key in read.keys() - given.keys())
        return found
    if isinstance(given, list) and isinstance(read, list) and len(given) == len(read):
        return [
            p
            for i, (g, r) in enumerate(zip(given, read, strict=True))
            for p in differences(g, r, f"{path}[{i}]")
        ]
    if type(given) is not type(read) or given != read:
        return [f"{path}: {given!r} is not of the CRD's type (read as {read!r})"]
    return []


# --- the PrometheusRule object -------------------------------------------------------------


def test_no_prometheus_rule_by_default() -> None:
    assert run_program().of_type(RULE_TYPE) == []


def test_each_cache_gets_a_prometheus_rule_in_its_namespace() -> None:
    run = run_program(
        {
            "monitoring": {"prometheusRules": True, "ruleLabels": {"release": "kps"}},
            "caches": [{"name": "a"}, {"name": "b", "namespace": "other"}],
        }
    )
    objects = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o
        for o in (r.kubernetes_object for r in run.of_type(RULE_TYPE))
    }
    assert set(objects) == {("ignite", "a-mtls-alerts"), ("other", "b-mtls-alerts")}
    assert objects[("other", "b-mtls-alerts")]["metadata"]["labels"]["release"] == "kps"
    assert run.outputs["prometheusRules"] == {"a": "a-mtls-alerts", "b": "b-mtls-alerts"}
    for resource in run.of_type(RULE_TYPE):
        assert [a.type for a in run.ancestors(resource)] == ["cachemesh:index:CacheAlerts"]


def test_prometheus_rule_matches_the_operators_crd_schema() -> None:
    run = run_program({"monitoring": {"prometheusRules": True, "ruleLabels": {"release": "kps"}}})
    (rule,) = run.of_type(RULE_TYPE)
    obj = rule.kubernetes_object
    assert operator_schema_problems(obj) == []
    assert (obj["apiVersion"], obj["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")


@pytest.mark.parametrize(
    ("where", "key", "value", "problem"),
    [
        # a misspelt `for`: the models would drop it silently, like the API server's pruning
        (
            "rule",
            "fore",
            "5m",
            "spec.groups[0].rules[0].fore: unknown field (the CRD would prune it)",
        ),
        # labels are a map of strings, not a list
        (
            "rule",
            "labels",
            ["severity", "critical"],
            "spec.groups[0].rules[0].labels: Input should be a valid dictionary",
        ),
        # limit is an integer; pydantic alone would read "5" as 5
        ("group", "limit", "5", "spec.groups[0].limit: '5' is not of the CRD's type (read as 5)"),
    ],
    ids=["misspelt-field", "wrong-type", "coerced-type"],
)
def test_the_schema_check_catches_what_the_crd_would_refuse_or_prune(
    where: str, key: str, value: Any, problem: str
) -> None:
    run = run_program({"monitoring": {"prometheusRules": True}})
    (rule,) = run.of_type(RULE_TYPE)
    obj = copy.deepcopy(rule.kubernetes_object)
    group = obj["spec"]["groups"][0]
    (group if where == "group" else group["rules"][0])[key] = value
    assert operator_schema_problems(obj) == [problem]


def test_the_programs_rule_passes_promtool_check(tmp_path: Path) -> None:
    run = run_program({"monitoring": {"prometheusRules": True}})
    (rule,) = run.of_type(RULE_TYPE)
    path = tmp_path / "program.yaml"
    path.write_text(yaml.safe_dump({"groups": rule.kubernetes_object["spec"]["groups"]}))
    result = promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "cache",
    [
        {},
        {"authorization": "permissive"},
        {"authorization": "meshed"},
        {"clientIdentities": [CLIENT, "*.batch.serviceaccount.identity.linkerd.cluster.local"]},
        {"product": "gridgain8"},
    ],
    ids=["strict", "permissive", "meshed", "strict-client-identities", "gridgain8"],
)
def test_every_rule_file_passes_promtool_check(tmp_path: Path, cache: dict[str, Any]) -> None:
    result = promtool("check", "rules", write_rules(tmp_path, alerts_args(**cache)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_watch_the_thin_client_port_only_when_clients_must_be_meshed() -> None:
    assert STRICT_WITH_CLIENTS.client_ports == (10800,)
    assert alerts_args(authorization="permissive").client_ports == ()


def test_strict_without_client_identities_expects_only_the_caches_own_on_the_thin_client_port() -> (
    None
):
    assert alerts_args().client_identities == (OWN,)


def test_rules_never_watch_the_rest_port() -> None:
    for args in (STRICT_WITH_CLIENTS, alerts_args(authorization="meshed")):
        assert "8080" not in yaml.safe_dump(rule_groups(args))


# --- promtool test rules ---------------------------------------------------------------------


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    body = ",".join(f'{k}="{v}"' for k, v in {**dict(_pairs(SEL)), **labels}.items())
    return {"series": f"{name}{{{body}}}", "values": values}


def _pairs(sel: str) -> list[tuple[str, str]]:
    return re.findall(r'(\w+)="([^"]*)"', sel)


def conn(pod: str, direction: str, port: int, values: str = "0+1x60", **labels: str) -> dict:
    return series(
        "tcp_open_total", values, pod=pod, direction=direction, target_port=str(port), **labels
    )


def tls_in(pod: str, port: int, client: str = OWN, values: str = "0+1x60") -> dict:
    return conn(pod, "inbound", port, values, tls="true", client_id=client)


def plain(pod: str, port: int, reason: str = "no_tls_from_remote", values: str = "0+1x60") -> dict:
    return conn(pod, "inbound", port, values, tls="no_identity", no_tls_reason=reason)


# The proxy's certificate expiry gauge as proxies since linkerd2-proxy v2.227.0 export it (the
# `cert` sub-registry of the `control_identity` registry: linkerd/linkerd2-proxy
# linkerd/app/src/lib.rs and linkerd/app/src/identity.rs at
# 29637b64f6cebedaf15bfbf516818d7a28a4d5a6), and as older proxies did (`identity_cert` registry,
# before commit 31d7464ef, #2887; the name in linkerd-metrics-samples/01).
PROXY_CERT_EXPIRY = "control_identity_cert_expiration_timestamp_seconds"
OLD_PROXY_CERT_EXPIRY = "identity_cert_expiration_timestamp_seconds"


def healthy_mesh() -> list[dict[str, str]]:
    """Two pods talking mTLS on both SPI ports and to a meshed client, plus the plaintext a
    healthy mesh has: loopback hops, admin-port scrapes, and plaintext on REST, which the rules
    never watch (kubelet HTTP probes of pods deployed before the probes moved to loopback)."""
    out = []
    for pod in ("ignite-0", "ignite-1"):
        out += [
            series("up", "1x60", pod=pod),
            tls_in(pod, 47100),
            tls_in(pod, 47500),
            conn(pod, "outbound", 47100, tls="true", server_id=OWN),
            conn(pod, "outbound", 47500, tls="true", server_id=OWN),
            conn(pod, "outbound", 47100, tls="no_identity", no_tls_reason="loopback"),
            tls_in(pod, 10800, client=CLIENT),
            plain(pod, 4191),
            plain(pod, 8080),
            series(PROXY_CERT_EXPIRY, "86400x60", pod=pod),
        ]
    out.append(
        {
            "series": 'issuer_cert_ttl_seconds{job="linkerd-controller",component="identity"}',
            "values": "31536000x60",
        }
    )
    return out


ALERTS = [
    "CachemeshPlaintextConnection",
    "CachemeshUnexpectedIdentity",
    "CachemeshConnectionsDenied",
    "CachemeshProxiesMissing",
    "CachemeshProxyCertificateExpiring",
    "CachemeshIssuerCertificateExpiring",
]
_TEMPLATE = re.compile(r"\{\{ \$(labels\.(\w+)|value)( \| humanizeDuration)? \}\}")


def _rule(alert: str) -> dict[str, Any]:
    (group,) = rule_groups(STRICT_WITH_CLIENTS)
    rule: dict[str, Any] = next(r for r in group["rules"] if r["alert"] == alert)
    return rule


def expected_annotations(alert: str, labels: dict[str, str], value: str) -> dict[str, str]:
    """The rule's annotations as Prometheus expands them for an alert with these expression
    labels and value text (missing labels expand to "", as promtool shows)."""
    return {
        k: _TEMPLATE.sub(lambda m: value if m[1] == "value" else labels.get(m[2], ""), v)
        for k, v in _rule(alert)["annotations"].items()
    }


def run_promtool_test(
    tmp_path: Path, input_series: list[dict[str, str]], alerts: list[dict[str, Any]]
) -> subprocess.CompletedProcess[str]:
    write_rules(tmp_path, STRICT_WITH_CLIENTS)
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": input_series, "alert_rule_test": alerts}],
    }
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    return promtool("test", "rules", path)


def fires(alert: str, expr_labels: dict[str, str], value: str) -> dict[str, Any]:
    """One alert at 30m with the rule's static labels (severity, cache, namespace) added."""
    return {
        "eval_time": "30m",
        "alertname": alert,
        "exp_alerts": [
            {
                "exp_labels": {**expr_labels, **_rule(alert)["labels"]},
                "exp_annotations": expected_annotations(alert, expr_labels, value),
            }
        ],
    }


def quiet(at: str = "30m") -> list[dict[str, Any]]:
    return [{"eval_time": at, "alertname": a, "exp_alerts": []} for a in ALERTS]


def test_a_healthy_mesh_raises_no_alert(tmp_path: Path) -> None:
    result = run_promtool_test(tmp_path, healthy_mesh(), quiet())
    assert result.returncode == 0, result.stdout + result.stderr


BAD = {
    "plaintext-inter-node": (
        [plain("ignite-1", 47100)],
        "CachemeshPlaintextConnection",
        {
            "pod": "ignite-1",
            "direction": "inbound",
            "target_port": "47100",
            "no_tls_reason": "no_tls_from_remote",
        },
        "",
    ),
    "plaintext-thin-client": (
        [plain("ignite-0", 10800)],
        "CachemeshPlaintextConnection",
        {
            "pod": "ignite-0",
            "direction": "inbound",
            "target_port": "10800",
            "no_tls_reason": "no_tls_from_remote",
        },
        "",
    ),
    # A first plaintext connection creates its series at 1 and it stays there: increase() alone
    # never sees it.
    "plaintext-new-series": (
        [plain("ignite-1", 47500, values="_x25 1x35")],
        "CachemeshPlaintextConnection",
        {
            "pod": "ignite-1",
            "direction": "inbound",
            "target_port": "47500",
            "no_tls_reason": "no_tls_from_remote",
        },
        "",
    ),
    "peer-identity": (
        [tls_in("ignite-0", 47500, client="default.default.serviceaccount.identity.linkerd.x")],
        "CachemeshUnexpectedIdentity",
        {
            "pod": "ignite-0",
            "direction": "inbound",
            "target_port": "47500",
            "client_id": "default.default.serviceaccount.identity.linkerd.x",
        },
        "",
    ),
    "client-identity": (
        [
            tls_in(
                "ignite-0", 10800, client="other.shop.serviceaccount.identity.linkerd.cluster.local"
            )
        ],
        "CachemeshUnexpectedIdentity",
        {
            "pod": "ignite-0",
            "direction": "inbound",
            "target_port": "10800",
            "client_id": "other.shop.serviceaccount.identity.linkerd.cluster.local",
        },
        "",
    ),
    "denied": (
        [
            series(
                "inbound_tcp_authz_deny_total",
                "0+1x60",
                pod="ignite-0",
                target_port="10800",
                srv_name="ignite-thinclient",
                tls="no_identity",
            )
        ],
        "CachemeshConnectionsDenied",
        {"pod": "ignite-0", "target_port": "10800", "srv_name": "ignite-thinclient"},
        "",
    ),
    "proxy-missing": (
        [series("up", "1x60", pod="ignite-0"), series("up", "0x60", pod="ignite-1")],
        "CachemeshProxiesMissing",
        {},
        "1",
    ),
    "proxy-certificate": (
        [series(PROXY_CERT_EXPIRY, "3600x60", pod="ignite-0")],
        "CachemeshProxyCertificateExpiring",
        {"namespace": "ignite", "pod": "ignite-0"},
        "30m 0s",
    ),
    # A proxy older than v2.227.0 exports the gauge under its old name: it still fires.
    "proxy-certificate-old-name": (
        [
            series(PROXY_CERT_EXPIRY, "_x60", pod="ignite-1"),
            series(OLD_PROXY_CERT_EXPIRY, "3600x60", pod="ignite-1"),
        ],
        "CachemeshProxyCertificateExpiring",
        {"namespace": "ignite", "pod": "ignite-1"},
        "30m 0s",
    ),
    # A pod that is not a target of the job at all (not injected: linkerd-viz's job keeps only
    # pods with a linkerd-proxy container's linkerd-admin port) has no `up` series.
    "proxy-not-scraped": (
        [series("up", "_x60", pod="ignite-1")],
        "CachemeshProxiesMissing",
        {},
        "1",
    ),
    "issuer-certificate": (
        [{"series": 'issuer_cert_ttl_seconds{component="identity"}', "values": "864000x60"}],
        "CachemeshIssuerCertificateExpiring",
        {},
        "10d 0h 0m 0s",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_each_alert_fires_on_its_bad_series(tmp_path: Path, case: str) -> None:
    bad, alert, labels, value = BAD[case]
    # The bad series replace the healthy mesh's series of the same labels.
    replaced = {b["series"] for b in bad}
    base = [s for s in healthy_mesh() if s["series"] not in replaced]
    tests = [fires(alert, labels, value)]
    tests += [t for t in quiet() if t["alertname"] != alert]
    result = run_promtool_test(tmp_path, base + bad, tests)
    assert result.returncode == 0, result.stdout + result.stderr


# --- settings -------------------------------------------------------------------------------


def test_prometheus_rules_without_linkerd_are_refused() -> None:
    with pytest.raises(Exception) as error:
        validate_settings({"monitoring": {"prometheusRules": True}, "linkerd": {"enabled": False}})
    assert "cachemesh:monitoring.prometheusRules:" in str(error.value)


def test_alert_window_must_be_a_prometheus_duration() -> None:
    with pytest.raises(Exception) as error:
        validate_settings({"monitoring": {"window": "ten minutes"}})
    assert "cachemesh:monitoring.window:" in str(error.value)
