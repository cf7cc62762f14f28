"""A clean uninstall (docs/getting-started.md#uninstalling): what `pulumi destroy` keeps on purpose,
and that the documented commands remove the rest, checked on what the program registers (mock
engine).

`pulumi destroy --exclude-protected` destroys every resource except the protected ones and what
they transitively depend on (pulumi/pulumi pkg/cmd/pulumi/destroy.go `separateProtected`, which
walks graph.DependencyGraph.TransitiveDependenciesOf: a resource's parent, its dependencies and
its property dependencies). `kept_by_exclude_protected` restates that walk over the registered
resources."""

from __future__ import annotations

import re

import harness
import pytest
from existing_linkerd_testing import DEPLOYMENT, RUN, KubectlCluster, linkerd_objects
from harness import PROJECT_ROOT, ProgramRun, Registered, run_program

# The documented removal (docs/getting-started.md "Uninstalling").
GETTING_STARTED = (PROJECT_ROOT / "docs" / "getting-started.md").read_text()
SIGNING_ANCHOR = {
    ("tls:index/privateKey:PrivateKey", "linkerd-trust-anchor-key"),
    ("tls:index/selfSignedCert:SelfSignedCert", "linkerd-trust-anchor"),
}
GATEWAY_API = ("kubernetes:yaml/v2:ConfigFile", "gateway-api-standard-install")
CACHE_STATEFULSET = ("kubernetes:apps/v1:StatefulSet", "ignite/ignite")
# Step 1 of the documented removal: every cache lets its StatefulSet go.
CACHES_LET_GO = {"caches": [{"name": "ignite", "allowReplacement": True}]}


def kept_by_exclude_protected(run: ProgramRun) -> set[tuple[str, str]]:
    kept: set[str] = set()
    pending = [r.urn for r in run.resources if r.options.get("protect")]
    while pending:
        urn = pending.pop()
        if urn in kept or urn.split("::")[2] == harness.STACK_TYPE:
            continue
        kept.add(urn)
        resource = run.by_urn(urn)
        pending += [resource.parent, *resource.dependencies]
        pending += [u for urns in resource.property_dependencies.values() for u in urns]
    return {(run.by_urn(u).type, run.by_urn(u).name) for u in kept}


def _retained(run: ProgramRun) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in run.resources if r.options.get("retainOnDelete")}


def _section(title: str) -> str:
    start = GETTING_STARTED.index(f"## {title}\n")
    end = GETTING_STARTED.find("\n## ", start + 1)
    return GETTING_STARTED[start : end if end != -1 else len(GETTING_STARTED)]


def _protected(run: ProgramRun) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in run.resources if r.options.get("protect")}


@pytest.fixture(scope="module")
def managed() -> ProgramRun:
    """The program after step 1 (`allowReplacement: true` on every cache, then `up`)."""
    return run_program(CACHES_LET_GO)


def test_a_deployed_cache_statefulset_is_protected_until_the_cache_is_let_go():
    # A plain `pulumi destroy` stops at the cache, as at the anchor
    # (docs/getting-started.md#uninstalling).
    assert _protected(run_program()) == SIGNING_ANCHOR | {CACHE_STATEFULSET}
    assert _protected(run_program(CACHES_LET_GO)) == SIGNING_ANCHOR


def test_destroy_exclude_protected_keeps_the_signing_anchor_and_the_components_above_it(managed):
    # The anchor's parent (LinkerdControlPlane) waits for the Gateway API CRDs, so their
    # components stay in the state too; their CRDs are children, not dependencies.
    assert kept_by_exclude_protected(managed) == SIGNING_ANCHOR | {
        ("cachemesh:index:LinkerdControlPlane", "linkerd"),
        ("cachemesh:index:GatewayApiCrds", "gateway-api"),
        GATEWAY_API,
    }


def test_the_only_custom_resources_destroy_exclude_protected_keeps_live_in_the_state(managed):
    kept = kept_by_exclude_protected(managed)
    custom = {(r.type, r.name) for r in managed.resources if r.custom}
    # pulumi-tls keys and certificates exist only in the state: nothing stays in the cluster.
    assert kept & custom == SIGNING_ANCHOR


def test_the_gateway_api_crds_are_the_only_resource_retained_on_delete(managed):
    assert _retained(managed) == {GATEWAY_API}


def test_a_stack_on_the_clusters_existing_linkerd_keeps_nothing(monkeypatch):
    cluster = KubectlCluster(linkerd_objects())
    monkeypatch.setitem(harness.CALL_FAKERS, RUN, cluster)
    monkeypatch.setitem(harness.READ_FAKERS, DEPLOYMENT, cluster.read)
    run = run_program({**CACHES_LET_GO, "linkerd": {"controlPlane": "existing"}})
    assert kept_by_exclude_protected(run) == set()
    assert _retained(run) == set()
    # The platform's proxy injector is only read: destroy forgets it, never deletes it.
    reads: list[Registered] = [r for r in run.resources if r.read]
    assert [(r.type, r.name) for r in reads] == [(DEPLOYMENT, "linkerd/linkerd-proxy-injector")]


def test_the_uninstall_section_names_what_is_kept_and_the_commands_that_remove_it(managed):
    section = _section("Uninstalling")
    for _, name in sorted(kept_by_exclude_protected(managed) | _retained(managed)):
        assert f"`{name}`" in section, name
    assert f"`{CACHE_STATEFULSET[1]}`" in section or "StatefulSet" in section
    for command in (
        "pulumi config set --stack dev --path 'caches[0].allowReplacement' true",
        "pulumi up --stack dev --yes",
        "pulumi destroy --stack dev --exclude-protected",
        "pulumi state unprotect --stack dev --all --yes",
        "pulumi destroy --stack dev --yes",
        "pulumi stack rm dev --yes",
    ):
        assert command in section, command
    assert re.search(r"kubectl delete -f \S+standard-install\.yaml", section)
