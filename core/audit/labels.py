"""Likely wrong labels: out-of-fold predictions of light models on the stored features.

cleanlab's usual recipe retrains the whole network k times (hours to days);
the backbone features are already in the store, so here each fold trains a
logistic regression on them (a second or two).  Every image is scored by
models that never saw it nor any of its near-copies: the folds keep
near-duplicate groups together, or a copy in the training folds would vouch
for its twin's label.

Two views that make different mistakes are averaged: the regression's
class probabilities and the label shares among the image's nearest
neighbours (its own group left out).  The score is the averaged probability
that the given class is wrong; the suggested class is the likeliest other
one.  Images in a near-duplicate group that spans classes carry a
contradiction (one picture, two labels): those whose label disagrees with the
group's prediction come first.  ``notes`` say what cannot be told: one class
has nothing to compare with, and a class with fewer images than folds cannot
be held out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from core.events import CancelToken

FOLDS = 5
NEIGHBOURS = 30
REGULARISATION = 3.0  # LogisticRegression C on unit-length PCA features (measured on ELPV)


@dataclass
class LabelScores:
    """Per image: probability the given label is wrong and the suggested class (-1: none)."""

    wrong: np.ndarray        # (n,) in [0, 1]
    suggested: np.ndarray    # (n,) class index, -1 where nothing could be scored
    probabilities: np.ndarray  # (n, C) averaged out-of-fold probabilities
    scored: np.ndarray       # (n,) bool: the image took part
    conflict: np.ndarray     # (n,) bool: a near-copy in another class fits better
    notes: list[str] = field(default_factory=list)

    def order(self) -> np.ndarray:
        """Scored images, most likely wrong first (contradictions before the rest)."""
        idx = np.flatnonzero(self.scored)
        return idx[np.lexsort((-self.wrong[idx], ~self.conflict[idx]))]


def fold_ids(labels: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A fold per image: stratified by class, near-duplicate groups never split."""
    from sklearn.model_selection import StratifiedGroupKFold

    out = np.zeros(len(labels), dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for f, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups)):
        out[test] = f
    return out


def logistic_oof(x: np.ndarray, labels: np.ndarray, folds: np.ndarray, n_classes: int,
                 cancel: Optional[CancelToken] = None) -> np.ndarray:
    """Out-of-fold class probabilities of a logistic regression, (n, n_classes).

    ``cancel`` is checked between folds (raises :class:`core.events.Cancelled`).

    One BLAS thread: on a small problem many threads only fight over the
    cores (measured: 0.2 s instead of 4 s per fit on a busy 2-core machine).
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    probs = np.zeros((len(labels), n_classes), dtype=np.float64)
    with threadpool_limits(1):
        for f in np.unique(folds):
            train, test = folds != f, folds == f
            clf = LogisticRegression(C=REGULARISATION, max_iter=1000)
            clf.fit(x[train], labels[train])
            probs[np.ix_(test, clf.classes_)] = clf.predict_proba(x[test])
            if cancel is not None:
                cancel.raise_if_cancelled()
    return probs


def neighbour_votes(x: np.ndarray, labels: np.ndarray, groups: np.ndarray, n_classes: int,
                    k: int = NEIGHBOURS, chunk: int = 256,
                    cancel: Optional[CancelToken] = None) -> np.ndarray:
    """Similarity-weighted class shares among each image's k nearest others (own group left
    out); ``cancel`` is checked between chunks (all pairs: long at 20,000 images)."""
    n = len(labels)
    k = max(1, min(k, n - 1))
    votes = np.zeros((n, n_classes), dtype=np.float64)
    for start in range(0, n, chunk):
        if cancel is not None:
            cancel.raise_if_cancelled()
        rows = np.arange(start, min(start + chunk, n))
        sims = x[rows] @ x.T
        sims[groups[rows][:, None] == groups[None, :]] = -np.inf  # itself and its copies
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.maximum(np.take_along_axis(sims, top, axis=1), 0.0)
        np.add.at(votes, (np.repeat(rows, k), labels[top].ravel()), weights.ravel())
    votes += 1e-3
    return votes / votes.sum(axis=1, keepdims=True)


def _notes(counts: np.ndarray, distinct: np.ndarray,
           classes: list[str]) -> tuple[list[str], np.ndarray]:
    """What cannot be told, and which classes can be scored.

    ``distinct`` counts a class's near-copy groups once each: a class of burst
    shots of one scene cannot be held out (its copies go to one fold together),
    so the models never saw it and would call every image of it misfiled.
    """
    notes = []
    usable = distinct >= FOLDS
    small = [f"{classes[c]} ({int(counts[c])}" + (f", {int(distinct[c])} distinct)"
                                                  if distinct[c] < counts[c] else ")")
             for c in np.flatnonzero(~usable) if counts[c]]
    if small:
        notes.append(f"too few images to check the labels of {', '.join(small)}: each class "
                     f"needs at least {FOLDS} distinct ones (near-copies count once, one per "
                     "fold); their images are not scored")
    if usable.sum() < 2:
        notes.append("label check skipped: it needs at least 2 classes with "
                     f"{FOLDS} or more images each, to compare a class with another")
    return notes, usable


def score_labels(vectors: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                 classes: list[str], seed: int = 0,
                 cancel: Optional[CancelToken] = None) -> LabelScores:
    """Score every image's given label (see the module docstring).

    ``vectors``: unit-length feature rows (:func:`core.features.vectors.reduced`);
    ``groups``: a near-duplicate group id per image (its own index when alone).
    """
    n, n_classes = len(labels), len(classes)
    counts = np.bincount(labels, minlength=n_classes)
    distinct = np.array([len(np.unique(groups[labels == c])) for c in range(n_classes)])
    notes, usable = _notes(counts, distinct, classes)
    out = LabelScores(np.zeros(n), np.full(n, -1), np.zeros((n, n_classes)),
                      np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), notes)
    if usable.sum() < 2:
        return out
    scored = usable[labels]
    idx = np.flatnonzero(scored)
    x = np.asarray(vectors[idx], dtype=np.float32)
    y, g = labels[idx], groups[idx]
    folds = fold_ids(y, g, FOLDS, seed)
    probs = (logistic_oof(x, y, folds, n_classes, cancel)
             + neighbour_votes(x, y, g, n_classes, cancel=cancel)) / 2
    wrong = 1.0 - probs[np.arange(len(y)), y]
    out.conflict[idx] = _contradictions(wrong, probs, y, g)
    others = probs.copy()
    others[np.arange(len(y)), y] = -1.0
    out.wrong[idx], out.suggested[idx] = wrong, others.argmax(axis=1)
    out.probabilities[idx], out.scored = probs, scored
    return out


def _contradictions(wrong: np.ndarray, probs: np.ndarray, labels: np.ndarray,
                    groups: np.ndarray) -> np.ndarray:
    """Flag images whose near-copy in another class fits better; score them by the group."""
    conflict = np.zeros(len(labels), dtype=bool)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[int(g)].append(i)
    for m in members.values():
        if len(m) < 2 or len(set(labels[m].tolist())) < 2:
            continue
        shared = probs[m].mean(axis=0)
        best = int(np.argmax(shared))
        for i in m:
            if labels[i] != best:
                wrong[i] = max(wrong[i], 1.0 - shared[labels[i]])
                conflict[i] = True
    return conflict
