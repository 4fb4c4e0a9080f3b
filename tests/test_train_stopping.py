"""Early stopping, the plateau schedule and a mismatched optimizer state, on real training.

A run whose validation stalls is made for real: bright/dark images whose
validation images are swapped (a bright picture filed as dark and the other
way round), so every epoch that learns the training images makes validation
worse.  The first epoch is then the best one, the ones after it never improve.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.events import BatchEnd, CancelToken, EpochEnd, Log, PhaseStarted
from core.runs.folder import RunFolder
from weights_fixture import make_bright_dark, tiny_config

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def stalling_data(root, tiny_weights, **train):
    """(config, scan report) of a dataset whose validation gets worse as training improves."""
    from core.data.dataset import scan_dataset, split_dataset

    data = make_bright_dark(root, per_class=12, size=32)
    cfg = tiny_config(data, tiny_weights, **train)
    report = scan_dataset(data)
    split = split_dataset(report, cfg.data.val_split, cfg.data.seed)  # what training will use
    rng = np.random.default_rng(1)
    for r in split.val:
        level = 60 if r.class_name == "bright" else 190  # the other class's brightness
        pixels = np.clip(level + rng.normal(0, 30, (32, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(r.path)
    return cfg, report


def weight_arrays(path) -> list:
    with np.load(path) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_early_stopping_ends_a_stalled_phase_and_keeps_its_best_epoch(tmp_path, tiny_weights):
    from core.model.model_files import load_model_file
    from core.train.engine import train

    cfg, report = stalling_data(tmp_path / "data", tiny_weights, epochs=8, fine_tune_epochs=0,
                                early_stopping_patience=2, lr_schedule="constant")
    run = RunFolder(tmp_path / "run")
    events, after_epoch = [], {}

    def listener(event):
        events.append(event)
        if isinstance(event, EpochEnd):  # sent once the epoch's checkpoint is written
            after_epoch[event.epoch] = weight_arrays(run.checkpoint.weights)

    result = train(cfg, run.path, listener=listener, report=report)
    assert result.status == "completed"
    assert [e.epochs for e in events if isinstance(e, PhaseStarted)] == [8]
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1, 2, 3]  # 1 + patience
    assert any(isinstance(e, Log) and "no improvement for 2 epochs" in e.message
               and "stops early" in e.message for e in events)
    assert result.best_epoch == 1 and run.run_info().best_epoch == 1
    assert not same(after_epoch[1], after_epoch[3])  # the stalled epochs did change the weights
    kept = load_model_file(run.model_path).get_weights()
    assert same(kept, after_epoch[1])  # ... but the model is the best epoch's
    assert same(weight_arrays(run.checkpoint.weights), after_epoch[1])  # and so is the checkpoint


def test_the_plateau_schedule_lowers_the_rate_after_two_stalled_epochs(tmp_path, tiny_weights):
    from core.train.engine import train
    from core.train.schedule import PLATEAU_FACTOR

    cfg, report = stalling_data(tmp_path / "data", tiny_weights, epochs=4, fine_tune_epochs=0,
                                lr_schedule="plateau")
    events = []
    result = train(cfg, tmp_path / "run", listener=events.append, report=report)
    base = cfg.train.learning_rate
    assert [h["learning_rate"] for h in result.history] == pytest.approx(
        [base, base, base, base * PLATEAU_FACTOR])  # epochs 2 and 3 stalled: epoch 4 is lower
    lowered = [e.message for e in events if isinstance(e, Log) and "stalled" in e.message]
    assert lowered == [f"validation stalled: learning rate lowered to {base * PLATEAU_FACTOR:.2e}"]


def test_an_optimizer_state_that_does_not_fit_warns_and_training_continues(tmp_path,
                                                                          tiny_weights):
    from core.train.engine import resume_training, train

    data = make_bright_dark(tmp_path / "data", per_class=12, size=32)
    cfg = tiny_config(data, tiny_weights, epochs=3, fine_tune_epochs=0)
    cancel = CancelToken()

    def stop_in_epoch_2(event):
        if isinstance(event, BatchEnd) and event.epoch == 2:
            cancel.cancel()

    first = train(cfg, tmp_path / "run", listener=stop_in_epoch_2, cancel=cancel)
    run = RunFolder(first.run_dir)
    assert first.status == "stopped" and len(run.history()) == 1
    saved = weight_arrays(run.checkpoint.optimizer)
    # As many arrays as the optimizer has, but of another shape (another model's state).
    np.savez(run.checkpoint.optimizer, *[np.zeros((3, 3), np.float32) for _ in saved])

    events = []
    result = resume_training(run.path, listener=events.append)
    warnings = [e.message for e in events if isinstance(e, Log) and e.level == "warning"]
    # The 6 validation images of this tiny set are too few to calibrate on; the run says so.
    calibration = [w for w in warnings if "calibration needs at least" in w]
    assert len(calibration) == 1
    assert [w for w in warnings if w not in calibration] == [
        "optimizer state did not match; it restarts fresh"]
    assert result.status == "completed"
    assert [h["global_epoch"] for h in result.history] == [1, 2, 3]
    assert run.run_info().status == "completed"


def test_a_run_killed_as_a_phase_ends_resumes_as_if_never_stopped(tmp_path, tiny_weights):
    """Each epoch's checkpoint is written before the phase's end (early stopping's decision,
    its best weights): a kill between the two resumed the head with an epoch too many, or
    fine-tuned from the last epoch's weights, and logged "head epoch 4" of a 3-epoch head
    (a stop/resume review)."""
    import json

    from core.train.engine import resume_training, train

    cfg, report = stalling_data(tmp_path / "data", tiny_weights, epochs=8, fine_tune_epochs=1,
                                early_stopping_patience=2, lr_schedule="constant")
    whole = train(cfg, tmp_path / "whole", report=report)
    run, cancel, after = RunFolder(tmp_path / "cut"), CancelToken(), {}

    def listener(event):
        if isinstance(event, EpochEnd) and event.phase == "head":
            after[event.epoch] = weight_arrays(run.checkpoint.weights)
        if isinstance(event, BatchEnd) and event.phase == "fine_tune":
            cancel.cancel()

    assert train(cfg, run.path, listener=listener, cancel=cancel, report=report).status == \
        "stopped"
    # What a kill just after head epoch 3's checkpoint leaves: the early stop not yet
    # decided, the last epoch's weights.
    state = json.loads(run.checkpoint.state.read_text())
    assert state["phase"] == "head" and state["epoch"] == 3
    state["finished_phases"] = []
    run.checkpoint.state.write_text(json.dumps(state))
    np.savez(run.checkpoint.weights, *after[3])
    events = []
    result = resume_training(run.path, listener=events.append)
    assert [(h["phase"], h["epoch"]) for h in result.history] == \
        [(h["phase"], h["epoch"]) for h in whole.history] == [("head", 1), ("head", 2),
                                                               ("head", 3), ("fine_tune", 1)]
    assert [h["loss"] for h in result.history] == pytest.approx(
        [h["loss"] for h in whole.history], rel=1e-5)
    said = [e.message for e in events if isinstance(e, Log)]
    assert any("resuming" in m and "at fine_tune epoch 1" in m for m in said)
    assert "the head phase had ended when the run stopped: it goes on from that phase's " \
           "best weights" in said


def test_a_damaged_state_is_rebuilt_with_the_plateaus_lowered_rate(tmp_path, tiny_weights):
    """Rebuilt from history.csv, the rate was the one the last epoch trained at, before the
    plateau schedule lowered it, and the stalled-epoch count was lost (a stop/resume review)."""
    from core.train.checkpoint import load_loop_state
    from core.train.engine import train
    from core.train.loop_state import LoopState
    from core.train.schedule import PLATEAU_FACTOR

    cfg, report = stalling_data(tmp_path / "data", tiny_weights, epochs=3, fine_tune_epochs=0,
                                lr_schedule="plateau")
    run = RunFolder(train(cfg, tmp_path / "run", report=report).run_dir)
    saved = LoopState.read(run.checkpoint.state)
    assert saved.learning_rate == pytest.approx(cfg.train.learning_rate * PLATEAU_FACTOR)
    run.checkpoint.state.write_text("{damaged")
    rebuilt = load_loop_state(run)
    for name in ("learning_rate", "plateau_wait", "wait", "epoch", "best_epoch"):
        assert getattr(rebuilt, name) == pytest.approx(getattr(saved, name)), name


@pytest.mark.parametrize("freeze, said", [
    ({"mode": "top_n", "top_n": 0}, "the top 0 layers"),
    ({"mode": "custom", "layers": []}, "no layer ticked"),
    ({"mode": "top_n", "top_n": 1}, "the layers chosen hold no weights that train"),
])
def test_settings_that_unfreeze_nothing_skip_the_fine_tuning_phase(tmp_path, tiny_weights,
                                                                   freeze, said):
    """The top 0 layers, no layer ticked, or top layers without weights ran a whole phase
    for the head alone ("1,154 of 940,274 parameters train"; a knobs review)."""
    from core.config import FreezeConfig
    from core.data.dataset import scan_dataset
    from core.train.engine import train
    from core.train.linear_head import planned_epochs

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    cfg = tiny_config(data, tiny_weights, epochs=1, fine_tune_epochs=2)
    cfg.model.freeze = FreezeConfig(**freeze)
    if freeze.get("top_n") != 1:  # known from the settings alone: the Train page counts it
        assert planned_epochs(cfg)["fine_tune"] == 0
    events = []
    result = train(cfg, tmp_path / "run", listener=events.append, report=scan_dataset(data))
    assert [h["phase"] for h in result.history] == ["head"]
    assert f"nothing to unfreeze ({said}): the fine-tuning phase is skipped" in [
        e.message for e in events if isinstance(e, Log)]


def test_no_head_epoch_and_weightless_top_layers_is_refused(tmp_path, tiny_weights):
    """Skipping a fine-tuning phase that trains no weight, with no head epoch, "completed" a
    run without a model (a review of the day's diff)."""
    from core.config import FreezeConfig
    from core.data.dataset import scan_dataset
    from core.errors import ConfigError
    from core.train.engine import train

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    cfg = tiny_config(data, tiny_weights, epochs=0, fine_tune_epochs=2)
    cfg.model.freeze = FreezeConfig(mode="top_n", top_n=1)  # MobileNetV3Small: no weights
    with pytest.raises(ConfigError, match=r"unfreezes no backbone layer \(the layers chosen "
                                          r"hold no weights that train\): nothing would train"):
        train(cfg, tmp_path / "run", report=scan_dataset(data))
