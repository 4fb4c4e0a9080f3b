"""Outliers: images far from every other image in feature space.

An image that belongs to no class of the folder (a screenshot among X-rays, a
blank frame) has no close neighbour at all.  Its score is the mean cosine
distance to its nearest others (its own near-copies left out), as a robust
z-score against all images: how many spreads above the typical distance it
lies.  Above :data:`OUTLIER_Z` it is reported.
"""

from __future__ import annotations

import numpy as np

NEIGHBOURS = 10
OUTLIER_Z = 4.0


def outlier_scores(x: np.ndarray, groups: np.ndarray, k: int = NEIGHBOURS,
                   chunk: int = 256, cancel=None) -> np.ndarray:
    """Robust z-score of each row's mean distance to its k nearest others (unit rows ``x``);
    ``cancel`` (a CancelToken) is checked between chunks."""
    n = len(x)
    if n < 3:
        return np.zeros(n)
    k = max(1, min(k, n - 1))
    dist = np.zeros(n)
    for start in range(0, n, chunk):
        if cancel is not None:
            cancel.raise_if_cancelled()
        rows = np.arange(start, min(start + chunk, n))
        sims = x[rows] @ x.T
        sims[groups[rows][:, None] == groups[None, :]] = -np.inf
        top = np.partition(-sims, k - 1, axis=1)[:, :k]
        finite = np.isfinite(top)
        dist[rows] = np.where(finite, 1.0 + top, 0.0).sum(axis=1) / np.maximum(finite.sum(1), 1)
    median = np.median(dist)
    spread = 1.4826 * np.median(np.abs(dist - median))
    return (dist - median) / max(spread, 1e-6)
