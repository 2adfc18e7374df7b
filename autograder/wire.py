"""The framing of messages between the grader and its worker, used by both ends.

A message is a 4-byte big-endian length, a JSON header of that length (with
an "arrays" list of [key, dtype, shape]), then a 4-byte length and the
arrays' raw bytes: numbers only, never pickles. Both sides check what they
read: sizes against caps before reading, dtypes numeric, shapes consistent
with the payload.

The worker runs without this package (it must not be able to read the
grader's files), so autograder.sandbox sends this file's text ahead of the
worker's own: keep it to the standard library and numpy, no package imports.
"""

import json
import math
import re
import struct

import numpy as np

MAX_HEADER = 1024 * 1024            # a message's JSON: descriptors only
MAX_REPLY_PAYLOAD = 4 * 1024 * 1024  # the worker's arrays: the largest real reply is ~0.5 MiB
MAX_REQUEST_PAYLOAD = 64 * 1024 * 1024  # the grader's arrays: a 1024x1024 weight is 8 MiB
_NUMERIC_DTYPE = re.compile(r"[<>|=]?[biuf][1248]")  # never object or structured dtypes


class FrameError(ValueError):
    """A message that does not follow the framing: too large, truncated or malformed."""


def pack(header, arrays):
    """Frame ``header`` (a dict) and ``arrays`` (name -> ndarray) as one message."""
    specs, chunks = [], []
    for key, value in arrays.items():
        value = np.asarray(value, order="C")
        specs.append([key, value.dtype.str, list(value.shape)])
        chunks.append(value.tobytes())
    head = json.dumps({**header, "arrays": specs}).encode()
    payload = b"".join(chunks)
    return struct.pack(">I", len(head)) + head + struct.pack(">I", len(payload)) + payload


def receive(read_exact, max_payload):
    """Read one message with ``read_exact(n) -> bytes``; returns (header, arrays).

    FrameError if it breaks the framing; whatever ``read_exact`` raises passes through.
    """
    size = struct.unpack(">I", read_exact(4))[0]
    if size > MAX_HEADER:
        raise FrameError("header too large")
    try:
        header = json.loads(read_exact(size))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FrameError("header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays", []), list):
        raise FrameError("malformed header")
    size = struct.unpack(">I", read_exact(4))[0]
    if size > max_payload:
        raise FrameError("payload too large")
    payload = read_exact(size) if size else b""
    return header, unpack_arrays(header.get("arrays", []), payload)


def unpack_arrays(specs, payload):
    """The arrays ``specs`` describes, read from ``payload``; FrameError if they do not fit."""
    arrays, offset = {}, 0
    for spec in specs:
        if not (isinstance(spec, list) and len(spec) == 3):
            raise FrameError("unreadable array")
        key, dtype, shape = spec
        if not (isinstance(dtype, str) and _NUMERIC_DTYPE.fullmatch(dtype)
                and isinstance(shape, list)
                and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise FrameError("unreadable array")
        kind = np.dtype(dtype)
        count = math.prod(shape)  # exact ints: no overflow, and far cheaper than np.prod
        if offset + count * kind.itemsize > len(payload):
            raise FrameError("payload too short")
        arrays[str(key)] = np.frombuffer(payload, kind, count, offset).reshape(tuple(shape)).copy()
        offset += count * kind.itemsize
    if offset != len(payload):
        raise FrameError("payload too long")
    return arrays
