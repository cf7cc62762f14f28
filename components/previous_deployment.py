"""What the stack's last deployment exported, read before anything is registered.

The program cannot see its previous state by itself; some configuration changes are safe only as
one step from what is deployed (a trust-anchor rotation, components/trust_anchors.py) or are
never safe on a running cache (a change that makes Kubernetes replace the StatefulSet,
settings/immutable.py). Both are judged against these outputs, read once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime.sync_await import _sync_await

# The stack reference that reads this stack's own last deployment.
PREVIOUS_DEPLOYMENT = "cachemesh-previous-deployment"


def previous_outputs() -> Mapping[str, Any]:
    """The stack outputs of this stack's last deployment ({} for a stack never deployed), read
    through a StackReference to the stack itself. Pulumi's builtin provider answers a stack
    reference with the root stack resource's outputs of the stack's latest snapshot, and with no
    outputs at all for a stack that was never deployed (pulumi/pulumi
    pkg/resource/deploy/builtins.go readStackReference, commit 01c4ec3; pkg/backend/backend.go
    GetStackOutputs, commit 01d0d64: `if res == nil { return resource.PropertyMap{}, nil }`), so
    the first deployment reads {}. Under the mock engine the read reaches Mocks.new_resource
    (pulumi.runtime.mocks.MockMonitor.ReadResource); tests/harness.py answers it with
    `previous_outputs`. The program must know the answer before it registers anything, so it
    waits for the read here (as a synchronous invoke does in the Python SDK)."""
    # Pulumi Cloud: the fully qualified name. The DIY backend calls its only organization
    # "organization" and its legacy layout refuses names with slashes, while a bare stack name
    # resolves in the current project in both layouts (pkg/backend/diy ParseReference).
    org = pulumi.get_organization()
    stack = pulumi.get_stack()
    name = stack if org in (None, "", "organization") else f"{org}/{pulumi.get_project()}/{stack}"
    ref = pulumi.StackReference(PREVIOUS_DEPLOYMENT, stack_name=name)
    outputs = ref.outputs

    async def read() -> Mapping[str, Any]:
        if not await outputs.is_known():
            return {}
        values = await outputs.future()
        return dict(values or {})

    return _sync_await(read())


def previous_identity(outputs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The last deployment's `linkerdIdentity` output, if it had one."""
    identity = outputs.get("linkerdIdentity")
    return identity if isinstance(identity, Mapping) else None
