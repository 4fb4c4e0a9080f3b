"""Fitting a run's calibration and unknown score at the end of training.

Needs the model's answers *and* its pooled embeddings for the same images, so
the model is called through :func:`two_output_model` (probabilities and the
``avg_pool`` output in one pass).  Images are decoded with
:func:`core.data.imageio.load_rgb`, the app's one decoder, like every prediction.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from core.data.imageio import ImageError, load_rgb
from core.events import FileSkipped, Log, Progress, emit
from core.runs.folder import RunFolder
from core.trust.missing import MIN_IMAGES, TOO_FEW
from core.trust.store import clear_trust, fit_trust, save_trust
from core.trust.unknown import MAX_REFERENCE, TrustModel

EMBEDDING_LAYER = "avg_pool"


def embedding_tensor(model):
    """The ``avg_pool`` output inside ``model``'s own graph, or None without that layer.

    Not ``layer.output``: a model rebuilt around shared layers (BatchNorm folding for
    exports) calls the same layer object again, and ``.output`` is its first call's.
    """
    try:
        layer = model.get_layer(EMBEDDING_LAYER)
    except ValueError:
        return None
    for nodes in model._nodes_by_depth.values():
        for node in nodes:
            if node.operation is layer:
                return node.outputs[0]
    return None


def embedding_width(model) -> Optional[int]:
    """How many features :func:`embedding_tensor` gives (None without the layer).

    The unknown check compares this with its reference's width: another run's
    ``unknown.npz`` beside this model would fail inside the graph, not with a message.
    """
    pooled = embedding_tensor(model)
    return int(pooled.shape[-1]) if pooled is not None else None


def two_output_model(model):
    """``model`` with a second output: the pooled embedding (the ``avg_pool`` layer).

    Returns None for a model without such a layer (one not built by this app).
    """
    import keras

    pooled = embedding_tensor(model)
    if pooled is None:
        return None
    return keras.Model(model.inputs, [model.outputs[0], pooled])


def embedding_function(model):
    """One compiled call of :func:`two_output_model` for any batch size (traced once).

    Raises ValueError for a model without the ``avg_pool`` layer.
    """
    import tensorflow as tf

    both = two_output_model(model)
    if both is None:
        raise ValueError(f"the model has no '{EMBEDDING_LAYER}' layer")
    size = int(model.inputs[0].shape[1])
    spec = tf.TensorSpec([None, size, size, 3], tf.float32)
    return tf.function(lambda x: both(x, training=False), input_signature=[spec])


def predict_with_embeddings(model, paths: Sequence[str], batch_size: int = 32, fn=None,
                            listener=None):
    """(probs, embeddings, ok_indices) of the readable ``paths``; an unreadable one is left
    out and named (a FileSkipped event: 'calibrated on 11 images' named no twelfth).

    ``fn``: an :func:`embedding_function` of ``model`` to reuse (one is made otherwise).
    """
    fn = fn or embedding_function(model)
    size = int(model.inputs[0].shape[1])
    probs, embs, ok = [], [], []
    for s in range(0, len(paths), batch_size):
        arrs = []
        for i in range(s, min(s + batch_size, len(paths))):
            try:
                arrs.append(load_rgb(paths[i], size))
                ok.append(i)
            except ImageError as exc:
                emit(listener, FileSkipped(paths[i], exc.reason, "calibration"))
            except OSError as exc:
                emit(listener, FileSkipped(paths[i], str(exc), "calibration"))
        if arrs:
            p, e = fn(np.stack(arrs).astype(np.float32))
            probs.append(np.asarray(p, np.float32))
            embs.append(np.asarray(e, np.float32))
    if not probs:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), []
    return np.concatenate(probs), np.concatenate(embs), ok


def _subset(records, limit: int, seed: int = 0):
    """At most ``limit`` records, chosen at random but reproducibly (the order is kept)."""
    if len(records) <= limit:
        return list(records)
    idx = np.sort(np.random.default_rng(seed).choice(len(records), limit, replace=False))
    return [records[i] for i in idx]


def _too_few(run: RunFolder, n: int, listener, refit: bool, read: bool = False) -> None:
    """Say why the run is not calibrated now; after training, drop a calibration of an
    earlier model (a re-fit of the same model keeps the one it has: it still fits).
    ``read``: ``n`` counts the images that were read, not the split's (an unreadable one
    among 6 had been counted in "only 6 readable")."""
    have = (f"only {n} {'readable ' if read else ''}validation image{'s' if n != 1 else ''}"
            if n else "no validation images")
    if refit:
        emit(listener, Log(f"{have}; {TOO_FEW}", "warning"))
        return
    # what to do, as the report and calibrate say it (the log gave the reason alone; a review)
    emit(listener, Log(f"{have}; {TOO_FEW}: probabilities stay "
                       "uncalibrated and no image is called 'unknown'; train again with more "
                       "images or a larger validation share (the Data page's, or --val-split)",
                       "warning"))
    clear_trust(run)


def fit_after_training(run: RunFolder, model=None, split=None, classes=None, cfg=None,
                       listener=None, refit: bool = False) -> Optional[TrustModel]:
    """Fit and save the run's calibration and unknown score; the :class:`TrustModel`, or None.

    ``model`` defaults to the run's ``model.keras``, ``split`` and ``cfg`` to
    the run's own.  Call it once the best model is final (after ``model.keras``
    is saved).  A run with fewer than :data:`MIN_IMAGES` readable validation
    images gets no calibration (None; an older one is deleted, it fits another model).
    """
    cfg = cfg or run.load_config()
    split = split if split is not None else run.split(cfg.data.data_dir)
    if len(split.val) < MIN_IMAGES:
        _too_few(run, len(split.val), listener, refit)
        return None
    if model is None:
        from core.model.model_files import load_model_file

        model = load_model_file(run.model_path)
    keep = float(cfg.trust.unknown_keep)
    batch = int(cfg.train.batch_size)
    emit(listener, Progress(0, 2, "calibrating on the validation images"))
    val, fn = list(split.val), embedding_function(model)
    probs, val_emb, ok = predict_with_embeddings(model, [r.path for r in val], batch, fn,
                                                 listener)
    if len(ok) < MIN_IMAGES:
        _too_few(run, len(ok), listener, refit, read=True)
        return None
    y = np.asarray([int(val[i].label) for i in ok], np.int64)
    emit(listener, Progress(1, 2, "embedding training images for the unknown score"))
    train = _subset(list(split.train), MAX_REFERENCE)
    _, train_emb, ok_t = predict_with_embeddings(model, [r.path for r in train], batch, fn,
                                                 listener)
    train_y = np.asarray([int(train[i].label) for i in ok_t], np.int64)
    trust, record = fit_trust(probs, y, val_emb, train_emb if len(ok_t) else None, train_y, keep)
    save_trust(run, trust, record)
    emit(listener, Progress(2, 2, "calibrated"))
    kept = kept_text(keep, record.n_images, trust.kept)
    emit(listener, Log(f"calibrated on {record.n_images} validation images: temperature "
                       f"{record.temperature:.3g}, ECE {record.ece_before:.3f} -> "
                       f"{record.ece_after:.3f}; 'unknown' above score "
                       f"{record.unknown_threshold:.3g} ({kept})"))
    unseen = missing_classes_text(y, classes or run.labels())
    if unseen:
        emit(listener, Log(unseen, "warning"))
    return trust


def missing_classes_text(val_labels, classes: Sequence[str]) -> str:
    """A warning when the validation images calibrated on leave classes out ("" when they
    hold every class): the threshold was fitted on the other classes' images alone, and
    new images of a class left out were called "unknown" without a word (a review)."""
    present = set(int(v) for v in np.asarray(val_labels).ravel())
    missing = [c for i, c in enumerate(classes) if i not in present]
    if not missing:
        return ""
    names = ", ".join(repr(c) for c in missing[:5]) + (", …" if len(missing) > 5 else "")
    return (f"calibrated without validation images of {len(missing)} of {len(classes)} "
            f"classes ({names}): the 'unknown' threshold knows only the others, so new images "
            "of these may be called 'unknown'; give every class validation images (more "
            "images, or a larger validation share) and train again")


def kept_text(keep: float, n: int, kept: int = -1) -> str:
    """The share the threshold really keeps, counted on the validation scores (``kept``;
    tied scores count): "keeps 95%" was said of 12 of 12, which the Predict page's slider
    shows as 100%.  Unknown (-1): at least ``keep`` of ``n``, as the threshold is chosen."""
    import math

    if kept < 0:
        kept = min(n, max(1, math.ceil(keep * n))) if n else 0
    share = kept / n if n else keep
    asked = "" if f"{share:.0%}" == f"{keep:.0%}" else f", at least {keep:.0%} asked"
    return f"keeps {kept} of them, {share:.0%}{asked}"
