"""The exec probe the pod template defines, run with the real bash against a loopback stand-in
for Ignite's REST API.

The stand-in answers like Ignite's probe handler: 200 "grid has started" or 503 "grid has not
started" (apache/ignite GridProbeCommandHandler; ../shared/research/day2-lifecycle.md 1a), over
HTTP/1.1 as Jetty does. The command is taken from the rendered pod template, only its port
argument pointed at the stand-in.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from harness import run_program

STS = "kubernetes:apps/v1:StatefulSet"
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="bash is not installed")


class _StandInRest(http.server.ThreadingHTTPServer):
    started = True
    silent = False
    requests: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _StandInRest

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.server.silent:
            time.sleep(3)
            return
        status = 200 if self.server.started else 503
        body = b'{"successStatus":0}' if status == 200 else b'{"error":"grid has not started"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@contextmanager
def _rest(**behaviour: bool) -> Iterator[_StandInRest]:
    server = _StandInRest(("127.0.0.1", 0), _Handler)
    server.requests = []
    for key, value in behaviour.items():
        setattr(server, key, value)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _probe_commands(timeout_seconds: int = 5) -> dict[str, list[str]]:
    config = {"caches": [{"name": "ignite", "probes": {"timeoutSeconds": timeout_seconds}}]}
    container = (
        run_program(config)
        .one(STS, "ignite/ignite")
        .kubernetes_object["spec"]["template"]["spec"]["containers"][0]
    )
    return {
        "readiness": container["readinessProbe"]["exec"]["command"],
        "liveness": container["livenessProbe"]["exec"]["command"],
    }


def _run(command: list[str], port: int) -> subprocess.CompletedProcess[str]:
    shell, *rest = command
    args = [BASH or shell, *rest]
    args[args.index("8080")] = str(port)
    return subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_probes_pass_when_the_node_answers_200() -> None:
    commands = _probe_commands()
    with _rest() as rest:
        for name, command in commands.items():
            assert _run(command, rest.server_address[1]).returncode == 0, name
    assert rest.requests == ["/ignite?cmd=probe", "/ignite?cmd=version"]


def test_the_readiness_probe_fails_while_the_grid_has_not_started() -> None:
    with _rest(started=False) as rest:
        result = _run(_probe_commands()["readiness"], rest.server_address[1])
    assert result.returncode == 1
    assert "answered 503" in result.stderr


def test_the_probe_fails_when_nothing_listens() -> None:
    assert _run(_probe_commands()["liveness"], _closed_port()).returncode != 0


def test_the_probe_gives_up_after_its_timeout_on_a_silent_node() -> None:
    with _rest(silent=True) as rest:
        started = time.monotonic()
        result = _run(_probe_commands(timeout_seconds=1)["readiness"], rest.server_address[1])
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "answered nothing" in result.stderr
    assert elapsed < 2.5
