"""Audit a data folder: near-duplicate groups, likely wrong labels, outliers.

One pass over the folder: scan it (:func:`core.data.dataset.scan_dataset`),
take every image's features from the store (:class:`core.features.store.FeatureStore`:
only new or changed files run through the backbone), group near-copies
(:mod:`core.features.near_duplicates`), score labels out-of-fold
(:mod:`core.audit.labels`) and find outliers (:mod:`core.audit.outliers`).
Byte-identical copies, which the scan leaves out of training, are audited
too: they belong in the near-duplicate groups.

Emits :class:`~core.audit.result.AuditStage` at each step, Progress within the
steps, FileSkipped once per unreadable file; raises :class:`core.events.Cancelled`
when the token is set (features computed so far stay in the store).
"""

from __future__ import annotations

import os
import time
from typing import Optional, Union

import numpy as np

from core.audit.labels import score_labels
from core.audit.outliers import OUTLIER_Z, outlier_scores
from core.audit.result import AuditResult, AuditStage, DuplicateGroup, LabelIssue, Outlier
from core.errors import DataError
from core.events import CancelToken, FileSkipped, Listener, emit
from core.features.extract import FeatureModel
from core.features.near_duplicates import find_near_duplicates
from core.features.store import FeatureStore
from core.features.vectors import reduced

PathLike = Union[str, os.PathLike]
FLAG_AT = 0.5  # flag a label when it is more likely wrong than right
_STAGES = ("scan", "features", "duplicates", "labels", "outliers")
_SCAN_SKIPS = ("empty", "not_image", "corrupt", "unreadable", "oversized")
RANDOM_WEIGHTS_NOTE = ("the backbone's weights are random (--weights none): its features say "
                       "little about what the pictures show, so the likely wrong labels and "
                       "outliers are guesses; audit with --weights imagenet or a weights file "
                       "(near-copies are still found from the pixels)")


def run_audit(data_dir: PathLike, model: Optional[FeatureModel] = None, *,
              store: Optional[FeatureStore] = None, listener: Optional[Listener] = None,
              cancel: Optional[CancelToken] = None, seed: int = 0) -> AuditResult:
    """Audit ``data_dir`` with ``model``'s features (default: MobileNetV2, ImageNet)."""
    from core.data.dataset import scan_dataset

    model = model or FeatureModel()
    store = store or FeatureStore()
    cancel = cancel or CancelToken()
    clock = _Clock(listener)
    clock.stage("scan")
    report = scan_dataset(data_dir, listener=listener, cancel=cancel)
    unreadable = [(pr.path, pr.reason) for pr in report.problems if pr.kind in _SCAN_SKIPS]
    for path, reason in unreadable:
        emit(listener, FileSkipped(path, reason, "scan"))
    records = list(report.records) + list(report.copies)
    if not records:
        raise DataError(_nothing_to_audit(report, len(unreadable)))
    clock.stage("features")
    emb = store.embed([r.path for r in records], model, listener=listener, cancel=cancel)
    if not len(emb.paths):  # every header read, no picture decoded: not "0 images, fine"
        raise DataError(f"{report.root}: nothing to audit, none of the {len(records)} "
                        "image(s) could be decoded (listed above); replace or remove the "
                        "damaged files")
    by_path = {r.path: r for r in records}
    result = AuditResult(root=report.root, classes=list(report.classes),
                         skipped=unreadable + list(emb.skipped), paths=list(emb.paths),
                         image_classes=[by_path[p].class_name for p in emb.paths],
                         vectors=emb.vectors, features_computed=emb.computed,
                         stamps=dict(zip(emb.paths, emb.stamps)))
    copies = {r.path for r in report.copies}
    result.left_out = sum(1 for p in emb.paths if p in copies)
    if model.random_weights:
        result.notes.append(RANDOM_WEIGHTS_NOTE)
    clock.stage("duplicates")
    z = reduced(emb.vectors)  # shared by every step below
    dups = find_near_duplicates(emb, pair_cache=store.pair_cache(), listener=listener,
                                cancel=cancel, reduced_vectors=z,
                                neighbours=store.neighbour_cache())
    group_of = np.arange(len(emb))
    for g, members in enumerate(dups.groups):
        group_of[members] = len(emb) + g
        paths = [emb.paths[i] for i in members]
        result.near_duplicates.append(DuplicateGroup(
            paths, [by_path[p].class_name for p in paths],
            len({emb.stamps[i].digest for i in members}) == 1))
    clock.stage("labels")
    _labels(result, emb, z, by_path, report.records, group_of, report.classes, seed, cancel)
    cancel.raise_if_cancelled()
    clock.stage("outliers")
    _outliers(result, emb, z, group_of, cancel)
    result.timings = clock.done()
    return result


def _nothing_to_audit(report, unreadable: int) -> str:
    """Why a folder gave the audit no image, and what to do (as ``inspect`` would say)."""
    why = [f"{unreadable} file(s) could not be read (listed above)"] if unreadable else []
    why += [w for w in report.warnings if "belong to no class" in w]
    return (f"{report.root}: nothing to audit, no readable image in a class folder"
            + (f": {'; '.join(why)}" if why else "; put each class's images in its own "
               "sub-folder"))


def _labels(result: AuditResult, emb, z: np.ndarray, by_path, records, group_of: np.ndarray,
            classes: list[str], seed: int, cancel: CancelToken) -> None:
    """Score the labels of the images training would use (not the left-out byte copies)."""
    usable = {id(r) for r in records}
    rows = np.array([i for i, p in enumerate(emb.paths) if id(by_path[p]) in usable],
                    dtype=np.int64)
    if len(classes) < 2 or len(rows) == 0:
        result.notes.append("label check skipped: " + (
            "every image is a copy the scan leaves out (the same picture filed under two "
            "classes, listed by 'inspect')" if len(rows) == 0 and len(emb.paths) else
            "it needs at least 2 classes (one class has nothing to compare with)")
            + "; near-duplicates and outliers are still found")
        return
    labels = np.array([classes.index(by_path[emb.paths[i]].class_name) for i in rows])
    scores = score_labels(z[rows], labels, group_of[rows], classes, seed, cancel)
    result.notes.extend(scores.notes)
    for j in scores.order():
        i = int(rows[j])
        issue = LabelIssue(emb.paths[i], classes[labels[j]], classes[scores.suggested[j]],
                           float(scores.wrong[j]), bool(scores.conflict[j]))
        result.ranking.append(issue)
        best_other = scores.probabilities[j, scores.suggested[j]]
        if issue.conflict or (issue.score >= FLAG_AT
                              and best_other > scores.probabilities[j, labels[j]]):
            result.label_issues.append(issue)


def _outliers(result: AuditResult, emb, z: np.ndarray, group_of: np.ndarray,
              cancel: Optional[CancelToken] = None) -> None:
    if len(emb) < 3:
        return
    far = outlier_scores(z, group_of, cancel=cancel)
    for i in np.argsort(-far):
        if far[i] < OUTLIER_Z:
            break
        result.outliers.append(Outlier(emb.paths[int(i)], float(far[i])))


class _Clock:
    """Announces stages (AuditStage events) and times them."""

    def __init__(self, listener: Optional[Listener]) -> None:
        self.listener = listener
        self.times: dict[str, float] = {}
        self.current: Optional[str] = None
        self.started = self.t0 = time.monotonic()

    def stage(self, name: str) -> None:
        now = time.monotonic()
        if self.current:
            self.times[self.current] = now - self.started
        self.current, self.started = name, now
        emit(self.listener, AuditStage(name, _STAGES.index(name) + 1, len(_STAGES)))

    def done(self) -> dict[str, float]:
        now = time.monotonic()
        if self.current:
            self.times[self.current] = now - self.started
        self.times["total"] = now - self.t0
        return self.times
