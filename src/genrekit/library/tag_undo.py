"""Byte-exact undo of a tag rewrite: a small patch that turns the new file back into the old one.

A tag writer changes a few regions of a file (the tag block, a size field, page numbers) and
shifts the rest by the tag's growth. The patch assumes one shift point: bytes before it line up
from the start, bytes after it line up from the end; the point is chosen where the fewest bytes
differ, and every differing byte of the old file is kept. Applied to the exact new file (checked
by its SHA-256), the patch gives back the old file byte for byte — whatever the tag library does
to encodings or block layout — while storing about the size of the tag, not of the audio.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np

from genrekit.errors import GenrekitError

_MAGIC = b"GKP1"
_HEADER = struct.Struct("<4sQQQq32s32s")
"""magic, old length, new length, shift point (bytes), new − old length, old sha256, new sha256."""
_RUN = struct.Struct("<QI")
"""One differing run: offset in the old file (bytes), length (bytes)."""
_MERGE_GAP = 32
"""Runs closer than this many bytes are stored as one (fewer headers than bytes saved)."""


class PatchError(GenrekitError):
    """A patch does not fit the file it is applied to."""


def _bytes(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype=np.uint8)


def _shift_point(old: np.ndarray, new: np.ndarray) -> int:
    """Where the one shift goes: the split minimizing bytes that differ before it (aligned at the
    start) plus after it (aligned at the end)."""
    common = min(len(old), len(new))
    forward = old[:common] != new[:common]
    backward = old[len(old) - common :] != new[len(new) - common :]
    before = np.concatenate([[0], np.cumsum(forward, dtype=np.int64)])
    after = np.concatenate([[0], np.cumsum(backward, dtype=np.int64)])
    return int(np.argmin(before + (after[-1] - after)))


def _base(new: np.ndarray, split: int, growth: int) -> np.ndarray:
    """The new file with the shift undone: bytes it added at ``split`` dropped, or zeros where
    it dropped bytes (the runs fill them in)."""
    if growth >= 0:
        return np.concatenate([new[:split], new[split + growth :]])
    return np.concatenate([new[:split], np.zeros(-growth, np.uint8), new[split:]])


def _runs(mismatch: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of the differing stretches, neighbours under ``_MERGE_GAP`` apart joined."""
    where = np.flatnonzero(mismatch)
    if len(where) == 0:
        return []
    breaks = np.flatnonzero(np.diff(where) > _MERGE_GAP)
    starts = np.concatenate([[where[0]], where[breaks + 1]])
    ends = np.concatenate([where[breaks], [where[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def reverse_patch(old_path: Path, new_path: Path) -> bytes:
    """The patch that makes ``new_path``'s bytes into ``old_path``'s (compressed)."""
    old, new = _bytes(old_path), _bytes(new_path)
    split, growth = _shift_point(old, new), len(new) - len(old)
    base = _base(new, split, growth)
    parts = [
        _HEADER.pack(
            _MAGIC,
            len(old),
            len(new),
            split,
            growth,
            hashlib.sha256(old.tobytes()).digest(),
            hashlib.sha256(new.tobytes()).digest(),
        )
    ]
    for start, end in _runs(base != old):
        parts += [_RUN.pack(start, end - start), old[start:end].tobytes()]
    return zlib.compress(b"".join(parts), 6)


def new_sha256(patch: bytes) -> str:
    """The hex SHA-256 of the file the patch applies to."""
    return _HEADER.unpack_from(zlib.decompress(patch))[6].hex()


def apply_patch(new_path: Path, patch: bytes) -> bytes:
    """The old file's bytes, from ``new_path`` (which must be exactly the patched file)."""
    data = zlib.decompress(patch)
    magic, old_length, new_length, split, growth, old_digest, new_digest = _HEADER.unpack_from(data)
    new = _bytes(new_path)
    matches = len(new) == new_length and hashlib.sha256(new.tobytes()).digest() == new_digest
    if magic != _MAGIC or not matches:
        raise PatchError("the file is no longer the one the patch was made for")
    old = _base(new, split, growth)
    offset = _HEADER.size
    while offset < len(data):
        start, length = _RUN.unpack_from(data, offset)
        offset += _RUN.size
        old[start : start + length] = np.frombuffer(data, np.uint8, length, offset)
        offset += length
    result = old.tobytes()
    if len(result) != old_length or hashlib.sha256(result).digest() != old_digest:
        raise PatchError("the patch does not rebuild the old file")
    return result
