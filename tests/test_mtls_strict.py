"""The mTLS check in strict/meshed authorization mode (issue 7), end to end.

The real CLI (`checks.mtls.main`) runs against the stand-in kubectl/linkerd of test_mtls_check,
serving `pods-2-strict.json` (ServiceAccount `ignite`, default-inbound-policy deny) and the
`strict-*` scenarios of tests/fixtures/mtls/generate.py.
"""

# The `cluster` fixture is imported from test_mtls_check; test parameters of that name "redefine"
# it as far as ruff can tell.
# ruff: noqa: F811

from __future__ import annotations

import io
import json

import pytest
from pydantic import ValidationError
from test_mtls_check import FakeCluster, Result, cluster, problems  # noqa: F401  (fixture)

from checks.mtls import Expectation, PodInfo, evaluate, main

OWN = "ignite.ignite.serviceaccount.identity.linkerd.cluster.local"
SERVERS = "47100=ignite-communication,47500=ignite-discovery"


def run(c: FakeCluster, scenario: str, *extra: str) -> Result:
    """The CLI on pods-2-strict.json + `scenario`, expecting the cache's own identity."""
    c.use("pods-2-strict.json", scenario)
    argv = c.argv(*extra)
    argv[argv.index("--identity") + 1] = OWN
    out, err = io.StringIO(), io.StringIO()
    rc = main(argv, stdout=out, stderr=err)
    return Result(rc, json.loads(out.getvalue()), err.getvalue())


def strict(c: FakeCluster, scenario: str, *extra: str, mode: str = "strict") -> Result:
    return run(c, scenario, "--authorization", mode, "--servers", SERVERS, *extra)


@pytest.mark.parametrize("mode", ["strict", "meshed"])
def test_admitted_by_the_programs_servers_is_verified(cluster: FakeCluster, mode: str) -> None:
    result = strict(cluster, "strict-verified-2", mode=mode)
    assert result.rc == 0, problems(result)
    report = result.report
    assert report["authorization"] == mode
    assert report["expectedServers"] == {
        "47100": "ignite-communication",
        "47500": "ignite-discovery",
    }
    inbound = report["pods"]["ignite-0"]["ports"]["47100"]["inbound"]
    assert inbound["admittedBy"] == {"server:ignite-communication": 2}
    assert inbound["authorizedBy"] == {"authorizationpolicy:ignite-communication": 2}
    assert inbound["serverNames"] == {"ignite-communication": 2}
    assert report["deniedAttempts"] == {"total": 0, "byPod": {}}
    assert report["pods"]["ignite-0"]["serviceAccount"] == "ignite"


def test_older_proxies_label_spelling_is_accepted(cluster: FakeCluster) -> None:
    # srv_name="ignite-communication" without srv_kind, saz_name instead of authz_kind/authz_name.
    result = strict(cluster, "strict-legacy-labels")
    assert result.rc == 0, problems(result)
    inbound = result.report["pods"]["ignite-1"]["ports"]["47500"]["inbound"]
    assert inbound["admittedBy"] == {"server:ignite-discovery": 2}
    assert inbound["authorizedBy"] == {"legacy:ignite-discovery": 2}


def test_admitted_by_the_default_policy_is_not_verified(cluster: FakeCluster) -> None:
    result = strict(cluster, "strict-default-policy")
    assert result.rc == 1
    [failure] = result.report["failures"]
    assert (failure["pod"], failure["port"]) == ("ignite-1", 47100)
    assert (
        "admitted by the default inbound policy (default:all-unauthenticated x2)"
        in (failure["problem"])
    )
    assert "not by Server ignite-communication" in failure["problem"]
    assert "podSelector" in failure["likelyCause"]
    assert "kubectl get server -n ignite" in failure["fix"]
    assert (
        "kubectl rollout restart statefulset/ignite -n ignite, then python -m checks.rollout"
        in (failure["fix"])
    )


def test_the_same_metrics_are_verified_in_permissive_mode(cluster: FakeCluster) -> None:
    # permissive checks no Server: the guide's all-unauthenticated is what it expects.
    result = run(cluster, "strict-default-policy")
    assert result.rc == 0, problems(result)
    assert result.report["authorization"] == "permissive"


def test_a_wrong_server_name_is_not_verified(cluster: FakeCluster) -> None:
    result = strict(
        cluster, "strict-verified-2", "--servers", "47100=ignite-comm,47500=ignite-discovery"
    )
    assert result.rc == 1
    assert {(f["pod"], f["port"]) for f in result.report["failures"]} == {
        ("ignite-0", 47100),
        ("ignite-1", 47100),
    }
    assert (
        "admitted by another Server (server:ignite-communication x2), not by Server ignite-comm"
        in (problems(result))
    )


def test_another_server_admitting_the_port_is_not_verified(cluster: FakeCluster) -> None:
    result = strict(cluster, "strict-other-server")
    assert result.rc == 1
    [failure] = result.report["failures"]
    assert (failure["pod"], failure["port"]) == ("ignite-0", 47500)
    assert "server:cache-all" in failure["problem"]
    assert "kubectl get server -n ignite -o yaml" in failure["fix"]


def test_another_authorization_is_not_verified(cluster: FakeCluster) -> None:
    result = strict(cluster, "strict-other-authorization")
    assert result.rc == 1
    [failure] = result.report["failures"]
    assert (failure["pod"], failure["port"]) == ("ignite-0", 47100)
    assert "authorizationpolicy:open-47100" in failure["problem"]
    assert "kubectl get authorizationpolicy,serverauthorization -n ignite" in failure["fix"]


def test_denied_attempts_are_reported_and_do_not_fail_the_check(cluster: FakeCluster) -> None:
    result = strict(cluster, "strict-denied")
    assert result.rc == 0, problems(result)
    report = result.report
    assert report["deniedAttempts"] == {
        "total": 6,
        "byPod": {"ignite-0": {"47100": 4}, "ignite-1": {"47500": 2}},
    }
    plain = report["pods"]["ignite-0"]["ports"]["47100"]["inbound"]
    assert plain["denied"] == 4 and plain["unauthorizedErrors"] == 4
    assert plain["deniedBy"] == {"no_tls:no_tls_from_remote": 4}
    foreign = report["pods"]["ignite-1"]["ports"]["47500"]["inbound"]
    assert foreign["deniedBy"] == {
        "default.default.serviceaccount.identity.linkerd.cluster.local": 2
    }
    # A refused connection never reaches tcp_open_total: the admitted ones are unchanged.
    assert foreign["admittedBy"] == {"server:ignite-discovery": 2}


def test_denied_attempts_are_reported_in_permissive_mode_too(cluster: FakeCluster) -> None:
    result = run(cluster, "strict-denied", "--authorization", "permissive")
    assert result.rc == 0, problems(result)
    assert result.report["deniedAttempts"]["total"] == 6


def test_permissive_default_is_unchanged(cluster: FakeCluster) -> None:
    result = cluster.run()
    assert result.rc == 0, problems(result)
    assert result.report["authorization"] == "permissive"
    assert result.report["expectedServers"] == {}
    inbound = result.report["pods"]["ignite-0"]["ports"]["47100"]["inbound"]
    assert inbound["serverNames"] == {"all-unauthenticated": 2}
    assert inbound["admittedBy"] == {"default:all-unauthenticated": 2}


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--authorization", "strict"), "needs the expected Server of every port"),
        (("--authorization", "meshed", "--servers", "47100=a"), "missing for port(s) 47500"),
        (("--servers", SERVERS), "only apply to the strict and meshed"),
        (("--authorization", "strict", "--servers", "47100"), "not PORT=SERVER"),
        (("--authorization", "strict", "--servers", f"{SERVERS},8080=x"), "not in ports"),
        (("--authorization", "locked"), "invalid choice"),
    ],
)
def test_bad_authorization_arguments_exit_2(
    cluster: FakeCluster, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        cluster.run(*extra)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_expectation_refuses_servers_without_a_mode() -> None:
    with pytest.raises(ValidationError, match="only apply to the strict and meshed"):
        Expectation(
            namespace="ignite",
            statefulset="ignite",
            replicas=1,
            ports=(47100,),
            identity=OWN,
            expected_servers={47100: "ignite-communication"},
        )


# --- label spellings, on the pure evaluator ----------------------------------------------------


def _one_pod(inbound_labels: str, extra: str = "") -> dict[str, str]:
    return {
        "ignite-0": "# TYPE tcp_open_total counter\n"
        f'tcp_open_total{{direction="inbound",peer="src",target_port="47100",tls="true",'
        f'client_id="{OWN}",{inbound_labels}}} 3\n'
        f'tcp_open_total{{direction="outbound",peer="dst",target_port="47100",tls="true",'
        f'server_id="{OWN}",dst_pod="ignite-0"}} 3\n' + extra
    }


EXP = Expectation(
    namespace="ignite",
    statefulset="ignite",
    replicas=1,
    ports=(47100,),
    identity=OWN,
    authorization="strict",
    expected_servers={47100: "ignite-communication"},
)
POD = {"ignite-0": PodInfo(name="ignite-0", phase="Running", ready=True, proxy="sidecar")}


@pytest.mark.parametrize(
    ("labels", "verified", "kind"),
    [
        ('srv_group="policy.linkerd.io",srv_kind="server",srv_name="ignite-communication",'
         'srv_port="47100"', True, None),
        ('srv_kind="server",srv_name="ignite-communication"', True, None),
        ('srv_name="ignite-communication"', True, None),
        ('srv_group="",srv_kind="default",srv_name="all-unauthenticated",srv_port="47100"',
         False, "default:all-unauthenticated"),
        ('srv_name="default:all-unauthenticated"', False, "default:all-unauthenticated"),
        ('srv_kind="default",srv_name="cluster-authenticated"', False,
         "default:cluster-authenticated"),
        ('srv_kind="default",srv_name="ignite-communication"', False,
         "default:ignite-communication"),
        ('srv_name="default:audit"', False, "default:audit"),
        ("tls_extra=\"x\"", False, "(no srv_name)"),
    ],
    ids=["current", "2.12-no-group", "2.11-bare-name", "default", "2.11-default", "cluster",
         "default-named-like-ours", "audit", "no-label"],
)  # fmt: skip
def test_server_label_spellings(labels: str, verified: bool, kind: str | None) -> None:
    report = evaluate(EXP, POD, _one_pod(labels))
    assert report.verified is verified, report.reasons
    if kind:
        assert kind in report.reasons[0]


def test_authz_labels_of_another_kind_fail() -> None:
    srv = 'srv_kind="server",srv_name="ignite-communication"'
    allow = (
        "# TYPE inbound_tcp_authz_allow_total counter\n"
        f'inbound_tcp_authz_allow_total{{target_port="47100",{srv},'
        'authz_kind="serverauthorization",authz_name="ignite-communication",tls="true",'
        f'client_id="{OWN}"}} 3\n'
    )
    report = evaluate(EXP, POD, _one_pod(srv, allow))
    assert not report.verified
    assert "serverauthorization:ignite-communication" in report.reasons[0]


def test_unauthorized_errors_alone_count_as_denied_attempts() -> None:
    srv = 'srv_kind="server",srv_name="ignite-communication"'
    errors = (
        "# TYPE inbound_tcp_errors_total counter\n"
        'inbound_tcp_errors_total{target_addr="10.0.0.1:47100",target_ip="10.0.0.1",'
        'target_port="47100",error="unauthorized"} 5\n'
        'inbound_tcp_errors_total{target_addr="10.0.0.1:47100",target_ip="10.0.0.1",'
        'target_port="47100",error="i/o"} 9\n'
    )
    report = evaluate(EXP, POD, _one_pod(srv, errors))
    assert report.verified, report.reasons
    assert report.denied_attempts.total == 5
    assert report.pods["ignite-0"].ports[47100].inbound.unauthorized_errors == 5
