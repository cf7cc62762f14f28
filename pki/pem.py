"""PEM text read the way Go's `encoding/pem.Decode` reads it, which is how every Linkerd Go
component (identity controller, `linkerd install`, `linkerd check`) reads certificates and keys.

Behaviour reproduced (golang/go src/encoding/pem/pem.go @08b16d70, `Decode`):
- text before a `-----BEGIN X-----` line is skipped; the BEGIN line must start the input or follow
  a newline;
- `Key: value` header lines may follow the BEGIN line;
- the END line must name the same type and be followed by nothing but spaces/tabs on its line;
- a block whose body is not valid base64 is skipped like any other non-PEM text;
- what follows the END line's newline is the rest.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

_BEGIN = "-----BEGIN "
_END_MARK = "-----END "
_DASHES = "-----"


@dataclass(frozen=True)
class PemBlock:
    type: str
    der: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self) -> str:
        """The block as Go's pem.Encode writes it (64-column base64, trailing newline)."""
        body = base64.b64encode(self.der).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return (
            "\n".join([f"{_BEGIN}{self.type}{_DASHES}", *lines, f"{_END_MARK}{self.type}{_DASHES}"])
            + "\n"
        )


def _line(text: str) -> tuple[str, str]:
    """First line without its newline (and trailing spaces/tabs), and the rest after it."""
    i = text.find("\n")
    if i < 0:
        return text.rstrip(" \t"), ""
    line = text[:i]
    if line.endswith("\r"):
        line = line[:-1]
    return line.rstrip(" \t"), text[i + 1 :]


def _next_begin(text: str) -> str | None:
    if text.startswith(_BEGIN):
        return text[len(_BEGIN) :]
    i = text.find("\n" + _BEGIN)
    return None if i < 0 else text[i + 1 + len(_BEGIN) :]


def decode(data: str) -> tuple[PemBlock | None, str]:
    """The next PEM block in `data` and the text after it; (None, data) when there is none."""
    rest = data
    while True:
        after = _next_begin(rest)
        if after is None:
            return None, data
        type_line, rest = _line(after)
        if not type_line.endswith(_DASHES):
            continue
        block_type = type_line[: -len(_DASHES)]
        headers: list[tuple[str, str]] = []
        while True:
            if not rest:
                return None, data
            line, following = _line(rest)
            if ":" not in line:
                break
            key, _, value = line.partition(":")
            headers.append((key.strip(), value.strip()))
            rest = following
        if not headers and rest.startswith(_END_MARK):
            end_index, trailer_index = 0, len(_END_MARK)
        else:
            end_index = rest.find("\n" + _END_MARK)
            trailer_index = end_index + 1 + len(_END_MARK)
        if end_index < 0:
            continue
        trailer = rest[trailer_index:]
        expected = block_type + _DASHES
        if not trailer.startswith(expected) or _line(trailer[len(expected) :])[0]:
            continue
        body = re.sub(r"[ \t]", "", rest[:end_index])
        try:
            der = base64.b64decode(re.sub(r"[\r\n]", "", body), validate=True)
        except (binascii.Error, ValueError):
            continue
        _, rest = _line(trailer[len(expected) :])
        return PemBlock(block_type, der, tuple(headers)), rest


def blocks(data: str) -> tuple[list[PemBlock], str]:
    """Every PEM block in `data`, in order, and the text after the last one."""
    found: list[PemBlock] = []
    rest = data
    while True:
        block, after = decode(rest)
        if block is None:
            return found, rest
        found.append(block)
        rest = after
