"""The program reads its own last deployment before registering anything; a read that meets
the file backend writing the checkpoint (components/previous_deployment.py) is made again."""

from __future__ import annotations

import pytest
from existing_linkerd_testing import EngineError
from harness import run_program

from components.previous_deployment import TORN_READ_ATTEMPTS, is_torn_checkpoint_read

# The engine's words in the e2e tier (CLI v3.260.0, file backend), as the SDK raised them.
TORN = (
    "invoke of pulumi:pulumi:readStackOutputs failed: invocation of "
    "pulumi:pulumi:readStackOutputs returned an error: failed to load checkpoint: EOF"
)
ENGINE_TORN = "invocation of pulumi:pulumi:readStackOutputs returned an error: " + (
    "failed to load checkpoint: EOF"
)
PREVIOUS = {"linkerdIdentity": {"source": "pulumi-tls", "trustDomain": "cluster.local"}}


def test_the_torn_read_is_recognised_by_the_engines_words() -> None:
    assert is_torn_checkpoint_read(Exception(TORN))


@pytest.mark.parametrize(
    "message",
    [
        "invoke of pulumi:pulumi:readStackOutputs failed: unknown stack 'dev'",
        "failed to load checkpoint: snapshot integrity failure; refusing to use it",
    ],
)
def test_other_read_failures_are_not_torn_reads(message: str) -> None:
    assert not is_torn_checkpoint_read(Exception(message))


def test_a_torn_read_is_made_again_and_the_last_outputs_judge_the_run() -> None:
    # {1,[1]} deployed: a skipped step must still be refused after the first read tore.
    config = {"linkerd": {"trustAnchors": {"signing": 2, "trusted": [1, 2]}}}
    with pytest.raises(Exception, match=r"last deployment ran \{signing: 1, trusted: \[1\]\}"):
        run_program(
            config, previous_outputs=PREVIOUS, stack_read_failures=[EngineError(ENGINE_TORN)]
        )


@pytest.fixture
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("components.previous_deployment.TORN_READ_PAUSE_SECONDS", 0)


def test_a_read_that_tears_until_the_last_attempt_still_succeeds(no_pause: None) -> None:
    failures = [EngineError(ENGINE_TORN) for _ in range(TORN_READ_ATTEMPTS - 1)]
    run = run_program(previous_outputs=PREVIOUS, stack_read_failures=failures)
    assert run.stack_references == ["dev"] * TORN_READ_ATTEMPTS


def test_reads_that_keep_tearing_fail_the_run_with_the_engines_words(no_pause: None) -> None:
    failures = [EngineError(ENGINE_TORN) for _ in range(TORN_READ_ATTEMPTS)]
    with pytest.raises(Exception, match="failed to load checkpoint: EOF") as info:
        run_program(previous_outputs=PREVIOUS, stack_read_failures=failures)
    assert info.value.registered == []  # type: ignore[attr-defined]


def test_another_read_failure_is_not_retried() -> None:
    failures = [EngineError("invocation returned an error: unknown stack 'dev'")]
    with pytest.raises(Exception, match="unknown stack"):
        run_program(previous_outputs=PREVIOUS, stack_read_failures=failures)
