"""Which file a weights file is: its md5/sha256, whether it is whole, whether it is Keras' own.

Apart from :mod:`core.model.weights` (downloads, checks against a built
backbone) because :mod:`core.model.build` needs to know whether a chosen file
is the published ImageNet one, and the downloader imports the builder.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Optional

from core.model.backbones import BackboneSpec

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def hasher(expected: str):
    # keras.utils.file_utils.resolve_hasher: 64 hex digits are sha256, else md5.
    return hashlib.sha256() if len(expected) == 64 else hashlib.md5()


def file_matches(path: Path, expected: Optional[str]) -> bool:
    """True when ``path`` has the expected md5/sha256 (or, without one, is a whole HDF5
    file: a download cut short kept the header and was trusted for good)."""
    try:
        with open(path, "rb") as fh:
            if expected is None:
                return fh.read(len(HDF5_MAGIC)) == HDF5_MAGIC and _whole_hdf5(path)
            h = hasher(expected)
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return False
    return h.hexdigest() == expected


def is_published_imagenet_file(path: Path, spec: BackboneSpec) -> bool:
    """Whether ``path`` is Keras' own no-top ImageNet file of ``spec`` (by name or hash)."""
    if path.name == spec.weights_file:
        return True
    if not spec.weights_hash:
        return False
    try:
        st = path.stat()
    except OSError:
        return False
    return _hash_matches(str(path), st.st_mtime_ns, st.st_size, spec.weights_hash)


@functools.lru_cache(maxsize=32)
def _hash_matches(path: str, _mtime: int, _size: int, expected: str) -> bool:
    return file_matches(Path(path), expected)  # once per file version: models build often


def _whole_hdf5(path: Path) -> bool:
    """Whether HDF5 opens ``path``: it checks the file's recorded end against its size."""
    import h5py

    try:
        with h5py.File(path, "r"):
            return True
    except Exception:  # OSError "truncated file", or anything h5py says of a broken file
        return False
