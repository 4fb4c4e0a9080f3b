"""In which order to show unlabelled images: most useful to label first, or most confident first.

"Useful" is uncertainty with diversity.  Uncertainty is one minus the margin
between the two likeliest classes (best-versus-second-best): an image the model
hesitates over between two classes teaches it the boundary.  Uncertainty alone
puts ten near-copies of the same hard image in a row, and labelling the second
copy teaches almost nothing the first did not; so the order is built greedily
(the k-center idea of Sener & Savarese, 2018, weighted by uncertainty): each
next image is the one whose uncertainty times its *novelty* is highest, where
novelty is its distance to the closest image already placed, relative to the
typical distance between an image and its nearest neighbour in the folder, capped
at 1.  A near-copy of a placed image has novelty near 0 and falls behind every
image that is merely uncertain; an ordinary image keeps its full uncertainty.
Distances are measured between centred backbone embeddings, and relative to the
folder's own spacing, so the same rule holds for any backbone.

Only the :data:`MAX_GREEDY` most uncertain images are placed greedily (the rest
follow by uncertainty): nobody labels ten thousand images in one sitting, and
the greedy step costs one pass over the candidates per image placed.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

#: Novelty is the distance to the closest placed image over this quantile of the
#: nearest-neighbour distances (0.5: the median), capped at 1.
NOVELTY_QUANTILE = 0.5
#: The most uncertain images placed by the greedy diversity step; the rest follow by uncertainty.
MAX_GREEDY = 3000
#: Embeddings are projected to this many dimensions for the distances (kept within a few
#: per cent; the greedy step gets several times faster).
PROJECT_DIMS = 256
ORDERS = ("useful", "confident")


def uncertainty(probs: np.ndarray) -> np.ndarray:
    """1 - (top probability - second probability) per row: 0 sure, 1 torn between two."""
    probs = np.asarray(probs, np.float64)
    if probs.shape[1] < 2:
        return np.zeros(len(probs))
    top2 = -np.partition(-probs, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def centred_rows(embeddings: np.ndarray) -> np.ndarray:
    """Centred rows, projected to :data:`PROJECT_DIMS` (a fixed random projection) when wider."""
    x = np.asarray(embeddings, np.float32)
    x = x - x.mean(axis=0, keepdims=True)
    if x.shape[1] > PROJECT_DIMS:
        rng = np.random.default_rng(0)  # fixed: the same images always get the same order
        proj = rng.standard_normal((x.shape[1], PROJECT_DIMS)).astype(np.float32)
        x = x @ (proj / np.sqrt(PROJECT_DIMS))
    return x


def _distances_to(x: np.ndarray, sq: np.ndarray, j: int) -> np.ndarray:
    return np.sqrt(np.maximum(sq + sq[j] - 2.0 * (x @ x[j]), 0.0))


def typical_spacing(x: np.ndarray) -> float:
    """The :data:`NOVELTY_QUANTILE` of each row's distance to its nearest other row."""
    sq = (x * x).sum(axis=1)
    nearest = np.empty(len(x), np.float32)
    for s in range(0, len(x), 512):  # blocks keep memory small for thousands of rows
        d = np.sqrt(np.maximum(sq[s:s + 512, None] + sq[None, :] - 2.0 * (x[s:s + 512] @ x.T),
                               0.0))
        d[np.arange(len(d)), np.arange(s, s + len(d))] = np.inf
        nearest[s:s + 512] = d.min(axis=1)
    return float(np.quantile(nearest, NOVELTY_QUANTILE))


def useful_order(probs: np.ndarray, embeddings: Optional[np.ndarray],
                 limit: int = MAX_GREEDY) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, usefulness scores) most useful first; see the module docstring.

    The score of a greedily placed image is its uncertainty times its novelty
    when it was placed (0..1); the rest keep their plain uncertainty.  Without
    embeddings the order is by uncertainty alone.
    """
    u = uncertainty(probs)
    by_u = np.argsort(-u, kind="stable")
    if embeddings is None or len(u) < 3:
        return by_u, u[by_u]
    cand = by_u[:limit]
    x = centred_rows(np.asarray(embeddings)[cand])
    spacing = typical_spacing(x)
    if spacing <= 0:  # mostly exact copies: nothing to measure novelty against
        return by_u, u[by_u]
    sq = (x * x).sum(axis=1)
    cu = u[cand]
    closest = np.full(len(cand), np.inf, np.float32)  # distance to the closest placed image
    free = np.ones(len(cand), bool)
    order, scores = [], []
    for _ in range(len(cand)):
        adjusted = np.where(free, cu * np.minimum(1.0, closest / spacing), -np.inf)
        j = int(np.argmax(adjusted))
        order.append(cand[j])
        scores.append(adjusted[j])
        free[j] = False
        np.minimum(closest, _distances_to(x, sq, j), out=closest)
    rest = by_u[limit:]
    return (np.concatenate([np.asarray(order, int), rest]),
            np.concatenate([np.asarray(scores, float), u[rest]]))


def confident_order(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, top probability) most confident first, for quick bulk acceptance."""
    top = np.asarray(probs, np.float64).max(axis=1) if len(probs) else np.zeros(0)
    order = np.argsort(-top, kind="stable")
    return order, top[order]
