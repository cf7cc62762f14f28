"""Settings of the admission-time rules: `cachemesh:admission` (docs/tasks/admission-policies.md).

The policy pack judges this program's resources before deploy; these ValidatingAdmissionPolicies
judge, in the API server, every object that reaches the covered namespaces, whoever applies it
(kubectl, Helm, an operator).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from settings.base import SettingsModel, dns1123_label


class ValidationAction(StrEnum):
    # admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding.spec.validationActions.
    DENY = "Deny"
    WARN = "Warn"
    AUDIT = "Audit"


# Namespaces the policies never cover: the mesh's control plane (linkerd, linkerd-cni, and the
# viz/jaeger/multicluster extensions) and Kubernetes' own. A policy that refused there could
# stop the proxy injector or the CNI plugin from coming back, and with them every meshed pod.
PROTECTED_NAMESPACES: tuple[str, ...] = (
    "linkerd",
    "linkerd-cni",
    "linkerd-viz",
    "linkerd-jaeger",
    "linkerd-multicluster",
    "kube-system",
    "kube-public",
    "kube-node-lease",
)


class AdmissionSettings(SettingsModel):
    # Opt-in: the policies judge objects cachemesh does not own (anything another tool puts in
    # the covered namespaces) and need an API server that serves the v1 API (Kubernetes 1.30+),
    # which the program reads from the cluster before deploying. Both are the cluster owner's
    # call to make.
    enabled: bool = Field(
        default=False,
        description="Deploy ValidatingAdmissionPolicies that refuse, in the API server, what the "
        "policy pack's mandatory rules refuse before deploy (cache ports not opaque, injection "
        "on the workload instead of its pod template, skipped cache ports, cache Servers "
        "reachable without mesh TLS), whoever applies the object. Needs Kubernetes 1.30+ "
        "(admissionregistration.k8s.io/v1).",
    )
    validation_actions: tuple[ValidationAction, ...] = Field(
        default=(ValidationAction.DENY,),
        min_length=1,
        description="What the API server does with an object a policy refuses: `Deny` (reject "
        "it), `Warn` (admit it with a warning to the client), `Audit` (admit it and record it in "
        "the audit log). `Deny` and `Warn` together are refused by the API server; `Audit` goes "
        "with either.",
    )
    namespaces: tuple[Annotated[str, AfterValidator(dns1123_label)], ...] | None = Field(
        default=None,
        description="The namespaces the policies cover. Unset: the namespaces of the caches "
        "(which cachemesh creates and owns). The control plane's namespaces and Kubernetes' own "
        f"({', '.join(PROTECTED_NAMESPACES)}) are refused: they are never covered.",
    )

    @field_validator("validation_actions")
    @classmethod
    def _one_answer(cls, actions: tuple[ValidationAction, ...]) -> tuple[ValidationAction, ...]:
        # kubernetes pkg/apis/admissionregistration/validation/validation.go
        # validateValidationActions: "Deny and Warn may not both be included", no duplicates.
        if len(set(actions)) != len(actions):
            raise ValueError("lists an action twice; give each once")
        if ValidationAction.DENY in actions and ValidationAction.WARN in actions:
            raise ValueError(
                "holds both Deny and Warn, which the API server refuses (a denied request gets "
                "no warning); choose one, optionally with Audit"
            )
        return actions

    @field_validator("namespaces")
    @classmethod
    def _namespace_names(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if names is None:
            return None
        if not names:
            raise ValueError("is empty, which would cover nothing; leave it unset for the caches'")
        protected = [n for n in names if n in PROTECTED_NAMESPACES]
        if protected:
            raise ValueError(
                f"names {', '.join(protected)}, where the policies never apply: a refusal there "
                "could keep Linkerd's control plane or Kubernetes' own pods from starting. "
                "Remove it"
            )
        return names
