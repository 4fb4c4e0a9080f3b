"""The training engine end to end on tiny generated data with real TensorFlow."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.config import StudioConfig
from core.events import BatchEnd, CancelToken, EpochEnd, Log, PhaseStarted, RunStarted
from core.runs.folder import RunFolder
from core.train.loop_state import LoopState
from weights_fixture import make_bright_dark, tiny_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data(tmp_path):
    return make_bright_dark(tmp_path / "data")


@pytest.fixture
def weights_file(tiny_weights):
    return tiny_weights


def test_train_two_phases_writes_a_complete_run_folder(data, tmp_path, weights_file):
    from core.train.engine import train

    events = []
    result = train(tiny_config(data, weights_file), tmp_path / "run", listener=events.append)
    assert result.status == "completed"
    run = RunFolder(result.run_dir)
    for name in ("config.json", "split.json", "labels.json", "run.json", "history.csv",
                 "model.keras", "metrics.json", "checkpoint/state.json"):
        assert (run.path / name).exists(), name
    assert run.labels() == ["bright", "dark"]
    assert list((run.logs_dir / "head").rglob("events.out.tfevents.*"))  # TensorBoard
    hist = run.history()
    assert [h["phase"] for h in hist] == ["head"] * 3 + ["fine_tune"]
    phases = [e.phase for e in events if isinstance(e, PhaseStarted)]
    assert [e.run_dir for e in events if isinstance(e, RunStarted)] == [str(run.path)]
    assert phases == ["head", "fine_tune"]
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert batches and all(e.images_per_second > 0 and e.steps == 5 for e in batches)
    assert sum(isinstance(e, EpochEnd) for e in events) == 4
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.8  # chance is 0.5
    assert np.array(metrics["confusion"]).sum() == metrics["n_images"] == 12
    # the saved config reproduces the run and round-trips
    assert StudioConfig.load(run.config_path).model.image_size == 32
    assert run.run_info().status == "completed"


def test_cancel_stops_within_a_batch_and_resume_finishes(data, tmp_path):
    from core.train.engine import resume_training, train

    cancel = CancelToken()
    seen = []

    def listener(e):
        seen.append(e)
        if isinstance(e, BatchEnd) and e.epoch == 2 and e.step == 2:
            cancel.cancel()

    result = train(tiny_config(data), tmp_path / "run", listener=listener, cancel=cancel)
    assert result.status == "stopped"
    after = [e for e in seen if isinstance(e, BatchEnd) and e.epoch == 2]
    assert [e.step for e in after] == [1, 2]  # nothing ran after the batch that saw the stop
    run = RunFolder(result.run_dir)
    assert len(run.history()) == 1 and run.run_info().status == "stopped"
    assert (run.path / "model.keras").exists()  # a stopped run still leaves a usable model

    resumed = resume_training(run.path, listener=seen.append)
    assert resumed.status == "completed"
    assert not [e for e in seen if isinstance(e, Log) and "optimizer" in e.message]  # it fit
    hist = run.history()
    assert [h["global_epoch"] for h in hist] == [1, 2, 3, 4]


def test_existing_folder_is_not_overwritten(data, tmp_path):
    from core.errors import UserError
    from core.train.engine import train

    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    with pytest.raises(UserError, match=r"already holds files \(precious\.txt\) and is not a "
                                        "run folder; choose an empty or new output folder"
                       ) as e:
        train(tiny_config(data), out)
    assert (out / "precious.txt").read_text() == "mine"
    # 'train --resume' was offered for any folder, the data folder itself too (a review)
    assert "--resume" not in str(e.value)
    with pytest.raises(UserError, match="is the data folder: the run's files would be "
                                        "scanned") as e:
        train(tiny_config(data), data)
    assert "--resume" not in str(e.value)


def test_a_stopped_run_given_as_out_is_offered_a_resume(data, tmp_path):
    from core.errors import UserError
    from core.runs.lock import release
    from core.runs.records import RunStatus
    from core.train.engine import prepare_new_run, train

    out = tmp_path / "run"
    _, run, _, _ = prepare_new_run(tiny_config(data), out, None, None, None, None)
    release(run)
    run.update_run_info(status=RunStatus.STOPPED)
    with pytest.raises(UserError, match=r"already holds a run that did not finish; choose "
                                        r"another output folder, or continue that run with "
                                        r"'train --resume "):
        train(tiny_config(data), out)


def test_kill_9_mid_epoch_then_resume_loses_at_most_that_epoch(data, tmp_path):
    """A real SIGKILL during epoch 3; --resume continues from epoch 3 with the same config."""
    run_dir = tmp_path / "run"
    cfg = tiny_config(data, epochs=6, fine_tune_epochs=0)
    cfg_path = tmp_path / "cfg.json"
    cfg.save(cfg_path)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--config", str(cfg_path),
                             "--out", str(run_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    deadline = time.time() + 240
    lines = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("head epoch 2/6"):  # printed after epoch 2's checkpoint: epoch 3 runs
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(lines)
    run = RunFolder(run_dir)
    done = len(run.history())
    assert done >= 2
    assert LoopState.read(run.checkpoint.state).epoch == done
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--resume", str(run_dir)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    hist = run.history()
    assert [h["epoch"] for h in hist] == list(range(1, 7))
    assert run.load_config() == StudioConfig.load(cfg_path)  # same config after resume
    assert run.run_info().status == "completed"


def test_saved_model_carries_no_optimizer_state(trained_run):
    """model.keras is the deliverable: weights only, loads without Keras' optimizer warning."""
    import warnings
    import zipfile

    import h5py

    with zipfile.ZipFile(trained_run / "model.keras") as z, z.open("model.weights.h5") as f:
        with h5py.File(f, "r") as h5:
            assert "optimizer" not in h5
    from core.model.model_files import load_model_file

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model_file(trained_run / "model.keras")
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]


def test_resumed_fast_head_continues_the_cycle_of_cached_views(tmp_path):
    """Epoch e of the head phase trains on view e % K, also after a resume at epoch 1."""
    from core.data.augment import preset_config
    from core.data.dataset import scan_dataset, split_dataset
    from core.train.device import decide
    from core.model.build import build_model
    from core.train.fast_head import feature_datasets

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    cfg = tiny_config(data, "none", epochs=4, batch_size=4)
    cfg.augment = preset_config("medium")
    cfg.train.head_feature_views = 2
    split = split_dataset(scan_dataset(data), 0.0, 0)
    model = build_model(cfg.model, 2, 32, None)
    device = decide("off", "off", "default", [])
    steps = -(-len(split.train) // 4)

    def first_epoch_batches(epoch):
        state = LoopState(phase="head", epoch=epoch, global_epoch=epoch)
        ds, _ = feature_datasets(model, split.train, [], cfg, None, state, None, CancelToken(),
                                  device, 4)
        return np.concatenate([f.numpy() for f, _ in ds.take(steps)])

    state = LoopState(phase="head")
    ds, _ = feature_datasets(model, split.train, [], cfg, None, state, None, CancelToken(),
                              device, 4)
    fresh_second_epoch = np.concatenate([f.numpy() for f, _ in ds.skip(steps).take(steps)])
    resumed_first_epoch = first_epoch_batches(1)
    # Same view (same augmented features), same batches: the resume lands on view 1.
    np.testing.assert_array_equal(resumed_first_epoch, fresh_second_epoch)
    assert not np.array_equal(np.sort(first_epoch_batches(0), axis=0),
                              np.sort(resumed_first_epoch, axis=0))


def test_weight_files_hold_no_optimizer_state(trained_run):
    """best and checkpoint weights are plain arrays, one per model weight; optimizer state apart."""
    from core.model.model_files import load_model_file

    n_weights = len(load_model_file(trained_run / "model.keras").weights)
    for name in ("best.weights.npz", "checkpoint/weights.npz"):
        with np.load(trained_run / name) as data:
            assert len(data.files) == n_weights, name
    assert (trained_run / "checkpoint" / "optimizer.npz").exists()


def test_weights_of_another_model_are_refused_by_name(tmp_path):
    import keras

    from core.errors import ModelFileError
    from core.train.checkpoint import load_weights, save_weights

    small = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    big = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    save_weights(small, tmp_path / "w.npz")
    load_weights(small, tmp_path / "w.npz")
    with pytest.raises(ModelFileError, match=r"another model \('.*kernel' is \(3, 2\) in the "
                                              r"file but \(3, 4\) in this model\)"):
        load_weights(big, tmp_path / "w.npz")
    deeper = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(2)])
    with pytest.raises(ModelFileError, match="it has 2 weight arrays, this model has 4"):
        load_weights(deeper, tmp_path / "w.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="bad.npz"):
        load_weights(small, tmp_path / "bad.npz")


def test_a_run_stopped_by_the_previous_version_resumes_from_its_h5_weights(trained_run,
                                                                           tmp_path):
    """Older versions kept Keras .weights.h5 checkpoints; resume must use them, best included."""
    import shutil

    from core.model.model_files import load_model_file
    from core.train.checkpoint import load_weights, weights_digest
    from core.train.engine import resume_training

    run = tmp_path / "old-run"
    shutil.copytree(trained_run, run)
    model = load_model_file(run / "model.keras")
    load_weights(model, run / "best.weights.npz")
    best_digest = weights_digest(model)
    model.save_weights(str(run / "best.weights.h5"))  # what the old version wrote
    load_weights(model, run / "checkpoint" / "weights.npz")
    model.save_weights(str(run / "checkpoint" / "weights.weights.h5"))
    for name in ("best.weights.npz", "checkpoint/weights.npz", "checkpoint/optimizer.npz"):
        (run / name).unlink()
    # The old version's state.json and run.json had no "version" (they read as version 1).
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    del state["version"]
    state.update(phase="fine_tune", epoch=0, global_epoch=3, finished_phases=["head"],
                 history=state["history"][:3], best_score=[1.0, 0.0], best_epoch=3,
                 phase_best_score=None)
    (run / "checkpoint" / "state.json").write_text(json.dumps(state))
    info = json.loads((run / "run.json").read_text())
    del info["version"]
    (run / "run.json").write_text(json.dumps(dict(info, status="stopped")))

    result = resume_training(run)
    assert result.status == "completed" and [h["global_epoch"] for h in result.history] == \
        [1, 2, 3, 4]
    # The old best (unbeatable score) is what the finished run's model holds.
    assert (run / "best.weights.npz").exists() and result.metrics is not None
    assert weights_digest(load_model_file(run / "model.keras")) == best_digest
    assert json.loads((run / "run.json").read_text())["version"] == 1  # rewritten as current


def test_train_says_which_classes_it_leaves_out_and_which_it_cannot_measure(tmp_path):
    """A class folder of unreadable files was left out of the model and a class of one
    image was never validated, with only per-file lines in train's output (inspect said
    both) (a review)."""
    from core.train.engine import train

    data = make_bright_dark(tmp_path / "data", per_class=8, size=32)
    (data / "broken").mkdir()
    (data / "broken" / "x.jpg").write_text("not an image")
    (data / "single").mkdir()
    from PIL import Image

    Image.fromarray(np.random.default_rng(5).integers(0, 255, (32, 32, 3), np.uint8)).save(
        data / "single" / "only.png")
    events = []
    train(tiny_config(data, epochs=1, fine_tune_epochs=0), tmp_path / "run",
          listener=events.append)
    said = [e.message for e in events if isinstance(e, Log)]
    assert any("broken" in m and e_level == "warning"
               for m, e_level in ((e.message, e.level) for e in events if isinstance(e, Log)))
    split = next(m for m in said if m.startswith("split: ") and " validate" in m)
    assert "no validation image of 'single'" in split and "not measured" in split
