"""`pulumi config set --path` / `pulumi config rm --path` as the Pulumi CLI applies them to a
project's config, so tests can follow the commands the program prints.

A port of pulumi/pulumi sdk/go/common/resource/config/map.go (`Map.Set`, `Map.Remove`) and
object.go (`object.Set`, `object.Delete`, `newContainer`) and value.go (`coerceObject`: a value
that parses as a bool or an integer is stored as one),
commit 1b5949891b3cefcb9974752b24a5ecef0acc86c8:
- set on a missing container creates it from the next accessor: an index n makes a list of n+1
  entries, so `set 'a.list[1]' 2` on a missing list stores [null, 2];
- set on index len(list) appends; an index beyond that is the error "array index out of range";
- rm of a list index splices it out (later entries shift down); an index out of range, or a
  missing key, is silently ignored.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

_SEGMENT = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


class ConfigPathError(Exception):
    pass


def parse_path(path: str) -> list[str | int]:
    out: list[str | int] = []
    for index, name in _SEGMENT.findall(path):
        out.append(int(index) if index else name)
    return out


def _coerce(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    try:
        return int(value)
    except ValueError:
        return value


def _new_container(accessor: str | int) -> Any:
    return [None] * (accessor + 1) if isinstance(accessor, int) else {}


def _set(node: Any, prefix: int, path: list[str | int], value: Any) -> Any:
    if not path:
        return value
    head = path[0]
    if node is None or (not isinstance(node, list | dict) and prefix == 1):
        node = _new_container(head)
    elif not isinstance(node, list | dict):
        raise ConfigPathError(f"expected a{'n array' if isinstance(head, int) else ' map'}")
    if isinstance(node, list):
        if not isinstance(head, int):
            raise ConfigPathError("key for an array must be an int")
        if head < 0 or head > len(node):
            raise ConfigPathError("array index out of range")
        if head == len(node):
            node.append(None)
        node[head] = _set(node[head], prefix + 1, path[1:], value)
        return node
    if not isinstance(head, str):
        raise ConfigPathError("key for a map must be a string")
    node[head] = _set(node.get(head), prefix + 1, path[1:], value)
    return node


def _delete(node: Any, path: list[str | int]) -> None:
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        if not isinstance(head, int) or not 0 <= head < len(node):
            return
        if not rest:
            del node[head]
        else:
            _delete(node[head], rest)
    elif isinstance(node, dict) and isinstance(head, str):
        if not rest:
            node.pop(head, None)
        elif head in node:
            _delete(node[head], rest)


def apply(command: str, config: dict[str, Any]) -> None:
    """Apply one `pulumi config set|rm --path KEY [VALUE]` to `config` (the project's keys, as
    the program reads them: {"linkerd": {...}, ...})."""
    words = shlex.split(command)
    if words[:2] != ["pulumi", "config"] or words[3] != "--path":
        raise ConfigPathError(f"not a `pulumi config set|rm --path` command: {command}")
    path = parse_path(words[4])
    root, rest = path[0], path[1:]
    assert isinstance(root, str)
    if words[2] == "set":
        (value,) = words[5:]
        if not rest:
            config[root] = _coerce(value)
            return
        config[root] = _set(config.get(root), 1, rest, _coerce(value))
    elif words[2] == "rm":
        assert len(words) == 5, command
        if not rest:
            config.pop(root, None)
        elif root in config:
            _delete(config[root], rest)
    else:
        raise ConfigPathError(f"unknown config verb in {command}")
