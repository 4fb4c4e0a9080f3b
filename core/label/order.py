"""In which order to show unlabelled images: most useful to label first, or most confident first.

"Useful" is uncertainty with diversity, chosen a batch at a time: a batch is
what a person labels before the model is updated (:data:`BATCH_SHARE` of the
folder, at most :data:`MAX_BATCH`), and the order is one batch after another.

* **Uncertainty** is one minus the margin between the two likeliest classes
  (best-versus-second-best): an image the model hesitates over between two
  classes teaches it the boundary.
* **Diversity within a batch** (Zhdanov 2019, "diverse mini-batch active
  learning"): of the :data:`CANDIDATES_PER_PICK` x batch most uncertain
  images, a k-means weighted by uncertainty splits them into as many groups as
  the batch holds and the image nearest each group's centre is taken.  Uncertainty
  alone fills a batch with ten near-copies of the same hard image, and labelling
  the second copy teaches almost nothing the first did not.
* **Diversity across batches**: an image's uncertainty is weighted by its
  novelty, its distance to the closest image already placed relative to the
  typical distance between an image and its nearest neighbour in the folder,
  capped at 1, so a near-copy of a placed image falls behind every image that is
  merely uncertain, also in the next batch.
* **A cold start** (TypiClust, Hacohen et al. 2022): while the model knows
  fewer than :data:`COLD_PER_CLASS` images per class its uncertainty says
  little, so a batch is instead the most typical image (densest among its
  neighbours) of each of the largest clusters no labelled image is in yet.

Measured on real images (``bench/bench_active_learning.py``, README): 0.59x and
0.55x the labels of random picks on two 4-class folders and 0.78x on an 8-class
one, against 0.72x, 0.73x and 0.95x for the k-center rule this replaced
(one image at a time by uncertainty x novelty).

Distances are between centred, unit-length backbone embeddings, and novelty is
relative to the folder's own spacing, so the same rule holds for any backbone.
Only the :data:`MAX_GREEDY` most uncertain images are placed this way (the rest
follow by uncertainty): nobody labels ten thousand images in one sitting.
"""

from __future__ import annotations

import math
import warnings
from typing import Optional

import numpy as np

#: Novelty is the distance to the closest placed image over this quantile of the
#: nearest-neighbour distances (0.5: the median), capped at 1.
NOVELTY_QUANTILE = 0.5
#: The most uncertain images placed batch by batch; the rest follow by uncertainty.
MAX_GREEDY = 3000
#: A batch is this share of the unlabelled images (a labelling round) ...
BATCH_SHARE = 0.05
#: ... but at most this many: the model is worth updating after that many labels.
MAX_BATCH = 100
#: Candidates for a batch: this many of the most uncertain images per image taken.  Three,
#: not five: on the 8-class folder 0.78x the labels of random picks against 0.86x (120
#: seeds, paired difference -38 +- 15 labels), the 4-class folders unchanged within noise;
#: ten was worse (0.93x on seeds 0-39).  Fewer candidates lean the batch towards the most
#: uncertain images; the k-means still keeps near-copies apart.
CANDIDATES_PER_PICK = 3
#: Below this many labelled images per class a batch is chosen by typicality (cold start).
COLD_PER_CLASS = 10
#: Typicality is the inverse mean distance to this many nearest images of the same cluster ...
TYPICAL_NEIGHBOURS = 20
#: ... among at most this many of them (a fixed sample of a bigger cluster).
TYPICAL_SAMPLE = 2000
ORDERS = ("useful", "confident")


def uncertainty(probs: np.ndarray) -> np.ndarray:
    """1 - (top probability - second probability) per row: 0 sure, 1 torn between two."""
    probs = np.asarray(probs, np.float64)
    if probs.shape[1] < 2:
        return np.zeros(len(probs))
    top2 = -np.partition(-probs, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def unit_rows(embeddings: np.ndarray, labelled: Optional[np.ndarray] = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """(unlabelled rows, labelled rows): centred together, scaled to unit length.

    Not projected to fewer dimensions: a random projection to 256 made the
    8-class study folder's order no better than random picks (0.99x, against
    0.84x unprojected, 80 seeds).
    """
    x = np.asarray(embeddings, np.float32)
    extra = np.zeros((0, x.shape[1]), np.float32) if labelled is None \
        else np.asarray(labelled, np.float32).reshape(-1, x.shape[1])
    both = np.vstack([x, extra])
    both = both - both.mean(axis=0, keepdims=True)
    both /= np.linalg.norm(both, axis=1, keepdims=True) + 1e-8
    return both[:len(x)], both[len(x):]


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T), 0.0)


def typical_spacing(x: np.ndarray) -> float:
    """The :data:`NOVELTY_QUANTILE` of each row's distance to its nearest other row."""
    nearest = np.empty(len(x), np.float32)
    for s in range(0, len(x), 512):  # blocks keep memory small for thousands of rows
        d = _sq_distances(x[s:s + 512], x)
        d[np.arange(len(d)), np.arange(s, s + len(d))] = np.inf
        nearest[s:s + 512] = np.sqrt(d.min(axis=1))
    return float(np.quantile(nearest, NOVELTY_QUANTILE))


def _kmeans(x: np.ndarray, k: int, weights: Optional[np.ndarray] = None):
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # fewer distinct rows than clusters: fewer clusters, fine
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(n_clusters=k, n_init=1, max_iter=100, random_state=0).fit(
            x, sample_weight=weights)


def _most_typical(rows: np.ndarray) -> int:
    """Index of the row with the smallest mean distance to its nearest rows (the densest)."""
    if len(rows) < 3:
        return 0
    sample = np.arange(len(rows))
    if len(rows) > TYPICAL_SAMPLE:
        sample = np.sort(np.random.default_rng(0).choice(len(rows), TYPICAL_SAMPLE, False))
    k = min(TYPICAL_NEIGHBOURS, len(sample) - 1)
    d = np.sqrt(_sq_distances(rows[sample], rows[sample]))
    mean_near = np.partition(d, k, axis=1)[:, 1:k + 1].mean(axis=1)
    return int(sample[np.argmin(mean_near)])


def _typical_batch(x: np.ndarray, known: np.ndarray, free: np.ndarray, size: int) -> list[int]:
    """The cold start: the most typical free row of each of the largest uncovered clusters."""
    idx = np.flatnonzero(free)
    k = min(len(idx) + len(known), len(known) + size)
    km = _kmeans(np.vstack([x[idx], known]), k)
    member = km.labels_[:len(idx)]
    covered = set(km.labels_[len(idx):].tolist())
    sizes = np.bincount(member, minlength=k)
    picks = []
    for q in sorted(range(k), key=lambda q: (q in covered, -sizes[q])):
        rows = idx[member == q]
        if len(picks) >= size:
            break
        if len(rows):
            picks.append(int(rows[_most_typical(x[rows])]))
    return picks


def _diverse_batch(x: np.ndarray, worth: np.ndarray, free: np.ndarray, size: int) -> list[int]:
    """The row nearest each centre of a worth-weighted k-means of the most worthwhile rows."""
    idx = np.flatnonzero(free)
    cand = idx[np.argsort(-worth[idx], kind="stable")[:CANDIDATES_PER_PICK * size]]
    if size == 1 or len(cand) <= size:
        return [int(c) for c in cand[:size]]
    km = _kmeans(x[cand], size, worth[cand] + 1e-6)
    d = _sq_distances(x[cand], km.cluster_centers_)
    picks = []
    for q in range(size):
        members = np.flatnonzero(km.labels_ == q)
        if len(members):
            picks.append(int(cand[members[np.argmin(d[members, q])]]))
    return picks


def batch_size(n: int) -> int:
    """Images per batch for ``n`` unlabelled images: :data:`BATCH_SHARE`, 1 to :data:`MAX_BATCH`."""
    return max(1, min(MAX_BATCH, math.ceil(BATCH_SHARE * n)))


def useful_order(probs: np.ndarray, embeddings: Optional[np.ndarray], *,
                 labelled: Optional[np.ndarray] = None, batch: Optional[int] = None,
                 batches: Optional[int] = None, limit: int = MAX_GREEDY
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, usefulness scores) most useful first; see the module docstring.

    ``labelled``: embeddings of the images the model was trained on, needed only
    while they are fewer than :data:`COLD_PER_CLASS` per class (the cold start);
    ``None`` when unknown or many.  ``batch``: images per batch (default
    :func:`batch_size`); ``batches``: how many batches to choose this way (default
    all; the rest follow by uncertainty x novelty).  The score of an image is its
    uncertainty times its novelty when it was placed (0..1); the rest keep their
    plain uncertainty.  Without embeddings the order is by uncertainty alone.
    """
    u = uncertainty(probs)
    by_u = np.argsort(-u, kind="stable")
    if embeddings is None or len(u) < 3:
        return by_u, u[by_u]
    cand = by_u[:limit]
    x, known = unit_rows(np.asarray(embeddings)[cand], labelled)
    spacing = typical_spacing(x)
    if spacing <= 0:  # mostly exact copies: nothing to measure novelty against
        return by_u, u[by_u]
    cu = u[cand]
    size = batch or batch_size(len(u))
    cold_until = COLD_PER_CLASS * probs.shape[1] - len(known) if labelled is not None else 0
    closest = np.full(len(cand), np.inf, np.float32)  # distance to the closest placed image
    free = np.ones(len(cand), bool)
    order: list[int] = []
    scores: list[float] = []
    while free.any() and (batches is None or len(order) < batches * size):
        worth = cu * np.minimum(1.0, closest / spacing)
        take = min(size, int(free.sum()))
        if len(order) < cold_until:
            picks = _typical_batch(x, np.vstack([known, x[order]]), free, take)
        else:
            picks = _diverse_batch(x, worth, free, take)
        picks = list(dict.fromkeys(p for p in picks if free[p]))
        for p in np.argsort(-np.where(free, worth, -np.inf), kind="stable"):  # top up a short batch
            if len(picks) >= take:
                break
            if int(p) not in picks:
                picks.append(int(p))
        picks.sort(key=lambda p: -worth[p])  # within a batch: the most worthwhile first
        order += picks
        scores += [float(worth[p]) for p in picks]
        free[picks] = False
        np.minimum(closest, np.sqrt(_sq_distances(x, x[picks])).min(axis=1), out=closest)
    worth = cu * np.minimum(1.0, closest / spacing)
    left = np.flatnonzero(free)
    left = left[np.argsort(-worth[left], kind="stable")]
    rest = by_u[limit:]
    return (np.concatenate([cand[np.asarray(order + left.tolist(), int)], rest]),
            np.concatenate([np.asarray(scores, float), worth[left], u[rest]]))


def confident_order(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, usefulness scores) most confident first, for quick bulk acceptance.

    The score is each image's own usefulness, its plain uncertainty (what the useful order
    gives an image before any near-copy is placed): it was the top probability, so the
    surest image was listed as the most useful to label."""
    top = np.asarray(probs, np.float64).max(axis=1) if len(probs) else np.zeros(0)
    order = np.argsort(-top, kind="stable")
    return order, (uncertainty(probs) if len(probs) else np.zeros(0))[order]
