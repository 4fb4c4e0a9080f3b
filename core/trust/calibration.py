"""Temperature scaling and the expected calibration error (plain numpy).

A classifier's softmax after fine-tuning is usually over-confident: "93%" is
right far less often than 93% of the time.  Temperature scaling (Guo et al.,
2017) divides the logits by one number T fitted on the validation images; it
never changes which class wins (accuracy is untouched), only how sure the
model says it is.  We are given probabilities, not logits, and use ``log p``
as the logits: ``softmax(log p / T)`` is the same family.

ECE (15 equal-width confidence bins) is the share-weighted gap between the
confidence shown and the accuracy reached; it is defined here once and used by
training, ``evaluate`` and the Evaluate page (:mod:`core.infer.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

ECE_BINS = 15
EPS = 1e-12
#: Temperatures searched (log-spaced); outside this range the model is broken, not miscalibrated.
T_RANGE = (0.05, 20.0)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)`` row by row; T = 1 gives ``probs`` back (renormalised)."""
    p = np.asarray(probs, dtype=np.float64)
    logits = np.log(np.clip(p, EPS, 1.0)) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def nll(probs: np.ndarray, y_true) -> float:
    """Mean negative log-likelihood of the true classes."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.int64)
    if len(y) == 0:
        return 0.0
    return float(-np.log(np.clip(p[np.arange(len(y)), y], EPS, 1.0)).mean())


def fit_temperature(probs: np.ndarray, y_true) -> float:
    """The T in :data:`T_RANGE` that minimises the NLL of ``y_true`` (golden-section on log T).

    The NLL of temperature scaling is unimodal in log T, so a golden-section
    search finds its minimum without gradients; a grid first guards against a
    flat start.  With no images (or one class) the answer is 1 (no change), and
    so it is when the model got every image right: the NLL then falls for ever as
    T shrinks, so the search ended on its lower bound and a 60/40 answer read as
    99.97% sure -- no mistakes give nothing to fit a temperature on.
    """
    y = np.asarray(y_true, dtype=np.int64)
    if len(y) == 0 or np.asarray(probs).shape[1] < 2:
        return 1.0
    if (np.asarray(probs).argmax(axis=1) == y).all():
        return 1.0
    lo, hi = np.log(T_RANGE[0]), np.log(T_RANGE[1])

    def loss(log_t: float) -> float:
        return nll(apply_temperature(probs, float(np.exp(log_t))), y)

    grid = np.linspace(lo, hi, 25)
    best = int(np.argmin([loss(g) for g in grid]))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (np.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    for _ in range(40):
        if loss(c) < loss(d):
            b = d
        else:
            a = c
        c, d = b - ratio * (b - a), a + ratio * (b - a)
    return float(np.exp((a + b) / 2))


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin of a reliability diagram (``count`` 0: empty, means are 0)."""

    low: float
    high: float
    count: int
    confidence: float  # mean top-1 probability of the bin's images
    accuracy: float  # share of them predicted right


def reliability_table(probs: np.ndarray, y_true, bins: int = ECE_BINS) -> list[ReliabilityBin]:
    """Equal-width bins of top-1 confidence; the bars of a reliability diagram."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.int64)
    conf = p.max(axis=1) if len(p) else np.zeros(0)
    right = (p.argmax(axis=1) == y) if len(p) else np.zeros(0, bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # bin i holds (edges[i], edges[i+1]]; a confidence of exactly 0 goes to the first bin
    index = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    out = []
    for i in range(bins):
        mask = index == i
        n = int(mask.sum())
        out.append(ReliabilityBin(float(edges[i]), float(edges[i + 1]), n,
                                  float(conf[mask].mean()) if n else 0.0,
                                  float(right[mask].mean()) if n else 0.0))
    return out


def expected_calibration_error(probs: np.ndarray, y_true, bins: int = ECE_BINS) -> float:
    """ECE: sum over bins of (share of images) x |accuracy - mean confidence|."""
    table = reliability_table(probs, y_true, bins)
    total = sum(b.count for b in table)
    if not total:
        return 0.0
    return float(sum(b.count / total * abs(b.accuracy - b.confidence) for b in table))


def ece_rose_note(calibration: Optional[dict]) -> str:
    """Why the calibration error went up with calibration ("" when it did not).

    The temperature is fitted to the answers' log loss, the proper measure, which it
    never makes worse; the ECE counts images in :data:`ECE_BINS` confidence bins, and on a
    few validation images it moves by chance.  A page that said "ECE 0.225 before and 0.269
    after" left a new user thinking calibration had failed (a review)."""
    cal = calibration or {}
    before, after = cal.get("ece_before"), cal.get("ece_after")
    # as shown (3 decimals): "0.030 after (0.030 before) ... rose by chance" was said of a
    # rise in the eighth decimal, a temperature of 1 (a review)
    if not isinstance(before, (int, float)) or not isinstance(after, (int, float)) \
            or round(after, 3) <= round(before, 3):
        return ""
    n, bins = cal.get("n_images"), cal.get("bins")
    few = f"on {n} images, " if isinstance(n, int) else ""
    return ("The temperature is chosen for the best log loss on those images, which it "
            "cannot make worse; the calibration error counts images in "
            f"{bins if isinstance(bins, int) else ECE_BINS} confidence bins and, {few}rose by "
            "chance. More validation images make it meaningful.")
