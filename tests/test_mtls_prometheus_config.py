"""How the Prometheus source is asked for: `cachemesh:mtlsCheck.metricsSource: prometheus` in the
stack config (refused at start-up when contradictory), the MtlsCheck command line, and the CLI's
own usage errors."""

from __future__ import annotations

import io
import shlex

import pytest
from harness import run_program

from checks.mtls import main
from settings import SettingsError, validate_settings

COMMAND = "command:local:Command"
BASE = [
    "--namespace", "ignite", "--statefulset", "ignite", "--replicas", "2",
    "--identity", "default.ignite.serviceaccount.identity.linkerd.cluster.local",
]  # fmt: skip


def _problems(mtls_check: dict) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        validate_settings({"mtlsCheck": mtls_check})
    return caught.value.problems


def test_prometheus_source_needs_a_url_or_a_service() -> None:
    (problem,) = _problems({"metricsSource": "prometheus"})
    assert problem.startswith("cachemesh:mtlsCheck.metricsSource:")
    assert "cachemesh:mtlsCheck.prometheusUrl" in problem and "neither is set" in problem


def test_prometheus_source_takes_only_one_of_url_and_service() -> None:
    (problem,) = _problems(
        {
            "metricsSource": "prometheus",
            "prometheusUrl": "http://prometheus:9090",
            "prometheusService": "linkerd-viz/prometheus:9090",
        }
    )
    assert "both are set" in problem


def test_prometheus_url_without_the_prometheus_source_is_refused() -> None:
    (problem,) = _problems({"prometheusUrl": "http://prometheus:9090"})
    assert problem.startswith("cachemesh:mtlsCheck.prometheusUrl: only used with")


@pytest.mark.parametrize(
    ("key", "value"),
    [("prometheusUrl", "prometheus:9090"), ("prometheusService", "linkerd-viz/prometheus")],
)
def test_malformed_prometheus_endpoint_is_refused_naming_its_key(key: str, value: str) -> None:
    (problem,) = _problems({"metricsSource": "prometheus", key: value})
    assert problem.startswith(f"cachemesh:mtlsCheck.{key}:")


def test_nothing_is_registered_when_the_prometheus_settings_are_invalid() -> None:
    with pytest.raises(Exception, match=r"cachemesh:mtlsCheck\.metricsSource") as caught:
        run_program({"mtlsCheck": {"metricsSource": "prometheus"}})
    assert caught.value.registered == []  # type: ignore[attr-defined]


def test_mtls_check_command_passes_the_prometheus_service_and_job() -> None:
    run = run_program(
        {
            "mtlsCheck": {
                "metricsSource": "prometheus",
                "prometheusService": "linkerd-viz/prometheus:9090",
                "prometheusJob": "kubernetes-pods",
            }
        }
    )
    argv = shlex.split(run.one(COMMAND, "ignite/ignite-mtls-check").inputs["create"])
    assert argv[argv.index("--metrics-source") + 1] == "prometheus"
    assert argv[argv.index("--prometheus-service") + 1] == "linkerd-viz/prometheus:9090"
    assert argv[argv.index("--prometheus-job") + 1] == "kubernetes-pods"
    assert "--prometheus-url" not in argv


def test_other_sources_leave_the_command_unchanged() -> None:
    create = run_program().one(COMMAND, "ignite/ignite-mtls-check").inputs["create"]
    assert "--prometheus" not in create


@pytest.mark.parametrize(
    "extra",
    [
        ["--metrics-source", "prometheus"],
        ["--metrics-source", "prometheus", "--prometheus-url", "http://p:9090",
         "--prometheus-service", "a/b:9090"],
        ["--prometheus-url", "http://p:9090"],
        ["--metrics-source", "prometheus", "--prometheus-service", "prometheus:9090"],
    ],
    ids=["neither", "both", "url-without-source", "bad-service"],
)  # fmt: skip
def test_cli_refuses_contradictory_prometheus_flags(extra: list[str]) -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as caught:
        main([*BASE, *extra], stdout=io.StringIO(), stderr=err)
    assert caught.value.code == 2
