"""A 2-D map of the stored features, for the window's scatter plot of a data folder.

"pca" (the default) is instant at any size and keeps global structure: classes
that overlap in it overlap for a linear head too.  "tsne" (scikit-learn) pulls
clusters apart and shows near-copies as tight spots, but takes tens of seconds
for a few thousand images on two cores and grows faster than linearly; run it
in a worker and offer it for small sets only (:data:`TSNE_UP_TO`).
"""

from __future__ import annotations

import numpy as np

from core.features.vectors import reduced

TSNE_UP_TO = 5000


def embedding_map(vectors: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(n, 2) float32 coordinates, each axis scaled to [-1, 1]."""
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if n < 3:
        return np.zeros((n, 2), dtype=np.float32)
    if method == "tsne":
        if n > TSNE_UP_TO:
            raise ValueError(f"t-SNE is offered up to {TSNE_UP_TO} images, got {n}; use 'pca'")
        from sklearn.manifold import TSNE

        xy = TSNE(n_components=2, init="pca", random_state=seed,
                  perplexity=min(30.0, (n - 1) / 3)).fit_transform(reduced(vectors, 50))
    elif method == "pca":
        z = reduced(vectors, 50)
        xy = z @ np.linalg.svd(z - z.mean(0), full_matrices=False)[2][:2].T
    else:
        raise ValueError(f"unknown map method {method!r}; use 'pca' or 'tsne'")
    xy = xy - xy.mean(axis=0)
    return (xy / np.maximum(np.abs(xy).max(axis=0), 1e-9)).astype(np.float32)
