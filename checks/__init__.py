"""Post-deploy checks for cachemesh clusters.

`checks.mtls` proves that the traffic between cache nodes is mutual TLS under Linkerd; run it with
`python -m checks.mtls --help`.
"""
