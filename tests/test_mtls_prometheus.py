"""`--metrics-source prometheus` against a real Prometheus: the same verdicts and culprits as the
direct scrape for the same cluster state.

One Prometheus (Debian's package, tests/prometheus_testing.py) on loopback scrapes two stand-in
proxies as a `linkerd-proxy` job carrying exactly the labels linkerd-viz's job gives a cache pod's
proxy (listed with their source in tests/prometheus_testing.py); the stand-ins serve a fixture
scenario (tests/fixtures/mtls/scenarios/) with counters rising on every scrape. Each test switches
the scenario and runs the real CLI twice: direct scrape (stand-in linkerd) and Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_testing import (
    SCENARIOS,
    StandInProxies,
    firing_alert,
    misbehaving_server,
    prometheus,
    query,
    scrape_config,
    wait_until_scraped,
)
from test_mtls_check import FakeCluster, Result, install_fake_tools

from checks.mtls_evaluate import Samples, advice
from checks.mtls_prometheus import (
    SUMMED_PEERS,
    PrometheusClient,
    PrometheusEndpoint,
    PrometheusError,
    PrometheusEvidence,
    evidence_from_answer,
    round_query,
)
from checks.mtls_report import Expectation, ScrapeFailure
from checks.mtls_tools import Tools
from components.cache_alerts import CacheAlertsArgs, rule_groups
from settings.caches import AuthorizationMode, CacheSettings
from settings.monitoring import MonitoringSettings

PODS = ["ignite-0", "ignite-1"]
IDENTITY = "default.ignite.serviceaccount.identity.linkerd.cluster.local"


# The fixture cluster's cache as the program would alert on it (permissive, as pods-2.json).
ALERTS = CacheAlertsArgs.for_cache(
    CacheSettings(name="ignite", authorization=AuthorizationMode.PERMISSIVE),
    IDENTITY,
    MonitoringSettings(window="1m"),
    1440,
)


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StandInProxies]]:
    workdir = tmp_path_factory.mktemp("prometheus")
    rules = workdir / "cachemesh_rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups(ALERTS)}))
    with StandInProxies() as proxies:
        config = scrape_config(f"127.0.0.1:{proxies.port}", PODS)
        config["rule_files"] = [str(rules)]
        with prometheus(config, workdir) as url:
            wait_until_scraped(url, PODS)
            yield url, proxies


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    return install_fake_tools(tmp_path, monkeypatch)


def culprits(report: dict[str, Any]) -> set[tuple[str | None, int | None, str]]:
    """Who failed, where, and why (the advice), without the counts, which rise between scrapes."""
    return {(f["pod"], f["port"], f["likelyCause"]) for f in report["failures"]}


def through_prometheus(cluster: FakeCluster, url: str, *extra: str, timeout: str = "4") -> Result:
    return cluster.run(
        "--metrics-source", "prometheus", "--prometheus-url", url, *extra,
        timeout=timeout, interval="0.3",
    )  # fmt: skip


@pytest.mark.parametrize(
    "scenario", ["verified-2", "plaintext-47100", "wrong-identity", "one-direction-missing"]
)
def test_prometheus_source_gives_the_direct_scrapes_verdict_and_culprits(
    mesh: tuple[str, StandInProxies], cluster: FakeCluster, scenario: str
) -> None:
    url, proxies = mesh
    proxies.scenario = SCENARIOS / scenario
    direct = cluster.use(scenario=scenario).run()
    # Not-verified states run to the timeout; the last round then holds fresh scrapes.
    result = through_prometheus(
        cluster, url, timeout="2.5" if not direct.report["verified"] else "10"
    )
    assert result.report["verified"] is direct.report["verified"], result.report["reasons"]
    assert result.rc == direct.rc
    assert culprits(result.report) == culprits(direct.report)
    assert result.report["metricsSource"] == "prometheus"
    assert {p["metrics"] for p in result.report["pods"].values()} == {"ok"}


def test_prometheus_service_is_queried_through_the_api_server_proxy(
    mesh: tuple[str, StandInProxies], cluster: FakeCluster
) -> None:
    url, proxies = mesh
    proxies.scenario = SCENARIOS / "verified-2"
    cluster.set("FAKE_MTLS_SERVICES", f"linkerd-viz/prometheus:9090={url}")
    result = cluster.run(
        "--metrics-source", "prometheus", "--prometheus-service", "linkerd-viz/prometheus:9090",
        timeout="10", interval="0.3",
    )  # fmt: skip
    assert result.report["verified"] is True, result.report["reasons"]
    raw = [c["argv"] for c in cluster.calls("kubectl") if "--raw" in c["argv"]]
    assert raw and all(
        a[a.index("--raw") + 1].startswith(
            "/api/v1/namespaces/linkerd-viz/services/prometheus:9090/proxy/api/v1/query?"
        )
        for a in raw
    )
    assert not cluster.scrapes()  # no proxy was scraped directly


def test_pods_another_job_scrapes_are_reported_unscraped_never_verified(
    mesh: tuple[str, StandInProxies], cluster: FakeCluster
) -> None:
    url, proxies = mesh
    proxies.scenario = SCENARIOS / "verified-2"
    result = through_prometheus(cluster, url, "--prometheus-job", "kubernetes-pods", timeout="0")
    assert result.report["verified"] is False
    assert {p["metrics"] for p in result.report["pods"].values()} == {"unavailable"}
    assert all(
        "has no scrape of this pod" in (p["metricsError"] or "")
        for p in result.report["pods"].values()
    )


def test_scrapes_from_before_the_check_started_do_not_count(
    mesh: tuple[str, StandInProxies],
) -> None:
    url, proxies = mesh
    proxies.scenario = SCENARIOS / "verified-2"
    client = PrometheusClient(PrometheusEndpoint(url=url), Tools(call_timeout=10))
    now = client.server_time()
    # The real server's answer to the round query, for a check that started an hour ago and
    # for one that starts an hour from now (so every scrape it holds is older).
    before = PrometheusEvidence(client, EXP, started_at=now - 3600).collect(PODS)
    after = PrometheusEvidence(client, EXP, started_at=now + 3600).collect(PODS)
    assert all(isinstance(found, Samples) and found.connections for found in before.values())
    assert all(
        isinstance(found, ScrapeFailure) and "before the check started" in found.error
        for found in after.values()
    )


def test_a_pod_scraped_only_before_the_check_started_is_not_verified(
    tmp_path: Path, cluster: FakeCluster
) -> None:
    # A real scrape interval longer than the check: ignite-1's proxy is scraped every 6 s by a
    # second job that carries the same `job` label (as a slow scrape_interval does in a real
    # cluster), ignite-0's every 0.5 s. The check starts just after ignite-1's first scrape and
    # gives up before its next one: ignite-1's only evidence predates the check.
    with StandInProxies() as proxies:
        config = scrape_config(f"127.0.0.1:{proxies.port}", ["ignite-0"])
        slow = scrape_config(f"127.0.0.1:{proxies.port}", ["ignite-1"])["scrape_configs"][0]
        slow.update(
            job_name="linkerd-proxy-slow",
            # Prometheus offsets a target's first scrape anywhere within its interval, so the
            # interval is what this test waits at most; 6 s leaves the 1 s check room to finish
            # well before the second scrape.
            scrape_interval="6s",
            scrape_timeout="5s",
            relabel_configs=[{"target_label": "job", "replacement": "linkerd-proxy"}],
        )
        config["scrape_configs"].append(slow)
        with prometheus(config, tmp_path / "prometheus") as url:
            wait_until_scraped(url, PODS)
            result = through_prometheus(cluster, url, timeout="1")
    assert result.report["verified"] is False
    pods = result.report["pods"]
    assert (pods["ignite-0"]["metrics"], pods["ignite-1"]["metrics"]) == ("ok", "unavailable")
    assert "before the check started" in pods["ignite-1"]["metricsError"]


# A plaintext connection's counter on ignite-1's port 47100, served with an explicit timestamp:
# Prometheus stores the sample at that time and writes no staleness marker for it, so the series
# stays in every instant query's 5-minute lookback like one that stopped being written before the
# check started (a restarted pod's old series, a remote-written one). Its own srv_name keeps it
# apart from the plaintext series an earlier test of this module's Prometheus may have written
# within the same window (the evidence is summed by srv_name, among other labels).
STALE_SERVER = "stale-series"
STALE_PLAINTEXT = (
    'tcp_open_total{direction="inbound",peer="src",target_addr="10.244.0.20:47100",'
    'target_ip="10.244.0.20",target_port="47100",tls="no_identity",'
    f'no_tls_reason="no_tls_from_remote",srv_kind="default",srv_name="{STALE_SERVER}"}} 3 '
)


def test_series_last_written_before_the_check_started_do_not_count(
    mesh: tuple[str, StandInProxies], cluster: FakeCluster
) -> None:
    url, proxies = mesh
    proxies.scenario = SCENARIOS / "verified-2"
    client = PrometheusClient(PrometheusEndpoint(url=url), Tools(call_timeout=10))
    written = client.server_time() - 30
    proxies.extra = {"ignite-1": [STALE_PLAINTEXT + str(int(written * 1000))]}
    try:
        stale = f'tcp_open_total{{pod="ignite-1",srv_name="{STALE_SERVER}"}}'
        deadline = time.monotonic() + 10
        while not query(url, stale) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert query(url, stale), "Prometheus did not take the timestamped series"
        # Inside the lookback: a round of a check that started before it was written counts it...
        earlier = PrometheusEvidence(client, EXP, started_at=written - 1).collect(PODS)
        # ...a check that starts now does not.
        result = through_prometheus(cluster, url, timeout="10")
    finally:
        proxies.extra = {}
    found = earlier["ignite-1"]
    assert isinstance(found, Samples)
    counted = [c for c in found.connections if c.server_name == STALE_SERVER]
    assert [(c.port, c.tls, c.count) for c in counted] == [(47100, False, 3)]
    assert result.report["verified"] is True, result.report["reasons"]


def test_a_proxy_prometheus_cannot_scrape_is_reported_never_verified(
    mesh: tuple[str, StandInProxies], cluster: FakeCluster
) -> None:
    url, proxies = mesh
    proxies.scenario = SCENARIOS / "verified-2"
    proxies.down = {"ignite-1"}
    try:
        result = through_prometheus(cluster, url, timeout="2")
    finally:
        proxies.down = set()
    assert result.report["verified"] is False
    pods = result.report["pods"]
    assert (pods["ignite-0"]["metrics"], pods["ignite-1"]["metrics"]) == ("ok", "unavailable")
    assert "up=0" in pods["ignite-1"]["metricsError"]


def test_unreachable_prometheus_means_cannot_run(cluster: FakeCluster) -> None:
    result = through_prometheus(cluster, "http://127.0.0.1:9", timeout="0")
    assert result.rc == 2
    assert result.report["status"] == "cannot-run"
    assert "--prometheus-url" in result.report["reasons"][0]


@pytest.mark.parametrize("how", ["drip-body", "drip-headers"])
def test_a_server_that_drips_its_answer_is_cut_off_at_the_call_timeout(how: str) -> None:
    # Each byte arrives well within the socket timeout; only an overall deadline stops it.
    with misbehaving_server(how) as url:
        client = PrometheusClient(PrometheusEndpoint(url=url), Tools(call_timeout=1))
        start = time.monotonic()
        with pytest.raises(PrometheusError, match="no complete answer within 1s"):
            client.query("time()")
        assert time.monotonic() - start < 5


def test_a_password_in_the_prometheus_url_is_never_shown() -> None:
    endpoint = PrometheusEndpoint(url="https://reader:s3cr3t@thanos.example/prom")
    assert "s3cr3t" not in endpoint.describe()
    assert "https://reader:<redacted>@thanos.example/prom" in endpoint.describe()


def test_an_answer_larger_than_the_cap_is_refused() -> None:
    with misbehaving_server("flood") as url:
        client = PrometheusClient(
            PrometheusEndpoint(url=url), Tools(call_timeout=15), max_answer_bytes=1_000_000
        )
        with pytest.raises(PrometheusError, match="more than 1000000 bytes"):
            client.query("time()")


# --- the PrometheusRule's alerts, evaluated by the same Prometheus -------------------------


@pytest.mark.parametrize(
    ("scenario", "alert", "kind", "labels"),
    [
        (
            "plaintext-47100",
            "CachemeshPlaintextConnection",
            "plaintext",
            {"pod": "ignite-1", "target_port": "47100", "direction": "inbound"},
        ),
        (
            "wrong-identity",
            "CachemeshUnexpectedIdentity",
            "wrong-identity",
            {"pod": "ignite-1", "target_port": "47100", "direction": "inbound"},
        ),
    ],
)
def test_alert_fires_in_prometheus_naming_the_checks_culprit(
    mesh: tuple[str, StandInProxies], scenario: str, alert: str, kind: str, labels: dict[str, str]
) -> None:
    url, proxies = mesh
    proxies.scenario = SCENARIOS / scenario
    found = firing_alert(url, alert, labels)
    assert found["labels"]["cache"] == "ignite" and found["labels"]["severity"] == "critical"
    assert "ignite-1" in found["annotations"]["summary"]
    assert "47100" in found["annotations"]["summary"]
    cause, fix = advice(kind, ALERTS.expectation, "ignite-1")
    assert (found["annotations"]["likely_cause"], found["annotations"]["fix"]) == (cause, fix)


# --- freshness, on a hand-written answer ----------------------------------------------------

EXP = Expectation(
    namespace="ignite", statefulset="ignite", replicas=2, ports=(47100, 47500), identity=IDENTITY
)
ENDPOINT = PrometheusEndpoint(url="http://prometheus:9090")


def answer(*series: tuple[dict[str, str], float]) -> dict[str, Any]:
    return {
        "resultType": "vector",
        "result": [{"metric": m, "value": [1000.0, str(v)]} for m, v in series],
    }


def test_a_pod_last_scraped_before_the_check_started_is_not_evidence() -> None:
    data = answer(
        ({"pod": "ignite-0", "cachemesh_metric": "scraped_at"}, 99.0),
        ({"pod": "ignite-0", "cachemesh_metric": "up"}, 1.0),
    )
    found = evidence_from_answer(EXP, data, 100.0, ["ignite-0"], ENDPOINT)
    assert isinstance(found["ignite-0"], ScrapeFailure)
    assert "before the check started" in found["ignite-0"].error


def test_a_pod_whose_last_scrape_failed_is_not_evidence() -> None:
    data = answer(
        ({"pod": "ignite-0", "cachemesh_metric": "scraped_at"}, 101.0),
        ({"pod": "ignite-0", "cachemesh_metric": "up"}, 0.0),
    )
    found = evidence_from_answer(EXP, data, 100.0, ["ignite-0"], ENDPOINT)
    assert isinstance(found["ignite-0"], ScrapeFailure)
    assert "up=0.0" in found["ignite-0"].error


def test_aggregated_series_become_the_evaluations_samples() -> None:
    inbound = {
        "pod": "ignite-0",
        "cachemesh_metric": "tcp_open_total",
        "direction": "inbound",
        "target_port": "47100",
        "tls": "true",
        "client_id": IDENTITY,
    }
    data = answer(
        ({"pod": "ignite-0", "cachemesh_metric": "scraped_at"}, 101.0),
        ({"pod": "ignite-0", "cachemesh_metric": "up"}, 1.0),
        (inbound, 7.0),
    )
    found = evidence_from_answer(EXP, data, 100.0, ["ignite-0"], ENDPOINT)["ignite-0"]
    assert isinstance(found, Samples)
    [conn] = found.connections
    assert (conn.direction, conn.port, conn.tls, conn.identity, conn.count) == (
        "inbound", 47100, True, IDENTITY, 7,
    )  # fmt: skip


def test_outbound_peers_are_reported_as_summed_not_unknown() -> None:
    outbound = {
        "pod": "ignite-0",
        "cachemesh_metric": "tcp_open_total",
        "direction": "outbound",
        "target_port": "47500",
        "tls": "true",
        "server_id": IDENTITY,
    }
    data = answer(
        ({"pod": "ignite-0", "cachemesh_metric": "scraped_at"}, 101.0),
        ({"pod": "ignite-0", "cachemesh_metric": "up"}, 1.0),
        (outbound, 3.0),
    )
    found = evidence_from_answer(EXP, data, 100.0, ["ignite-0"], ENDPOINT)["ignite-0"]
    assert isinstance(found, Samples)
    assert [c.peer for c in found.connections] == [SUMMED_PEERS]


def test_round_query_sums_away_the_per_peer_labels() -> None:
    promql = round_query(EXP, "linkerd-proxy", 100.0)
    assert "dst_pod" not in promql and "target_addr" not in promql
    assert 'job="linkerd-proxy",namespace="ignite",pod=~"ignite-[0-9]+"' in promql
