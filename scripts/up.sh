#!/usr/bin/env bash
# Deploys (or previews) a cachemesh stack with a local file state backend by default.
#   scripts/up.sh STACK [--preview] [--yes] [extra pulumi args...]
#
# It says first which cluster it will change: the stack's `kubernetes:context` if set, else the
# current context of the stack's `kubernetes:kubeconfig` if set (what pulumi-kubernetes deploys
# to), else kubectl's current context. Then:
# - interactive (a terminal, no --yes): `pulumi up` shows the preview and asks before changing
#   anything;
# - --yes (CI): the stack must name its cluster (`pulumi config set kubernetes:context NAME`), so
#   an unattended run never deploys to whatever kubectl happens to point at; the one exception is
#   a kind cluster this script has just created for the stack, whose context it records.
# With no usable kube context and `kind` installed, it creates a kind cluster named cachemesh
# first (one control-plane and two worker nodes, scripts/kind-cachemesh.yaml, so the caches can
# spread). Installs nothing else. New stacks use the passphrase secrets provider unless
# CACHEMESH_SECRETS_PROVIDER names another (`default`: the backend's own, e.g. Pulumi Cloud's;
# `awskms://…`); the published passphrase `cachemesh-dev` is the default for the `dev` stack only,
# every other passphrase stack needs PULUMI_CONFIG_PASSPHRASE(_FILE) of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-dev}; shift || true
action=up
yes=false
extra=()
for arg in "$@"; do
  case $arg in
    --preview) action=preview ;;
    --yes) yes=true ;;
    *) extra+=("$arg") ;;
  esac
done

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is not installed. $2" >&2; exit 2; }
}
need pulumi "Install the Pulumi CLI: https://www.pulumi.com/docs/install/ (e.g. 'curl -fsSL https://get.pulumi.com | sh' or 'brew install pulumi/tap/pulumi')."
need kubectl "Install kubectl: https://kubernetes.io/docs/tasks/tools/"

: "${PULUMI_BACKEND_URL:=file://$PWD/.pulumi-state}"
export PULUMI_BACKEND_URL
secrets_provider=${CACHEMESH_SECRETS_PROVIDER:-passphrase}
if [[ $secrets_provider == passphrase && -z ${PULUMI_CONFIG_PASSPHRASE+set} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]]; then
  if [[ $stack == dev ]]; then
    # Published in the docs (docs/getting-started.md): it protects nothing. Only for the throw-away dev stack.
    export PULUMI_CONFIG_PASSPHRASE=cachemesh-dev
  else
    echo "error: stack '$stack' has no passphrase: the published 'cachemesh-dev' is for the dev stack only (it would encrypt this stack's trust-anchor and issuer keys with a password anyone can read). Set your own: export PULUMI_CONFIG_PASSPHRASE_FILE=/path/to/passphrase (or PULUMI_CONFIG_PASSPHRASE), or use a shared backend with its own secrets provider (docs/getting-started.md#state-and-secrets-local-or-shared)." >&2
    exit 2
  fi
fi
if [[ $PULUMI_BACKEND_URL == file://* ]]; then mkdir -p "${PULUMI_BACKEND_URL#file://}"; fi

pulumi stack select --create "$stack" --secrets-provider "$secrets_provider"
# The stack's kubernetes:kubeconfig, if set, is the kubeconfig pulumi-kubernetes deploys with, so
# the target is read from it, not from kubectl's own. As the provider reads the key
# (provider/pkg/provider/util.go parseKubeconfigString, 94977969; checks/kubeconfig.py): `~/` is
# the home directory, a value naming an existing file is its path, anything else is the contents,
# handed to kubectl as a private file removed on exit.
kubeconfig=()
stack_kubeconfig=$(pulumi config get kubernetes:kubeconfig --stack "$stack" 2>/dev/null || true)
if [[ -n $stack_kubeconfig ]]; then
  [[ $stack_kubeconfig == "~" || $stack_kubeconfig == "~/"* ]] && stack_kubeconfig=$HOME${stack_kubeconfig:1}
  if [[ $stack_kubeconfig != *$'\n'* && -f $stack_kubeconfig ]]; then
    kubeconfig=(--kubeconfig "$stack_kubeconfig")
  elif [[ $stack_kubeconfig != *$'\n'* && ${stack_kubeconfig#"${stack_kubeconfig%%[![:space:]]*}"} != \{* ]]; then
    # One line naming no file, not JSON: a path that does not exist (checks/kubeconfig.py).
    echo "error: the stack's kubernetes:kubeconfig names no existing file and is not kubeconfig contents (YAML with several lines, or JSON). Fix it: pulumi config set kubernetes:kubeconfig /path/to/kubeconfig --stack $stack (or set --secret with the contents)." >&2
    exit 2
  else
    kubeconfig_dir=$(mktemp -d)  # mode 0700
    trap 'rm -rf "$kubeconfig_dir"' EXIT
    (umask 077 && printf '%s\n' "$stack_kubeconfig" >"$kubeconfig_dir/kubeconfig")
    kubeconfig=(--kubeconfig "$kubeconfig_dir/kubeconfig")
  fi
fi
context=$(pulumi config get kubernetes:context --stack "$stack" 2>/dev/null || true)
source="the stack's kubernetes:context"
named=true  # the stack names its cluster (or a kind cluster was just made for it)
created_kind=false
if [[ -z $context && ${#kubeconfig[@]} -eq 0 ]] && ! kubectl config current-context >/dev/null 2>&1; then
  if command -v kind >/dev/null 2>&1; then
    echo "No kube context: creating a kind cluster named cachemesh." >&2
    kind create cluster --name cachemesh --config scripts/kind-cachemesh.yaml
    created_kind=true
  else
    echo "error: kubectl has no current context. Point it at a cluster, or install kind (https://kind.sigs.k8s.io/) and rerun." >&2
    exit 2
  fi
fi
if [[ -z $context && $created_kind == true ]]; then
  # kind names its context kind-<cluster name>; recorded, so later runs target it explicitly.
  context=kind-cachemesh
  pulumi config set kubernetes:context "$context" --stack "$stack"
  source="the kind cluster just created for this stack"
fi
if [[ -z $context && ${#kubeconfig[@]} -gt 0 ]]; then
  context=$(kubectl "${kubeconfig[@]}" config current-context 2>/dev/null || true)
  source="the current context of the stack's kubernetes:kubeconfig; the stack does not set kubernetes:context"
  named=false
  if [[ -z $context ]]; then
    echo "error: the stack's kubernetes:kubeconfig has no current context and the stack sets no kubernetes:context. Name the cluster: pulumi config set kubernetes:context NAME --stack $stack" >&2
    exit 2
  fi
fi
if [[ -z $context ]]; then
  context=$(kubectl config current-context)
  source="kubectl's current context; the stack does not set kubernetes:context"
  named=false
fi
server=$(kubectl ${kubeconfig[@]+"${kubeconfig[@]}"} config view --minify --context "$context" -o 'jsonpath={.clusters[0].cluster.server}' 2>/dev/null || true)
echo "Target: stack '$stack' -> kube context '$context' (${server:-server unknown}), from $source." >&2

if [[ $action == preview ]]; then
  pulumi preview --stack "$stack" ${extra[@]+"${extra[@]}"}
  exit 0
fi
if [[ $yes == true ]]; then
  if [[ $named == false ]]; then
    echo "error: --yes deploys without asking, so the stack must name its cluster; it would use ${source%%;*} '$context'. If that is the cluster: pulumi config set kubernetes:context '$context' --stack $stack (or run without --yes to see the preview and answer)." >&2
    exit 2
  fi
  pulumi up --stack "$stack" --yes ${extra[@]+"${extra[@]}"}
else
  if [[ ! -t 0 ]]; then
    echo "error: not a terminal, so pulumi cannot ask before deploying. Run it in a terminal, or for CI: pulumi config set kubernetes:context NAME --stack $stack, then make up YES=1 (scripts/up.sh $stack --yes)." >&2
    exit 2
  fi
  # Pulumi shows the preview and asks "Do you want to perform this update?".
  pulumi up --stack "$stack" ${extra[@]+"${extra[@]}"}
fi
pulumi stack output --stack "$stack" --json
