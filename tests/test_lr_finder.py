"""The learning-rate finder (range test): the curve, the proposal, the cancel, and --lr auto."""

import json

import numpy as np
import pytest

from core.events import CancelToken, Cancelled, Log, Progress
from core.train.lr_finder import propose, range_test
from weights_fixture import make_bright_dark, tiny_config


def tiny_softmax(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-7), "categorical_crossentropy")
    return model


def batches(seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 4)) * 3
    while True:
        y = rng.integers(0, 3, 16)
        yield (centres[y] + rng.normal(size=(16, 4))).astype("float32"), np.eye(3)[y]


def test_rates_grow_exponentially_weights_come_back_and_a_rate_is_proposed():
    model = tiny_softmax()
    before = [w.copy() for w in model.get_weights()]
    events = []
    out = range_test(model, batches(), lowest=1e-5, highest=10.0, steps=60,
                     listener=events.append)
    ratios = np.diff(np.log(out.rates))
    assert np.allclose(ratios, ratios[0]) and out.rates[0] == pytest.approx(1e-5)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the test only looks
    assert out.rates[0] < out.proposal < out.min_loss_rate
    assert out.proposal == pytest.approx(out.min_loss_rate / 10)
    assert min(out.losses) < out.losses[0] * 0.8  # the loss fell somewhere
    assert any(isinstance(e, Progress) for e in events)
    assert any(isinstance(e, Log) and "proposed" in e.message for e in events)


def test_divergence_stops_the_test_early():
    model = tiny_softmax()
    out = range_test(model, batches(), lowest=1e-3, highest=1e6, steps=100)
    assert out.diverged and len(out.rates) < 100


def test_cancel_restores_the_weights():
    model = tiny_softmax()
    before = [w.copy() for w in model.get_weights()]
    token = CancelToken()

    def cancel_after_5(ev):
        if isinstance(ev, Progress) and ev.done == 5:
            token.cancel()

    with pytest.raises(Cancelled):
        range_test(model, batches(), steps=50, listener=cancel_after_5, cancel=token)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_proposal_rules():
    rates = list(np.geomspace(1e-6, 1, 50))
    losses = [2.0 - (0.02 * i if i < 40 else 0.8 - 0.3 * (i - 40)) for i in range(50)]
    proposal, steepest, min_rate = propose(rates, losses)
    assert min_rate == pytest.approx(rates[40]) and proposal == pytest.approx(rates[40] / 10)
    assert rates[0] <= steepest <= min_rate
    assert propose([], []) == (1e-3, 1e-3, 1e-2)


def test_train_with_lr_auto_records_the_rate_it_found(tmp_path, tiny_weights):
    from core.cli import main
    from core.config import StudioConfig

    data = make_bright_dark(tmp_path / "data", per_class=12)
    cfg = tiny_config(data, tiny_weights, epochs=2, fine_tune_epochs=0)
    cfg.save(tmp_path / "cfg.json")
    run = tmp_path / "run"
    assert main(["train", "--config", str(tmp_path / "cfg.json"), "--lr", "auto",
                 "--out", str(run), "--json"]) == 0
    saved = StudioConfig.load(run / "config.json")
    assert 1e-7 <= saved.train.learning_rate <= 1.0  # resolved, so a resume trains on with it
    assert json.loads((run / "run.json").read_text())["status"] == "completed"


def test_find_learning_rate_job_writes_no_run_folder(tmp_path, tiny_weights):
    from core.train.lr_finder import find_learning_rate

    data = make_bright_dark(tmp_path / "data", per_class=12)
    out = find_learning_rate(tiny_config(data, tiny_weights))
    assert len(out.rates) >= 20 and 1e-7 <= out.proposal <= 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_flat_curve_proposes_no_rate():
    """The loss of a head that cannot learn sat at ln 3 to within 1e-6, and the lowest point
    of that noise was proposed, 2.2e-06: the run then trained nothing (a review)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(1e-7), "categorical_crossentropy")

    def nothing_to_learn():  # all-zero inputs, labels evenly spread: ln 3 is the best loss
        y = np.eye(3)[np.arange(15) % 3]
        while True:
            yield np.zeros((15, 4), "float32"), y

    events = []
    out = range_test(model, nothing_to_learn(), lowest=1e-7, highest=1e-2, steps=40,
                     listener=events.append)
    assert out.flat and "no rate to propose" in out.describe()
    assert any(isinstance(e, Log) and "did not fall" in e.message for e in events)
    assert not range_test(tiny_softmax(), batches(), lowest=1e-5, highest=10.0, steps=60).flat


def test_the_finder_refuses_weights_none_and_lr_auto_keeps_the_default(tmp_path):
    """From scratch every layer trains; the finder tests a frozen random backbone's head,
    whose curve says nothing about the rate the run needs (a review)."""
    from types import SimpleNamespace

    from core.config import StudioConfig
    from core.errors import ConfigError
    from core.train.lr_finder import FALLBACK_RATE, find_learning_rate, resolve_auto_lr

    data = make_bright_dark(tmp_path / "data", per_class=4)
    with pytest.raises(ConfigError, match="weights 'none' every layer trains from scratch"):
        find_learning_rate(tiny_config(data, "none"))
    cfg = StudioConfig()
    cfg.train.learning_rate = 0  # auto
    events, saved = [], []
    session = SimpleNamespace(scratch=True, cfg=cfg, listener=events.append,
                              cluster=SimpleNamespace(is_chief=True),
                              run=SimpleNamespace(save_config=saved.append))
    resolve_auto_lr(session)
    assert cfg.train.learning_rate == FALLBACK_RATE and saved == [cfg]
    (warning,) = [e for e in events if isinstance(e, Log) and e.level == "warning"]
    assert "from scratch" in warning.message and f"default rate {FALLBACK_RATE:g}" in warning.message
