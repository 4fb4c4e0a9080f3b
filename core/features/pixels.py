"""Comparing images by their 32x32 grey signatures: views for the search, alignment for the check.

Backbone features find semantically similar images, but on plain backgrounds
and aligned collections (product shots on white, microscopy fields, cells of a
solar panel) different images are as "similar" to a backbone as copies.  The
pixels decide: two copies agree pixel by pixel once aligned, different objects
on the same background do not.

* :func:`view_descriptors` / :func:`pixel_candidates`: each image is compared
  with every other image's full view, mirror view and 18 slightly cropped
  windows (10x10, zero-mean, unit length), so cropped and flipped copies are
  found among the nearest neighbours.
* :func:`align`: for a candidate pair, the axis-aligned scale and shift that
  map one signature onto the other (a crop, a resize that changed the aspect),
  estimated from row and column profiles, plus the normalised correlation of
  the aligned signatures -- for the pair as it is, mirrored, and either way
  round.  Vectorised over pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDE = 32                  # signature side (core.features.shards.SIGNATURE_SIDE)
DESC = 10                  # descriptor side for the neighbour search
WINDOW_SCALES = (0.94, 0.88)
WINDOW_OFFSETS = (0.0, 0.5, 1.0)
_MARGIN = 2                # border pixels left out of aligned correlations
_CELLS = 1 << 25           # similarity-block size (floats) of the neighbour search: 128 MB


def unit(x: np.ndarray) -> np.ndarray:
    """Last axis zero-mean and unit length (a flat signal stays 0)."""
    x = x - x.mean(axis=-1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-6)


def _area_matrix(out: int, start: float, length: float) -> np.ndarray:
    """(out, SIDE) weights averaging input pixels [start, start+length) into ``out`` cells."""
    m = np.zeros((out, SIDE), dtype=np.float32)
    step = length / out
    for k in range(out):
        a, b = start + k * step, start + (k + 1) * step
        for j in range(int(np.floor(a)), min(SIDE, int(np.ceil(b)))):
            m[k, j] = max(0.0, min(b, j + 1) - max(a, j))
        m[k] /= max(m[k].sum(), 1e-9)
    return m


def _views() -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """(row matrix, column matrix, mirrored) of every view."""
    full = _area_matrix(DESC, 0.0, SIDE)
    views = [(full, full, False), (full, full, True)]
    for s in WINDOW_SCALES:
        w = SIDE * s
        for oy in WINDOW_OFFSETS:
            for ox in WINDOW_OFFSETS:
                views.append((_area_matrix(DESC, oy * (SIDE - w), w),
                              _area_matrix(DESC, ox * (SIDE - w), w), False))
    return views


_VIEWS = _views()


def view_descriptors(signatures: np.ndarray, windows: bool = True) -> np.ndarray:
    """(N, V, DESC*DESC) float32: full view, mirrored view and (``windows``) 18 crops."""
    sig = np.asarray(signatures, dtype=np.float32)
    views = _VIEWS if windows else _VIEWS[:2]
    out = np.empty((len(sig), len(views), DESC * DESC), dtype=np.float32)
    for v, (rows, cols, mirrored) in enumerate(views):
        src = sig[:, :, ::-1] if mirrored else sig
        out[:, v] = (rows @ src @ cols.T).reshape(len(sig), -1)
    return unit(out)


def pixel_candidates(signatures: np.ndarray, k: int, windows: bool = True,
                     chunk: int = 512, cancel=None,
                     progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Each image's ``k`` nearest others by best view similarity: (indices, similarities).

    All pairs: about a minute of CPU at 20,000 images, so ``cancel`` (a CancelToken) is
    checked and ``progress(done, total)`` called between chunks (Cancel had waited for
    the whole search, two minutes on a busy machine, a review).
    :mod:`core.features.pixel_neighbours` keeps the answer between runs."""
    desc = view_descriptors(signatures, windows)
    rows = np.arange(len(desc))
    return nearest_views(desc, rows, rows, k, chunk, cancel, progress)


def nearest_views(desc: np.ndarray, queries: np.ndarray, targets: np.ndarray, k: int,
                  chunk: int = 512, cancel=None, progress=None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """For each row in ``queries``, its ``k`` nearest rows in ``targets`` (never itself).

    The query's full view against every view of each target (``desc`` from
    :func:`view_descriptors`); (indices into ``desc``, similarities), best first,
    ``min(k, targets other than the row)`` columns."""
    queries = np.asarray(queries, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    n, v, d = len(targets), desc.shape[1], desc.shape[2]
    overlap = bool(len(np.intersect1d(queries, targets)))
    k = max(0, min(k, n - (1 if overlap else 0)))
    idx = np.zeros((len(queries), k), dtype=np.int64)
    sims = np.zeros((len(queries), k), dtype=np.float32)
    if k == 0 or not len(queries):
        return idx, sims
    where = np.full(len(desc), -1, dtype=np.int64)
    where[targets] = np.arange(n)
    flat = desc[targets].reshape(n * v, d)
    chunk = max(16, min(chunk, _CELLS // (n * v)))  # bounds the (chunk, n*v) block
    for start in range(0, len(queries), chunk):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if progress is not None:
            progress(start, len(queries))
        rows = queries[start:start + chunk]
        s = (desc[rows, 0] @ flat.T).reshape(len(rows), n, v).max(axis=2)
        own = where[rows]
        s[np.flatnonzero(own >= 0), own[own >= 0]] = -np.inf
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-vals, axis=1)
        idx[start:start + len(rows)] = targets[np.take_along_axis(part, order, axis=1)]
        sims[start:start + len(rows)] = np.take_along_axis(vals, order, axis=1)
    return idx, sims


# --------------------------------------------------------------------------- alignment


def _combos() -> np.ndarray:
    """(scale, offset) pairs: windows of 86-100 % of the side, offsets in 1/4 pixel steps.

    Coarse on purpose: :func:`core.features.fine_check.fine_score` refines the
    alignment on the full-size images.
    """
    out = [(s, o) for s in np.arange(0.86, 1.0001, 0.01)
           for o in np.arange(0.0, SIDE * (1 - s) + 1e-6, 0.25)]
    return np.asarray(out, dtype=np.float32)


_COMBOS = _combos()
_GRID = np.clip(_COMBOS[:, 1:2] + (np.arange(SIDE)[None, :] + 0.5) * _COMBOS[:, 0:1] - 0.5,
                0, SIDE - 1)
_LO = np.floor(_GRID).astype(np.int64)
_HI = np.minimum(_LO + 1, SIDE - 1)
_W = (_GRID - _LO).astype(np.float32)


def _interp_matrices() -> np.ndarray:
    """(C, SIDE, SIDE) linear-interpolation matrices, one per combo."""
    m = np.zeros((len(_COMBOS), SIDE, SIDE), dtype=np.float32)
    rows = np.arange(SIDE)
    for c in range(len(_COMBOS)):
        np.add.at(m[c], (rows, _LO[c]), 1 - _W[c])
        np.add.at(m[c], (rows, _HI[c]), _W[c])
    return m


_MATS = _interp_matrices()
_BATCH = 256  # pairs aligned at once (bounds the (B, combos, SIDE) profile arrays)


@dataclass
class Alignment:
    """How ``b`` maps onto ``a`` (or the reverse), and how well, for each pair."""

    similarity: np.ndarray  # (B,) correlation of the aligned signatures
    scale_x: np.ndarray     # (B,) window of the source, as a share of its side
    offset_x: np.ndarray    # (B,) in signature pixels
    scale_y: np.ndarray
    offset_y: np.ndarray
    mirrored: np.ndarray    # (B,) bool: b was mirrored first
    reverse: np.ndarray     # (B,) bool: a is the crop of b (not b of a)


def _one_way(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best combos (kx, ky) for "y is a window of x" and the aligned correlation."""
    px, py = x.mean(axis=1), x.mean(axis=2)  # column and row profiles
    rx = unit(px[:, _LO] * (1 - _W) + px[:, _HI] * _W)
    ry = unit(py[:, _LO] * (1 - _W) + py[:, _HI] * _W)
    kx = np.argmax(np.einsum("bcs,bs->bc", rx, unit(y.mean(axis=1))), axis=1)
    ky = np.argmax(np.einsum("bcs,bs->bc", ry, unit(y.mean(axis=2))), axis=1)
    warped = _MATS[ky] @ x @ np.transpose(_MATS[kx], (0, 2, 1))
    m = _MARGIN
    sim = (unit(warped[:, m:-m, m:-m].reshape(len(x), -1))
           * unit(y[:, m:-m, m:-m].reshape(len(y), -1))).sum(axis=1)
    return kx, ky, sim


def align(signatures: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> Alignment:
    """Align pairs ``signatures[ia[k]]``, ``signatures[ib[k]]`` every way; keep the best per pair.

    Done in batches, so memory stays small whatever the number of pairs.
    """
    parts = [_align(signatures[ia[i:i + _BATCH]].astype(np.float32),
                    signatures[ib[i:i + _BATCH]].astype(np.float32))
             for i in range(0, len(ia), _BATCH)]
    if not parts:
        empty = np.zeros(0, dtype=np.float32)
        return Alignment(empty, empty, empty, empty, empty, empty.astype(bool),
                         empty.astype(bool))
    return Alignment(*(np.concatenate([getattr(p, f) for p in parts])
                       for f in ("similarity", "scale_x", "offset_x", "scale_y", "offset_y",
                                 "mirrored", "reverse")))


def _align(a: np.ndarray, b: np.ndarray) -> Alignment:
    best = None
    for mirrored in (False, True):
        bb = b[:, :, ::-1] if mirrored else b
        for reverse in (False, True):
            kx, ky, sim = _one_way(bb, a) if reverse else _one_way(a, bb)
            cand = (sim, kx, ky, np.full(len(a), mirrored), np.full(len(a), reverse))
            if best is None:
                best = list(cand)
            else:
                better = sim > best[0]
                for i in range(5):
                    best[i] = np.where(better, cand[i], best[i])
    sim, kx, ky, mirrored, reverse = best
    return Alignment(sim, _COMBOS[kx, 0], _COMBOS[kx, 1], _COMBOS[ky, 0], _COMBOS[ky, 1],
                     mirrored.astype(bool), reverse.astype(bool))


def plain_similarity(signatures: np.ndarray, ia: np.ndarray, ib: np.ndarray,
                     chunk: int = 4096) -> np.ndarray:
    """(P,) correlation of whole signatures of pairs (ia, ib), the better of as-is and mirrored."""
    out = np.zeros(len(ia), dtype=np.float32)
    for i in range(0, len(ia), chunk):
        a = signatures[ia[i:i + chunk]].astype(np.float32)
        b = signatures[ib[i:i + chunk]].astype(np.float32)
        ua = unit(a.reshape(len(a), -1))
        direct = (ua * unit(b.reshape(len(b), -1))).sum(axis=1)
        mirror = (ua * unit(b[:, :, ::-1].reshape(len(b), -1))).sum(axis=1)
        out[i:i + chunk] = np.maximum(direct, mirror)
    return out
