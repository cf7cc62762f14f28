"""The mock-engine harness itself: runs are independent of each other."""

from harness import run_program


def test_exports_of_one_run_do_not_leak_into_the_next() -> None:
    assert "linkerdIdentity" in run_program().outputs
    assert "linkerdIdentity" not in run_program({"linkerd": {"enabled": False}}).outputs


def test_resources_of_one_run_do_not_leak_into_the_next() -> None:
    run_program({"caches": [{"name": "first"}]})
    names = {r.name for r in run_program({"caches": [{"name": "second"}]}).resources}
    assert "ignite/second" in names
    assert "ignite/first" not in names
