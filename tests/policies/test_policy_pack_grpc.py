"""The policy pack as `pulumi preview --policy-pack policies` runs it: its __main__.py started by
`python -m pulumi.policy` in the pack's folder, serving the Analyzer gRPC protocol, and asked
about the real program's resources over that protocol — the SDK's own serialization,
enforcement levels and config handling included. (The Pulumi CLI itself is not here.)"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from tests.harness import ProgramRun, run_program

PACK = Path(__file__).resolve().parents[2] / "policies"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
MANDATORY = analyzer_pb2.EnforcementLevel.Value("MANDATORY")


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    yield from _serve_pack()


@pytest.fixture
def fresh_analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """A pack of its own, for a test that configures it."""
    yield from _serve_pack()


def _serve_pack() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    # The engine address is only used to report a crash; nothing listens there.
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:9", "."],
        cwd=PACK,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = process.stdout.readline().decode().strip()
        assert line.isdigit(), f"pack did not start: {line!r} {process.stderr.read1().decode()}"
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=10)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _diagnostics(
    stub: analyzer_pb2_grpc.AnalyzerStub, run: ProgramRun, broken: dict[str, Any] | None = None
) -> list[analyzer_pb2.AnalyzeDiagnostic]:
    """Analyze every resource, then the whole stack, as the engine does during a preview."""
    found = []
    resources = []
    for record in run.resources:
        props = copy.deepcopy(record.inputs)
        if broken is not None and record.type == STATEFULSET:
            props["spec"]["template"]["metadata"]["annotations"].update(broken)
            props["spec"]["template"]["metadata"]["annotations"] = {
                k: v for k, v in props["spec"]["template"]["metadata"]["annotations"].items() if v
            }
        request = dict(
            type=record.type, properties=_struct(props), urn=record.urn, name=record.name
        )
        found += stub.Analyze(analyzer_pb2.AnalyzeRequest(**request)).diagnostics
        resources.append(
            analyzer_pb2.AnalyzerResource(
                **request, parent=record.parent, dependencies=record.dependencies
            )
        )
    found += stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics
    return list(found)


def test_the_pack_serves_every_rule_over_the_analyzer_protocol(analyzer) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    names = {p.name for p in info.policies}
    assert {
        "opaque-ports",
        "inject-on-pod-template",
        "no-port-skipping",
        "no-injection-override",
        "cache-workloads-meshed",
        "service-opaque-ports",
        "linkerd-control-plane-first",
        "cache-ports-authorized",
    } <= names
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels["opaque-ports"] == MANDATORY


def test_the_programs_resources_raise_no_mandatory_violation(analyzer) -> None:
    mandatory = [
        d for d in _diagnostics(analyzer, run_program()) if d.enforcementLevel == MANDATORY
    ]
    assert mandatory == []


def test_a_missing_opaque_ports_annotation_is_refused(analyzer) -> None:
    broken = {"config.linkerd.io/opaque-ports": ""}
    found = _diagnostics(analyzer, run_program(), broken)
    refused = [d for d in found if d.enforcementLevel == MANDATORY]
    assert [d.policyName for d in refused] == ["opaque-ports"]
    assert "StatefulSet ignite/ignite" in refused[0].message
    assert '"10800,47100,47500"' in refused[0].message


def test_the_sdk_applies_a_remediation_at_level_remediate(fresh_analyzer) -> None:
    remediate = analyzer_pb2.EnforcementLevel.Value("REMEDIATE")
    fresh_analyzer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={"opaque-ports": analyzer_pb2.PolicyConfig(enforcementLevel=remediate)}
        )
    )
    record = run_program().one(STATEFULSET, "ignite/ignite")
    props = copy.deepcopy(record.inputs)
    del props["spec"]["template"]["metadata"]["annotations"]["config.linkerd.io/opaque-ports"]
    response = fresh_analyzer.Remediate(
        analyzer_pb2.AnalyzeRequest(
            type=record.type, properties=_struct(props), urn=record.urn, name=record.name
        )
    )
    [remediation] = response.remediations
    assert remediation.policyName == "opaque-ports" and not remediation.diagnostic
    fixed = json_format.MessageToDict(remediation.properties)
    annotations = fixed["spec"]["template"]["metadata"]["annotations"]
    assert annotations["config.linkerd.io/opaque-ports"] == "10800,47100,47500"
