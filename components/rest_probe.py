"""The cache pods' readiness and liveness request, sent over loopback from inside the container.

Pure data for the pod template (components/meshed_cache.py `probes`): an exec probe, never an
HTTP or TCP one, because Linkerd authorizes a kubelet HTTP probe's path for the probe networks
without an identity (components/cache_authorization.py).
"""

from __future__ import annotations

# The probes ask the node's REST API over loopback, from inside the container: traffic a pod sends
# to itself on `lo` is never redirected to the Linkerd proxy (linkerd/linkerd2-proxy-init
# proxy-init/pkg/iptables/iptables.go, cbe0b938: PROXY_INIT_OUTPUT's "ignore-loopback" rule
# `-o lo -j RETURN`, and inbound redirection hooks only PREROUTING, which locally generated
# packets do not traverse; linkerd-cni applies the same rules: cni-plugin/main.go, b6d932d8,
# buildAndConfigure -> iptables.ConfigureFirewall), so the pods' default-deny policy
# does not see it and no network rule has to open the REST port. Ignite's Jetty listens on the
# wildcard address when no localHost is configured (GridJettyRestProtocol: IGNITE_JETTY_HOST
# defaults to IgniteConfiguration.localHost; IgniteUtils.resolveLocalHost(null) is
# `new InetSocketAddress(0).getAddress()`), so 127.0.0.1 reaches it.
# What runs the request: bash's /dev/tcp (no curl, no wget). bash is in both images: the
# apacheignite/ignite image adds it to its Alpine base (`apk --no-cache add bash`) because its
# entry point is a bash script (apache/ignite deliveries/docker/apache-ignite/x86_64/Dockerfile,
# 1fb86691; run.sh, 00fe69fc, `#!/bin/bash`; not checked against the 2.16.0 tag); that Dockerfile
# installs no curl, and wget is there only as Alpine's BusyBox applet (whether the eclipse-temurin
# base keeps a curl is not checked). GridGain's image is not public; it starts the node through
# bin/ignite.sh, a bash script, and a -slim (Debian) base carries neither curl nor wget
# (inference, not seen in the image). bash builds /dev/tcp by default (GNU Bash manual, "Optional
# Features": every option but alt-array-implementation, disabled-builtins, direxpand-default,
# strict-posix-default and xpg-echo-default is on by default, --enable-net-redirections among
# them); Alpine's package does not turn it off (alpinelinux/aports main/bash/APKBUILD, c3b9918c,
# configure flags), nor does Debian's (Debian 12's bash 5.2.15 opens /dev/tcp in
# tests/test_rest_probe.py).
# The check is the kubelet's own for HTTP probes: a status from 200 to 399 passes
# (kubernetes pkg/probe/http/http.go). $1: port, $2: request path, $3: seconds to wait.
REST_PROBE_SCRIPT = (
    'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; '
    'printf "GET %s HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n" "$2" >&3; '
    'IFS=" " read -r -t "$3" _ status _ <&3; '
    'case "$status" in 2??|3??) exit 0;; esac; '
    'echo "GET $2 on 127.0.0.1:$1 answered ${status:-nothing}" >&2; '
    "exit 1"
)
PROBE_SHELL = "/bin/bash"


def rest_probe_command(port: int, path: str, timeout_seconds: int) -> list[str]:
    """The exec probe's argv: one REST request over loopback, passing on a 2xx/3xx status."""
    return [
        PROBE_SHELL,
        "-c",
        REST_PROBE_SCRIPT,
        "rest-probe",
        str(port),
        path,
        str(timeout_seconds),
    ]
