"""Sample mTLS reports, produced by running the real check (`checks.mtls.main`, its real
subprocess calls) against the test suite's stand-in `kubectl`/`linkerd` (tests/fixtures/mtls/
fake_tool.py, installed on PATH by tests/harness.py `put_on_path`) serving the scenarios in
tests/fixtures/mtls/. Not a live cluster."""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import put_on_path

from checks.mtls import main
from scripts.docs_markdown import generated_header

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mtls"
OWN = "ignite.ignite.serviceaccount.identity.linkerd.cluster.local"
GUIDE = "default.ignite.serviceaccount.identity.linkerd.cluster.local"
SERVERS = "47100=ignite-communication,47500=ignite-discovery"
STRICT = ("--authorization", "strict", "--servers", SERVERS)
# The two fields that change on every run; fixed so the page only changes when a verdict does.
CHECKED_AT = "2026-01-01T00:00:00Z"

HEADER = generated_header(
    "scripts/docs_samples.py (the mTLS check run against the tests' stand-in tools)"
)


@dataclass(frozen=True)
class Sample:
    title: str
    what: str
    pods: str
    scenario: str
    identity: str = GUIDE
    extra: tuple[str, ...] = ()


SAMPLES = (
    Sample(
        "Verified, strict mode",
        "The default stack's check: strict mode, the cache's own identity, its Servers.",
        "pods-2-strict.json",
        "strict-verified-2",
        OWN,
        STRICT,
    ),
    Sample(
        "Plaintext on a cache port",
        "A peer reached 47100 without a proxy on one side; the guide's identity, permissive mode.",
        "pods-2.json",
        "plaintext-47100",
    ),
    Sample(
        "Wrong identity",
        "The peers run under another ServiceAccount than the expected identity names.",
        "pods-2.json",
        "wrong-identity",
    ),
    Sample(
        "No traffic between the nodes",
        "The pods are meshed but have not formed a cluster (e.g. opaque ports missing).",
        "pods-2.json",
        "no-traffic",
    ),
    Sample(
        "Admitted by the default policy, strict mode",
        "The program's Servers do not select the pods: the default inbound policy admitted them.",
        "pods-2-strict.json",
        "strict-default-policy",
        OWN,
        STRICT,
    ),
    Sample(
        "Refused attempts, strict mode",
        "Verified; connections the policy refused are reported under deniedAttempts, not failed.",
        "pods-2-strict.json",
        "strict-denied",
        OWN,
        STRICT,
    ),
)


def argv(sample: Sample) -> list[str]:
    return [
        "--namespace", "ignite",
        "--statefulset", "ignite",
        "--replicas", "2",
        "--ports", "47100,47500",
        "--identity", sample.identity,
        "--timeout", "0",
        *sample.extra,
    ]  # fmt: skip


def run_sample(sample: Sample) -> tuple[int, dict[str, object]]:
    """Exit code and report of the check on `sample`, run against the stand-in tools."""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        put_on_path(Path(tmp), mp, FIXTURES / "fake_tool.py", ("kubectl", "linkerd"))
        mp.setenv("FAKE_MTLS_PODS", str(FIXTURES / sample.pods))
        mp.setenv("FAKE_MTLS_METRICS", str(FIXTURES / "scenarios" / sample.scenario))
        mp.setenv("FAKE_MTLS_DELAY", "0")
        mp.delenv("FAKE_MTLS_FAIL", raising=False)
        mp.delenv("FAKE_MTLS_LOG", raising=False)
        out = io.StringIO()
        rc = main(argv(sample), stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue())
    report["checkedAt"] = CHECKED_AT
    report["elapsedSeconds"] = 0.0
    return rc, report


def _slug(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def sample_reports_md() -> str:
    out = [
        HEADER,
        "# Sample mTLS reports",
        "",
        "Produced, not pasted: `scripts/gen_docs.py` runs the check (`python -m checks.mtls`, "
        "its real subprocess calls) against the test suite's stand-in `kubectl`/`linkerd` "
        "serving the fixtures in `tests/fixtures/mtls/`, not a live cluster. `checkedAt` and "
        "`elapsedSeconds` are fixed so the page changes only when a report does.",
        "",
    ]
    out += [f"- [{s.title}](#{_slug(s.title)})" for s in SAMPLES]
    out.append("")
    for s in SAMPLES:
        rc, report = run_sample(s)
        command = "python -m checks.mtls " + " ".join(argv(s))
        out += [
            f"## {s.title}",
            "",
            f"{s.what} Pods `{s.pods}`, metrics scenario `{s.scenario}`; exit code {rc}.",
            "",
            "```sh",
            command,
            "```",
            "",
            "```json",
            json.dumps(report, indent=2),
            "```",
            "",
        ]
    return "\n".join(out).rstrip() + "\n"
