"""A cluster that already runs Linkerd, for `linkerd.controlPlane: existing` under the mock engine.

The program reads the cluster with pulumi-command's `local.run` function (`command:local:run`),
which the mock engine hands to `Mocks.call` (pulumi.runtime.mocks.MockMonitor.Invoke).
`KubectlCluster` answers it as pulumi-command running the real kubectl would:
- success: the function's inputs echoed with `stdout` and `stderr`, each without its last newline
  (pulumi/pulumi-command provider/pkg/provider/local/commandOutputs.go `run`, 010bd8e: `RunOutputs{
  RunInputs: input}`, `strings.TrimSuffix(stdoutbuf.String(), "\\n")`);
- `kubectl get --ignore-not-found -o json KIND/NAME...`: a `List` of the objects found, in the order
  asked, and no output at all when none is found (kubernetes/kubectl pkg/cmd/get/get.go
  printGeneric, dee3483a);
- a failing kubectl: the function fails with `exit status 1: running "<command>":\\n<output>`
  (commandOutputs.go `run`); the engine answers the program's Invoke RPC with that error wrapped
  as `invocation of <token> returned an error: <error>` (pulumi/pulumi pkg/resource/deploy/
  source_eval.go resmon.Invoke), a gRPC error, which the Python SDK raises to the caller as
  `invoke of <token> failed: <details>` (sdk/python/lib/pulumi/runtime/invoke.py do_invoke).
  A plain Python exception from Mocks.call would instead be an "unhandled" RPC failure that
  crashes the program whatever it catches, so the fake raises a grpc.RpcError as the engine's
  answer arrives.
"""

from __future__ import annotations

import copy
import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

FIXTURE = Path(__file__).parent / "fixtures" / "existing_linkerd" / "cluster.json"
RUN = "command:local:run"
# kubectl resource name -> (kind, namespaced)
KINDS: dict[str, tuple[str, bool]] = {
    "configmap": ("ConfigMap", True),
    "deployment": ("Deployment", True),
    "customresourcedefinition": ("CustomResourceDefinition", False),
}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
UNREACHABLE = (
    "E1203 08:00:00.000000   4242 memcache.go:265] couldn't get current server API group list: "
    'Get "https://127.0.0.1:6443/api?timeout=32s": dial tcp 127.0.0.1:6443: connect: connection '
    "refused\nThe connection to the server 127.0.0.1:6443 was refused - did you specify the right "
    "host or port?"
)


class EngineError(grpc.RpcError):
    """The engine's gRPC answer to a failed Invoke (status UNKNOWN: a plain Go error)."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details


def linkerd_objects() -> list[dict[str, Any]]:
    """The objects of a cluster whose Linkerd cachemesh can use (a fresh copy)."""
    return copy.deepcopy(json.loads(FIXTURE.read_text())["objects"])


class KubectlCluster:
    """Answers `command:local:run` of a `kubectl get` from `objects`; records every command."""

    def __init__(self, objects: list[dict[str, Any]], fail_with: str | None = None) -> None:
        self.objects = objects
        self.fail_with = fail_with
        self.commands: list[str] = []
        # Each read's KUBECONFIG and, while the read runs, that file's contents.
        self.kubeconfigs: list[tuple[str | None, str | None]] = []

    def find(self, kind: str, name: str) -> dict[str, Any]:
        return next(o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name)

    def _get(self, argv: list[str]) -> str:
        assert argv[:2] == ["kubectl", "get"], argv
        # Flags that take a value, and the one that takes none; anything else is KIND/NAME.
        with_value = {"-o", "-n", "--context", "--kubeconfig"}
        flags: dict[str, str] = {}
        wanted: list[tuple[str, str]] = []
        words = iter(argv[2:])
        for word in words:
            if word in with_value:
                flags[word] = next(words)
            elif word == "--ignore-not-found":
                flags[word] = ""
            else:
                resource, _, name = word.partition("/")
                assert resource in KINDS and name, f"unsupported argument {word!r}"
                wanted.append((resource, name))
        assert flags.get("-o") == "json" and "--ignore-not-found" in flags, argv
        namespace = flags.get("-n", "default")
        found = []
        for resource, name in wanted:
            kind, namespaced = KINDS[resource]
            for obj in self.objects:
                meta = obj["metadata"]
                if obj["kind"] != kind or meta["name"] != name:
                    continue
                if namespaced and meta.get("namespace") != namespace:
                    continue
                found.append(obj)
        if not found:
            return ""
        listing = {"apiVersion": "v1", "items": found, "kind": "List"}
        listing["metadata"] = {"resourceVersion": ""}
        return json.dumps(listing, indent=4) + "\n"

    def __call__(self, args: MockCallArgs) -> Mapping[str, Any]:
        command = args.args["command"]
        self.commands.append(command)
        path = (args.args.get("environment") or {}).get("KUBECONFIG")
        self.kubeconfigs.append((path, Path(path).read_text() if path else None))
        if self.fail_with is not None:
            error = f"exit status 1: running {json.dumps(command)}:\n{self.fail_with}\n"
            raise EngineError(f"invocation of {RUN} returned an error: {error}")
        stdout = self._get(shlex.split(command))
        return {**args.args, "stdout": stdout.removesuffix("\n"), "stderr": ""}

    def read(self, args: MockResourceArgs) -> Mapping[str, Any]:
        """`Deployment.get(name, "NS/NAME")` through the Kubernetes provider: the live object
        (pulumi-kubernetes provider/pkg/provider/provider.go Read, 94977969, parses the id with
        parseFqName and returns the object read), or the engine's error when there is none."""
        namespace, _, name = str(args.resource_id).rpartition("/")
        for obj in self.objects:
            meta = obj["metadata"]
            if obj["kind"] == "Deployment" and (meta.get("namespace"), meta["name"]) == (
                namespace,
                name,
            ):
                return copy.deepcopy(obj)
        raise Exception(f"resource '{args.resource_id}' does not exist")
