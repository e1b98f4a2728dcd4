"""Messages between the console and its worker processes: length-prefixed JSON on a socket.

JSON, not pickle: the parent must be able to read whatever a worker sends without running it,
even from a worker an engine bug has taken over. Values JSON has no type for (dates, decimals,
UUIDs, bytes, maps with non-string keys) travel as `{"\\u0000": [tag, payload]}`; a map that
happens to have the key "\\u0000" travels as a tagged map too, so decoding is unambiguous.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import struct
import time
import uuid
from decimal import Decimal
from typing import Any

__all__ = ["WireError", "decode", "encode", "receive", "send"]

TAG = "\u0000"
_HEADER = struct.Struct(">Q")
SEND_TIMEOUT_S = 30  # a reader that takes no message for this long is treated as gone


class WireError(Exception):
    """The other side closed the socket (kind "closed"), did not answer in time ("timeout") or
    sent more than the reader takes ("too_large")."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def encode(value: Any) -> Any:
    """A value as plain JSON data (see the module docstring)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode(v) for k, v in value.items()}
        return {TAG: ["map", [[encode(k), encode(v)] for k, v in value.items()]]}
    if isinstance(value, dt.datetime):
        return {TAG: ["datetime", value.isoformat()]}
    if isinstance(value, dt.date):
        return {TAG: ["date", value.isoformat()]}
    if isinstance(value, dt.time):
        return {TAG: ["time", value.isoformat()]}
    if isinstance(value, dt.timedelta):
        return {TAG: ["timedelta", [value.days, value.seconds, value.microseconds]]}
    if isinstance(value, Decimal):
        return {TAG: ["decimal", str(value)]}
    if isinstance(value, uuid.UUID):
        return {TAG: ["uuid", str(value)]}
    if isinstance(value, bytes | bytearray | memoryview):
        return {TAG: ["bytes", base64.b64encode(bytes(value)).decode("ascii")]}
    return {TAG: ["text", str(value)]}


def _tagged(obj: dict[str, Any]) -> Any:
    if len(obj) != 1 or TAG not in obj:
        return obj
    tag, payload = obj[TAG]
    if tag == "map":
        return {_hashable(k): v for k, v in payload}
    if tag == "datetime":
        return dt.datetime.fromisoformat(payload)
    if tag == "date":
        return dt.date.fromisoformat(payload)
    if tag == "time":
        return dt.time.fromisoformat(payload)
    if tag == "timedelta":
        return dt.timedelta(days=payload[0], seconds=payload[1], microseconds=payload[2])
    if tag == "decimal":
        return Decimal(payload)
    if tag == "uuid":
        return uuid.UUID(payload)
    if tag == "bytes":
        return base64.b64decode(payload)
    return str(payload)


def _hashable(key: Any) -> Any:
    if isinstance(key, list):
        key = tuple(key)
    try:
        hash(key)
    except TypeError:  # a list or map as a key: keep its JSON text
        return json.dumps(key, ensure_ascii=False, sort_keys=True, default=str)
    return key


def decode(data: bytes) -> Any:
    """The value `encode` made, from the bytes of one message."""
    return json.loads(data, object_hook=_tagged)


def send(sock: socket.socket, message: Any) -> None:
    """One message: 8-byte length, then the JSON."""
    body = json.dumps(encode(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        sock.settimeout(SEND_TIMEOUT_S)
        sock.sendall(_HEADER.pack(len(body)) + body)
    except OSError as exc:  # the other side is gone
        raise WireError("closed", str(exc)) from None


def receive(sock: socket.socket, deadline: float | None = None, max_bytes: int | None = None) -> Any:
    """The next message; WireError when the socket closes, the deadline (time.monotonic) passes
    or the message is longer than max_bytes (its bytes are not read)."""
    (size,) = _HEADER.unpack(_read(sock, _HEADER.size, deadline))
    if max_bytes is not None and size > max_bytes:
        raise WireError("too_large", f"{size} bytes")
    return decode(_read(sock, size, deadline))


def _read(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WireError("timeout")
            sock.settimeout(remaining)
        else:
            sock.settimeout(None)
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except TimeoutError:
            raise WireError("timeout") from None
        except OSError as exc:
            raise WireError("closed", str(exc)) from None
        if not chunk:
            raise WireError("closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
