#!/usr/bin/env bash
# STAND-IN for Apache Ignite's control.sh, for the e2e tier only: kwok runs no containers, so
# `kubectl exec POD -- sh -c '... "$IGNITE_HOME/bin/control.sh" --metric cluster'` runs this
# script on the host (kwok's ClusterExec, e2e/cluster.py, sets IGNITE_HOME to this directory's
# parent and CACHEMESH_E2E_NAMESPACE to the pod's namespace). It answers as a cluster whose server
# nodes are exactly the namespace's Ready pods would: TotalServerNodes = Ready pods, Rebalanced
# true. What real 2.16.0 nodes print is tested on real nodes (tests/test_ignite_real.py); this
# only lets checks.rollout's gates run against the real API server, Eviction API and
# StatefulSet controller. The table's layout is the 2.16.0 one
# (tests/fixtures/rollout/control-metric-cluster-ignite-2.16.0.txt).
set -euo pipefail
if [[ "${1:-}" != "--metric" || "${2:-}" != "cluster" ]]; then
  echo "stand-in control.sh: only --metric cluster is answered (got: $*)" >&2
  exit 2
fi
ready=$(kubectl --kubeconfig "$CACHEMESH_E2E_KUBECONFIG" -n "$CACHEMESH_E2E_NAMESPACE" get pods \
  -o jsonpath='{range .items[*]}{.metadata.deletionTimestamp}{"|"}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
  | grep -c '^|True$' || true)
cat <<TABLE
Control utility [ver. 2.16.0#stand-in e2e/standin_ignite]
Command [METRIC] started
Arguments: --metric cluster
--------------------------------------------------------------------------------
metric                         value
cluster.Rebalanced             true
cluster.TotalServerNodes       $ready
Command [METRIC] finished with code: 0
TABLE
