"""Tiny datasets, configs and backbone weight files the tests make themselves (no ImageNet download here).

A randomly initialised keras.applications backbone whose BatchNorm layers keep
their initial statistics (mean 0, variance 1) shrinks activations layer after
layer until the features are ~1e-12: useless as a frozen feature extractor.
Calibrating every BatchNorm's moving statistics on one batch of images (one
forward pass in training mode with momentum 0) gives a random network whose
features carry real information about the image, like a crude pretrained
backbone.  Tests save such weights to a file and train with ``weights=PATH``,
which is also the path a user's own weights file takes.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def eager_functions():
    """Run TensorFlow functions eagerly inside the block, then as they were before.

    A tiny training run spends most of its time tracing and optimising its train step
    (about 30 s of 40 on 2 cores); eagerly the same run takes about 10 s.  Tests that check
    a run's bookkeeping (stop, resume, damaged files, logs, the window's pages) train so;
    test_training, test_distributed, the export tests and the window's end-to-end flow keep
    the compiled path the app runs.  tf.data functions are traced either way.
    """
    import tensorflow as tf

    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


def make_bright_dark(root: Path, per_class: int = 24, size: int = 40) -> Path:
    """Two classes a random-feature network can separate: bright vs dark noise."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, base in (("bright", 190), ("dark", 60)):
        d = Path(root) / name
        d.mkdir(parents=True)
        for i in range(per_class):
            arr = np.clip(base + rng.normal(0, 30, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(d / f"{name}_{i}.png")
    return Path(root)


def tiny_config(data_dir, weights: str = "none", **train):
    """A run that trains in well under a minute on 2 cores (MobileNetV3Small, 32 px)."""
    from core.config import FreezeConfig, StudioConfig

    cfg = StudioConfig()
    cfg.data.data_dir = str(data_dir)
    cfg.data.val_split = 0.25
    cfg.model.backbone = "MobileNetV3Small"
    cfg.model.weights = weights
    cfg.model.image_size = 32
    cfg.model.freeze = FreezeConfig(mode="top_n", top_n=8)
    cfg.augment.preset = "none"
    cfg.train.epochs = 3
    cfg.train.fine_tune_epochs = 1
    cfg.train.batch_size = 8
    cfg.train.learning_rate = 3e-3
    cfg.train.fine_tune_learning_rate = 1e-4  # explicit: the tests' trained models stay as they were
    cfg.train.early_stopping_patience = 0
    cfg.train.head_solver = "adam"  # epochs of Adam: the tests count the head phase's epochs
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def calibrate_batchnorm(net, x) -> None:
    """Set every BatchNorm's moving statistics in ``net`` to those of the batch ``x``.

    One forward pass in training mode with momentum 0 takes the batch's mean and
    variance; the layers' own momentum is put back afterwards.  ``x`` is what
    ``net`` sees (already preprocessed).
    """
    import keras

    bns = [l for l in net._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.momentum = 0.0
    net(x, training=True)
    for bn, m in zip(bns, saved):
        bn.momentum = m


def calibrated_weights(backbone: str, size: int, path: Path, seed: int = 0) -> Path:
    import keras

    from core.model.backbones import get_backbone
    from core.model.build import build_backbone, preprocessing_layers

    keras.utils.set_random_seed(seed)
    spec = get_backbone(backbone)
    net = build_backbone(spec, size, None)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (16, size, size, 3)).astype("float32")
    for layer in preprocessing_layers(spec, imagenet=False):
        x = layer(x)
    calibrate_batchnorm(net, x)
    net.save_weights(str(path))
    return path
