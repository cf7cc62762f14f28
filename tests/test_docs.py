"""The docs' generated pages come from the code (scripts/gen_docs.py) and must be current; every
settings key has a description; the stack-file JSON Schema accepts the shipped stack file and
refuses what the program refuses."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from harness import PROJECT_ROOT
from markdown.extensions.toc import slugify
from pydantic import Field

from checks.mtls_advice import ADVICE
from scripts.docs_config import missing_descriptions, stack_schema
from scripts.docs_policies import POLICIES, fix_of
from scripts.gen_docs import GENERATED
from settings.base import SettingsModel


@pytest.mark.parametrize("page", sorted(GENERATED))
def test_generated_page_is_current(page: str) -> None:
    committed = PROJECT_ROOT / page
    assert committed.is_file(), f"{page} is missing: run python scripts/gen_docs.py"
    assert committed.read_text() == GENERATED[page](), (
        f"{page} is stale: run python scripts/gen_docs.py and commit the result"
    )


def test_every_settings_key_has_a_description() -> None:
    assert missing_descriptions() == [], "add description= to these fields (settings/*.py)"


def test_a_key_without_a_description_is_found() -> None:
    # Guards the test above against passing because the walk found nothing.
    class Inner(SettingsModel):
        described: int = Field(default=1, description="yes")
        bare: int = 2

    class Outer(SettingsModel):
        items: tuple[Inner, ...] = Field(default=(), description="a list")

    assert missing_descriptions(Outer.model_json_schema(by_alias=True)) == ["items[].bare"]


def _validator() -> jsonschema.Draft7Validator:
    # Draft 7: what the YAML language server validates with (scripts/docs_config.py _draft7).
    schema = stack_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _dev_stack() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "Pulumi.dev.yaml").read_text())
    return loaded


def _errors(document: dict[str, Any]) -> list[str]:
    return [e.message for e in _validator().iter_errors(document)]


def test_the_schema_accepts_the_shipped_dev_stack() -> None:
    assert _errors(_dev_stack()) == []


def test_the_schema_refuses_an_unknown_cachemesh_key() -> None:
    stack = _dev_stack()
    stack["config"]["cachemesh:cache"] = []
    assert any("cachemesh:cache" in e for e in _errors(stack))


def test_the_schema_refuses_a_misspelt_nested_key() -> None:
    stack = _dev_stack()
    stack["config"]["cachemesh:caches"][0]["replica"] = 3
    assert any("replica" in e for e in _errors(stack))


def test_the_schema_refuses_a_value_outside_the_allowed_ones() -> None:
    stack = _dev_stack()
    stack["config"]["cachemesh:caches"][0]["authorization"] = "open"
    assert _errors(stack)


def test_the_schema_takes_the_licence_only_as_a_secret() -> None:
    stack = _dev_stack()
    stack["config"]["cachemesh:gridgainLicense"] = "<license/>"
    assert _errors(stack)
    stack["config"]["cachemesh:gridgainLicense"] = {"secure": "v1:abc"}
    assert _errors(stack) == []


def test_the_schema_takes_the_issuer_key_only_as_a_secret() -> None:
    stack = _dev_stack()
    stack["config"]["cachemesh:linkerd"] = {"issuerKeyPem": "-----BEGIN EC PRIVATE KEY-----"}
    assert _errors(stack)
    stack["config"]["cachemesh:linkerd"] = {"issuerKeyPem": {"secure": "v1:abc"}}
    assert _errors(stack) == []


def test_the_schema_lets_the_kubernetes_provider_keys_through() -> None:
    stack = copy.deepcopy(_dev_stack())
    stack["config"]["kubernetes:context"] = "kind-cachemesh"
    stack["config"]["kubernetes:upsertExistingObjects"] = "true"
    assert _errors(stack) == []


def test_the_schema_takes_a_cpu_count_as_a_number_as_the_model_does() -> None:
    stack = _dev_stack()
    stack["config"]["cachemesh:caches"][0]["resources"]["limits"]["cpu"] = 2
    assert _errors(stack) == []


def _kinds_in(source: str) -> set[str]:
    """Failure kinds a module of the check names: failure(exp, "KIND", ...) and the
    `kind, what = "KIND", ...` choices of the authorization check."""
    calls = re.findall(r'failure\(\s*exp,\s*"([a-z-]+)"', source)
    choices = re.findall(r'kind, what = "([a-z-]+)"', source)
    return set(calls) | set(choices)


def test_every_failure_kind_the_check_reports_has_an_entry_on_the_troubleshooting_page() -> None:
    found: set[str] = set()
    for module in sorted((PROJECT_ROOT / "checks").glob("mtls*.py")):
        found |= _kinds_in(module.read_text())
    assert {"plaintext", "default-policy", "stale-trust-roots"} <= found  # the scan works
    assert found - set(ADVICE) == set()
    page = (PROJECT_ROOT / "docs/troubleshooting/mtls-check.md").read_text()
    assert [kind for kind in sorted(found) if f"\n## {kind}\n" not in page] == []


def test_the_dev_stack_names_the_committed_schema_for_the_yaml_language_server() -> None:
    first = (PROJECT_ROOT / "Pulumi.dev.yaml").read_text().splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (PROJECT_ROOT / first.removeprefix(prefix)).is_file()


def _refs_with_siblings(node: Any, path: str = "") -> list[str]:
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _refs_with_siblings(v, f"{path}/{i}")]
    if not isinstance(node, dict):
        return []
    here = [path] if "$ref" in node and len(node) > 1 else []
    return here + [p for k, v in node.items() for p in _refs_with_siblings(v, f"{path}/{k}")]


def test_the_schema_keeps_descriptions_where_a_draft_7_editor_reads_them() -> None:
    # Draft 7 ignores every keyword beside a $ref: a description there would never show.
    assert _refs_with_siblings(stack_schema()) == []
    assert _refs_with_siblings({"a": {"$ref": "#/x", "description": "lost"}}) == ["/a"]


@pytest.mark.parametrize("rule", [p.name for p in POLICIES])
def test_every_policy_rule_says_how_to_fix_what_it_reports(rule: str) -> None:
    policy = next(p for p in POLICIES if p.name == rule)
    assert fix_of(policy)  # raises when remediation_steps is missing or blank


def test_a_policy_rule_without_remediation_steps_is_refused() -> None:
    from pulumi_policy import StackValidationPolicy

    bare = StackValidationPolicy(name="bare", description="d", validate=lambda args, report: None)
    with pytest.raises(ValueError, match="bare has no remediation_steps"):
        fix_of(bare)


# --- links into the docs from the code and the README -------------------------------------------

# Where the code names a docs page for the reader (messages, comments, docstrings).
LINKING_SOURCES = ("__main__.py", "components", "settings", "checks", "policies", "pki", "scripts")
DOCS_LINK = re.compile(r"docs/((?:[a-z0-9_-]+/)*[a-z0-9_-]+\.md)(?:#([A-Za-z0-9_-]+))?")
README_SECTION = re.compile(r"README(?:\.md)?,? \"|README \(")


def _python_sources() -> list[Path]:
    files: list[Path] = []
    for name in LINKING_SOURCES:
        path = PROJECT_ROOT / name
        if path.is_file():
            files.append(path)
        else:
            files += [p for p in path.rglob("*.py") if "venv" not in p.parts]
    return sorted(files)


def page_anchors(page: Path) -> set[str]:
    """The anchors MkDocs gives the page's headings (Python-Markdown's toc slugify)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slugify(m.group(1), "-") for m in re.finditer(r"^#{1,6} (.+?)#*$", text, re.M)}


def broken_docs_links(text: str) -> list[str]:
    """Every `docs/<page>.md[#anchor]` in `text` whose page or heading does not exist."""
    broken = []
    for match in DOCS_LINK.finditer(text):
        page = PROJECT_ROOT / "docs" / match.group(1)
        if not page.is_file():
            broken.append(f"{match.group(0)} (no such page)")
        elif match.group(2) and match.group(2) not in page_anchors(page):
            broken.append(f"{match.group(0)} (no such heading)")
    return broken


@pytest.mark.parametrize(
    "source", [str(p.relative_to(PROJECT_ROOT)) for p in _python_sources()] + ["README.md"]
)
def test_every_docs_link_in_the_code_and_the_readme_resolves(source: str) -> None:
    assert broken_docs_links((PROJECT_ROOT / source).read_text()) == []


def test_a_link_to_a_missing_page_or_heading_is_found() -> None:
    text = (
        "see docs/tasks/add-a-cache.md, docs/tasks/no-such-task.md and "
        "docs/getting-started.md#uninstalling, docs/getting-started.md#no-such-heading"
    )
    assert broken_docs_links(text) == [
        "docs/tasks/no-such-task.md (no such page)",
        "docs/getting-started.md#no-such-heading (no such heading)",
    ]


def test_the_code_points_at_docs_pages_not_at_readme_sections() -> None:
    # The README is the front door only; the facts, and so the pointers, are in docs/.
    cited = [
        f"{p.relative_to(PROJECT_ROOT)}: {line.strip()}"
        for p in _python_sources()
        for line in p.read_text().splitlines()
        if README_SECTION.search(line)
    ]
    assert cited == []
