"""The "unknown" score: how unlike the training images an image is.

Maximum probability alone is a weak "none of these" signal: a softmax must
spread 100% over the known classes, so a photo of something else often gets a
confident answer.  The pooled backbone embedding (the model's ``avg_pool``
output) says more: images of the known classes lie near training images of
them, other things do not.  The score combines

* ``knn``: cosine distance from the L2-normalised embedding to its k-th
  nearest training embedding (deep nearest neighbours, Sun et al. 2022);
* ``msp``: 1 - the calibrated maximum probability,

each standardised by its mean and spread on the validation images (all known)
and summed with fixed weights.  Higher means "more unknown"; the threshold is
the score under which a chosen share of validation images (default 95%) fall.
The weights were chosen on bench/bench_trust.py (real images, real backbone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import threading

import numpy as np

from core.trust.calibration import apply_temperature

COMPONENTS = ("knn", "msp")
#: Weight of each component of :data:`COMPONENTS` in the combined score.
DEFAULT_WEIGHTS = (1.0, 0.5)
DEFAULT_K = 5
#: At most this many training embeddings are kept in the run (stratified by class).
MAX_REFERENCE = 1000


def normalise(embeddings: np.ndarray) -> np.ndarray:
    e = np.asarray(embeddings, dtype=np.float32)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def knn_distance(embeddings: np.ndarray, reference: np.ndarray, k: int,
                 chunk: int = 256) -> np.ndarray:
    """Cosine distance of each (normalised) row to its k-th nearest reference row."""
    x = normalise(embeddings)
    ref = np.asarray(reference, dtype=np.float32)
    if len(ref) == 0:
        return np.zeros(len(x), np.float32)
    k = max(1, min(int(k), len(ref)))
    out = np.empty(len(x), np.float32)
    with one_blas_thread():
        for s in range(0, len(x), chunk):
            sims = x[s:s + chunk] @ ref.T
            kth = np.partition(-sims, k - 1, axis=1)[:, k - 1]
            out[s:s + chunk] = 1.0 + kth  # 1 - similarity of the k-th nearest
    return out


_BLAS = None
_BLAS_LOCK = threading.Lock()


def one_blas_thread():
    """NumPy's matrix product on one thread while it runs between two batches of the model:
    OpenBLAS's threads keep spinning after a product and took the cores TensorFlow needed for
    the next batch (a calibrated run's folder predicted at 75% of its model's rate; 92% so)."""
    import contextlib

    from threadpoolctl import ThreadpoolController

    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController()
    stack = contextlib.ExitStack()  # one at a time: a limit restores the count it found, so
    stack.enter_context(_BLAS_LOCK)  # two overlapping ones (serve beside Predict) could
    stack.enter_context(_BLAS.limit(limits=1, user_api="blas"))  # leave BLAS at 1 thread
    return stack


def choose_reference(embeddings: np.ndarray, labels, limit: int = MAX_REFERENCE,
                     seed: int = 0) -> np.ndarray:
    """Up to ``limit`` normalised training embeddings, the same share from every class."""
    e = normalise(embeddings)
    y = np.asarray(labels)
    if len(e) <= limit:
        return e
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        idx = np.nonzero(y == c)[0]
        n = max(1, round(limit * len(idx) / len(e)))
        keep.extend(rng.choice(idx, size=min(n, len(idx)), replace=False))
    return e[np.sort(np.asarray(keep))]


#: The smallest spread a component is standardised by.  Both components live on a scale of
#: 0..1 or 0..2, and a spread below this on the validation images means "constant" (a
#: degenerate model): dividing by 1e-6 there turned float rounding (1e-7) into a score
#: difference of 0.1, and an export's parity check failed on identical answers.  (Files
#: fitted before keep their spreads: their threshold was chosen on those scores.)
MIN_STD = 1e-3


@dataclass
class TrustModel:
    """What a run needs to calibrate probabilities and score "unknown" (see :mod:`core.trust.store`).

    ``threshold`` None means no unknown detection (no validation images, or the
    user turned it off); ``reference`` empty means only the ``msp`` part works.
    """

    temperature: float = 1.0
    reference: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    k: int = DEFAULT_K
    weights: tuple[float, ...] = DEFAULT_WEIGHTS
    means: tuple[float, ...] = (0.0, 0.0)
    stds: tuple[float, ...] = (1.0, 1.0)
    threshold: Optional[float] = None
    keep: float = 0.95
    #: The validation images' scores at the 0th, 1st, ..., 100th percentile: what share of
    #: known images a threshold keeps (:func:`kept_share`, :func:`threshold_for_share`).
    score_quantiles: tuple[float, ...] = ()
    #: Validation images at or under the threshold when it was fitted (-1: not known; not
    #: saved): what the calibration log says it keeps.
    kept: int = -1

    def calibrate(self, probs: np.ndarray) -> np.ndarray:
        return apply_temperature(probs, self.temperature)

    def components(self, calibrated: np.ndarray, embeddings: Optional[np.ndarray]) -> np.ndarray:
        """(N, len(COMPONENTS)) raw component values (knn 0 when there is no reference)."""
        msp = 1.0 - np.asarray(calibrated, dtype=np.float32).max(axis=1)
        if embeddings is None or self.reference.size == 0:
            knn = np.zeros_like(msp)
        else:
            knn = knn_distance(embeddings, self.reference, self.k)
        return np.stack([knn, msp], axis=1)

    def combine(self, components: np.ndarray, with_knn: bool = True) -> np.ndarray:
        """The weighted sum of the standardised components (``with_knn`` False: msp only)."""
        z = (components - np.asarray(self.means)) / np.maximum(np.asarray(self.stds), 1e-6)
        w = np.asarray(self.weights, dtype=np.float64)
        if self.reference.size == 0 or not with_knn:
            w = w * np.array([0.0, 1.0])  # no embeddings: max probability only
        return (z @ w).astype(np.float32)

    def scores(self, calibrated: np.ndarray, embeddings: Optional[np.ndarray]) -> np.ndarray:
        """The unknown score of each image (higher: less like the training images)."""
        return self.combine(self.components(calibrated, embeddings), embeddings is not None)

    def standardise_on(self, components: np.ndarray) -> None:
        """Take each component's mean and spread from ``components`` (validation images)."""
        c = np.asarray(components, dtype=np.float64)
        if len(c):
            self.means = tuple(float(v) for v in c.mean(axis=0))
            self.stds = tuple(float(max(v, MIN_STD)) for v in c.std(axis=0))


def keep_threshold(scores: np.ndarray, keep: float) -> Optional[float]:
    """A score threshold with at least ``keep`` of ``scores`` at or under it, halfway to the
    next score (or a hair above the highest).  Exactly on the last kept score, that image
    flipped to "unknown" when the saved model computed its score a rounding error higher."""
    s = np.sort(np.asarray(scores, dtype=np.float64))
    if len(s) == 0:
        return None
    n_keep = max(int(np.ceil(min(max(keep, 0.0), 1.0) * len(s))), 1)
    last = s[n_keep - 1]
    if n_keep < len(s) and s[n_keep] > last:
        return float((last + s[n_keep]) / 2)
    return float(last + 1e-6 * (1.0 + abs(last)))


def is_unknown(scores: np.ndarray, threshold: Optional[float]) -> np.ndarray:
    """The flag: a score strictly above the threshold (None: nothing is unknown)."""
    s = np.asarray(scores)
    if threshold is None:
        return np.zeros(s.shape, bool)
    return s > float(threshold)


#: The percentiles :attr:`TrustModel.score_quantiles` holds.
QUANTILE_LEVELS = np.linspace(0.0, 1.0, 101)


def score_quantiles(scores: np.ndarray) -> tuple[float, ...]:
    """The 0th..100th percentiles of the validation images' scores (empty without scores)."""
    s = np.asarray(scores, dtype=np.float64)
    return tuple(float(v) for v in np.quantile(s, QUANTILE_LEVELS)) if len(s) else ()


def kept_share(threshold: float, quantiles) -> float:
    """About how many of the validation images (a share) score at or under ``threshold``."""
    q = np.asarray(quantiles, dtype=np.float64)
    if not len(q):
        return float("nan")
    return float(np.interp(threshold, q, QUANTILE_LEVELS, left=0.0, right=1.0))


def threshold_for_share(share: float, quantiles) -> float:
    """The threshold that keeps about ``share`` of the validation images (its inverse)."""
    return float(np.interp(min(max(share, 0.0), 1.0), QUANTILE_LEVELS,
                           np.asarray(quantiles, dtype=np.float64)))


#: Validation scores spread over less than this (the scores are in units of their spread on
#: a model that tells images apart, several wide) are all alike.
ALIKE_SPREAD = 1e-2


def scores_alike(quantiles) -> bool:
    """Whether the validation images all got (about) the same unknown score: a model that
    has not learned to tell images apart (it answers one class, with the same probabilities,
    for every image).  Its threshold only splits rounding noise, and "the share of known
    images kept" was 100% at its start and jumped about as the slider moved."""
    q = np.asarray(quantiles, dtype=np.float64)
    return len(q) > 1 and float(q[-1] - q[0]) < ALIKE_SPREAD
