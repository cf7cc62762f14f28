"""LinkerdControlPlane under the mock engine: ordering, chart values, certificates, secrecy,
renewal, trust-anchor protection, identity outputs and `linkerd.enabled: false`."""

from __future__ import annotations

import datetime as dt
import json

import fake_providers
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from harness import run_program
from linkerd_chart_values import known_paths
from linkerd_testing import (
    CONFIG_FILE,
    CONTROL_PLANE,
    CRDS,
    STATEFULSET,
    byo,
    is_secret_path,
    key_paths,
    kubert_load_private_key,
    make_cert,
    walk,
)

from pki import linkerd as linkerd_pki

TLS_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"


@pytest.fixture(scope="module")
def default_run():
    return run_program()


def _gen(run) -> int:
    return run.outputs["linkerdIdentity"]["issuerGeneration"]


# --- ordering -------------------------------------------------------------------------------


def test_every_cache_waits_for_gateway_api_crds_linkerd_crds_and_control_plane(default_run):
    run = default_run
    waits = run.waits_for(run.one(*STATEFULSET))
    for dep in (CONTROL_PLANE, CRDS, CONFIG_FILE):
        assert run.one(*dep).urn in waits


def test_linkerd_crds_wait_for_gateway_api_crds(default_run):
    run = default_run
    # Recorded on the release itself: a component's depends_on does not reach its children.
    assert run.one(*CONFIG_FILE).urn in run.one(*CRDS).dependencies


def test_control_plane_waits_for_crds_webhook_secrets_and_issuer(default_run):
    run = default_run
    waits = run.waits_for(run.one(*CONTROL_PLANE))
    assert run.one(*CRDS).urn in waits
    for secret in run.of_type("kubernetes:core/v1:Secret"):
        if secret.name.startswith("linkerd/"):
            assert secret.urn in waits
    assert run.one(LOCALLY_SIGNED, f"linkerd-issuer-g{_gen(run)}").urn in waits


# --- chart values ---------------------------------------------------------------------------


def _known_keys(chart: str) -> set[str]:
    return known_paths(chart)


def test_control_plane_values_use_only_keys_of_the_chart(default_run):
    values = default_run.one(*CONTROL_PLANE).inputs["values"]
    unknown = set(key_paths(values)) - _known_keys("linkerd-control-plane")
    assert not unknown


def test_the_chart_key_check_catches_a_misspelt_key(default_run):
    values = default_run.one(*CONTROL_PLANE).inputs["values"]
    misspelt = {**values, "identity": {"issuer": {"tls": {"crtPem": "x"}}}}
    assert set(key_paths(misspelt)) - _known_keys("linkerd-control-plane") == {
        "identity.issuer.tls.crtPem"
    }


def test_crds_values_use_only_keys_of_the_chart_and_leave_gateway_api_alone(default_run):
    values = default_run.one(*CRDS).inputs["values"]
    assert values == {"installGatewayAPI": False}
    assert set(key_paths(values)) <= _known_keys("linkerd-crds")


def test_charts_come_from_the_edge_repository_at_the_pinned_version(default_run):
    for release in (CRDS, CONTROL_PLANE):
        inputs = default_run.one(*release).inputs
        assert inputs["repositoryOpts"] == {"repo": "https://helm.linkerd.io/edge"}
        assert inputs["version"] == "2026.8.1"
        assert inputs["namespace"] == "linkerd"
        assert inputs["name"] == release[1]


def test_control_plane_waits_until_ready(default_run):
    inputs = default_run.one(*CONTROL_PLANE).inputs
    assert inputs["skipAwait"] is False
    assert inputs["timeout"] >= 300


WEBHOOK_SECRETS = (
    ("proxyInjector", "linkerd-proxy-injector", "linkerd-proxy-injector-k8s-tls"),
    ("profileValidator", "linkerd-sp-validator", "linkerd-sp-validator-k8s-tls"),
    ("policyValidator", "linkerd-policy-validator", "linkerd-policy-validator-k8s-tls"),
)


def test_webhooks_use_external_secrets_with_a_stable_ca_bundle(default_run):
    run = default_run
    values = run.one(*CONTROL_PLANE).inputs["values"]
    for key, service, secret_name in WEBHOOK_SECRETS:
        assert values[key]["externalSecret"] is True
        secret = run.one("kubernetes:core/v1:Secret", f"linkerd/{secret_name}").inputs
        assert secret["type"] == "kubernetes.io/tls"
        assert secret["metadata"]["namespace"] == "linkerd"
        assert secret["stringData"]["tls.crt"] == values[key]["caBundle"]
        cert = x509.load_pem_x509_certificate(values[key]["caBundle"].encode())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.DNSName) == [f"{service}.linkerd.svc"]


def test_webhook_secrets_carry_the_labels_of_the_charts_own_secrets(default_run):
    # charts/linkerd-control-plane/templates/{proxy-injector,destination}-rbac.yaml @edge-26.8.1
    expected = {
        "linkerd-proxy-injector-k8s-tls": "proxy-injector",
        "linkerd-sp-validator-k8s-tls": "destination",
        "linkerd-policy-validator-k8s-tls": "destination",
    }
    for secret_name, component in expected.items():
        meta = default_run.one("kubernetes:core/v1:Secret", f"linkerd/{secret_name}").inputs
        labels = meta["metadata"]["labels"]
        assert labels["linkerd.io/control-plane-component"] == component
        assert labels["linkerd.io/control-plane-ns"] == "linkerd"


def test_webhook_secret_keys_load_in_the_policy_controller_and_match_their_certificates(
    default_run,
):
    for _, _, secret_name in WEBHOOK_SECRETS:
        data = default_run.one("kubernetes:core/v1:Secret", f"linkerd/{secret_name}").inputs
        assert data["stringData"]["tls.key"].startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
        key = kubert_load_private_key(data["stringData"]["tls.key"])
        cert = x509.load_pem_x509_certificate(data["stringData"]["tls.crt"].encode())
        assert linkerd_pki.key_matches(cert, key)


def test_a_sec1_key_is_refused_by_the_policy_controllers_loader():
    # The loader the test above relies on must refuse what pulumi-tls's private_key_pem gives.
    sec1 = fake_providers._pem_key(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ValueError, match="could not load private key"):
        kubert_load_private_key(sec1)


def test_linkerd_namespace_is_labelled_as_linkerd_install_labels_it(default_run):
    meta = default_run.one("kubernetes:core/v1:Namespace", "linkerd").inputs["metadata"]
    assert meta["name"] == "linkerd"
    assert meta["labels"]["linkerd.io/is-control-plane"] == "true"
    assert meta["labels"]["config.linkerd.io/admission-webhooks"] == "disabled"
    assert meta["labels"]["linkerd.io/control-plane-ns"] == "linkerd"
    assert meta["annotations"]["linkerd.io/inject"] == "disabled"


def test_identity_values_carry_trust_domain_anchor_and_issuer(default_run):
    values = default_run.one(*CONTROL_PLANE).inputs["values"]
    assert values["identityTrustDomain"] == "cluster.local"
    assert values["identity"]["issuer"]["scheme"] == "linkerd.io/tls"
    anchor = x509.load_pem_x509_certificate(values["identityTrustAnchorsPEM"].encode())
    issuer = x509.load_pem_x509_certificate(values["identity"]["issuer"]["tls"]["crtPEM"].encode())
    assert linkerd_pki.common_name(anchor) == "root.linkerd.cluster.local"
    assert linkerd_pki.common_name(issuer) == "identity.linkerd.cluster.local"
    assert linkerd_pki.chain_problem([issuer], [anchor], linkerd_pki.utc_now()) is None


# --- certificates ---------------------------------------------------------------------------


def test_every_key_is_ecdsa_p256(default_run):
    keys = default_run.of_type(TLS_KEY)
    assert len(keys) == 5  # anchor, issuer, three webhooks
    for key in keys:
        assert (key.inputs["algorithm"], key.inputs["ecdsaCurve"]) == ("ECDSA", "P256")


def test_trust_anchor_is_a_long_lived_root_ca(default_run):
    anchor = default_run.one(SELF_SIGNED, "linkerd-trust-anchor").inputs
    assert anchor["subject"]["commonName"] == "root.linkerd.cluster.local"
    assert anchor["isCaCertificate"] is True
    assert set(anchor["allowedUses"]) == {"cert_signing", "crl_signing"}
    assert anchor["validityPeriodHours"] == 87600


def test_issuer_has_no_path_length_constraint_as_pulumi_tls_issues_it(default_run):
    run = default_run
    issuer = run.one(LOCALLY_SIGNED, f"linkerd-issuer-g{_gen(run)}")
    assert "maxPathLength" not in issuer.inputs
    cert = x509.load_pem_x509_certificate(issuer.outputs["certPem"].encode())
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is True and constraints.path_length is None


def test_issuer_is_a_ca_signed_by_the_anchor_with_configured_validity():
    run = run_program(
        {"linkerd": {"certificates": {"validityHours": 4380, "earlyRenewalHours": 720}}}
    )
    issuer = run.one(LOCALLY_SIGNED, f"linkerd-issuer-g{_gen(run)}").inputs
    assert issuer["isCaCertificate"] is True
    assert "cert_signing" in issuer["allowedUses"]
    assert (issuer["validityPeriodHours"], issuer["earlyRenewalHours"]) == (4380, 720)
    anchor = run.one(SELF_SIGNED, "linkerd-trust-anchor")
    assert issuer["caCertPem"] == anchor.outputs["certPem"]


def test_custom_trust_domain_names_anchor_issuer_and_identity_values():
    run = run_program({"linkerd": {"trustDomain": "mesh.example.org"}})
    values = run.one(*CONTROL_PLANE).inputs["values"]
    assert values["identityTrustDomain"] == "mesh.example.org"
    anchor = run.one(SELF_SIGNED, "linkerd-trust-anchor").inputs
    assert anchor["subject"]["commonName"] == "root.linkerd.mesh.example.org"
    csr = run.one("tls:index/certRequest:CertRequest", f"linkerd-issuer-csr-g{_gen(run)}")
    assert csr.inputs["subject"]["commonName"] == "identity.linkerd.mesh.example.org"
    assert run.outputs["linkerdHealthy"]["healthy"] is True


# --- secrecy --------------------------------------------------------------------------------


def _assert_no_plain_private_key(run) -> None:
    for resource in run.resources:
        for path, value in walk(resource.inputs):
            if isinstance(value, str) and "PRIVATE KEY" in value:
                assert is_secret_path(path, resource.secret_inputs), (resource.name, path)
    assert "PRIVATE KEY" not in json.dumps(run.outputs)


def test_every_private_key_the_program_passes_on_is_secret(default_run):
    run = default_run
    _assert_no_plain_private_key(run)
    assert "values.identity.issuer.tls.keyPEM" in run.one(*CONTROL_PLANE).secret_inputs
    gen = _gen(run)
    assert run.one(LOCALLY_SIGNED, f"linkerd-issuer-g{gen}").secret_inputs >= {"caPrivateKeyPem"}
    assert "privateKeyPem" in run.one(SELF_SIGNED, "linkerd-trust-anchor").secret_inputs


def test_bring_your_own_issuer_key_stays_secret_in_chart_values():
    config, secrets = byo()
    run = run_program(config, secrets=secrets)
    _assert_no_plain_private_key(run)
    assert "values.identity.issuer.tls.keyPEM" in run.one(*CONTROL_PLANE).secret_inputs


# --- trust anchor protection and issuer renewal ---------------------------------------------


def test_trust_anchor_is_protected_and_the_issuer_is_not(default_run):
    run = default_run
    assert run.one(SELF_SIGNED, "linkerd-trust-anchor").options["protect"] is True
    assert run.one(TLS_KEY, "linkerd-trust-anchor-key").options["protect"] is True
    assert run.one(LOCALLY_SIGNED, f"linkerd-issuer-g{_gen(run)}").options["protect"] is False


def _at(monkeypatch, when: dt.datetime) -> None:
    monkeypatch.setattr(linkerd_pki, "utc_now", lambda: when)


def _stable_view(run) -> dict[tuple[str, str], dict]:
    """Each resource's inputs minus PEMs (which pulumi-tls keeps in state, the fakes regenerate)
    and with the bundle's hash (which follows the PEMs) replaced by a placeholder."""
    sha = run.outputs["linkerdIdentity"]["trustRootsSha256"]
    view = {}
    for r in run.resources:
        view[(r.type, r.name)] = {
            p: v.replace(sha, "<trust-roots-sha256>") if isinstance(v, str) else v
            for p, v in walk(r.inputs)
            if not (isinstance(v, str) and "-----BEGIN" in v) and not p.startswith("__")
        }
    return view


def test_second_run_with_nothing_changed_registers_the_same_inputs(monkeypatch):
    _at(monkeypatch, dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC))
    first = _stable_view(run_program())
    _at(monkeypatch, dt.datetime(2026, 9, 2, 12, tzinfo=dt.UTC))
    assert _stable_view(run_program()) == first


def test_issuer_and_webhook_certs_are_reissued_once_their_renewal_window_opens(monkeypatch):
    start = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
    _at(monkeypatch, start)
    before = run_program()
    gen = _gen(before)
    # One validity-minus-early-renewal period later the issuer has <= earlyRenewalHours left.
    _at(monkeypatch, start + dt.timedelta(hours=8760 - 1440))
    after = run_program()
    assert _gen(after) == gen + 1
    names = {r.name for r in after.resources}
    assert f"linkerd-issuer-g{gen + 1}" in names and f"linkerd-issuer-g{gen}" not in names
    assert f"linkerd-proxy-injector-webhook-g{gen + 1}" in names
    # The trust anchor is never part of the rotation.
    assert "linkerd-trust-anchor" in names


def test_generation_changes_before_the_issuer_enters_its_renewal_window():
    from components.linkerd_identity import renewal_generation

    issued = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    gen = renewal_generation(issued, 8760, 1440)
    window_opens = issued + dt.timedelta(hours=8760 - 1440)
    assert renewal_generation(window_opens, 8760, 1440) > gen


# --- identity outputs -----------------------------------------------------------------------


def test_identity_outputs_report_expiry_dates_and_health(default_run):
    identity = default_run.outputs["linkerdIdentity"]
    assert set(identity["trustAnchor"]) == {"notAfter"}
    assert set(identity["issuer"]) == {"notAfter"}
    anchor_until = dt.datetime.fromisoformat(identity["trustAnchor"]["notAfter"])
    issuer_until = dt.datetime.fromisoformat(identity["issuer"]["notAfter"])
    assert anchor_until - issuer_until > dt.timedelta(days=3000)
    assert default_run.outputs["linkerdHealthy"] == {
        "healthy": True,
        "trustAnchorsUseSupportedCrypto": True,
        "trustAnchorsWithinValidity": True,
        "issuerUsesSupportedCrypto": True,
        "issuerWithinValidity": True,
        "issuerIssuedByTrustAnchor": True,
        "proxiesAcceptIssuerChain": True,
        "trustAnchorsValidFor60Days": True,
        "issuerValidFor60Days": True,
        "warnings": [],
    }
    assert not [w for w in default_run.warnings() if "expires" in w]


def test_outputs_are_the_same_when_the_program_runs_again_a_day_later(monkeypatch):
    # Both runs fall inside one issuer generation, against one stack: the fake provider keeps
    # what it created, as pulumi-tls's state does, so unchanged inputs give the same PEMs.
    first_day = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
    monkeypatch.setattr(fake_providers, "STATE", {})
    _at(monkeypatch, first_day)
    first = run_program()
    _at(monkeypatch, first_day + dt.timedelta(days=1))
    second = run_program()
    assert second.outputs["linkerdIdentity"] == first.outputs["linkerdIdentity"]
    assert second.outputs["linkerdHealthy"] == first.outputs["linkerdHealthy"]


def test_issuer_under_60_days_is_a_warning_not_unhealthy():
    anchor = make_cert("root.linkerd.cluster.local", days=3650)
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor, days=31)
    config, secrets = byo(anchor, issuer)
    run = run_program(config, secrets=secrets)
    health = run.outputs["linkerdHealthy"]
    assert health["issuerValidFor60Days"] is False
    assert health["healthy"] is True
    until = issuer.cert.not_valid_after_utc
    assert health["warnings"] == [
        f"identity issuer {linkerd_pki.describe(issuer.cert)} expires on {until:%Y-%m-%d}, within "
        "60 days; run `pulumi up` to re-issue a generated issuer, or replace a brought one"
    ]
    assert run.outputs["linkerdIdentity"]["issuer"]["notAfter"] == until.isoformat()
    assert any("identity issuer" in w and "expires in 29 days" in w for w in run.warnings())


def test_every_anchor_of_a_bundle_is_checked_for_60_days():
    anchor = make_cert("root.linkerd.cluster.local", days=3650)
    old = make_cert("old-root.linkerd.cluster.local", days=40)
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor)
    config, secrets = byo(anchor, issuer)
    secrets["linkerd"]["trustAnchorPem"] = anchor.cert_pem + old.cert_pem
    run = run_program(config, secrets=secrets)
    health = run.outputs["linkerdHealthy"]
    assert health["trustAnchorsValidFor60Days"] is False and health["healthy"] is True
    assert any("old-root.linkerd.cluster.local" in w for w in health["warnings"])


def test_bring_your_own_identity_makes_no_identity_certificates():
    config, secrets = byo()
    run = run_program(config, secrets=secrets)
    assert {r.name for r in run.of_type(LOCALLY_SIGNED)} == set()
    assert "linkerd-trust-anchor" not in {r.name for r in run.of_type(SELF_SIGNED)}
    assert run.outputs["linkerdIdentity"]["source"] == "bring-your-own"
    assert run.outputs["linkerdHealthy"]["healthy"] is True


def test_health_flags_a_p384_anchor_as_unhealthy():
    anchor = make_cert("root.linkerd.cluster.local", curve=ec.SECP384R1)
    issuer = make_cert("identity.linkerd.cluster.local", signer=anchor)
    report = linkerd_pki.identity_report(anchor.cert_pem, issuer.cert_pem, linkerd_pki.utc_now())
    assert report.checks()["trustAnchorsUseSupportedCrypto"] is False
    assert report.healthy is False


def test_health_flags_an_issuer_without_client_auth_as_unhealthy():
    # `linkerd check` passes it (Go asks for serverAuth only); the proxies would not.
    anchor = make_cert("root.linkerd.cluster.local")
    issuer = make_cert(
        "identity.linkerd.cluster.local",
        signer=anchor,
        extended_key_usage=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    report = linkerd_pki.identity_report(anchor.cert_pem, issuer.cert_pem, linkerd_pki.utc_now())
    assert report.checks()["issuerIssuedByTrustAnchor"] is True
    assert report.checks()["proxiesAcceptIssuerChain"] is False
    assert report.healthy is False


def test_health_flags_an_intermediate_without_server_auth_as_unhealthy():
    anchor = make_cert("root.linkerd.cluster.local")
    middle = make_cert(
        "intermediate.linkerd.cluster.local",
        signer=anchor,
        extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    issuer = make_cert("identity.linkerd.cluster.local", signer=middle)
    report = linkerd_pki.identity_report(
        anchor.cert_pem, issuer.cert_pem + middle.cert_pem, linkerd_pki.utc_now()
    )
    assert report.checks()["proxiesAcceptIssuerChain"] is False
    assert report.healthy is False


# --- linkerd.enabled: false -----------------------------------------------------------------


def test_disabled_linkerd_deploys_no_mesh_resources_and_warns():
    run = run_program({"linkerd": {"enabled": False}})
    types = {r.type for r in run.resources}
    assert not any(t.startswith(("tls:", "kubernetes:helm.sh", "kubernetes:yaml")) for t in types)
    assert "cachemesh:index:LinkerdControlPlane" not in types
    assert "linkerd" not in {r.name for r in run.of_type("kubernetes:core/v1:Namespace")}
    template = run.one(*STATEFULSET).inputs["spec"]["template"]["metadata"]
    assert "linkerd.io/inject" not in (template.get("annotations") or {})
    assert any("WITHOUT Linkerd" in w for w in run.warnings())
