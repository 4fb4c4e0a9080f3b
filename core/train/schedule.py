"""The small rules of optimisation: the score that ranks epochs, the learning rate of an
epoch, the plateau rule, class weights, and how a model is compiled.

Plain functions of plain values, so each rule is testable without training.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

#: The plateau schedule: after this many epochs without improvement the rate is
#: multiplied by PLATEAU_FACTOR, never below PLATEAU_FLOOR times the phase's rate.
PLATEAU_PATIENCE = 2
PLATEAU_FACTOR = 0.2
PLATEAU_FLOOR = 1e-3


def score(logs: dict) -> list:
    """How good an epoch was, comparable with ``>``: [val accuracy, -val loss]."""
    acc = float(logs.get("val_accuracy", logs.get("accuracy", 0.0)) or 0.0)
    loss = float(logs.get("val_loss", logs.get("loss", math.inf)) or 0.0)
    return [round(acc, 6), -loss]


def class_weights_for(labels: list[int], n_classes: int, mode: str) -> Optional[dict]:
    """Inverse-frequency weights when classes are imbalanced (ratio above 1.5), else None."""
    if mode != "auto" or not labels:
        return None
    counts = np.bincount(np.asarray(labels), minlength=n_classes).astype(np.float64)
    present = counts[counts > 0]
    if present.max() / present.min() <= 1.5:
        return None
    total = counts.sum()
    return {i: float(total / (n_classes * c)) if c else 1.0 for i, c in enumerate(counts)}


def lr_for_epoch(schedule: str, base_lr: float, epoch: int, epochs: int) -> float:
    """Cosine decay per epoch from ``base_lr`` to 5% of it; constant otherwise."""
    if schedule == "cosine" and epochs > 1:
        floor = 0.05 * base_lr
        return floor + 0.5 * (base_lr - floor) * (1 + math.cos(math.pi * epoch / (epochs - 1)))
    return base_lr


def plateau_lr(current_lr: float, phase_lr: float) -> float:
    """The lowered rate after a plateau: a fifth, but not below a thousandth of the phase's."""
    return max(current_lr * PLATEAU_FACTOR, phase_lr * PLATEAU_FLOOR)


def plateau_step(state, improved: bool, phase_lr: float) -> bool:
    """The plateau schedule after an epoch (``state``: the loop's, ``improved``: whether the
    epoch beat the phase's best): True when it lowered the rate."""
    state.plateau_wait = 0 if improved else state.plateau_wait + 1
    if state.plateau_wait < PLATEAU_PATIENCE:
        return False
    state.learning_rate = plateau_lr(state.learning_rate, phase_lr)
    state.plateau_wait = 0
    return True


def compile_model(model, lr: float, label_smoothing: float, jit_compile: bool) -> None:
    """Adam, smoothed categorical cross-entropy and accuracy: what every phase trains with."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    # Build the optimizer's slots now, eagerly.  Left to Keras (no distribution
    # strategy), they are created inside the first trace of the train step, and
    # tf.function then traces the whole step a second time: each phase paid for
    # two traces of a backbone's train step (seconds to tens of seconds on a CPU).
    with keras.name_scope(model.optimizer.name):
        model.optimizer.build(model.trainable_variables)
