"""SIGTERM and SIGINT during a check: stop at once, leave no tool running, still report.

Each tool call runs in its own session (`start_new_session`, so `linkerd diagnostics`'
port-forward can be killed with it), which also means Ctrl-C in a terminal does not reach it, and
Python's default handlers stop the check without a word while the call runs on. Inside
`interruptible()` a SIGTERM or SIGINT instead kills the process group of every running call
(threads' calls included), refuses new ones, and raises `Interrupted` in the main thread, which
the command line turns into an "interrupted" report with its own exit code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGINT)

# Reentrant: the handler runs in the main thread, which may hold it when the signal arrives.
_lock = threading.RLock()
_running: set[subprocess.Popen[str]] = set()
_stopping = False


class Interrupted(BaseException):
    """A SIGTERM or SIGINT arrived. A BaseException, so `except Exception` never swallows it."""

    def __init__(self, signum: int) -> None:
        self.signal = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.signal}")


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the call's whole process group (it leads its own session)."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def started(proc: subprocess.Popen[str]) -> None:
    """Track a running call; killed at once when a signal already arrived."""
    with _lock:
        _running.add(proc)
        stopping = _stopping
    if stopping:
        kill_group(proc)


def finished(proc: subprocess.Popen[str]) -> None:
    with _lock:
        _running.discard(proc)


def _stop(signum: int, _frame: FrameType | None) -> None:
    global _stopping
    with _lock:
        _stopping = True
        procs = list(_running)
    for proc in procs:
        kill_group(proc)
    raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """Handle SIGTERM/SIGINT as described above while the block runs (main thread only; signal
    handlers cannot be set elsewhere), then restore the previous handlers."""
    global _stopping
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _stop) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with _lock:
            _stopping = False
