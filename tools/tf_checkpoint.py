"""Read TensorFlow (v2 "tensor bundle") checkpoints without TensorFlow.

A checkpoint is a ``.index`` file (a LevelDB-style sorted table mapping each
variable name to a ``BundleEntryProto``: dtype, shape, offset and size) and a
``.data-00000-of-00001`` file holding the raw little-endian tensor bytes. This
module parses just enough of both formats to return every variable as a numpy
array, so the musicnn weights can be converted with nothing but numpy.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48
_BLOCK_TRAILER_SIZE = 5  # compression type byte + crc32c
# tensorflow/core/framework/types.proto
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}


def _varint(buffer: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buffer[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _protobuf_fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """Decode a protobuf message into (field number, value) pairs."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(message):
        tag, pos = _varint(message, pos)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, pos = _varint(message, pos)
        elif wire_type == 1:
            value, pos = struct.unpack_from("<Q", message, pos)[0], pos + 8
        elif wire_type == 2:
            length, pos = _varint(message, pos)
            value, pos = message[pos : pos + length], pos + length
        elif wire_type == 5:
            value, pos = struct.unpack_from("<I", message, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        fields.append((number, value))
    return fields


def _block_entries(table: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """Key/value pairs of one table block (keys are prefix-compressed)."""
    if table[offset + size] != 0:
        raise ValueError("compressed checkpoint blocks are not supported")
    block = table[offset : offset + size]
    (restart_count,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * restart_count
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_length, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + value_length]))
        pos += value_length
    return entries


def _block_handle(value: bytes) -> tuple[int, int]:
    offset, pos = _varint(value, 0)
    size, _ = _varint(value, pos)
    return offset, size


def _shape(shape_proto: bytes) -> tuple[int, ...]:
    dims = []
    for number, dim in _protobuf_fields(shape_proto):
        if number == 2:
            sizes = [v for n, v in _protobuf_fields(dim) if n == 1]
            dims.append(int(sizes[0]) if sizes else 0)
    return tuple(dims)


def read_checkpoint(prefix: Path | str) -> dict[str, np.ndarray]:
    """Every variable of the checkpoint at ``prefix`` (path without ``.index``)."""
    prefix = str(prefix)
    table = Path(prefix + ".index").read_bytes()
    data = Path(prefix + ".data-00000-of-00001").read_bytes()
    footer = table[-_FOOTER_SIZE:]
    if struct.unpack("<Q", footer[-8:])[0] != _TABLE_MAGIC:
        raise ValueError(f"{prefix}.index is not a TensorFlow checkpoint index")
    _, pos = _varint(footer, 0)
    _, pos = _varint(footer, pos)  # skip the metaindex handle
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    variables: dict[str, np.ndarray] = {}
    for _, handle in _block_entries(table, index_offset, index_size):
        for key, entry in _block_entries(table, *_block_handle(handle)):
            if not key:  # the empty key holds the bundle header
                continue
            fields = dict(_protobuf_fields(entry))
            if fields.get(3, 0) != 0 or 7 in fields:
                raise ValueError(f"{key!r}: sharded or sliced variables are not supported")
            dtype = np.dtype(_DTYPES[int(fields.get(1, 0))]).newbyteorder("<")
            offset, size = int(fields.get(4, 0)), int(fields.get(5, 0))
            array = np.frombuffer(data, dtype=dtype, count=size // dtype.itemsize, offset=offset)
            variables[key.decode()] = array.reshape(_shape(fields.get(2, b""))).copy()
    return variables
