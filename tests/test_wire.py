"""The framing both ends of the pipe share: what a reply may hold, read in any chunks."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from autograder import wire


def _message(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + struct.pack(">I", len(payload)) + payload


def _reader(data: bytes, chunk: int):
    """read_exact over ``data`` arriving ``chunk`` bytes at a time."""
    buffer, source = bytearray(), memoryview(data)
    position = [0]

    def read(count: int) -> bytes:
        piece = bytes(source[position[0]:position[0] + min(count, chunk)])
        position[0] += len(piece)
        return piece

    def read_into(view: memoryview) -> int:
        piece = read(len(view))
        view[:len(piece)] = piece
        return len(piece)

    return lambda n: wire.read_exact(buffer, n, read, read_into)


@pytest.mark.parametrize("chunk", [1, 3, 7, 4096, 1 << 20])
def test_a_message_reads_back_the_same_in_any_chunks(chunk):
    arrays = {"x": np.arange(12.0).reshape(3, 4), "i": np.array([1, -2], dtype=np.int32),
              "empty": np.zeros((0, 5)), "scalar": np.array(2.5),
              "strided": np.arange(10.0)[::2], "big": np.ones(70_000)}
    data = b"".join(bytes(piece) for piece in wire.frames({"op": "x"}, arrays))
    header, got = wire.receive(_reader(data, chunk), len(data))
    assert header["op"] == "x"
    for key, value in arrays.items():
        assert got[key].dtype == value.dtype and np.array_equal(got[key], value), key


@pytest.mark.parametrize("dtype", ["|O", "|V8", "<U2", "|S1", "<c16", "f8x", 5, None])
def test_only_plain_number_dtypes_are_read(dtype):
    with pytest.raises(wire.FrameError, match="unreadable array"):
        wire.unpack_arrays([["a", dtype, [1]]], bytearray(16))


@pytest.mark.parametrize("shape", [[-1], [1.5], ["2"], [True, 2.0], 3, None])
def test_a_shape_is_a_list_of_counts(shape):
    with pytest.raises(wire.FrameError, match="unreadable array"):
        wire.unpack_arrays([["a", "<f8", shape]], bytearray(16))


@pytest.mark.parametrize("size, problem", [(8, "too short"), (24, "too long")])
def test_a_payload_must_hold_exactly_its_arrays(size, problem):
    with pytest.raises(wire.FrameError, match=problem):
        wire.unpack_arrays([["a", "<f8", [2]]], bytearray(size))


def test_caps_are_checked_before_anything_is_read():
    big_header = struct.pack(">I", wire.MAX_HEADER + 1)
    with pytest.raises(wire.FrameError, match="header too large"):
        wire.receive(_reader(big_header, 4096), 10)
    data = _message({"arrays": []})[:-4] + struct.pack(">I", 1 << 30)
    with pytest.raises(wire.FrameError, match="payload too large"):
        wire.receive(_reader(data, 4096), wire.MAX_REPLY_PAYLOAD)
    with pytest.raises(wire.FrameError, match="not JSON"):
        wire.receive(_reader(struct.pack(">I", 3) + b"{{{", 4096), 10)
    with pytest.raises(EOFError):
        wire.receive(_reader(_message({"arrays": []})[:-2], 4096), 10)
