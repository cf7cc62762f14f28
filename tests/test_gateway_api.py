"""GatewayApiCrds under the mock engine: source, install: false, manifest, bad input."""

from __future__ import annotations

import fake_providers  # noqa: F401
import pytest
from harness import run_program
from linkerd_testing import CONFIG_FILE, CRDS

COMPONENT = ("cachemesh:index:GatewayApiCrds", "gateway-api")
RELEASE_URL = (
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/{}/standard-install.yaml"
)


def test_crds_come_from_the_pinned_release_url():
    run = run_program()
    assert run.one(*CONFIG_FILE).inputs["file"] == RELEASE_URL.format("v1.2.1")
    assert run.one(*CONFIG_FILE).parent == run.one(*COMPONENT).urn


def test_crds_are_kept_when_the_stack_is_destroyed():
    assert run_program().one(*CONFIG_FILE).options["retainOnDelete"] is True


def test_install_false_skips_the_crds_but_not_linkerd():
    run = run_program({"gatewayApi": {"install": False}})
    assert not run.of_type(COMPONENT[0]) and not run.of_type(CONFIG_FILE[0])
    assert run.one(*CRDS)


def test_local_manifest_is_applied_instead_of_the_release(tmp_path):
    manifest = tmp_path / "standard-install.yaml"
    manifest.write_text("# vendored\n")
    run = run_program({"gatewayApi": {"manifest": str(manifest)}})
    assert run.one(*CONFIG_FILE).inputs["file"] == str(manifest)


def test_manifest_url_is_applied_as_given():
    url = "https://mirror.example.com/gateway-api/v1.2.1/standard-install.yaml"
    run = run_program({"gatewayApi": {"manifest": url}})
    assert run.one(*CONFIG_FILE).inputs["file"] == url


def test_missing_manifest_file_names_the_key(tmp_path):
    with pytest.raises(Exception, match=r"cachemesh:gatewayApi\.manifest: .* neither an http"):
        run_program({"gatewayApi": {"manifest": str(tmp_path / "absent.yaml")}})


def test_malformed_version_names_the_key():
    with pytest.raises(Exception, match=r"cachemesh:gatewayApi\.version: '1\.2\.1' is not a"):
        run_program({"gatewayApi": {"version": "1.2.1"}})


def test_version_older_than_linkerd_supports_names_the_key():
    with pytest.raises(Exception, match=r"cachemesh:gatewayApi\.version: v1\.0\.0 is too old"):
        run_program({"gatewayApi": {"version": "v1.0.0"}})


def test_version_not_paired_with_the_linkerd_chart_names_the_key():
    with pytest.raises(Exception, match=r"cachemesh:gatewayApi\.version: v1\.5\.1 does not match"):
        run_program({"gatewayApi": {"version": "v1.5.1"}})


def test_version_paired_with_a_newer_linkerd_chart_is_accepted():
    run = run_program({"gatewayApi": {"version": "v1.5.1"}, "linkerd": {"version": "2026.8.3"}})
    assert run.one(*CONFIG_FILE).inputs["file"] == RELEASE_URL.format("v1.5.1")
