#!/usr/bin/env bash
# Build the e2e tier's real tools from Go modules (`make e2e-tools`), each into its cache directory
# $CACHEMESH_CACHE/e2e-tools/<name>-<version>/ (manifest.py names them), and only when it is not
# there yet: a second run builds nothing. Stand-ins are keyed by their source's digest, so only a
# stand-in whose source changed is built again.
#
#   e2e/tools/build.sh            every tool of manifest.py
#   e2e/tools/build.sh etcd kwok  only these
#
# A tool is built into a temporary directory beside its cache directory and renamed into place
# when the build succeeded, so an interrupted build leaves nothing that looks built. Cold, on a
# loaded 2-core machine, the whole set takes about 1.5 hours (docs/how-it-works/real-engine-tools.md).
# Needs Go (1.23+) and the Go module proxy; nothing is downloaded but Go modules.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest() { python3 "$HERE/manifest.py" "$@"; }

GO_BUILD=(go build -trimpath -buildvcs=false)

# The directory of a module version in the module cache (downloaded through the proxy if missing).
module_dir() {
  (cd "$HERE/etcd" && go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
}

# ---- real tools --------------------------------------------------------------------------------

# pulumi CLI: its main package (pkg/v3/cmd/pulumi) built as a dependency of our wrapper module,
# because pkg/v3's go.mod replaces sdk/v3 with ../sdk (go install refuses it). The wrapper requires
# pkg/v3 and sdk/v3 at the same release and copies pkg/v3's clipboard replace.
build_pulumi() {
  local out=$1 version=$2
  (cd "$HERE/pulumi" && "${GO_BUILD[@]}" -o "$out/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

# pulumi-resource-kubernetes: its cmd embeds generated files (schema-embed.json, made by
# `go generate`, not in the module), so our wrapper main calls provider.Serve with the schema and
# terraform mapping the module ships, copied beside the binary here.
build_pulumi-resource-kubernetes() {
  local out=$1 version=$2 src
  src="$(module_dir "github.com/pulumi/pulumi-kubernetes/provider/v4@$version")/cmd/pulumi-resource-kubernetes"
  cp "$src/schema.json" "$src/terraform-mapping.json" "$out/"
  chmod u+w "$out/schema.json" "$out/terraform-mapping.json"
  (cd "$HERE/pulumi-resource-kubernetes" && "${GO_BUILD[@]}" -o "$out/pulumi-resource-kubernetes" \
    -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${version#v}" .)
}

# etcd: our wrapper main does what etcd's root main.go does (etcdmain.Main), with the sibling
# modules required at the same release instead of replaced.
build_etcd() {
  local out=$1
  # The version etcd reports is a constant of the api module (api/v3/version); etcd's own build
  # adds only the git SHA, which a module build does not have.
  (cd "$HERE/etcd" && "${GO_BUILD[@]}" -o "$out/etcd" .)
}

# Kubernetes binaries: built from k8s.io/kubernetes as a dependency of our wrapper module, which
# replaces each staging module (./staging/src/k8s.io/X in k8s.io/kubernetes's go.mod) with its
# published release v0.<minor>.<patch>. Version ldflags as hack/lib/version.sh sets them (an
# unstamped kube-apiserver reports v0.0.0 and the kubernetes provider refuses it).
kube_ldflags() {
  local version=$1 minor
  minor="${version#v1.}"
  minor="${minor%%.*}"
  local flags=""
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}
build_kube() {
  local name=$1 out=$2 version=$3
  (cd "$HERE/kubernetes" && "${GO_BUILD[@]}" -o "$out/$name" -ldflags "$(kube_ldflags "$version")" \
    "k8s.io/kubernetes/cmd/$name")
}
build_kube-apiserver() { build_kube kube-apiserver "$@"; }
build_kube-controller-manager() { build_kube kube-controller-manager "$@"; }
build_kube-scheduler() { build_kube kube-scheduler "$@"; }
build_kubectl() { build_kube kubectl "$@"; }

# kwok: no replace directives, so a plain `go install` of the tagged module.
build_kwok() {
  local out=$1 version=$2
  GOBIN="$out" go install -trimpath -buildvcs=false \
    -ldflags "-X sigs.k8s.io/kwok/pkg/consts.Version=${version#v}" "sigs.k8s.io/kwok/cmd/kwok@$version"
}

# ---- stand-ins (our own Go; the Go proxy does not serve the real modules) ----------------------

# The Python language host stand-in runs the REAL pulumi-language-python-exec script, which ships
# in the sdk/v3 module (python/cmd/); it is copied beside the host, never committed.
build_pulumi-language-python() {
  local out=$1 sdk
  sdk="$(cd "$HERE/standins/pulumi-language-python" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)"
  (cd "$HERE/standins/pulumi-language-python" && "${GO_BUILD[@]}" -o "$out/pulumi-language-python" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${sdk#v}-standin" .)
  cp "$(module_dir "github.com/pulumi/pulumi/sdk/v3@$sdk")/python/cmd/pulumi-language-python-exec" "$out/"
  chmod 0755 "$out/pulumi-language-python-exec"
}

# The provider stand-ins report the version of the SDK they serve (set in their source).
build_pulumi-resource-tls() {
  (cd "$HERE/standins/providers" && "${GO_BUILD[@]}" -o "$1/pulumi-resource-tls" ./tls)
}
build_pulumi-resource-command() {
  (cd "$HERE/standins/providers" && "${GO_BUILD[@]}" -o "$1/pulumi-resource-command" ./command)
}

# ---- driver ------------------------------------------------------------------------------------

BUILDING="" # the temporary directory of the build under way, removed if the script stops
cleanup() {
  if [[ -n "$BUILDING" ]]; then
    rm -rf "$BUILDING"
    echo "build.sh: the build failed or was stopped; nothing was cached for it" >&2
  fi
}
trap cleanup EXIT

build_one() {
  local name=$1 version dir start
  version="$(manifest version "$name")"
  dir="$(manifest dir "$name")"
  if [[ -x "$dir/$name" ]]; then
    echo "$name $version: cached ($dir)"
    return
  fi
  echo "$name $version: building…"
  mkdir -p "$(dirname "$dir")"
  BUILDING="$(mktemp -d "$dir.tmp.XXXXXX")"
  chmod 0755 "$BUILDING"
  start=$SECONDS
  "build_$name" "$BUILDING" "$version"
  echo "$((SECONDS - start))" >"$BUILDING/.built" # build seconds, for the docs' build times
  rm -rf "$dir"
  mv "$BUILDING" "$dir"
  BUILDING=""
  echo "$name $version: built in $((SECONDS - start)) s ($dir)"
}

if [[ $# -gt 0 ]]; then
  names=("$@")
else
  mapfile -t names < <(manifest names)
fi
for name in "${names[@]}"; do
  if ! declare -F "build_$name" >/dev/null; then
    echo "build.sh: no recipe for tool '$name' (manifest.py names: $(manifest names | tr '\n' ' '))" >&2
    exit 2
  fi
done
for name in "${names[@]}"; do
  build_one "$name"
done
