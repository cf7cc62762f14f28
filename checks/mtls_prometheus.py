"""The mTLS check's evidence from Prometheus instead of from every proxy.

A direct scrape reads every proxy's whole metrics text, and each proxy reports a series per peer,
so a round reads O(pods²). Here one PromQL query per round asks the server to aggregate the same
counters down to what the evaluation reads, per pod and port (no `dst_pod`, no `target_addr`), so
the answer grows with pods x ports. The answer is turned into the `Samples` the direct scrape
extracts from text (`checks.mtls_evidence.sample_evidence`, the same function), and the same
`evaluate` decides: one verdict engine for both sources.

Labels relied on: what linkerd-viz's `linkerd-proxy` scrape job attaches to every proxy series —
`job`, `namespace`, `pod` (linkerd/linkerd2 viz/charts/linkerd-viz/templates/prometheus.yaml at
b24cd4059841f8cee2fb7a9c2ac23a693c583579: `job_name: 'linkerd-proxy'`, `__meta_kubernetes_namespace`
-> `namespace`, `__meta_kubernetes_pod_name` -> `pod`) — and the proxy's own metric labels
(`direction`, `target_port`, `tls`, `no_tls_reason`, `client_id`, `server_id`, `dst_statefulset`,
`dst_namespace`, `srv_*`, `authz_*`, `saz_name`, `error`). A job with another name is
`--prometheus-job`.

Freshness: the check first asks the server for its own clock (`time()`, so a skewed local clock
does not matter). A pod counts only when `timestamp(up{...})` — the time of its last scrape — is
after that, and only series whose own `timestamp()` is after it are summed. A pod with no such
scrape is a `ScrapeFailure`: reported, never verified.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.mtls_evidence import AuthzSample, Connection, MetricsError, Samples, sample_evidence
from checks.mtls_report import Expectation, ScrapeFailure
from checks.mtls_tools import CannotRun, Tools, redact_url, run_tool

DEFAULT_JOB = "linkerd-proxy"
# The proxy labels the evaluation reads (checks/mtls_evidence.py sample_evidence); everything
# else — dst_pod and target_addr above all, which make the answer O(pods^2) — is summed away.
EVIDENCE_LABELS = (
    "direction",
    "target_port",
    "srv_port",
    "tls",
    "no_tls_reason",
    "client_id",
    "server_id",
    "dst_statefulset",
    "dst_namespace",
    "srv_kind",
    "srv_name",
    "authz_kind",
    "authz_name",
    "saz_name",
    "error",
)
# Counter name -> extra matchers. Only `unauthorized` errors are evidence (sample_evidence).
EVIDENCE_COUNTERS: tuple[tuple[str, str], ...] = (
    ("tcp_open_total", ""),
    ("inbound_tcp_authz_allow_total", ""),
    ("inbound_tcp_authz_deny_total", ""),
    ("inbound_tcp_authz_terminate_total", ""),
    ("inbound_tcp_errors_total", ',error="unauthorized"'),
)
METRIC_LABEL = "cachemesh_metric"
SUMMED_PEERS = "(all peers, summed by Prometheus)"
SCRAPED_AT = "scraped_at"
# The largest answer read from --prometheus-url: the round query's answer grows with pods x ports
# (a few hundred bytes a series), so even thousands of pods stay far below it.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
_CHUNK = 64 * 1024
UP = "up"
_SERVICE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)/([a-z0-9]([-a-z0-9]*[a-z0-9])?):(\S+)$")


class PrometheusError(Exception):
    """A query failed: the server could not be reached or did not answer a query result."""


def parse_service(text: str) -> tuple[str, str, str]:
    """`monitoring/prometheus:9090` -> (namespace, name, port). Raises ValueError otherwise."""
    match = _SERVICE.match(text.strip())
    if not match:
        raise ValueError(
            f"not NAMESPACE/NAME:PORT: {text!r} (e.g. linkerd-viz/prometheus:9090; the port may "
            "be a number or the Service port's name)"
        )
    return match.group(1), match.group(3), match.group(5)


def parse_url(text: str) -> str:
    """An http(s) base URL of a Prometheus-compatible API, without a trailing slash."""
    url = urllib.parse.urlsplit(text.strip())
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError(
            f"not an http(s) URL: {text!r} (e.g. http://prometheus.linkerd-viz.svc:9090, or a "
            "Thanos/Mimir query frontend's Prometheus API prefix)"
        )
    return text.strip().rstrip("/")


@dataclass(frozen=True)
class PrometheusEndpoint:
    """Where the Prometheus API is: a URL, or a Service reached through the API server's proxy."""

    url: str | None = None
    service: str | None = None  # NAMESPACE/NAME:PORT
    job: str = DEFAULT_JOB

    def describe(self) -> str:
        where = (
            redact_url(self.url)
            if self.url
            else f"service {self.service} (via the Kubernetes API server)"
        )
        return f"Prometheus at {where}, job {self.job!r}"


class _Deadline:
    """One request's overall deadline. `urlopen(timeout=...)` bounds each socket operation, not
    the request: a server that sends a byte every few seconds would hold it forever. When the
    time is up, every socket the request opened is shut down, which ends any read blocked on it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """urllib's opener (proxies from the environment, redirects, TLS) whose connections are
    handed to `deadline` as soon as they are connected, before the request is sent."""

    class Http(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            deadline.watch(self.sock)

    class Https(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            deadline.watch(self.sock)

    class HttpHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Http, req)

    class HttpsHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Https, req)

    # A subclass of a default handler replaces it (urllib.request.build_opener).
    return urllib.request.build_opener(HttpHandler, HttpsHandler)


@dataclass
class PrometheusClient:
    """GET /api/v1/query, by URL or with `kubectl get --raw` through the Service proxy. By URL,
    each request has one overall deadline (the call timeout) and its answer at most
    `max_answer_bytes`."""

    endpoint: PrometheusEndpoint
    tools: Tools
    bytes_read: int = field(default=0)
    max_answer_bytes: int = MAX_ANSWER_BYTES

    def _get_url(self, url: str) -> bytes:
        shown = redact_url(url)
        timeout = self.tools.call_timeout
        with _Deadline(timeout) as deadline:
            body = bytearray()
            try:
                with _opener(deadline).open(url, timeout=timeout) as response:
                    while chunk := response.read(_CHUNK):
                        body += chunk
                        if len(body) > self.max_answer_bytes:
                            raise PrometheusError(
                                f"GET {shown}: the answer is more than {self.max_answer_bytes} "
                                "bytes, far more than the check's query returns: is this a "
                                "Prometheus API?"
                            )
            except urllib.error.HTTPError as exc:
                detail = exc.read(300).decode("utf-8", "replace")
                raise PrometheusError(f"GET {shown}: HTTP {exc.code}: {detail}") from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                if not deadline.expired:
                    raise PrometheusError(f"GET {shown}: {exc}") from None
            if deadline.expired:
                # A read the deadline cut short may end like a complete answer: never use it.
                raise PrometheusError(f"GET {shown}: no complete answer within {timeout:g}s")
        return bytes(body)

    def _get(self, path_and_query: str) -> str:
        if self.endpoint.url:
            body = self._get_url(self.endpoint.url + path_and_query)
            self.bytes_read += len(body)
            return body.decode("utf-8", "replace")
        ns, name, port = parse_service(self.endpoint.service or "")
        path = f"/api/v1/namespaces/{ns}/services/{name}:{port}/proxy{path_and_query}"
        result = run_tool(
            self.tools.kubectl_argv(
                "get", "--raw", path, f"--request-timeout={max(1, int(self.tools.call_timeout))}s"
            ),
            self.tools.call_timeout,
        )
        if result.missing:
            raise CannotRun(f"{result.error}. Install kubectl, then re-run.")
        if not result.ok:
            raise PrometheusError(result.describe())
        self.bytes_read += len(result.stdout.encode())
        return result.stdout

    def query(self, promql: str) -> dict[str, Any]:
        """The `data` of an instant query's answer. Raises PrometheusError."""
        text = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise PrometheusError(f"not a Prometheus API answer: {text[:200]!r}") from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            error = doc.get("error") if isinstance(doc, dict) else None
            raise PrometheusError(f"query failed: {error or str(doc)[:200]}")
        data = doc.get("data")
        if not isinstance(data, dict):
            raise PrometheusError("query answer has no data")
        return data

    def server_time(self) -> float:
        """The server's clock (PromQL `time()`): freshness is judged on the server's clock."""
        data = self.query("time()")
        try:
            return float(data["result"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            raise PrometheusError(f"time() did not answer a scalar: {data}") from None


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selector(exp: Expectation, job: str) -> str:
    """The matchers for the cache's proxies: the scrape job, the namespace and the pod names."""
    pods = promql_string(f"{exp.statefulset}-[0-9]+")
    return f"job={promql_string(job)},namespace={promql_string(exp.namespace)},pod=~{pods}"


def _tag(expr: str, name: str) -> str:
    return f'label_replace({expr}, "{METRIC_LABEL}", "{name}", "", "")'


def round_query(exp: Expectation, job: str, started_at: float) -> str:
    """One query per round: the evidence counters summed per pod over the proxy labels the
    evaluation reads, only from samples scraped after `started_at`, plus each pod's last scrape
    time and `up`. Series in the answer: about pods x ports x (directions, outcomes)."""
    sel = selector(exp, job)
    ports = "|".join(str(p) for p in sorted(exp.ports))
    by = ", ".join(("pod", *EVIDENCE_LABELS))
    since = f"{started_at:.3f}"
    terms = []
    for name, extra in EVIDENCE_COUNTERS:
        series = f'{name}{{{sel},target_port=~"{ports}"{extra}}}'
        fresh = f"{series} and (timestamp({series}) > {since})"
        terms.append(_tag(f"sum by ({by}) ({fresh})", name))
    terms.append(_tag(f"max by (pod) (timestamp(up{{{sel}}}))", SCRAPED_AT))
    terms.append(_tag(f"min by (pod) (up{{{sel}}})", UP))
    return "\nor ".join(terms)


def _vector(data: Mapping[str, Any]) -> Iterable[tuple[dict[str, str], float]]:
    if data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise PrometheusError(f"expected a vector, got {data.get('resultType')!r}")
    for item in data["result"]:
        try:
            labels = {str(k): str(v) for k, v in item["metric"].items()}
            yield labels, float(item["value"][1])
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise PrometheusError(f"not a vector sample: {str(item)[:200]}") from None


def evidence_from_answer(
    exp: Expectation,
    data: Mapping[str, Any],
    started_at: float,
    pods: Iterable[str],
    endpoint: PrometheusEndpoint,
) -> dict[str, Samples | ScrapeFailure]:
    """Turn `round_query`'s answer into what `evaluate` takes per pod: the pod's `Samples`, or
    a ScrapeFailure when Prometheus has no scrape of it from after `started_at`."""
    ports = frozenset(exp.ports)
    scraped_at: dict[str, float] = {}
    up: dict[str, float] = {}
    connections: dict[str, list[Connection]] = {}
    authz: dict[str, list[AuthzSample]] = {}
    broken: dict[str, str] = {}
    for labels, value in _vector(data):
        pod = labels.get("pod", "")
        metric = labels.get(METRIC_LABEL)
        if metric == SCRAPED_AT:
            scraped_at[pod] = value
        elif metric == UP:
            up[pod] = value
        elif metric is not None:
            if labels.get("direction") == "outbound":
                # dst_pod was summed away (it is what makes the answer O(pods²)): the report's
                # `peers` says so instead of "(unknown)".
                labels["dst_pod"] = SUMMED_PEERS
            try:
                found = sample_evidence(metric, labels, value, ports)
            except MetricsError as exc:
                broken[pod] = str(exc)
                continue
            if isinstance(found, Connection):
                connections.setdefault(pod, []).append(found)
            elif found is not None:
                authz.setdefault(pod, []).append(found)
    out: dict[str, Samples | ScrapeFailure] = {}
    where = endpoint.describe()
    for pod in pods:
        last = scraped_at.get(pod)
        if last is None:
            out[pod] = ScrapeFailure(
                error=f"{where} has no scrape of this pod: it is not (yet) a target of the job. "
                "Check the job name (--prometheus-job) and the server's targets page; under a "
                "default-deny policy the proxy's admin port must admit Prometheus "
                "(linkerd viz allow-scrapes)."
            )
        elif last <= started_at:
            out[pod] = ScrapeFailure(
                error=f"{where} last scraped this pod at {last:.3f}, before the check started "
                f"({started_at:.3f}); waiting for a fresh scrape"
            )
        elif up.get(pod) != 1:
            out[pod] = ScrapeFailure(
                error=f"{where} could not scrape this pod's proxy (up={up.get(pod)}): the "
                "proxy's admin port did not answer; see the server's targets page"
            )
        elif pod in broken:
            out[pod] = ScrapeFailure(error=f"{where} answered a bad value: {broken[pod]}")
        else:
            out[pod] = Samples(connections.get(pod, []), authz.get(pod, []))
    return out


@dataclass
class PrometheusEvidence:
    """Collects a round's evidence from Prometheus; `started_at` is the server's clock at the
    start of the check (`start()`)."""

    client: PrometheusClient
    exp: Expectation
    started_at: float = 0.0

    def start(self) -> None:
        """Read the server's clock; an unreachable Prometheus means the check cannot run."""
        try:
            self.started_at = self.client.server_time()
        except PrometheusError as exc:
            raise CannotRun(
                f"cannot query {self.client.endpoint.describe()}: {exc}. Check "
                "--prometheus-url/--prometheus-service (kubectl get --raw needs services/proxy "
                "RBAC), then re-run."
            ) from None

    def collect(self, pods: Iterable[str]) -> dict[str, Samples | ScrapeFailure]:
        names = list(pods)
        if not names:
            return {}
        try:
            data = self.client.query(
                round_query(self.exp, self.client.endpoint.job, self.started_at)
            )
        except PrometheusError as exc:
            failure = ScrapeFailure(error=f"{self.client.endpoint.describe()}: {exc}")
            return dict.fromkeys(names, failure)
        return evidence_from_answer(self.exp, data, self.started_at, names, self.client.endpoint)
