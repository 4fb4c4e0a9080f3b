"""Each image's nearest others by pixels, kept between runs: a second check pays only for changes.

:func:`core.features.pixels.pixel_candidates` compares every image with every
other one's 20 views: about a minute of CPU at 20,000 images, and it was done
again on every data check and every training start, whose folder had not
changed (a review timed a second check of 20,000 stored images at 6 minutes on
a busy machine, most of it this search).  The answer depends only on the
images' contents, so it is kept by content digest beside the features: the
digests it covered, and each one's nearest others with their similarities.

The next search over another set of images reuses it exactly:

* an image seen before keeps its neighbours, merged with its nearest among the
  images new since (``old x new`` comparisons, not ``all x all``);
* an image one of whose neighbours is gone, and every new image, is searched
  against everything, as before.

So the answer is the one a full search gives (up to the order of exact ties).
A few sets are kept (:data:`KEEP`, one file each), so switching between data
folders does not throw the other's away.  A damaged or foreign file is
ignored and rewritten: it is only a cache.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from core.errors import UserError
from core.features.hashing import DIGEST_BYTES
from core.features.pixels import nearest_views, view_descriptors
from core.fsutil import atomic_write_bytes

VERSION = 1
#: Sets kept (one file each); the least recently used goes first.
KEEP = 4
#: A set replaces the kept one it shares at least this share of images with.
SAME_SET = 0.5
_PREFIX = "pixel-neighbours-"


@dataclass
class KnownNeighbours:
    """A search kept from before: digests (N, DIGEST_BYTES) uint8, neighbours (N, k) into them."""

    path: Path
    digests: np.ndarray
    idx: np.ndarray
    sims: np.ndarray


class NeighbourCache:
    """Kept searches in ``folder`` (``None``: keep nothing)."""

    def __init__(self, folder: Optional[Path]) -> None:
        self.folder = folder

    def _files(self) -> list[Path]:
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(self.folder.glob(_PREFIX + "*.npz"))

    @staticmethod
    def _read(path: Path, k: int, windows: bool) -> Optional[KnownNeighbours]:
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = z["meta"].tolist()
                known = KnownNeighbours(path, z["digests"], z["idx"], z["sims"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None  # damaged or unreadable: searched again
        n = len(known.digests)
        if (meta != [VERSION, k, int(windows)] or known.digests.shape != (n, DIGEST_BYTES)
                or known.idx.shape != known.sims.shape or len(known.idx) != n
                or (known.idx.size and (known.idx.min() < 0 or known.idx.max() >= n))):
            return None
        return known

    def best(self, digests: np.ndarray, k: int, windows: bool) -> Optional[KnownNeighbours]:
        """The kept search sharing the most images with ``digests`` (None: none shares one)."""
        mine = {bytes(d) for d in digests}
        best, most = None, 0
        for path in self._files():
            known = self._read(path, k, windows)
            if known is None:
                continue
            shared = sum(bytes(d) in mine for d in known.digests)
            if shared > most:
                best, most = known, shared
        return best

    def save(self, digests: np.ndarray, idx: np.ndarray, sims: np.ndarray, k: int,
             windows: bool, replaces: Optional[KnownNeighbours]) -> None:
        """Keep this search, over ``replaces`` when it was of mostly the same images."""
        if self.folder is None:
            return
        buf = io.BytesIO()
        np.savez(buf, meta=np.array([VERSION, k, int(windows)]), digests=digests,
                 idx=idx.astype(np.int32), sims=sims.astype(np.float32))
        path = None
        if replaces is not None:
            shared = len(np.intersect1d(_as_void(replaces.digests), _as_void(digests)))
            if shared >= SAME_SET * min(len(digests), len(replaces.digests)):
                path = replaces.path
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if path is None:  # a new set: the least recently used ones go, KEEP in all
                path = self.folder / f"{_PREFIX}{os.urandom(6).hex()}.npz"
                kept = sorted(self._files(), key=_mtime)
                for old in kept[:max(0, len(kept) - KEEP + 1)]:
                    old.unlink(missing_ok=True)
            atomic_write_bytes(path, buf.getvalue())
        except (OSError, UserError):  # read-only, full: only a cache
            pass


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _as_void(digests: np.ndarray) -> np.ndarray:
    """(N, DIGEST_BYTES) uint8 rows as comparable scalars."""
    d = np.ascontiguousarray(digests, dtype=np.uint8)
    return d.view(np.dtype((np.void, d.shape[1]))).ravel()


def digest_rows(hex_digests: Sequence[str]) -> np.ndarray:
    """Content digests (hex, as in the feature store's stamps) as (N, DIGEST_BYTES) uint8 rows."""
    out = np.zeros((len(hex_digests), DIGEST_BYTES), dtype=np.uint8)
    for i, h in enumerate(hex_digests):
        raw = bytes.fromhex(h)[:DIGEST_BYTES]
        out[i, :len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    return out


def cached_pixel_candidates(signatures: np.ndarray, hex_digests: Sequence[str], k: int,
                            windows: bool, cache: Optional[NeighbourCache], cancel=None,
                            progress: Optional[Callable[[int, int], None]] = None
                            ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`core.features.pixels.pixel_candidates` for images of distinct contents,
    reusing and updating ``cache``."""
    desc = view_descriptors(signatures, windows)
    n = len(desc)
    digests = digest_rows(hex_digests)
    known = cache.best(digests, k, windows) if cache is not None else None
    rows = np.arange(n)
    if known is None:
        idx, sims = nearest_views(desc, rows, rows, k, cancel=cancel, progress=progress)
    else:
        idx, sims = _update(desc, digests, known, k, cancel, progress)
    if cache is not None:
        cache.save(digests, idx, sims, k, windows, known)
    return idx, sims


def _update(desc: np.ndarray, digests: np.ndarray, known: KnownNeighbours, k: int, cancel,
            progress) -> tuple[np.ndarray, np.ndarray]:
    n = len(desc)
    keff = max(0, min(k, n - 1))
    now = {bytes(d): i for i, d in enumerate(digests)}
    old_to_now = np.array([now.get(bytes(d), -1) for d in known.digests], dtype=np.int64)
    was = np.full(n, -1, dtype=np.int64)  # each row's index in the kept search, or -1
    was[old_to_now[old_to_now >= 0]] = np.flatnonzero(old_to_now >= 0)
    idx = np.zeros((n, keff), dtype=np.int64)
    sims = np.full((n, keff), -np.inf, dtype=np.float32)
    full = was < 0
    for r in np.flatnonzero(~full):
        mapped = old_to_now[known.idx[was[r]]]
        if (mapped < 0).any() or len(mapped) > keff:
            full[r] = True  # a neighbour is gone: its next nearest may be anyone
        else:
            idx[r, :len(mapped)], sims[r, :len(mapped)] = mapped, known.sims[was[r]]
    everyone = np.arange(n)
    added = np.flatnonzero(was < 0)
    kept = np.flatnonzero(~full)
    again = np.flatnonzero(full)
    total = len(again) + (len(kept) if len(added) else 0)
    step = (lambda done, _t: progress(done, total)) if progress else None
    idx[again], sims[again] = nearest_views(desc, again, everyone, k, cancel=cancel,
                                            progress=step)
    if len(added) and len(kept):
        step = (lambda done, _t: progress(len(again) + done, total)) if progress else None
        ai, asim = nearest_views(desc, kept, added, k, cancel=cancel, progress=step)
        both_i = np.concatenate([idx[kept], ai], axis=1)
        both_s = np.concatenate([sims[kept], asim], axis=1)
        order = np.argsort(-both_s, axis=1, kind="stable")[:, :keff]
        idx[kept] = np.take_along_axis(both_i, order, axis=1)
        sims[kept] = np.take_along_axis(both_s, order, axis=1)
    return idx, sims
