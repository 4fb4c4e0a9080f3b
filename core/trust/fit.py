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
from core.events import Log, Progress, emit
from core.runs.folder import RunFolder
from core.trust.store import fit_trust, save_trust
from core.trust.unknown import MAX_REFERENCE, TrustModel

EMBEDDING_LAYER = "avg_pool"


def two_output_model(model):
    """``model`` with a second output: the pooled embedding (the ``avg_pool`` layer).

    Returns None for a model without such a layer (one not built by this app).
    """
    import keras

    try:
        pooled = model.get_layer(EMBEDDING_LAYER).output
    except ValueError:
        return None
    return keras.Model(model.inputs, [model.outputs[0], pooled])


def predict_with_embeddings(model, paths: Sequence[str], batch_size: int = 32):
    """(probs, embeddings, ok_indices) of the readable ``paths`` (unreadable ones are left out)."""
    import tensorflow as tf

    both = two_output_model(model)
    if both is None:
        raise ValueError(f"the model has no '{EMBEDDING_LAYER}' layer")
    size = int(model.inputs[0].shape[1])
    fn = tf.function(lambda x: both(x, training=False), reduce_retracing=True)
    probs, embs, ok = [], [], []
    for s in range(0, len(paths), batch_size):
        arrs = []
        for i in range(s, min(s + batch_size, len(paths))):
            try:
                arrs.append(load_rgb(paths[i], size))
                ok.append(i)
            except (ImageError, OSError):
                continue
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


def fit_after_training(run: RunFolder, model=None, split=None, classes=None, cfg=None,
                       listener=None) -> Optional[TrustModel]:
    """Fit and save the run's calibration and unknown score; the :class:`TrustModel`, or None.

    ``model`` defaults to the run's ``model.keras``, ``split`` and ``cfg`` to
    the run's own.  Call it once the best model is final (after ``model.keras``
    is saved).  A run without validation images gets no calibration (None).
    """
    cfg = cfg or run.load_config()
    split = split if split is not None else run.split(cfg.data.data_dir)
    if not split.val:
        emit(listener, Log("no validation images: probabilities stay uncalibrated", "warning"))
        return None
    if model is None:
        from core.model.build import load_model_file

        model = load_model_file(run.model_path)
    keep = float(getattr(cfg.train, "unknown_keep", 0.95))
    batch = int(cfg.train.batch_size)
    emit(listener, Progress(0, 2, "calibrating on the validation images"))
    val = list(split.val)
    probs, val_emb, ok = predict_with_embeddings(model, [r.path for r in val], batch)
    y = np.asarray([int(val[i].label) for i in ok], np.int64)
    emit(listener, Progress(1, 2, "embedding training images for the unknown score"))
    train = _subset(list(split.train), MAX_REFERENCE)
    _, train_emb, ok_t = predict_with_embeddings(model, [r.path for r in train], batch)
    train_y = np.asarray([int(train[i].label) for i in ok_t], np.int64)
    trust, record = fit_trust(probs, y, val_emb, train_emb if len(ok_t) else None, train_y, keep)
    save_trust(run, trust, record)
    emit(listener, Progress(2, 2, f"calibrated: temperature {record.temperature:.2f}, ECE "
                                  f"{record.ece_before:.3f} -> {record.ece_after:.3f}"))
    return trust
