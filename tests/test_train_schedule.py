"""Training's small rules as pure functions: learning rates, the plateau rule, class weights."""

import math

import pytest

from core.train.schedule import (PLATEAU_FACTOR, PLATEAU_FLOOR, class_weights_for, lr_for_epoch,
                                 plateau_lr, score)


def test_cosine_goes_from_the_base_rate_to_five_percent_of_it():
    base, epochs = 1e-3, 5
    rates = [lr_for_epoch("cosine", base, e, epochs) for e in range(epochs)]
    assert rates[0] == pytest.approx(base)
    assert rates[-1] == pytest.approx(0.05 * base)
    assert all(a > b for a, b in zip(rates, rates[1:]))  # strictly decreasing
    # Halfway through, halfway between the base and the floor (the cosine's midpoint).
    assert rates[2] == pytest.approx(0.05 * base + 0.5 * 0.95 * base)


@pytest.mark.parametrize("schedule, epoch, epochs", [
    ("constant", 0, 10), ("constant", 9, 10), ("plateau", 3, 10), ("cosine", 0, 1)])
def test_other_schedules_and_a_one_epoch_cosine_keep_the_base_rate(schedule, epoch, epochs):
    assert lr_for_epoch(schedule, 3e-4, epoch, epochs) == 3e-4


def test_plateau_lowers_by_a_fifth_but_not_below_a_thousandth_of_the_phase_rate():
    assert plateau_lr(1e-3, 1e-3) == pytest.approx(1e-3 * PLATEAU_FACTOR)
    assert plateau_lr(1.5e-6, 1e-3) == pytest.approx(1e-3 * PLATEAU_FLOOR)


def test_score_ranks_accuracy_first_then_loss():
    assert score({"val_accuracy": 0.9, "val_loss": 0.5}) > score({"val_accuracy": 0.8,
                                                                  "val_loss": 0.1})
    assert score({"val_accuracy": 0.9, "val_loss": 0.4}) > score({"val_accuracy": 0.9,
                                                                  "val_loss": 0.5})
    assert score({"accuracy": 0.7, "loss": 0.2}) == [0.7, -0.2]  # no validation: training's
    assert score({}) == [0.0, -math.inf]


def test_class_weights_only_when_imbalanced_beyond_one_and_a_half():
    assert class_weights_for([0] * 30 + [1] * 20, 2, "auto") is None  # 1.5x: balanced enough
    weights = class_weights_for([0] * 60 + [1] * 20, 2, "auto")
    assert weights == pytest.approx({0: 80 / (2 * 60), 1: 80 / (2 * 20)})  # inverse frequency
    assert weights[1] / weights[0] == pytest.approx(3.0)
    assert class_weights_for([0] * 60 + [1] * 20, 2, "none") is None
    assert class_weights_for([], 2, "auto") is None
    # A class with no training images gets weight 1 (it never occurs in the loss anyway).
    three = class_weights_for([0] * 10 + [1] * 40, 3, "auto")
    assert three[2] == 1.0 and three[0] == pytest.approx(50 / 30)


def test_a_compiled_phase_traces_its_train_step_once(monkeypatch):
    """The optimizer used to be built inside the first trace of the train step, which
    made tf.function trace the whole step twice per phase (a backbone's step: seconds)."""
    import keras
    import numpy as np
    from keras.src.backend.tensorflow import trainer

    from core.train.schedule import compile_model

    traces = []
    original = trainer.TensorFlowTrainer.train_step

    def counted(self, data):
        traces.append(1)  # Python runs here only while tracing
        return original(self, data)

    monkeypatch.setattr(trainer.TensorFlowTrainer, "train_step", counted)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    compile_model(model, 1e-2, 0.0, jit_compile=False)
    assert model.optimizer.built
    x = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(20) % 3]
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert len(traces) == 1
