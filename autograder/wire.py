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


def frames(header, arrays):
    """``header`` (a dict) and ``arrays`` (name -> ndarray) as one message, in pieces:
    the arrays' own memory, not copies (a large layer's inputs are megabytes), for
    ``write_all``."""
    specs, chunks, size = [], [], 0
    for key, value in arrays.items():
        value = np.asarray(value, order="C")
        specs.append([key, value.dtype.str, list(value.shape)])
        if value.nbytes:
            chunks.append(memoryview(value.reshape(-1)).cast("B"))
            size += value.nbytes
    head = json.dumps({**header, "arrays": specs}).encode()
    return [struct.pack(">I", len(head)) + head + struct.pack(">I", size), *chunks]


# In a callback's reply, {"ref": [CALLBACK_ARGS, i]} is the call's own argument i, handed
# back (a forward's cache): the very object the submission passed, not a copy sent back.
CALLBACK_ARGS = "$args"

READ_AHEAD = 1 << 16  # what one read asks for: a whole small message in one syscall


def read_exact(buffer, n, read, read_into):
    """The next ``n`` bytes as a bytearray of their own (a message's arrays are then
    views of its payload, not copies).

    ``buffer`` (a bytearray) holds what was read ahead and keeps what is left over;
    ``read(count) -> bytes`` and ``read_into(memoryview) -> int`` read more, and
    EOFError follows when either gets nothing.
    """
    if n > len(buffer) + READ_AHEAD:  # a large payload: straight into its own buffer
        data = bytearray(n)
        view, filled = memoryview(data), len(buffer)
        view[:filled] = buffer
        buffer.clear()
        while filled < n:
            got = read_into(view[filled:])
            if not got:
                raise EOFError
            filled += got
        return data
    while len(buffer) < n:
        chunk = read(READ_AHEAD)
        if not chunk:
            raise EOFError
        buffer += chunk
    data = buffer[:n]
    del buffer[:n]
    return data


def write_all(pieces, writev):
    """Write ``pieces`` (``frames``, or bytes) with ``writev(views) -> count``."""
    views = [memoryview(p) for p in (pieces if isinstance(pieces, list) else [pieces])]
    views = [v for v in views if v.nbytes]
    while views:
        sent = writev(views[:1024])  # IOV_MAX, the most POSIX lets one writev take
        while sent:
            if sent >= views[0].nbytes:
                sent -= views.pop(0).nbytes
            else:
                views[0], sent = views[0][sent:], 0


def receive(read_exact, max_payload):
    """Read one message with ``read_exact(n) -> bytes or bytearray``; returns (header,
    arrays).

    A payload ``read_exact`` returns as a bytearray is the arrays' memory: each is a
    writable view of its own part of it, not a copy.

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


_DTYPES = {}  # the numeric dtype strings seen, and their dtypes: a message holds several arrays


def _numeric_dtype(name):
    """The dtype named ``name`` if it is a plain number type, else None."""
    if not isinstance(name, str):
        return None
    kind = _DTYPES.get(name)
    if kind is None and _NUMERIC_DTYPE.fullmatch(name):
        kind = _DTYPES[name] = np.dtype(name)
    return kind


def unpack_arrays(specs, payload):
    """The arrays ``specs`` describes, read from ``payload``; FrameError if they do not fit."""
    arrays, offset = {}, 0
    for spec in specs:
        if not (isinstance(spec, list) and len(spec) == 3):
            raise FrameError("unreadable array")
        key, dtype, shape = spec
        kind = _numeric_dtype(dtype)
        if kind is None or not (isinstance(shape, list)
                                and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise FrameError("unreadable array")
        count = math.prod(shape)  # exact ints: no overflow, and far cheaper than np.prod
        if offset + count * kind.itemsize > len(payload):
            raise FrameError("payload too short")
        array = np.frombuffer(payload, kind, count, offset).reshape(tuple(shape))
        # A view where it can be one: a payload of its own, and aligned for numpy (an
        # array after an odd-sized one is not, and would be slow to compute with).
        keep = isinstance(payload, bytearray) and array.flags.aligned
        arrays[str(key)] = array if keep else array.copy()
        offset += count * kind.itemsize
    if offset != len(payload):
        raise FrameError("payload too long")
    return arrays
