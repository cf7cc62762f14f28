"""Post-deploy checks for cachemesh clusters.

`checks.mtls` proves that the traffic between cache nodes is mutual TLS under Linkerd; run it with
`python -m checks.mtls --help`. `checks.rollout` restarts a cache's pods one at a time, each only
when the cluster is whole and rebalanced; run it with `python -m checks.rollout --help`.
"""
