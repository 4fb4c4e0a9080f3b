"""The on-disk format of the feature store: checksummed shards of float16 rows.

One shard file holds ``n`` rows, each a content hash (16 bytes), a float16
embedding and a 32x32 grey signature (the near-duplicate check's pixels)::

    b"FTSFEAT1" | header length (4 bytes, little-endian) | JSON header | padding to 64
    | keys n x 16 | vectors n x dim float16 | signatures n x 32 x 32 uint8

The header names the format version, the model the rows belong to, the shape
and a BLAKE2b checksum of everything after it.  A shard is written whole and
renamed into place (:func:`core.fsutil.atomic_write_bytes`), read through a
memory map (only the rows asked for come into memory), and trusted only when
all of that checks out: a damaged, truncated or foreign shard is reported as
:class:`DamagedShard` and the store deletes and recomputes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.fsutil import atomic_write_bytes

MAGIC = b"FTSFEAT1"
FORMAT_VERSION = 1
SIGNATURE_SIDE = 32
KEY_BYTES = 16
_ALIGN = 64
_CHECK_CHUNK = 16 << 20


class DamagedShard(Exception):
    """A shard that cannot be trusted (damaged, cut off, another format or model)."""


@dataclass
class Shard:
    """One verified shard, its arrays memory-mapped from the file."""

    path: Path
    keys: np.ndarray        # (n, 16) uint8
    vectors: np.ndarray     # (n, dim) float16
    signatures: np.ndarray  # (n, 32, 32) uint8

    def __len__(self) -> int:
        return int(self.keys.shape[0])


def _body_layout(count: int, dim: int) -> tuple[int, int, int]:
    """Byte sizes of the keys, vectors and signatures blocks."""
    return count * KEY_BYTES, count * dim * 2, count * SIGNATURE_SIDE * SIGNATURE_SIDE


def encode_shard(model_id: str, keys: np.ndarray, vectors: np.ndarray,
                 signatures: np.ndarray) -> bytes:
    """The bytes of a shard file holding these rows."""
    count, dim = int(vectors.shape[0]), int(vectors.shape[1])
    body = b"".join([np.ascontiguousarray(keys, dtype=np.uint8).tobytes(),
                     np.ascontiguousarray(vectors, dtype="<f2").tobytes(),
                     np.ascontiguousarray(signatures, dtype=np.uint8).tobytes()])
    header = json.dumps({"version": FORMAT_VERSION, "model": model_id, "count": count,
                         "dim": dim, "signature": SIGNATURE_SIDE,
                         "checksum": hashlib.blake2b(body, digest_size=16).hexdigest()}).encode()
    head = MAGIC + struct.pack("<I", len(header)) + header
    head += b"\0" * (-len(head) % _ALIGN)
    return head + body


def write_shard(path: Path, model_id: str, keys: np.ndarray, vectors: np.ndarray,
                signatures: np.ndarray) -> None:
    atomic_write_bytes(path, encode_shard(model_id, keys, vectors, signatures))


def _checksum(path: Path, offset: int, length: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        fh.seek(offset)
        left = length
        while left > 0:
            chunk = fh.read(min(_CHECK_CHUNK, left))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def read_header(path: Path) -> tuple[dict, int]:
    """(header, body offset); raises DamagedShard for anything unexpected."""
    try:
        with open(path, "rb") as fh:
            start = fh.read(len(MAGIC) + 4)
            if len(start) < len(MAGIC) + 4 or start[:len(MAGIC)] != MAGIC:
                raise DamagedShard(f"{path.name}: not a feature shard")
            (n,) = struct.unpack("<I", start[len(MAGIC):])
            if n > 1 << 16:
                raise DamagedShard(f"{path.name}: implausible header")
            header = json.loads(fh.read(n).decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DamagedShard(f"{path.name}: {exc}") from None
    if not isinstance(header, dict):
        raise DamagedShard(f"{path.name}: malformed header")
    offset = len(MAGIC) + 4 + n
    return header, offset + (-offset % _ALIGN)


def open_shard(path: Path, model_id: str) -> Shard:
    """Verify and memory-map ``path``; raises DamagedShard unless every check passes."""
    header, offset = read_header(path)
    try:
        count, dim = int(header["count"]), int(header["dim"])
        ok = (header["version"] == FORMAT_VERSION and header["model"] == model_id
              and header["signature"] == SIGNATURE_SIDE and count > 0 and dim > 0)
        checksum = str(header["checksum"])
    except (KeyError, TypeError, ValueError):
        raise DamagedShard(f"{path.name}: malformed header") from None
    if not ok:
        raise DamagedShard(f"{path.name}: another format version or model")
    sizes = _body_layout(count, dim)
    try:
        actual = os.path.getsize(path)
    except OSError as exc:
        raise DamagedShard(f"{path.name}: {exc}") from None
    if actual != offset + sum(sizes):
        raise DamagedShard(f"{path.name}: {actual} bytes, expected {offset + sum(sizes)}")
    if _checksum(path, offset, sum(sizes)) != checksum:
        raise DamagedShard(f"{path.name}: checksum mismatch")
    try:
        keys = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=(count, KEY_BYTES))
        vectors = np.memmap(path, dtype="<f2", mode="r", offset=offset + sizes[0],
                            shape=(count, dim))
        signatures = np.memmap(path, dtype=np.uint8, mode="r", offset=offset + sizes[0] + sizes[1],
                               shape=(count, SIGNATURE_SIDE, SIGNATURE_SIDE))
    except (OSError, ValueError) as exc:
        raise DamagedShard(f"{path.name}: {exc}") from None
    return Shard(path, keys, vectors, signatures)
