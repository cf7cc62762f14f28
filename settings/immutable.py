"""Changes that a running cache cannot take in place, refused before anything is registered.

Kubernetes allows an update of a StatefulSet's spec only to `replicas`, `ordinals`, `template`,
`updateStrategy`, `persistentVolumeClaimRetentionPolicy` and `minReadySeconds`; any other field
is immutable (kubernetes pkg/apis/apps/validation/validation.go ValidateStatefulSetUpdate;
its test "podManagementPolicy changed"). pulumi-kubernetes therefore plans a replacement when
`spec.podManagementPolicy`, `revisionHistoryLimit`, `selector`, `serviceName` or
`volumeClaimTemplates` (or the name or namespace) change (pulumi/pulumi-kubernetes
provider/pkg/provider/diff.go `statefulSet`, 00302beb), deleting first because the name is fixed
(provider.go Diff `deleteBeforeReplace`, 997c0a88): every pod at once, which loses an in-memory
cache's data. Of those fields cachemesh lets a user set `podManagementPolicy`.

Two guards, so that a missing output can never mean "nothing deployed":
- here, a change is judged against the last deployment's `caches` output (read by
  components/previous_deployment.py), found by namespace and StatefulSet name — never by the
  output key, which changes (`orders` -> `shop/orders`) when a cache of the same name is added in
  another namespace — and refused with the way out, naming the key;
- the StatefulSet itself is `protect`ed (components/meshed_cache.py). Pulumi refuses to replace
  a resource protected both in the program and in the state, and to delete a protected one
  (pulumi/pulumi pkg/resource/deploy/step_generator.go, 1a16857a: `if new.Protect &&
  old.Protect` "unable to replace resource ... as it is currently marked for protection", and in
  an update it bails before any step runs; step.go DeleteStep.Apply). That holds when the outputs
  are missing (the last `up` failed before writing them) or name nothing. `replaceOnChanges`
  only adds replacements, `deleteBeforeReplace` only orders them (and the provider forces it for
  a named object anyway), and `retainOnDelete` skips the delete and lets the create run into the
  old object: none of them stops a replacement.
`caches[].allowReplacement: true` lifts both for a deliberate replacement or removal.

The same holds for the mesh's identity mode (`identity_mode_problems`): switching between the
generated identity and bring-your-own certificates in one `up` replaces the trust bundle and the
signer at once, which breaks every meshed connection until every meshed pod has restarted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pki.trust_rotation import bundle_sha256, chart_bundle
from settings.caches import CacheSettings
from settings.linkerd import LinkerdSettings
from settings.loader import SettingsError

# Output key in each `caches` entry -> the settings attribute it records.
IMMUTABLE_FIELDS: tuple[tuple[str, str], ...] = (("podManagementPolicy", "pod_management_policy"),)


def deployed_caches(previous_caches: Mapping[str, Any] | None) -> dict[tuple[str, str], Mapping]:
    """The last deployment's `caches` entries by (namespace, StatefulSet name). An entry without
    `statefulset` (older outputs) is named by its key's last part: `shop/orders` or `orders`."""
    found: dict[tuple[str, str], Mapping] = {}
    for key, entry in (previous_caches or {}).items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("namespace"), str):
            continue
        name = entry.get("statefulset")
        if not isinstance(name, str) or not name:
            name = str(key).rpartition("/")[2]
        found[(entry["namespace"], name)] = entry
    return found


def replacement_problems(
    caches: Sequence[CacheSettings], previous_caches: Mapping[str, Any] | None
) -> list[str]:
    """One problem per immutable field a deployed cache would change. A cache the last
    deployment did not have, or did not record the field for, is new to this check: accepted
    here (its StatefulSet's protection still refuses a replacement at the engine)."""
    deployed = deployed_caches(previous_caches)
    problems: list[str] = []
    for index, cache in enumerate(caches):
        before_entry = deployed.get((cache.namespace, cache.name))
        if before_entry is None or cache.allow_replacement:
            continue
        for output_key, attribute in IMMUTABLE_FIELDS:
            before, after = before_entry.get(output_key), getattr(cache, attribute)
            if before is None or before == after:
                continue
            problems.append(
                f"cachemesh:caches[{index}].{output_key}: cache {cache.namespace}/{cache.name} "
                f"runs with {before!r}; Kubernetes does not let a StatefulSet change "
                f"{output_key}, so {after!r} would mean deleting and recreating it with every "
                f"pod at once, losing the cache's in-memory data. Set it back with "
                f"`pulumi config set --path 'caches[{index}].{output_key}' {before}`; to run "
                "with the new value, deploy a new cache under another name, move the data, and "
                "remove the old one; or, accepting the loss, replace it on purpose with "
                f"`pulumi config set --path 'caches[{index}].allowReplacement' true`."
            )
    return problems


def check_no_replacement(
    caches: Sequence[CacheSettings], previous_caches: Mapping[str, Any] | None
) -> None:
    problems = replacement_problems(caches, previous_caches)
    if problems:
        raise SettingsError(problems)


# `linkerdIdentity.source` of each identity mode (components/linkerd.py).
GENERATED, BRING_YOUR_OWN = "pulumi-tls", "bring-your-own"
_ADOPT_STEPS = (
    "1. adopt the deployed identity as your own, which changes no certificate: "
    "kubectl -n linkerd get configmap linkerd-identity-trust-roots "
    "-o jsonpath='{.data.ca-bundle\\.crt}' > deployed-bundle.crt; "
    "kubectl -n linkerd get secret linkerd-identity-issuer "
    "-o jsonpath='{.data.crt\\.pem}' | base64 -d > deployed-issuer.crt; "
    "kubectl -n linkerd get secret linkerd-identity-issuer "
    "-o jsonpath='{.data.key\\.pem}' | base64 -d > deployed-issuer.key; "
    "pulumi config set --secret --path linkerd.trustAnchorPem < deployed-bundle.crt; "
    "pulumi config set --secret --path linkerd.issuerCertPem < deployed-issuer.crt; "
    "pulumi config set --secret --path linkerd.issuerKeyPem < deployed-issuer.key; "
    "the generated anchor's key and certificate are protected, so let Pulumi forget them: "
    "pulumi state unprotect on each URN that `pulumi stack --show-urns | grep "
    "linkerd-trust-anchor` lists; pulumi up. "
    "2. move to your own anchor in the three bring-your-own rotation steps "
    "(docs/tasks/bring-your-own-certificates.md#rotate-your-own-trust-anchor)"
)


def identity_mode_problems(
    linkerd: LinkerdSettings, previous_identity: Mapping[str, Any] | None
) -> list[str]:
    """A switch of identity mode is one safe step only when the trust bundle stays the one
    deployed (the proxies running and the proxies to come then trust the same anchors), or when
    `replaceTrustBundle` names the deployed bundle, accepting the outage. A first deployment (no
    `linkerdIdentity`, or Linkerd disabled then or now) may choose either mode."""
    if not linkerd.enabled or not previous_identity:
        return []
    before = previous_identity.get("source")
    after = BRING_YOUR_OWN if linkerd.bring_your_own else GENERATED
    if before not in (GENERATED, BRING_YOUR_OWN) or before == after:
        return []
    deployed = previous_identity.get("trustRootsSha256")
    wanted = (
        bundle_sha256(chart_bundle([linkerd.trust_anchor_pem]))
        if linkerd.trust_anchor_pem is not None
        else None
    )
    if deployed and (wanted == deployed or linkerd.replace_trust_bundle == deployed):
        return []
    key = "cachemesh:linkerd.trustAnchorPem"
    outage = (
        "Changing the trust bundle and the signer in one `up` breaks every meshed connection: "
        "proxies started before it trust only the old anchors, proxies started after it only "
        "the new ones, until every meshed pod (the control plane's too) has restarted, and a "
        "cache's rollout cannot restart its pods one at a time across that split"
    )
    if not deployed:
        return [
            f"{key}: the last deployment "
            f"{'ran the generated identity' if before == GENERATED else 'brought its own identity'}"
            " and recorded no trust bundle hash (linkerdIdentity.trustRootsSha256), so a switch "
            f"of identity mode cannot be judged. {outage}. Run `pulumi up` once in the deployed "
            "mode first (it records the hash), then switch as "
            "docs/tasks/bring-your-own-certificates.md#switching-identity-mode describes"
        ]
    accept = (
        f"To accept the outage instead: pulumi config set --path linkerd.replaceTrustBundle "
        f"{deployed}; pulumi up; then restart the Linkerd control plane and every meshed "
        "workload, every cache at once (`kubectl delete pod` on all its pods: an in-memory "
        "cache loses its data), as "
        "docs/tasks/bring-your-own-certificates.md#switching-identity-mode describes"
    )
    if before == GENERATED:
        return [
            f"{key}: the last deployment ran the generated identity (pulumi-tls, trust bundle "
            f"sha256 {deployed}) and this configuration brings its own (sha256 {wanted}). "
            f"{outage}. Switch in steps: {_ADOPT_STEPS}. {accept}"
        ]
    return [
        f"{key}: the last deployment brought its own identity (trust bundle sha256 {deployed}) "
        "and this configuration removes it for the generated identity, whose new trust anchor "
        f"no running proxy trusts. {outage}. There is no step-by-step way into the generated "
        "identity: keep linkerd.trustAnchorPem, linkerd.issuerCertPem and "
        "linkerd.issuerKeyPem, and rotate your own anchor when needed "
        f"(docs/tasks/bring-your-own-certificates.md#rotate-your-own-trust-anchor). {accept}"
    ]


def check_identity_mode(
    linkerd: LinkerdSettings, previous_identity: Mapping[str, Any] | None
) -> None:
    problems = identity_mode_problems(linkerd, previous_identity)
    if problems:
        raise SettingsError(problems)
