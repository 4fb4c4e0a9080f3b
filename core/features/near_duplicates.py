"""Near-duplicate groups: exact, re-encoded, resized, brightened, flipped and cropped copies.

Three stages, each cheap enough for the next to look only at what the last one let through:

1. **Candidates.**  Each picture's nearest others by backbone features (what
   the picture shows) and by 32x32 pixel views (full, mirrored, 18 slightly
   cropped windows), so copies the backbone sees differently -- a crop on a
   plain background -- are still found.
2. **Pixels.**  Whole signatures that correlate above :data:`SAME_PIXELS`
   (as they are or mirrored) are copies: re-encoding, resizing and brightness
   or contrast changes leave them nearly untouched, and two different pictures
   almost never get there -- even on a plain background, where features say
   "similar" to every pair.
3. **Fine detail.**  A crop changes the 32x32 view more than a neighbouring
   different picture of the same kind does, so the closest candidates that are
   still plausible once aligned (:func:`core.features.pixels.align`) are
   compared in their fine detail at 320 px (:mod:`core.features.fine_check`),
   which a copy keeps and a different picture does not.

Byte-identical files are always one group.  Groups are the connected pairs.
Costs: two all-pairs searches on small vectors (chunked; the pixel one is kept
by content between runs, :mod:`core.features.pixel_neighbours`, so a later
check pays for new images only; the cropped windows are skipped above
:data:`WINDOWS_UP_TO` images), then at most
:data:`FINE_NEIGHBOURS` x 2 fine checks per image (5-10 ms each, cached
by content in the store).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from core.events import CancelToken, Listener, Progress, emit
from core.features.fine_check import FineImages, PairCache, fine_score
from core.features.pixel_neighbours import NeighbourCache, cached_pixel_candidates
from core.features.pixels import align, plain_similarity
from core.features.store import Embeddings
from core.features.vectors import reduced, top_k

SAME_PIXELS = 0.999
ALIGNED_MIN = 0.85
FINE_SAME = 0.97
NEIGHBOURS = 5
FINE_NEIGHBOURS = 2
WINDOWS_UP_TO = 20000
RULED_OUT = -2.0  # cached score of a pair the aligned signatures ruled out


@dataclass(frozen=True)
class DuplicatePair:
    """Two images found to be copies: how ("exact", "pixels", "detail") and the deciding score."""

    a: int
    b: int
    kind: str
    score: float


@dataclass
class NearDuplicates:
    """Groups of row indices (2+ each, sorted) and the pairs that made them."""

    groups: list[list[int]] = field(default_factory=list)
    pairs: list[DuplicatePair] = field(default_factory=list)

    def path_groups(self, paths: Sequence[str]) -> list[list[str]]:
        return [[paths[i] for i in g] for g in self.groups]


class _Groups:
    """Union-find over row indices."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return sorted((g for g in out.values() if len(g) > 1), key=lambda g: g[0])


def _candidates(z: np.ndarray, signatures: np.ndarray, digests: Sequence[str],
                cancel: Optional[CancelToken] = None, listener: Optional[Listener] = None,
                neighbours: Optional[NeighbourCache] = None) -> tuple[np.ndarray, np.ndarray]:
    """(pairs (P, 2) with i < j, eligible for the fine check (P,) bool); ``z``: unit rows,
    ``digests``: the rows' distinct contents (the pixel search is kept by them)."""
    n = len(z)
    feat_idx, _ = top_k(z, z, NEIGHBOURS, cancel=cancel)
    pix_idx, _ = cached_pixel_candidates(
        signatures, digests, NEIGHBOURS, n <= WINDOWS_UP_TO, neighbours, cancel=cancel,
        progress=lambda done, total: emit(listener, Progress(done, total, "comparing images")))
    found: dict[tuple[int, int], bool] = {}
    for idx in (feat_idx, pix_idx):
        for rank in range(idx.shape[1]):
            close = rank < FINE_NEIGHBOURS
            for i, j in zip(range(n), idx[:, rank]):
                key = (i, int(j)) if i < j else (int(j), i)
                found[key] = found.get(key, False) or close
    if not found:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=bool)
    pairs = np.array(list(found), dtype=np.int64)
    return pairs, np.array(list(found.values()), dtype=bool)


def find_near_duplicates(emb: Embeddings, *, pair_cache: Optional[PairCache] = None,
                         listener: Optional[Listener] = None,
                         cancel: Optional[CancelToken] = None,
                         reduced_vectors: Optional[np.ndarray] = None,
                         neighbours: Optional[NeighbourCache] = None) -> NearDuplicates:
    """Near-duplicate groups among ``emb``'s images (row indices into ``emb.paths``).

    ``pair_cache`` keeps fine-check scores between runs
    (:meth:`core.features.store.FeatureStore.pair_cache`), ``neighbours`` the pixel
    search (:meth:`~core.features.store.FeatureStore.neighbour_cache`); ``reduced_vectors``
    (``reduced(emb.vectors)``, rows as in ``emb``) saves computing them again.  Emits Progress
    ("comparing images", "checking fine detail"); raises Cancelled when asked.
    """
    cancel = cancel or CancelToken()
    result = NearDuplicates()
    n = len(emb)
    if n < 2:
        return result
    groups = _Groups(n)
    first_of: dict[str, int] = {}
    reps: list[int] = []
    for i, stamp in enumerate(emb.stamps):  # byte-identical files: one group, compared once
        if stamp.digest in first_of:
            groups.join(first_of[stamp.digest], i)
            result.pairs.append(DuplicatePair(first_of[stamp.digest], i, "exact", 1.0))
        else:
            first_of[stamp.digest] = i
            reps.append(i)
    emit(listener, Progress(0, 0, "comparing images"))
    rep = np.asarray(reps, dtype=np.int64)
    if len(rep) >= 2:
        z = reduced_vectors[rep] if reduced_vectors is not None else reduced(emb.vectors[rep])
        pairs, eligible = _candidates(z, emb.signatures[rep],
                                      [emb.stamps[i].digest for i in rep], cancel, listener,
                                      neighbours)
        cancel.raise_if_cancelled()
        a, b = rep[pairs[:, 0]], rep[pairs[:, 1]]
        plain = plain_similarity(emb.signatures, a, b)
        for x, y, s in zip(a[plain >= SAME_PIXELS], b[plain >= SAME_PIXELS],
                           plain[plain >= SAME_PIXELS]):
            groups.join(int(x), int(y))
            result.pairs.append(DuplicatePair(int(x), int(y), "pixels", float(s)))
        todo = eligible & (plain < SAME_PIXELS)
        _fine_stage(emb, a[todo], b[todo], groups, result, pair_cache, listener, cancel)
    result.groups = groups.groups()
    return result


def _fine_stage(emb: Embeddings, a: np.ndarray, b: np.ndarray, groups: _Groups,
                result: NearDuplicates, cache: Optional[PairCache],
                listener: Optional[Listener], cancel: CancelToken) -> None:
    """Check the close candidates in fine detail (scores cached by content pair).

    Pairs the aligned signatures already rule out are cached as :data:`RULED_OUT`,
    so a second run aligns and decodes nothing it has seen.
    """
    cache = cache or PairCache(None)
    digests = [s.digest for s in emb.stamps]
    known = np.array([cache.get(digests[i], digests[j]) is not None for i, j in zip(a, b)],
                     dtype=bool)
    new = np.flatnonzero(~known)
    al = align(emb.signatures, a[new], b[new])
    for k in new[al.similarity < ALIGNED_MIN]:
        cache.put(digests[a[k]], digests[b[k]], RULED_OUT)
    todo = {int(k): n for n, k in enumerate(new) if al.similarity[n] >= ALIGNED_MIN}
    images = FineImages()

    def check(k: int) -> Optional[float]:
        """The pair's score; None when it was not checked (cancelled, or an image did not
        decode): nothing is cached for it, so a later run checks it."""
        i, j = int(a[k]), int(b[k])
        score = cache.get(digests[i], digests[j])
        if score is not None or cancel.cancelled:
            return score
        gi, gj = images.get(emb.paths[i]), images.get(emb.paths[j])
        if gi is None or gj is None:
            return None
        n = todo[k]
        return fine_score(gi, gj, float(al.scale_x[n]), float(al.offset_x[n]),
                          float(al.scale_y[n]), float(al.offset_y[n]), bool(al.mirrored[n]),
                          bool(al.reverse[n]))

    keep = [int(k) for k in np.flatnonzero(known)] + sorted(
        todo, key=lambda k: min(a[k], b[k]))  # decode locality
    total = len(keep)
    pool = ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2)),
                              thread_name_prefix="fts-fine")
    try:
        for done, (k, score) in enumerate(zip(keep, pool.map(check, keep))):
            if done % 64 == 0:
                cancel.raise_if_cancelled()
                emit(listener, Progress(done, total, "checking fine detail"))
            if score is None:
                continue
            i, j = int(a[k]), int(b[k])
            cache.put(digests[i], digests[j], score)
            if score >= FINE_SAME:
                groups.join(i, j)
                result.pairs.append(DuplicatePair(i, j, "detail", float(score)))
        cancel.raise_if_cancelled()
        emit(listener, Progress(total, total, "checking fine detail"))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        cache.save()


def duplicate_groups(paths: Sequence[str], model, *, store=None,
                     listener: Optional[Listener] = None,
                     cancel: Optional[CancelToken] = None) -> list[list[str]]:
    """Near-duplicate groups among ``paths`` (2+ each), ready for ``split_dataset(groups=...)``.

    ``model`` is the run's :class:`core.features.extract.FeatureModel`
    (``FeatureModel.from_config(cfg.model)``), so the features are the ones the
    fast head trains on and the store computes them once for both.  Unreadable
    files are left out (and reported as FileSkipped by the store).
    """
    from core.features.store import FeatureStore

    store = store or FeatureStore()
    emb = store.embed(paths, model, listener=listener, cancel=cancel)
    found = find_near_duplicates(emb, pair_cache=store.pair_cache(), listener=listener,
                                 cancel=cancel, neighbours=store.neighbour_cache())
    return found.path_groups(emb.paths)
