"""A file's content digest: what an export records of the model it was made from."""

from __future__ import annotations

import hashlib


def file_hash(path):
    """A sha256 object fed the file at ``path``, read in blocks (more may be added to it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest


def file_sha256(path) -> str:
    """sha256 of the file at ``path`` (hex)."""
    return file_hash(path).hexdigest()
