"""Linkerd annotation keys and a strict parser for Linkerd port-list annotations.

Linkerd port lists (``config.linkerd.io/opaque-ports``, ``skip-inbound-ports``,
``skip-outbound-ports``) are comma-separated entries, each a port (``10800``), an
inclusive range (``47100-47200``) or, for opaque ports, a named container port
(``tcp-discovery``). As Linkerd does, this parser splits on commas only and trims each entry
(so ``"47100 47500"`` is one entry it cannot parse), ignores empty entries, and records
anything else as an error instead of raising, so that a rule can report "this annotation
cannot be parsed" as a clear violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

INJECT = "linkerd.io/inject"
OPAQUE_PORTS = "config.linkerd.io/opaque-ports"
SKIP_INBOUND_PORTS = "config.linkerd.io/skip-inbound-ports"
SKIP_OUTBOUND_PORTS = "config.linkerd.io/skip-outbound-ports"
SKIP_PORT_ANNOTATIONS: tuple[str, ...] = (SKIP_INBOUND_PORTS, SKIP_OUTBOUND_PORTS)
PROXY_AWAIT = "config.linkerd.io/proxy-await"
DEFAULT_INBOUND_POLICY = "config.linkerd.io/default-inbound-policy"

#: ``linkerd.io/inject`` values that add a proxy (``ingress`` is a proxy in ingress mode).
MESHED_INJECT_VALUES: frozenset[str] = frozenset({"enabled", "ingress"})

MIN_PORT = 1
MAX_PORT = 65535

_RANGE = re.compile(r"^(\d+)-(\d+)$")
# IANA_SVC_NAME as Kubernetes validates container port names: 1-15 chars of [a-z0-9-],
# at least one letter, no leading/trailing or double hyphen.
_PORT_NAME = re.compile(r"^(?!-)(?!.*--)[a-z0-9-]{1,15}(?<!-)$")


@dataclass(frozen=True)
class PortList:
    """A parsed port-list annotation."""

    raw: str
    entries: tuple[str, ...]
    ranges: tuple[tuple[int, int], ...]
    names: tuple[str, ...]
    errors: tuple[str, ...]
    invalid: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def covers(self, port: int, named_ports: Mapping[str, int] | None = None) -> bool:
        """Whether ``port`` is in the list, resolving named entries with ``named_ports``."""
        if any(lo <= port <= hi for lo, hi in self.ranges):
            return True
        if named_ports:
            return any(named_ports.get(name) == port for name in self.names)
        return False

    def unresolved_names(self, named_ports: Mapping[str, int]) -> tuple[str, ...]:
        """Named entries that match no container port name."""
        return tuple(name for name in self.names if name not in named_ports)

    def valid_entries(self) -> tuple[str, ...]:
        """The entries that parsed, in their original order and spelling (trimmed)."""
        bad = set(self.invalid)
        return tuple(e for e in self.entries if e not in bad)


def parse_port_list(value: object, allow_names: bool = True) -> PortList:
    """Parse a Linkerd port-list annotation value. Never raises.

    ``allow_names=False`` for the skip-port annotations: proxy-init programs iptables with
    numbers and ranges only, so a name there is an error.
    """
    if not isinstance(value, str):
        raw = repr(value)
        return PortList(raw, (), (), (), (f"{raw}: not a string",), (raw,))
    # Commas separate entries, each trimmed; whitespace inside an entry does not split it, as
    # Linkerd reads the list (linkerd/linkerd2 pkg/util/parsing.go GetPortRanges, 3a449e8b:
    # strings.Split on "," and strings.TrimSpace; an entry it cannot parse is skipped with a
    # warning). Empty entries (a trailing comma) are nothing, as there.
    entries = tuple(e.strip() for e in value.split(",") if e.strip())
    ranges: list[tuple[int, int]] = []
    names: list[str] = []
    errors: list[str] = []
    invalid: list[str] = []
    for entry in entries:
        before = len(errors)
        _parse_entry(entry, ranges, names, errors, allow_names)
        if len(errors) > before:
            invalid.append(entry)
    return PortList(value, entries, tuple(ranges), tuple(names), tuple(errors), tuple(invalid))


def _parse_entry(
    entry: str,
    ranges: list[tuple[int, int]],
    names: list[str],
    errors: list[str],
    allow_names: bool,
) -> None:
    """Parse one entry, appending to ``ranges``/``names`` or, if it is invalid, ``errors``."""
    if entry.isdigit():
        port = int(entry)
        if MIN_PORT <= port <= MAX_PORT:
            ranges.append((port, port))
        else:
            errors.append(f'"{entry}": port out of range {MIN_PORT}-{MAX_PORT}')
        return
    match = _RANGE.match(entry)
    if match:
        lo, hi = int(match.group(1)), int(match.group(2))
        if not (MIN_PORT <= lo <= MAX_PORT and MIN_PORT <= hi <= MAX_PORT):
            errors.append(f'"{entry}": range outside {MIN_PORT}-{MAX_PORT}')
        elif lo > hi:
            errors.append(f'"{entry}": range start is after its end')
        else:
            ranges.append((lo, hi))
        return
    if allow_names and _PORT_NAME.match(entry) and any(c.isalpha() for c in entry):
        names.append(entry)
        return
    expected = (
        "a port, a range like 47100-47200, or a port name" if allow_names else "a port or a range"
    )
    errors.append(f'"{entry}": not {expected}')


def merge_port_list(existing: object, missing: Iterable[int]) -> str:
    """The annotation value that keeps every valid existing entry and adds ``missing``.

    Existing valid entries keep their order and spelling; unparseable entries are dropped
    (Linkerd ignores them anyway); missing ports are appended in ascending order.
    """
    kept: list[str] = []
    if isinstance(existing, str) and existing.strip():
        kept = list(parse_port_list(existing).valid_entries())
    seen = set(kept)
    for port in sorted(set(missing)):
        if str(port) not in seen:
            kept.append(str(port))
            seen.add(str(port))
    return ",".join(kept)


def is_meshed_value(value: object) -> bool:
    return isinstance(value, str) and value.strip() in MESHED_INJECT_VALUES
