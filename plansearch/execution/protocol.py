"""Length-prefixed frames: how the executor, its fork servers and their children talk.

Each frame is a 4-byte big-endian length followed by that many bytes holding one object. What
comes out of a sandbox (a fork server's replies, a child's reports) is UTF-8 JSON, read with a
parser that trusts nothing. What the executor sends into one is marshalled: it comes from the
trusted side only, carries compiled test code as it is, and costs the server much less to read
(the fork servers run the executor's own interpreter, so the format is the same on both sides).
The messages themselves are described in `messages`. This module runs on both sides of the
sandbox, so it uses the standard library only.
"""

from __future__ import annotations

import json
import marshal
import os
import struct
from collections.abc import Callable, Mapping
from typing import Any

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024
_DECODER = json.JSONDecoder()
_ENCODER = json.JSONEncoder(separators=(",", ":"))

Message = dict[str, Any]
"""A decoded frame, its contents not yet checked (what it should hold is in `messages`)."""


class ProtocolError(Exception):
    """A frame that is too long or is not a JSON object."""


def frame(body: bytes) -> bytes:
    """`body` with its length in front."""
    return HEADER.pack(len(body)) + body


def encode(message: Mapping[str, object]) -> bytes:
    """One JSON frame holding `message`."""
    return frame(_ENCODER.encode(message).encode())


def encode_trusted(message: Mapping[str, object]) -> bytes:
    """One marshalled frame holding `message`: only for what the executor sends its servers."""
    body: Any = message  # marshal's type stubs take no TypedDict
    return frame(marshal.dumps(body))


def decode_trusted(body: bytes) -> Message:
    """The object in a marshalled frame's body (see `encode_trusted`)."""
    try:
        value = marshal.loads(body)
    except (EOFError, ValueError, TypeError) as exc:
        raise ProtocolError(f"frame is not marshalled data: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError("frame is not a marshalled dict")
    return value


def decode_body(body: bytes) -> Message:
    """The object in a frame's body (UTF-8 JSON, nothing around it)."""
    try:
        text = body.decode()
        value, end = _DECODER.raw_decode(text)  # without json.loads's Python layers
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    if end != len(text):
        raise ProtocolError("frame holds more than one JSON value")
    if not isinstance(value, dict):
        raise ProtocolError("frame is not a JSON object")
    return value


def write_frame(fd: int, frame: bytes) -> None:
    """Write one encoded frame to a blocking file descriptor, all of it."""
    data = memoryview(frame)
    while data:
        data = data[os.write(fd, data) :]


class FrameDecoder:
    """Splits a byte stream, fed in arbitrary pieces, into messages. After a bad frame the
    stream is broken: `error` says why, and nothing more is decoded."""

    def __init__(
        self, max_frame: int = MAX_FRAME, decode: Callable[[bytes], Message] = decode_body
    ) -> None:
        self._buffer = bytearray()
        self._max_frame = max_frame
        self._decode = decode
        self.error: str | None = None

    @property
    def pending(self) -> bool:
        """Whether bytes of a frame not yet complete are held."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        """Add bytes; return every message they complete (those before a bad frame too)."""
        if self.error is not None:
            return []
        self._buffer += data
        messages: list[Message] = []
        while len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            end = HEADER.size + length
            try:
                if length > self._max_frame:
                    raise ProtocolError(f"frame of {length} bytes is too long")
                if len(self._buffer) < end:
                    break
                messages.append(self._decode(bytes(self._buffer[HEADER.size : end])))
            except ProtocolError as exc:
                self.error = str(exc)
                self._buffer.clear()
                break
            del self._buffer[:end]
        return messages
