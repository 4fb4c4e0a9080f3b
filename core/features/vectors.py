"""Feature vectors made ready for comparing: centred, reduced, unit length.

Pooled backbone features share a large common component (every image "looks
like a photo" to the backbone), which hides the differences that matter for
nearest neighbours.  Removing the mean and keeping the main directions (PCA,
unsupervised, so no label leaks into the audit's folds) makes cosine
similarity sharper and the all-pairs work 5-10x cheaper.
"""

from __future__ import annotations

import numpy as np


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def centred(x: np.ndarray) -> np.ndarray:
    """Rows minus the mean row, scaled to unit length (float32)."""
    x = np.asarray(x, dtype=np.float32)
    return unit_rows(x - x.mean(axis=0, keepdims=True))


def reduced(x: np.ndarray, dims: int = 128, chunk: int = 8192) -> np.ndarray:
    """Centred rows projected on their ``dims`` main directions (PCA), unit length.

    The covariance is accumulated in chunks and its main directions found by
    a few seeded subspace iterations (a full eigendecomposition of a 1280 x
    1280 matrix takes seconds to tens of seconds on a busy 2-core machine):
    cost linear in the number of images, memory ``features x features``.
    """
    x = centred(x)
    n, d = x.shape
    if d <= dims or n <= dims:
        return x
    with one_blas_thread():
        return _project(x, dims, chunk)


def one_blas_thread():
    """A context in which numpy's BLAS uses one thread.

    With TensorFlow loaded (the window, a training run) BLAS and OpenMP threads
    fight over two cores: measured on the busy 2-core development machine, the
    PCA below took 14-19 s for 200 images with TensorFlow imported, 0.2-0.3 s
    with one thread.  The products here are small; threads gain little on them.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def _project(x: np.ndarray, dims: int, chunk: int) -> np.ndarray:
    n, d = x.shape
    cov = np.zeros((d, d), dtype=np.float32)
    for start in range(0, n, chunk):
        part = x[start:start + chunk]
        cov += part.T @ part
    q = np.random.default_rng(0).standard_normal((d, dims + 16)).astype(np.float32)
    for _ in range(4):
        q, _ = np.linalg.qr(cov @ q)
    _, vecs = np.linalg.eigh(q.T @ cov @ q)
    return unit_rows(x @ (q @ vecs[:, -dims:]))


def top_k(query: np.ndarray, target: np.ndarray, k: int, exclude_self: bool = True,
          chunk: int = 1024, cancel=None) -> tuple[np.ndarray, np.ndarray]:
    """(indices, similarities) of each query row's ``k`` most similar target rows (dot product).

    Computed in row chunks, so memory is ``chunk x len(target)`` whatever the size;
    ``cancel`` (a CancelToken) is checked between chunks.
    """
    n = len(query)
    k = max(0, min(k, len(target) - (1 if exclude_self else 0)))
    idx = np.zeros((n, k), dtype=np.int64)
    sims = np.zeros((n, k), dtype=np.float32)
    if k == 0:
        return idx, sims
    chunk = max(16, min(chunk, (1 << 25) // max(1, len(target))))  # <= 128 MB per block
    for start in range(0, n, chunk):
        if cancel is not None:
            cancel.raise_if_cancelled()
        s = query[start:start + chunk] @ target.T
        if exclude_self:
            rows = np.arange(start, min(start + chunk, n))
            s[rows - start, rows] = -np.inf
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-vals, axis=1)
        idx[start:start + chunk] = np.take_along_axis(part, order, axis=1)
        sims[start:start + chunk] = np.take_along_axis(vals, order, axis=1)
    return idx, sims
