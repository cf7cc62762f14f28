#!/usr/bin/env bash
# Deploys (or previews) a cachemesh stack with a local file state backend.
#   scripts/up.sh STACK [--preview] [extra pulumi args...]
# Creates the state directory and the stack if needed; with no usable kube context and `kind`
# installed, creates a kind cluster named cachemesh first. Installs nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-dev}; shift || true
action=up
if [[ ${1:-} == --preview ]]; then action=preview; shift; fi

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is not installed. $2" >&2; exit 2; }
}
need pulumi "Install the Pulumi CLI: https://www.pulumi.com/docs/install/ (e.g. 'curl -fsSL https://get.pulumi.com | sh' or 'brew install pulumi/tap/pulumi')."
need kubectl "Install kubectl: https://kubernetes.io/docs/tasks/tools/"

if ! kubectl config current-context >/dev/null 2>&1; then
  if command -v kind >/dev/null 2>&1; then
    echo "No kube context: creating a kind cluster named cachemesh." >&2
    kind create cluster --name cachemesh
  else
    echo "error: kubectl has no current context. Point it at a cluster, or install kind (https://kind.sigs.k8s.io/) and rerun." >&2
    exit 2
  fi
fi

: "${PULUMI_BACKEND_URL:=file://$PWD/.pulumi-state}"
: "${PULUMI_CONFIG_PASSPHRASE:=cachemesh-dev}"
export PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE
if [[ $PULUMI_BACKEND_URL == file://* ]]; then mkdir -p "${PULUMI_BACKEND_URL#file://}"; fi

pulumi stack select --create "$stack" --secrets-provider passphrase
if [[ $action == up ]]; then
  pulumi up --stack "$stack" --yes "$@"
  pulumi stack output --stack "$stack" --json
else
  pulumi preview --stack "$stack" "$@"
fi
