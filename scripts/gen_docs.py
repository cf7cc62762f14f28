"""Writes the generated pages of the docs site from the code they describe, so they cannot drift.

    python scripts/gen_docs.py          # (re)write every generated file
    python scripts/gen_docs.py --check  # exit 1 listing the files that are stale (CI, tests)

- docs/reference/configuration.md and docs/schema/pulumi-stack.schema.json: the settings model
  (settings/model.py, its fields' `description=`);
- docs/reference/policies.md: the policy pack's own rule metadata (policies/cachemesh_policy);
- docs/reference/alerts.md: the PrometheusRule the program builds (components/cache_alerts.py);
- docs/troubleshooting/mtls-check.md: the check's advice table (checks/mtls_advice.py);
- docs/reference/sample-reports.md: the mTLS check (`checks.mtls.main`) run against the test
  suite's stand-in kubectl/linkerd on the scenarios in tests/fixtures/mtls/.

tests/test_docs.py fails when a page is stale or a settings key has no description.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "policies", ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from scripts.docs_alerts import alerts_md  # noqa: E402
from scripts.docs_config import configuration_md, stack_schema_json  # noqa: E402
from scripts.docs_policies import policies_md  # noqa: E402
from scripts.docs_samples import sample_reports_md  # noqa: E402
from scripts.docs_troubleshooting import troubleshooting_md  # noqa: E402

#: Path (relative to the project root) -> the function that renders it.
GENERATED: dict[str, Callable[[], str]] = {
    "docs/reference/configuration.md": configuration_md,
    "docs/schema/pulumi-stack.schema.json": stack_schema_json,
    "docs/reference/policies.md": policies_md,
    "docs/reference/alerts.md": alerts_md,
    "docs/reference/sample-reports.md": sample_reports_md,
    "docs/troubleshooting/mtls-check.md": troubleshooting_md,
}


def stale() -> list[str]:
    """The generated files whose committed text differs from what the code renders now."""
    out = []
    for rel, render in GENERATED.items():
        path = ROOT / rel
        if not path.is_file() or path.read_text() != render():
            out.append(rel)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        found = stale()
        for rel in found:
            print(f"stale: {rel} (regenerate with: python scripts/gen_docs.py)")
        return 1 if found else 0
    for rel, render in GENERATED.items():
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render())
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
