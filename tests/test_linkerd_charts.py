"""`cachemesh:linkerd.charts` under the mock engine: where each Linkerd Helm Release takes its
chart from (Linkerd's repository, a mirror, an OCI registry, a local directory), and the errors
for a source cachemesh cannot use, naming the key and the fix before anything is registered."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import fake_providers  # noqa: F401
import pytest
from harness import run_program
from linkerd_crds import SHARED_CRD_DIR, STANDIN_CRD_DIR
from linkerd_testing import CONTROL_PLANE, CRDS

CNI = ("kubernetes:helm.sh/v3:Release", "linkerd2-cni")
VERSION = "2026.8.1"


def _chart_yaml(name: str, version: str) -> str:
    return f"apiVersion: v2\nname: {name}\nversion: {version}\n"


def _unpacked(directory: Path, name: str, version: str = VERSION) -> Path:
    (directory / name).mkdir(parents=True)
    (directory / name / "Chart.yaml").write_text(_chart_yaml(name, version))
    return directory / name


def _archive(directory: Path, name: str, version: str = VERSION) -> Path:
    """A chart archive as `helm pull -d DIR` saves it: NAME-VERSION.tgz holding NAME/Chart.yaml."""
    path = directory / f"{name}-{version}.tgz"
    data = _chart_yaml(name, version).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def _charts(source: str, **linkerd: object) -> dict[str, object]:
    return {"linkerd": {"charts": source, **linkerd}}


def test_a_mirror_repository_replaces_linkerds_for_every_chart():
    run = run_program(_charts("https://charts.mirror.example/linkerd-edge/", cni=True))
    for release in (CRDS, CONTROL_PLANE, CNI):
        inputs = run.one(*release).inputs
        assert inputs["chart"] == release[1]
        assert inputs["repositoryOpts"] == {"repo": "https://charts.mirror.example/linkerd-edge"}
        assert inputs["version"] == VERSION


def test_an_oci_registry_gives_each_chart_as_a_reference_without_a_repository():
    run = run_program(_charts("oci://registry.example/mirror/linkerd", cni=True))
    for release in (CRDS, CONTROL_PLANE, CNI):
        inputs = run.one(*release).inputs
        assert inputs["chart"] == f"oci://registry.example/mirror/linkerd/{release[1]}"
        assert "repositoryOpts" not in inputs
        assert inputs["version"] == VERSION


def test_a_directory_of_pulled_archives_gives_each_release_its_archive(tmp_path):
    archives = {
        name: _archive(tmp_path, name) for name in ("linkerd-crds", "linkerd-control-plane")
    }
    run = run_program(_charts(str(tmp_path)))
    for release in (CRDS, CONTROL_PLANE):
        inputs = run.one(*release).inputs
        assert inputs["chart"] == str(archives[release[1]].resolve())
        assert "repositoryOpts" not in inputs


def test_a_directory_of_unpacked_charts_gives_each_release_its_directory(tmp_path):
    unpacked = {
        name: _unpacked(tmp_path, name)
        for name in ("linkerd-crds", "linkerd-control-plane", "linkerd2-cni")
    }
    run = run_program(_charts(str(tmp_path), cni=True))
    for release in (CRDS, CONTROL_PLANE, CNI):
        inputs = run.one(*release).inputs
        assert inputs["chart"] == str(unpacked[release[1]].resolve())
        assert "repositoryOpts" not in inputs


def test_a_directory_without_a_chart_is_refused_naming_the_key_the_chart_and_helm_pull(tmp_path):
    _archive(tmp_path, "linkerd-crds")
    with pytest.raises(Exception) as info:
        run_program(_charts(str(tmp_path)))
    message = str(info.value)
    assert "cachemesh:linkerd.charts: has no linkerd-control-plane chart" in message
    assert (
        f"helm pull linkerd-control-plane --repo https://helm.linkerd.io/edge --version {VERSION}"
        f" -d {tmp_path}" in message
    )
    assert "linkerd-crds chart" not in message


def test_the_cni_chart_is_required_in_the_directory_only_with_cni(tmp_path):
    for name in ("linkerd-crds", "linkerd-control-plane"):
        _archive(tmp_path, name)
    run_program(_charts(str(tmp_path)))
    with pytest.raises(Exception, match=r"cachemesh:linkerd\.charts: has no linkerd2-cni chart"):
        run_program(_charts(str(tmp_path), cni=True))


def test_an_unpacked_chart_of_another_version_is_refused_with_both_versions(tmp_path):
    _unpacked(tmp_path, "linkerd-crds", "2026.7.1")
    _archive(tmp_path, "linkerd-control-plane")
    with pytest.raises(Exception, match=r"is chart version 2026\.7\.1, not 2026\.8\.1"):
        run_program(_charts(str(tmp_path)))


def test_a_directory_that_does_not_exist_is_refused_naming_the_key(tmp_path):
    with pytest.raises(
        Exception, match=r"cachemesh:linkerd\.charts: .* is neither an http\(s\) or oci:// URL"
    ):
        run_program(_charts(str(tmp_path / "absent")))


def test_a_url_of_another_scheme_is_refused_naming_the_accepted_ones():
    with pytest.raises(
        Exception, match=r"cachemesh:linkerd\.charts: .*ftp://.* Helm repository URL"
    ):
        run_program(_charts("ftp://mirror.example/linkerd"))


def test_the_stand_in_charts_of_the_e2e_tier_are_a_usable_local_directory():
    standins = Path(__file__).parent / "fixtures" / "standin-charts"
    run = run_program(_charts(str(standins)))
    assert run.one(*CRDS).inputs["chart"] == str((standins / "linkerd-crds").resolve())
    assert run.one(*CONTROL_PLANE).inputs["chart"] == str(
        (standins / "linkerd-control-plane").resolve()
    )


def test_the_stand_in_crds_are_the_shared_reference_crds_byte_for_byte():
    # tests/linkerd_crds.py falls back to them where ../shared is not beside the checkout (CI).
    if not SHARED_CRD_DIR.exists():
        pytest.skip("the shared reference folder is not beside this checkout")
    shared = {p.name: p.read_bytes() for p in SHARED_CRD_DIR.glob("*.yaml")}
    standin = {p.name: p.read_bytes() for p in STANDIN_CRD_DIR.glob("*.yaml")}
    assert shared and standin == shared
