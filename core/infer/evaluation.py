"""Score a model on labelled images: one function for training, the Evaluate page and the CLI.

:func:`evaluate_records` is the single place where a model's answers for
labelled images become :class:`~core.infer.metrics.Metrics` *and* a per-image
list (:class:`ImagePrediction`), so the numbers training writes to
``metrics.json``, the ones ``python main.py evaluate`` prints and the cells the
Evaluate page lists all come from the same predictions.  The other functions
only say which images and which labels:

* :func:`evaluate_run_validation` -- a run folder's validation images
  (``split.json``), as training scored them;
* :func:`evaluate_labelled_folder` -- any folder with one sub-folder per class,
  matched to the model's classes by name; :func:`evaluate_folder` returns just
  its metrics (the CLI's ``evaluate``).
"""

from __future__ import annotations

import dataclasses
import os
import unicodedata
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from core.data.dataset_report import COPY_KINDS
from core.errors import DataError
from core.events import CancelToken, Log, emit
from core.infer.metrics import Metrics, compute_metrics
from core.infer.trained_on import TrainedOn, learnt_records, trained_on_subset
from core.infer.trained_on import same_content, training_images  # noqa: F401 - used from here
from core.infer.unknown_share import UnknownShare, unknown_share
from core.shown import one_line
from core.trust.unknown import is_unknown

#: Where a run's figures on images it did not train on are, for the window and the CLI:
#: "evaluate it without a folder" was the window's way, and ``evaluate`` needs a folder.
VALIDATION_HINT = ("the run's scores on its own validation images are in its metrics.json "
                   "(the Evaluate page shows them when no folder is chosen)")


@dataclass(frozen=True)
class ImagePrediction:
    """One image's true class, predicted class (indices into the classes) and confidence."""

    path: str
    true_index: int
    predicted_index: int
    confidence: float
    #: The model would answer "unknown" (its score is above the threshold).
    unknown: bool = False


@dataclass
class Evaluation:
    """Metrics plus the answer for every readable image (unreadable ones are in ``skipped``)."""

    metrics: Metrics
    predictions: list[ImagePrediction] = field(default_factory=list)
    #: Folders of a labelled folder whose name is none of the model's classes: not scored.
    unmatched: list[str] = field(default_factory=list)
    #: Readable files deliberately not scored ({"path", "reason"}): copies of another file.
    left_out: list[dict] = field(default_factory=list)
    #: A folder split into subsets: the one scored ("test", "val"; "train" when it holds
    #: nothing else) and how many images the other subsets hold, not scored.
    subset: str = ""
    subset_left: int = 0
    #: For a model calibrated for "unknown": how many of these images it would answer so.
    unknown: Optional[UnknownShare] = None
    #: Why the images the model trained on could not all be recognised ("": they were, or
    #: the model comes from no run): its figures may be flattered.
    unrecognised: str = ""


def evaluate_records(predictor, records: Sequence, classes: Optional[Sequence[str]] = None,
                     batch_size: int = 32, listener=None,
                     cancel: Optional[CancelToken] = None) -> Evaluation:
    """Predict every record (anything with ``.path`` and ``.label``, an index into ``classes``).

    ``classes`` defaults to the predictor's.  Files that cannot be decoded are
    left out of the metrics and listed in ``metrics.skipped``; one bad file
    never stops the rest.
    """
    names = list(classes if classes is not None else predictor.classes)
    labels = {r.path: int(r.label) for r in records}
    probs, scores, ok_paths, skipped = predictor.predict_files_scored(
        [r.path for r in records], batch_size, listener, cancel)
    true = [labels[p] for p in ok_paths]
    metrics = compute_metrics(true, probs, names, ok_paths)
    metrics.skipped = list(skipped)
    # "unknown" as predict answers it, for a model with a score and a threshold (None: an
    # uncalibrated run, --no-unknown): the flags once, for the images and the share
    threshold = getattr(predictor, "unknown_threshold", None)
    scored = scores is not None and threshold is not None and bool(ok_paths)
    flagged = is_unknown(scores, threshold) if scored else np.zeros(len(ok_paths), bool)
    share = unknown_share(flagged, threshold, true, probs.argmax(axis=1), names) \
        if scored else None
    predictions = [ImagePrediction(p, labels[p], int(row.argmax()), float(row.max()), bool(f))
                   for p, row, f in zip(ok_paths, probs, flagged)]
    return Evaluation(metrics, predictions, unknown=share)


def evaluate_run_validation(run_dir: str, predictor=None, batch_size: Optional[int] = None,
                            listener=None, cancel: Optional[CancelToken] = None,
                            data_dir: str = "") -> Evaluation:
    """Score a run's model on the run's own validation images (``split.json``).

    ``predictor`` defaults to the run's ``model.keras``; ``batch_size`` to the
    run's training batch size.  The image paths are resolved against the run's
    data folder, so a run whose folder moved with its config still works.
    ``data_dir``: a folder the images may be in now (the Data page's): when they are
    not where the run recorded them (moved, renamed, a run from another machine) and that
    folder holds the very same images, the run is pointed there, as a resume does.
    """
    from core.infer.loaders import load_predictor
    from core.runs.folder import RunFolder

    run = RunFolder(run_dir)
    cfg = run.load_config()
    split = run.split(cfg.data.data_dir)
    if split.val and not any(os.path.exists(r.path) for r in split.val[:200]):
        split = _moved_split(run, cfg, split, data_dir, listener, cancel)
    if predictor is None:
        emit(listener, Log(f"loading the model {run_dir}"))
        predictor = load_predictor(str(run_dir))
    return evaluate_records(predictor, split.val, predictor.classes,
                            batch_size or cfg.train.batch_size, listener, cancel)


def _moved_split(run, cfg, split, data_dir: str, listener, cancel):
    """The split found in ``data_dir`` (the run is pointed there), or DataError saying what
    to do: "put it back" was all a run from another machine was told."""
    from core.runs.relocate import relocate_data

    lost = (f"none of the run's validation images are where it recorded them (e.g. "
            f"{split.val[0].path}): the data folder was moved or deleted since training")
    if not data_dir or (cfg.data.data_dir and
                        os.path.abspath(data_dir) == os.path.abspath(cfg.data.data_dir)):
        raise DataError(f"{lost}; put it back, open the folder where it is now on the Data "
                        "page, or evaluate the model on a folder")
    try:
        moved = relocate_data(run, cfg, data_dir, "the Data page's folder", listener, cancel)
    except DataError as exc:
        raise DataError(f"{lost}, and {exc}; put it back, or evaluate the model on a "
                        "folder") from None
    emit(listener, Log(f"the run's images are in {data_dir}: the run now points there"))
    return moved


def evaluate_labelled_folder(predictor, data_dir: str, listener=None,
                             cancel: Optional[CancelToken] = None,
                             batch_size: int = 32, trained_on: TrainedOn = TrainedOn()
                             ) -> Evaluation:
    """Score ``predictor`` on ``data_dir`` (one sub-folder per class, named like the model's).

    Folders whose name is not one of the model's classes cannot be scored and
    are reported; classes are matched by name, so the folder's order does not
    matter.  Files the scan rejected are listed in ``metrics.skipped`` too.
    ``trained_on``: the images the model learnt from (:func:`training_images`; a frozenset:
    their real paths): left out, and said (the run's own data folder scored 0.90 on 84
    images, 67 of them training images, without a word); when they cannot be recognised
    that is said instead (``unrecognised``).
    """
    from core.data.dataset import scan_dataset

    # Names compared in one Unicode form: macOS writes "café" as e + combining accent
    # (NFD), so a folder copied from a Mac looked like the class and was left out.  The
    # exact name first: a model with both spellings as classes had both scored as one.
    exact = {name: i for i, name in enumerate(predictor.classes)}
    nfc: dict[str, list[int]] = {}
    for name, i in exact.items():
        nfc.setdefault(unicodedata.normalize("NFC", name), []).append(i)

    def label(folder: str) -> Optional[int]:
        hits = nfc.get(unicodedata.normalize("NFC", folder), [])
        return exact.get(folder, hits[0] if len(hits) == 1 else None)

    if isinstance(trained_on, frozenset):
        trained_on = TrainedOn(paths=trained_on)
    report = scan_dataset(data_dir, listener=listener, cancel=cancel,
                          scored=lambda folder: label(folder) is not None)
    subset, subset_left = held_out(report, data_dir, listener, trained_on)
    unknown = [c for c in report.classes if label(c) is None]
    if unknown:
        # one_line: a folder's line break split this warning and forged a line of the log
        emit(listener, Log(f"folders not among the model's classes, not scored: "
                           f"{', '.join(one_line(c) for c in unknown)}", "warning"))
    labels = {c: label(c) for c in {r.class_name for r in report.records}}
    records = [dataclasses.replace(r, label=labels.get(r.class_name)) for r in report.records
               if labels.get(r.class_name) is not None]
    records, learnt, unrecognised = _without_learnt(records, trained_on, data_dir, listener)
    copies = [p for p in report.problems if p.kind in COPY_KINDS]
    if copies:
        emit(listener, Log(f"{len(copies)} copies of other files are not scored (a copy in "
                           "the same class would weigh double; one filed under two classes "
                           "has no one true class)", "warning"))
    bad = [p for p in report.problems if p.kind != "non_image_file" and p.kind not in COPY_KINDS]
    if not records:
        if copies and not bad:  # every image is a copy: say so, not "no images"
            raise DataError(f"{data_dir}: every image is a copy of another ({len(copies)} "
                            f"file(s), e.g. {copies[0].path}: {copies[0].reason}); keep one "
                            "copy of each image, in its right class")
        if bad:  # the folders are right; their files are not
            raise DataError(f"{data_dir}: none of its images could be read ({len(bad)} "
                            f"file(s), e.g. {bad[0].path}: {bad[0].reason}); replace the "
                            "damaged files or evaluate another folder")
        found = (f"; its folders are {', '.join(unknown[:8])}" + (" …" if len(unknown) > 8
                                                                     else "")) if unknown else ""
        raise DataError(f"{data_dir}: no images in folders named like the model's classes "
                        f"({', '.join(predictor.classes)}){found}: give a folder with one "
                        "sub-folder per class, named as the model's classes")
    result = evaluate_records(predictor, records, predictor.classes, batch_size, listener, cancel)
    result.metrics.skipped += [{"path": p.path, "reason": p.reason} for p in bad]
    result.unmatched, result.subset, result.subset_left = unknown, subset, subset_left
    result.unrecognised = unrecognised
    result.left_out = [{"path": p.path, "reason": p.reason, "kind": p.kind} for p in copies] + [
        {"path": r.path, "reason": "the model trained on it", "kind": "trained_on"}
        for r in learnt]
    if not result.metrics.n_images:  # an accuracy "on 0 images" is no answer
        first = result.metrics.skipped[0] if result.metrics.skipped else None
        raise DataError(f"{data_dir}: none of its {len(records)} image(s) could be read"
                        + (f" (e.g. {first['path']}: {first['reason']})" if first else "")
                        + "; replace the damaged files or evaluate another folder")
    return result


def _without_learnt(records: list, trained_on: TrainedOn, data_dir: str,
                    listener=None) -> tuple[list, list, str]:
    """(``records`` the model did not train on, those it did, why some may not have been
    recognised): :func:`~core.infer.trained_on.learnt_records`, said in the log; DataError
    when nothing is left."""
    learnt, unrecognised = learnt_records(records, trained_on, data_dir, listener)
    if unrecognised:
        emit(listener, Log(unrecognised, "warning"))
    if not learnt:
        return records, learnt, unrecognised
    gone = {id(r) for r in learnt}
    records = [r for r in records if id(r) not in gone]
    emit(listener, Log(f"{len(learnt)} of the images are ones the model trained on (the same "
                       "files, or copies of them): not scored (they would flatter every "
                       "figure)", "warning"))
    if not records:
        raise DataError(f"{data_dir}: every image in it is one the model trained on, so its "
                        f"figures would say nothing; {VALIDATION_HINT}, or a folder of new "
                        "images")
    return records, learnt, unrecognised


def held_out(report, data_dir: str, listener=None,
             trained_on: TrainedOn = TrainedOn()) -> tuple[str, int]:
    """A folder split into train/val/test is scored on its test/ images (else val/), not all
    three: its train/ images are most likely the ones the model learnt from, and mixing them
    in flattered every figure without a word.  Says which subset was scored, and returns it
    with the number of images left out ("", 0: not a split folder) for the window to say.
    Its train/ is offered to score only when the model did not train on it (``trained_on``):
    the run's own folder was sent to a command refused for that very reason (a review)."""
    if report.layout != "split":
        return "", 0
    # The subsets that hold files, readable or not: judged by the readable images alone,
    # a val/ whose every image was damaged was "train/ only", and its training images
    # were scored (accuracy 1.0, exit 0) instead of the damage being reported.
    subsets = {r.subset for r in report.records} | {p.subset for p in report.problems}
    held = "test" if "test" in subsets else "val" if "val" in subsets else ""
    if held:
        left = sum(r.subset != held for r in report.records)
        train = [r for r in report.records if r.subset == "train"]
        if not trained_on_subset(train, trained_on, data_dir):
            hint = f"give {os.path.join(data_dir, 'train')} to score the training images"
        elif held == "test" and "val" in subsets:
            hint = (f"its train/ images are the ones the model trained on; give "
                    f"{os.path.join(data_dir, 'val')} to score its validation images")
        else:
            hint = "its train/ images are the ones the model trained on"
        report.records = [r for r in report.records if r.subset == held]
        report.problems = [p for p in report.problems if p.subset == held]
        emit(listener, Log(f"{data_dir} is split into subsets: scoring its {held}/ images "
                           f"only ({hint})"))
        return held, left
    emit(listener, Log(f"{data_dir} holds train/ only: scoring training images, which "
                       "flatters a model that learnt from them", "warning"))
    return "train", 0


def evaluate_folder(predictor, data_dir: str, listener=None, cancel: Optional[CancelToken] = None,
                    batch_size: int = 32, trained_on: TrainedOn = TrainedOn()) -> Metrics:
    """The metrics of :func:`evaluate_labelled_folder` (what ``evaluate`` prints)."""
    return evaluate_labelled_folder(predictor, data_dir, listener, cancel, batch_size,
                                    trained_on).metrics
