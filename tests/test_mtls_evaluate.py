"""The pure half of the mTLS check: `evaluate` and the metrics parsing, no tools involved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from checks.mtls import Expectation, PodInfo, ScrapeFailure, evaluate, extract_connections

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mtls"
IDENTITY = "default.ignite.serviceaccount.identity.linkerd.cluster.local"
PORTS = frozenset({47100, 47500})
EXP = Expectation(
    namespace="ignite", statefulset="ignite", replicas=2, ports=(47100, 47500), identity=IDENTITY
)
PODS = {
    name: PodInfo(name=name, phase="Running", ready=True, proxy="sidecar")
    for name in ("ignite-0", "ignite-1")
}


def verified_metrics() -> dict[str, str | ScrapeFailure]:
    return {
        p.stem: p.read_text() for p in sorted((FIXTURES / "scenarios" / "verified-2").glob("*.txt"))
    }


def line(labels: str, value: str = "1") -> str:
    return f"tcp_open_total{{{labels}}} {value}\n"


IN_47100 = (
    'direction="inbound",peer="src",target_addr="10.244.0.19:47100",target_port="47100",'
    f'tls="true",client_id="{IDENTITY}",srv_name="all-unauthenticated",srv_port="47100"'
)


def test_fixture_cluster_is_verified_by_the_pure_function() -> None:
    assert evaluate(EXP, PODS, verified_metrics()).verified is True


def test_counter_without_type_line_is_still_read() -> None:
    # Without "# TYPE ... counter" the parser keeps the family name tcp_open_total.
    [conn] = extract_connections(line(IN_47100), PORTS)
    assert (conn.direction, conn.port, conn.tls, conn.identity) == (
        "inbound",
        47100,
        True,
        IDENTITY,
    )


def test_counter_with_type_line_is_read_despite_the_stripped_family_name() -> None:
    text = "# TYPE tcp_open_total counter\n" + line(IN_47100)
    assert len(extract_connections(text, PORTS)) == 1


def test_admin_port_plaintext_is_ignored() -> None:
    admin = (
        'direction="inbound",peer="src",target_addr="0.0.0.0:4191",target_port="4191",'
        'tls="no_identity",no_tls_reason="no_tls_from_remote"'
    )
    assert extract_connections(line(admin, "30"), PORTS) == []


def test_loopback_hop_to_the_own_proxy_is_ignored() -> None:
    loopback = (
        'direction="outbound",peer="src",target_addr="10.244.0.20:47500",target_port="47500",'
        'tls="no_identity",no_tls_reason="loopback"'
    )
    assert extract_connections(line(loopback), PORTS) == []


def test_inbound_port_falls_back_to_srv_port() -> None:
    labels = f'direction="inbound",peer="src",tls="true",client_id="{IDENTITY}",srv_port="47500"'
    [conn] = extract_connections(line(labels), PORTS)
    assert conn.port == 47500


def test_no_tls_reason_makes_a_connection_plaintext() -> None:
    labels = (
        'direction="outbound",peer="dst",target_port="47100",tls="no_identity",'
        'no_tls_reason="not_provided_by_service_discovery",dst_pod="ignite-1"'
    )
    [conn] = extract_connections(line(labels, "4"), PORTS)
    assert not conn.tls and conn.no_tls_reason == "not_provided_by_service_discovery"


def test_zero_count_plaintext_series_is_not_a_connection() -> None:
    labels = (
        'direction="inbound",peer="src",target_port="47100",tls="no_identity",no_tls_reason="x"'
    )
    assert extract_connections(line(labels, "0"), PORTS) == []


def test_plaintext_added_to_a_verified_cluster_fails_it() -> None:
    metrics = verified_metrics()
    plain = 'direction="inbound",peer="src",target_port="47500",tls="no_identity",no_tls_reason="x"'
    metrics["ignite-0"] = str(metrics["ignite-0"]) + line(plain)
    report = evaluate(EXP, PODS, metrics)
    assert not report.verified
    assert [(f.pod, f.port) for f in report.failures] == [("ignite-0", 47500)]


def test_outbound_traffic_to_another_workload_does_not_count_as_cache_traffic() -> None:
    out = (
        'direction="outbound",peer="dst",target_port="47100",tls="true",'
        f'server_id="{IDENTITY}",dst_namespace="ignite",dst_pod="client-0",dst_statefulset="client"'
    )
    report = evaluate(EXP, PODS, {"ignite-0": line(out), "ignite-1": line(IN_47100)})
    assert not report.verified
    assert any("takes no part" in r or "one direction" in r for r in report.reasons)


def test_scrape_failure_is_not_verified() -> None:
    metrics = verified_metrics()
    metrics["ignite-1"] = ScrapeFailure(error="linkerd exited 1: boom")
    report = evaluate(EXP, PODS, metrics)
    assert not report.verified and report.pods["ignite-1"].metrics == "unavailable"


def test_nothing_observed_is_never_verified() -> None:
    report = evaluate(EXP, {}, {})
    assert not report.verified
    assert len(report.failures) == 2  # both pods missing


def test_unscraped_running_pod_is_not_verified() -> None:
    metrics = verified_metrics()
    del metrics["ignite-1"]
    report = evaluate(EXP, PODS, metrics)
    assert not report.verified and "metrics were not collected" in " ".join(report.reasons)


def test_non_finite_count_is_unparseable() -> None:
    metrics = verified_metrics()
    metrics["ignite-1"] = line(IN_47100, "NaN")
    report = evaluate(EXP, PODS, metrics)
    assert report.pods["ignite-1"].metrics == "unparseable"


def test_report_json_uses_camel_case_keys() -> None:
    doc = json.loads(evaluate(EXP, PODS, verified_metrics()).to_json())
    assert {"expectedIdentity", "checkedAt", "elapsedSeconds"} <= doc.keys()
    assert {"proxyInjected", "metricsError", "serviceAccount"} <= doc["pods"]["ignite-0"].keys()
    assert "plaintextReasons" in doc["pods"]["ignite-0"]["ports"]["47100"]["inbound"]


def test_strict_authorization_mode_needs_a_server_per_port() -> None:
    with pytest.raises(ValidationError, match="missing for port"):
        Expectation(
            namespace="ignite",
            statefulset="ignite",
            replicas=2,
            ports=(47100, 47500),
            identity=IDENTITY,
            authorization="strict",
            expected_servers={47100: "ignite-communication"},
        )


@pytest.mark.parametrize(
    "text",
    [
        "<html><body>502 Bad Gateway</body></html>\n",
        "Error: pod ignite-1 is not running\n",
        "\x00\x17\x03binary",
    ],
    ids=["html", "error-message", "binary"],
)
def test_non_prometheus_text_is_unparseable(text: str) -> None:
    metrics = verified_metrics()
    metrics["ignite-1"] = text
    report = evaluate(EXP, PODS, metrics)
    assert not report.verified and report.pods["ignite-1"].metrics == "unparseable"


def test_truncated_line_in_a_family_the_check_does_not_read_is_unparseable() -> None:
    metrics = verified_metrics()
    metrics["ignite-1"] = str(metrics["ignite-1"]) + 'tcp_read_bytes_total{direction="in'
    report = evaluate(EXP, PODS, metrics)
    assert report.pods["ignite-1"].metrics == "unparseable"


def test_label_with_a_space_cut_short_is_unparseable() -> None:
    metrics = verified_metrics()
    metrics["ignite-1"] = str(metrics["ignite-1"]) + 'proxy_build_info{version="a 1\n'
    report = evaluate(EXP, PODS, metrics)
    assert report.pods["ignite-1"].metrics == "unparseable"


def test_garbled_tcp_open_line_is_unparseable() -> None:
    metrics = verified_metrics()
    text = str(metrics["ignite-1"])
    start = text.index("tcp_open_total{")
    metrics["ignite-1"] = text[:start] + text[start:].replace('tls="true",', 'tls="true,', 1)
    report = evaluate(EXP, PODS, metrics)
    assert report.pods["ignite-1"].metrics == "unparseable"


def test_garbled_line_in_another_family_is_unparseable() -> None:
    metrics = verified_metrics()
    text = str(metrics["ignite-1"])
    metrics["ignite-1"] = text.replace('tls="true",client_id', 'tls="true,client_id', 1)
    assert metrics["ignite-1"].index('tls="true,') < text.index("tcp_open_total{")
    assert evaluate(EXP, PODS, metrics).pods["ignite-1"].metrics == "unparseable"
