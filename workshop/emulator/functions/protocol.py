"""Frames between the emulator and a Lambda worker process: 4-byte length, then JSON.

A pipe of its own, apart from stdout and stderr, so a handler printing anything can
never corrupt the conversation, and log lines arrive in order with the result.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")


def send(stream: BinaryIO, frame: dict[str, Any]) -> None:
    data = json.dumps(frame, separators=(",", ":")).encode()
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: BinaryIO) -> dict[str, Any] | None:
    """The next frame, or None when the other side has gone."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    body = _read_exactly(stream, _HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = stream.read(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def open_pair(read_fd: int, write_fd: int) -> tuple[BinaryIO, BinaryIO]:
    return os.fdopen(read_fd, "rb", buffering=0), os.fdopen(write_fd, "wb", buffering=0)
