"""Predicting unlabelled images for the suggestions: from stored embeddings when that is exact.

A run's classifier is its backbone, a global average pool (``avg_pool``) and a
head.  When the run's backbone is still the one it started from (no
fine-tuning changed it), its pooled features are exactly what the feature store
keeps (:mod:`core.features.store`, keyed by file content), so the second time a
folder is sorted no image goes through the backbone again: the run's own head
layers (:func:`core.train.fast_head.head_model`) turn the stored embeddings into
probabilities.  Whether that holds is not guessed from the config: a few images
are put through the run's model and compared with the stored rows.  Otherwise
(a fine-tuned backbone, an exported model) every image goes through the model.

Either way the probabilities are the run's calibrated ones and the "unknown"
flag is the run's (:mod:`core.trust`), as ``predict`` gives them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from core.errors import UserError
from core.events import CancelToken, FileSkipped, Listener, Log, Progress, emit

#: Images put through the run's model to check that the stored embeddings are its own.
PROBE_IMAGES = 4
#: Largest difference accepted between stored (float16) and fresh embeddings, relative to
#: the largest value (float16 rounding is below 0.001 of it).
PROBE_TOLERANCE = 0.005
#: Side of the grey thumbnails that stand in for embeddings with an exported model.
THUMB_SIDE = 32


@dataclass
class Scored:
    """Calibrated probabilities, unknown flags and embeddings of the readable images."""

    paths: list[str]
    probs: np.ndarray
    unknown: np.ndarray
    embeddings: Optional[np.ndarray]
    classes: list[str]
    how: str  # "stored embeddings", "model" or "exported model"
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Embeddings of the images the run trained on while they are few (the useful order's
    #: cold start, :data:`core.label.order.COLD_PER_CLASS`); None when many or unknown.
    labelled: Optional[np.ndarray] = None


def score_images(model_path, paths: Sequence[str], store=None,
                 listener: Optional[Listener] = None,
                 cancel: Optional[CancelToken] = None, batch_size: int = 32) -> Scored:
    """Predict ``paths`` with the model at ``model_path`` (a run folder or an exported model)."""
    from core.infer.loaders import load_predictor
    from core.runs.folder import run_of_model

    cancel = cancel or CancelToken()
    predictor = load_predictor(model_path)
    if predictor.caution:
        emit(listener, Log(predictor.caution, level="warning"))
    run = run_of_model(model_path)
    model = getattr(predictor, "model", None)
    if run is None or model is None:
        return _exported(predictor, paths, listener, cancel, batch_size)
    from core.features.extract import FeatureModel
    from core.features.store import FeatureStore

    store = store or FeatureStore()
    cfg = run.load_config()
    features = FeatureModel.from_config(cfg.model)
    trust = getattr(predictor, "trust", None)
    why = _why_not_stored(model, features, paths, store, listener, cancel)
    if not why:
        emb = store.embed(paths, features, listener=listener, cancel=cancel)
        vectors = np.asarray(emb.vectors, np.float32)
        probs = _head_probs(model, vectors, batch_size)
        scored = _trusted(list(emb.paths), probs, vectors, trust, predictor.classes,
                          "stored embeddings", list(emb.skipped))
        scored.labelled = _labelled_while_few(
            run, cfg.data.data_dir, len(predictor.classes),
            lambda few: store.embed(few, features, cancel=cancel).vectors)
        return scored
    emit(listener, Log(f"suggestions: {why}; every image goes through the model"))
    ok, probs, vectors, skipped = _model_pass(model, paths, listener, cancel, batch_size)
    scored = _trusted(ok, probs, vectors, trust, predictor.classes, "model", skipped)
    scored.labelled = _labelled_while_few(
        run, cfg.data.data_dir, len(predictor.classes),
        lambda few: _model_pass(model, few, None, cancel, batch_size)[2])
    return scored


def _labelled_while_few(run, data_dir: str, n_classes: int, embed) -> Optional[np.ndarray]:
    """``embed`` of the run's training images when it trained on fewer than the cold start's
    share per class (so few that embedding them again is quick); otherwise None."""
    from core.label.order import COLD_PER_CLASS

    try:
        train = run.split(data_dir).train
    except UserError:  # a damaged split: the order goes without the cold start
        return None
    if not train or len(train) >= COLD_PER_CLASS * n_classes:
        return None
    few = [r.path for r in train if os.path.isfile(r.path)]
    if not few:
        return None
    vectors = np.asarray(embed(few), np.float32)
    return vectors if len(vectors) else None


def _why_not_stored(model, features, paths: Sequence[str], store, listener, cancel) -> str:
    """Why the store's rows for ``features`` cannot stand for the run model's pooled
    embeddings ("" when they equal them).  It said "the backbone differs" whatever the
    reason, also when the first images could not be read."""
    from core.data.imageio import ImageError, load_rgb
    from core.errors import ConfigError, WeightsError
    from core.trust.fit import two_output_model

    if not paths:
        return "no images"
    if features.random_weights:
        return "the run's backbone started from random weights (nothing stored for it)"
    try:
        probe = store.embed(list(paths[:PROBE_IMAGES]), features, cancel=cancel)
    except (ConfigError, WeightsError, OSError) as exc:
        emit(listener, Log(f"suggestions: stored features unavailable ({exc})", "warning"))
        return "the stored features are unavailable"
    if not len(probe):  # the model pass names them
        return f"the first {min(len(paths), PROBE_IMAGES)} images could not be read to compare"
    both = two_output_model(model)
    if both is None:
        return "the model has no avg_pool layer (not built by this app)"
    size = int(model.inputs[0].shape[1])
    try:
        images = np.stack([load_rgb(p, size) for p in probe.paths]).astype(np.float32)
    except (ImageError, OSError):
        return "an image changed while it was read"
    fresh = np.asarray(both([images], training=False)[1], np.float32)  # eager: no trace
    stored = np.asarray(probe.vectors, np.float32)
    scale = float(np.abs(fresh).max()) or 1.0
    if float(np.abs(fresh - stored).max()) / scale <= PROBE_TOLERANCE:
        return ""
    return "the run's backbone differs from the stored features (fine-tuned)"


def _head_probs(model, vectors: np.ndarray, batch_size: int) -> np.ndarray:
    """The run's own head layers on pooled embeddings (what the classifier computes after them)."""
    from core.train.fast_head import head_model

    head = head_model(model, vectors.shape[1])
    if not len(vectors):
        return np.zeros((0, int(model.outputs[0].shape[-1])), np.float32)
    step = max(256, batch_size)  # one step for the slices and the range: rows are not lost
    out = [np.asarray(head(vectors[s:s + step], training=False), np.float32)
           for s in range(0, len(vectors), step)]
    return np.concatenate(out)


def _model_pass(model, paths: Sequence[str], listener, cancel: CancelToken, batch_size: int):
    """(ok paths, raw probabilities, pooled embeddings, skipped) through the whole model."""
    from core.features.extract import decoded_batches
    from core.trust.fit import embedding_function

    fn = embedding_function(model)
    size = int(model.inputs[0].shape[1])
    ok, probs, embs, skipped = [], [], [], []
    total = len(paths)
    emit(listener, Progress(0, total, "predicting"))
    for batch in decoded_batches(list(paths), size, batch_size, cancel):
        good = [(i, rgb) for i, rgb, _ in batch if rgb is not None]
        for i, _, reason in batch:
            if reason:
                skipped.append((paths[i], reason))
                emit(listener, FileSkipped(paths[i], reason, "prediction"))
        if good:
            p, e = fn(np.stack([rgb for _, rgb in good]).astype(np.float32))
            probs.append(np.asarray(p, np.float32))
            embs.append(np.asarray(e, np.float32))
            ok.extend(paths[i] for i, _ in good)
        emit(listener, Progress(batch[-1][0] + 1, total, "predicting"))
    n_out = int(model.outputs[0].shape[-1])
    if not ok:
        return ok, np.zeros((0, n_out), np.float32), np.zeros((0, 1), np.float32), skipped
    return ok, np.concatenate(probs), np.concatenate(embs), skipped


def _trusted(paths, probs, vectors, trust, classes, how, skipped) -> Scored:
    """Calibrate and flag "unknown" with the run's trust model, when it has one."""
    from core.trust.unknown import is_unknown

    if trust is None or not len(paths):
        return Scored(paths, probs, np.zeros(len(paths), bool), vectors, list(classes), how,
                      skipped)
    calibrated = trust.calibrate(probs)
    flags = is_unknown(trust.scores(calibrated, vectors), trust.threshold)
    return Scored(paths, calibrated, flags, vectors, list(classes), how, skipped)


def _exported(predictor, paths: Sequence[str], listener, cancel, batch_size: int) -> Scored:
    """An exported model: its own probabilities and flags; grey thumbnails for diversity."""
    from core.data.imageio import ImageError, load_rgb
    from core.trust.unknown import is_unknown

    probs, scores, ok, skipped = predictor.predict_files_scored(list(paths), batch_size,
                                                                listener, cancel)
    thumbs = []
    for p in ok:
        try:
            rgb = load_rgb(p, THUMB_SIDE)
        except (ImageError, OSError) as exc:  # read a moment ago: vanished since
            raise UserError(f"{p}: could not be read again ({exc})") from exc
        thumbs.append(rgb.astype(np.float32).mean(axis=2).ravel())
    flags = (is_unknown(scores, predictor.unknown_threshold) if scores is not None
             else np.zeros(len(ok), bool))
    emb = np.stack(thumbs) if thumbs else None
    return Scored(list(ok), np.asarray(probs, np.float32), flags, emb, list(predictor.classes),
                  "exported model", [(s["path"], s["reason"]) for s in skipped])
