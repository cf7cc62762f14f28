"""The Helm values cachemesh sets on Linkerd's charts, restated in our own words, each checked by
hand against the chart's `values.yaml` at the pinned chart version 2026.8.1 (linkerd/linkerd2 tag
edge-26.8.1, commit 3af2f450ebf435625d4c313c5785025a97ff76e3; line numbers at that commit).

The tests hold the program to this table: a value path the program sends that is not here fails,
so a new value is only added after someone has found it in the chart (the chart would otherwise
ignore a misspelt key without a word). Moving the default chart version means checking every
entry again against the new `values.yaml`.
"""

from __future__ import annotations

SOURCE_COMMIT = "3af2f450ebf435625d4c313c5785025a97ff76e3"

# chart -> {leaf value path: what it is, and where the chart declares it}
CHART_VALUES: dict[str, dict[str, str]] = {
    "linkerd-crds": {
        "installGatewayAPI": "whether the chart installs the Gateway API CRDs itself; "
        "cachemesh installs them (charts/linkerd-crds/values.yaml line 4)",
    },
    "linkerd-control-plane": {
        "cniEnabled": "the CNI plugin replaces linkerd-init (values.yaml line 62)",
        "identityTrustAnchorsPEM": "the trust anchor bundle (line 64)",
        "identityTrustDomain": "the identity trust domain (line 67)",
        "identity.issuer.scheme": "where the issuer comes from: linkerd.io/tls (line 473)",
        "identity.issuer.tls.crtPEM": "the issuer certificate (line 484)",
        "identity.issuer.tls.keyPEM": "the issuer private key (line 488)",
        "proxyInjector.externalSecret": "serve from a Secret the chart does not make "
        "(proxyInjector block, line 512; key line 520)",
        "proxyInjector.caBundle": "the injector webhook's CA bundle (line 557)",
        "profileValidator.externalSecret": "as above, for the ServiceProfile validator "
        "(block line 588; key line 593)",
        "profileValidator.caBundle": "its CA bundle (line 617)",
        "policyValidator.externalSecret": "as above, for the policy validator "
        "(block line 633; key line 638)",
        "policyValidator.caBundle": "its CA bundle (line 662)",
    },
    "linkerd2-cni": {
        "repairController.enabled": "run the repair controller "
        "(charts/linkerd2-cni/values.yaml, block line 96, key line 98)",
    },
}


def known_paths(chart: str) -> set[str]:
    """Every stated leaf path and each mapping above it (`identity`, `identity.issuer`, …)."""
    paths: set[str] = set()
    for leaf in CHART_VALUES[chart]:
        parts = leaf.split(".")
        paths.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return paths
