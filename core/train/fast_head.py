"""The fast head phase: train the new head on backbone features computed once, not every epoch.

While the backbone is frozen the pooled features of an image do not change, so
the head phase can run the backbone once per cached view (:func:`feature_datasets`)
and train a model made of the classifier's own head layers on them
(:func:`head_model`).  Training that model trains the classifier's head: the
layer objects are shared.
"""

from __future__ import annotations

import math
import time
from typing import Optional

import numpy as np

from core.config import StudioConfig
from core.events import Log, Progress, emit
from core.train.device import DeviceInfo
from core.train.loop_state import LoopState


def head_model(model, n_features: int):
    """A model from pooled backbone features to the output, SHARING the classifier's head layers.

    Training it trains the full model's head: the layer objects are the same.
    """
    import keras

    from core.model.build import HEAD_LAYERS

    inputs = keras.Input(shape=(int(n_features),), name="features")
    x = inputs
    for name in HEAD_LAYERS[1:]:  # avg_pool is already applied to the features
        try:
            layer = model.get_layer(name)
        except ValueError:
            continue
        x = layer(x)
    return keras.Model(inputs, x, name="head")


def feature_datasets(model, train_records, val_records, cfg: StudioConfig, cache,
                     state: LoopState, listener, cancel, device: DeviceInfo, batch_size: int,
                     reported: Optional[set] = None):
    """Run the frozen backbone once per cached view; return (train, val) feature datasets.

    While the backbone is frozen its pooled features of an image do not change,
    so computing them every epoch (as the plain recipe does) repeats the most
    expensive work.  Without augmentation one pass is exact; with augmentation
    ``head_feature_views`` augmented passes are cached and the epochs cycle
    through them: each view yields ``ceil(n / batch)`` batches, one epoch's
    worth, so epoch ``e`` of the phase trains on view ``e % views`` (a file that
    could not be decoded shortens a view and shifts this by a batch, harmlessly).
    View ``v`` is augmented with the seed of the phase's epoch ``v`` and a resumed
    phase starts the cycle at its next epoch's view, so a resume sees the same
    views in the same order as an uninterrupted run.
    """
    import tensorflow as tf

    views = min(cfg.train.head_feature_views, cfg.train.epochs)
    per_view, val = cached_features(model, train_records, val_records, cfg, cache, state,
                                    listener, cancel, device, batch_size, reported, views)
    train = epoch_batches(per_view, batch_size, cfg.train.seed, state.epoch)
    if val is not None:
        val = tf.data.Dataset.from_tensor_slices(val).batch(batch_size).cache()
    return train, val


def head_views(train_cfg, linear: bool) -> int:
    """How many augmented views of the training images the head phase caches: every one
    the setting asks for for the exact logistic fit, at most one per epoch otherwise.  The
    session and the window's learning-rate finder both ask here, so they test the same
    features (they differed: 2.2e-06 against 0.0015 for the same settings)."""
    views = train_cfg.head_feature_views
    return views if linear else min(views, max(train_cfg.epochs, 1))


def cached_features(model, train_records, val_records, cfg: StudioConfig, cache,
                    state: LoopState, listener, cancel, device: DeviceInfo, batch_size: int,
                    reported: Optional[set] = None, views: Optional[int] = None):
    """The frozen backbone's pooled features: ([(x, y) per training view], (x, y) of val or None).

    ``views`` augmented views when augmentation is on (default ``head_feature_views``),
    else one plain pass; labels ``y`` are one-hot.  See :func:`feature_datasets`.
    """
    import tensorflow as tf

    from core.data.augment import build_augmenter
    from core.data.pipeline import make_dataset

    n_classes = int(model.outputs[0].shape[-1])
    size = cfg.model.image_size
    extractor = feature_extractor(model)
    fn = tf.function(lambda x: tf.cast(extractor(x, training=False), tf.float32),
                     jit_compile=device.xla, reduce_retracing=True)
    augmenting = build_augmenter(cfg.augment, size) is not None
    views = max(1, views or cfg.train.head_feature_views) if augmenting else 1

    def extract(records, training, augment, first_epoch, label):
        ds = make_dataset(records, n_classes, size, batch_size, training=training,
                          augment=augment, cache=cache, seed=cfg.train.seed, listener=listener,
                          first_epoch=first_epoch, reported=reported)
        feats, labels = [], []
        total = math.ceil(len(records) / batch_size)
        for i, (x, y) in enumerate(ds):
            cancel.raise_if_cancelled()
            feats.append(fn(x).numpy())
            labels.append(y.numpy())
            emit(listener, Progress(i + 1, total, label))
        return np.concatenate(feats), np.concatenate(labels)

    t0 = time.time()
    phase_first_epoch = state.global_epoch - state.epoch  # global number of the phase's epoch 0
    per_view = []
    for v in range(views):
        label = (f"computing backbone features, view {v + 1}/{views}" if views > 1
                 else "computing backbone features")
        per_view.append(extract(train_records, True, cfg.augment if augmenting else None,
                                phase_first_epoch + v, label))
    passes = "once" if views == 1 else f"{views} times (one per cached view)"
    emit(listener, Log(f"head phase on cached features: the frozen backbone went over the "
                       f"training images {passes}, not once per epoch "
                       f"({time.time() - t0:.1f} s)"))
    val = None
    if val_records:
        val = extract(val_records, False, None, 0, "computing validation features")
    return per_view, val


def epoch_batches(per_view: list, batch_size: int, seed: int, first_epoch: int):
    """Endless batches: epoch ``e`` of the phase is view ``e % views``, shuffled by (seed, e).

    The order of epoch ``e`` depends on ``e`` alone (a stateless shuffle), not on
    how many epochs this dataset has already produced, so a phase resumed at
    ``first_epoch`` sees exactly the batches of the uninterrupted run.
    """
    import tensorflow as tf

    lengths = [len(y) for _, y in per_view]
    feats = tf.constant(np.concatenate([f for f, _ in per_view]))
    labels = tf.constant(np.concatenate([y for _, y in per_view]))
    starts = tf.constant(np.cumsum([0] + lengths[:-1]), tf.int64)
    sizes = tf.constant(lengths, tf.int64)
    n_views = len(per_view)

    def one_epoch(e):
        v = e % n_views
        order = tf.random.experimental.stateless_shuffle(
            tf.range(sizes[v]), seed=tf.stack([tf.constant(seed, tf.int64), e]))
        return tf.data.Dataset.from_tensor_slices(order + starts[v]).batch(batch_size)

    return (tf.data.Dataset.range(first_epoch, 2 ** 62).flat_map(one_epoch)
            .map(lambda i: (tf.gather(feats, i), tf.gather(labels, i))).prefetch(2))


def feature_extractor(model):
    """The classifier up to its pooled backbone features (shares the classifier's layers)."""
    import keras

    return keras.Model(model.inputs, model.get_layer("avg_pool").output, name="features")
