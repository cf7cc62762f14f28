"""The alerts reference, from the PrometheusRule the program builds (components/cache_alerts.py)
for the default stack's cache with the default `cachemesh:monitoring` settings."""

from __future__ import annotations

from components.cache_alerts import API_VERSION, KIND, CacheAlertsArgs, rule_groups
from components.kube import linkerd_identity
from scripts.docs_markdown import cell, generated_header
from settings.model import Settings

HEADER = generated_header("components/cache_alerts.py (rule_groups, for the default stack's cache)")


def default_args() -> CacheAlertsArgs:
    """The alerts of the default stack: one Ignite 2 cache `ignite`, strict authorization."""
    settings = Settings()
    cache = settings.caches[0]
    own = linkerd_identity(cache.name, cache.namespace, settings.linkerd.trust_domain)
    renewal = settings.linkerd.certificates.early_renewal_hours
    return CacheAlertsArgs.for_cache(cache, own, settings.monitoring, renewal)


def alerts_md() -> str:
    args = default_args()
    groups = rule_groups(args)
    out = [
        HEADER,
        "# Alerts reference",
        "",
        f"With `cachemesh:monitoring.prometheusRules` each cache gets a `{API_VERSION}` "
        f"**{KIND}** `<cache>-mtls-alerts` in its namespace. Below are the rules the program "
        f"builds for the default stack's cache `{args.namespace}/{args.cache_name}` "
        f"({args.replicas} replicas, strict authorization, window `{args.window}`, job "
        f"`{args.job}`); another cache differs only in its names, ports, replicas and "
        "admitted identities. Each alert's annotations carry the same likely cause and fix as "
        "the mTLS check's report; `{{ $labels.pod }}` is filled in by Prometheus.",
        "",
        "| alert | severity | for | summary |",
        "|---|---|---|---|",
    ]
    rules = [r for g in groups for r in g["rules"]]
    for r in rules:
        name = r["alert"]
        out.append(
            f"| [`{name}`](#{name.lower()}) | {r['labels']['severity']} | {r.get('for', '—')} | "
            f"{cell(r['annotations']['summary'])} |"
        )
    out.append("")
    for g in groups:
        out += [f"Rule group `{g['name']}`.", ""]
    for r in rules:
        notes = r["annotations"]
        out += [
            f"## {r['alert']}",
            "",
            f"Severity **{r['labels']['severity']}**"
            + (f", fires after {r['for']}" if "for" in r else ", fires at once")
            + ".",
            "",
            f"**What it means:** {cell(notes['description'])}",
            "",
            f"**Likely cause:** {cell(notes['likely_cause'])}",
            "",
            f"**Fix:** {cell(notes['fix'])}",
            "",
            "```promql",
            r["expr"],
            "```",
            "",
        ]
    return "\n".join(out).rstrip() + "\n"
