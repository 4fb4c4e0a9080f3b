"""Training ends by calibrating: the run's calibration.json, metrics.json's "calibration",
and every prediction from the run calibrated; a stopped run is not, its resume is; a run
with too few validation images says so and stores none.  Real tiny training runs."""

import json

import numpy as np
import pytest

from core.events import CancelToken, EpochEnd, Log
from core.infer.loaders import load_predictor
from core.runs.folder import RunFolder
from core.trust.calibration import expected_calibration_error
from core.trust.fit import MIN_IMAGES
from core.trust.store import read_record
from weights_fixture import make_bright_dark, tiny_config

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def test_a_completed_run_is_calibrated_and_its_predictions_use_it(trained_run):
    run = RunFolder(trained_run)
    rec = read_record(run)
    assert rec is not None and run.unknown_path.is_file()
    metrics = json.loads(run.metrics_path.read_text())
    cal = metrics["calibration"]
    assert cal["temperature"] == rec.temperature and cal["unknown_keep"] == 0.95
    assert cal["unknown_threshold"] == rec.unknown_threshold is not None
    assert {"ece_before", "ece_after"} <= set(cal)
    # metrics.json scores the calibrated probabilities: what predict and evaluate give
    predictor = load_predictor(trained_run)
    assert predictor.trust is not None and predictor.unknown_threshold == rec.unknown_threshold
    # the run's model.keras (what the window opens after training) gets it too
    assert load_predictor(run.model_path).trust is not None
    val = run.split().val
    probs, ok, _ = predictor.predict_files([r.path for r in val])
    labels = {r.path: r.label for r in val}
    ece = expected_calibration_error(probs, [labels[p] for p in ok])
    assert metrics["ece"] == pytest.approx(ece, abs=1e-6)
    assert cal["ece_after"] == pytest.approx(ece, abs=1e-5)


def _listener(events, cancel=None, stop_after=None):
    def listen(e):
        events.append(e)
        if stop_after and isinstance(e, EpochEnd) and e.phase == "head" and e.epoch == stop_after:
            cancel.cancel()
    return listen


def test_a_stopped_run_is_not_calibrated_and_resuming_it_calibrates(tmp_path, tiny_weights):
    from core.train.engine import resume_training, train

    data = make_bright_dark(tmp_path / "data", per_class=20, size=32)
    cfg = tiny_config(data, tiny_weights, epochs=2, fine_tune_epochs=0)
    cfg.trust.unknown_keep = 0.9
    cancel, events = CancelToken(), []
    stopped = train(cfg, tmp_path / "run", listener=_listener(events, cancel, 1), cancel=cancel)
    run = RunFolder(stopped.run_dir)
    assert stopped.status == "stopped" and run.model_path.is_file()
    assert not run.calibration_path.exists()
    assert "calibration" not in json.loads(run.metrics_path.read_text())
    resumed = resume_training(run.path)
    assert resumed.status == "completed" and len(run.split().val) >= MIN_IMAGES
    rec = read_record(run)
    assert rec is not None and rec.unknown_keep == 0.9 and rec.n_images == len(run.split().val)
    assert json.loads(run.metrics_path.read_text())["calibration"]["unknown_keep"] == 0.9
    assert load_predictor(run.path).trust is not None


def test_too_few_validation_images_say_so_and_store_no_calibration(tmp_path, tiny_weights):
    from core.train.engine import train

    data = make_bright_dark(tmp_path / "data", per_class=8, size=32)  # 4 validation images
    events = []
    result = train(tiny_config(data, tiny_weights, epochs=1, fine_tune_epochs=0),
                   tmp_path / "run", listener=_listener(events))
    run = RunFolder(result.run_dir)
    assert result.status == "completed" and 0 < len(run.split().val) < MIN_IMAGES
    warned = [e.message for e in events if isinstance(e, Log) and "calibration needs" in e.message]
    # 4 in the split, none of them read yet: not called "readable" (one among 6 that could
    # not be read had been counted in "only 6 readable validation images", a review)
    assert warned and "only 4 validation images;" in warned[0]
    assert not run.calibration_path.exists() and not run.unknown_path.exists()
    assert "calibration" not in json.loads(run.metrics_path.read_text())
    predictor = load_predictor(run.path)
    assert predictor.trust is None and predictor.unknown_threshold is None
    rows = predictor.predict_paths([r.path for r in run.split().val])
    assert all(r.unknown_score is None and not r.unknown for r in rows)
    assert np.isfinite([r.confidence for r in rows]).all()


def test_too_few_validation_images_say_what_to_do(tmp_path):
    """The training log said why a run was not calibrated but not what to do, where the
    report and calibrate say it (a review)."""
    from core.trust.fit import _too_few

    events = []
    _too_few(RunFolder(tmp_path), 9, events.append, refit=False)
    said = [e.message for e in events if isinstance(e, Log) and e.level == "warning"]
    assert len(said) == 1 and said[0].startswith("only 9 validation images; calibration needs")
    assert said[0].endswith("train again with more images or a larger validation share (the "
                            "Data page's, or --val-split)")


def test_validation_images_of_one_class_only_warn_that_unknown_knows_only_it(tmp_path,
                                                                               trained_run):
    """A split whose validation images held one class alone was calibrated without a word,
    and new images of the other class were then called "unknown" (a review)."""
    import dataclasses
    import shutil

    from core.trust.fit import fit_after_training

    shutil.copytree(trained_run, tmp_path / "run")
    run = RunFolder(tmp_path / "run")
    split, classes = run.split(), run.labels()
    everything = split.train + split.val
    one = [r for r in everything if int(r.label) == 0]
    assert len(one) >= MIN_IMAGES
    only_one = dataclasses.replace(split, train=[r for r in everything if int(r.label) != 0],
                                   val=one)
    events = []
    assert fit_after_training(run, split=only_one, listener=events.append) is not None
    said = [e.message for e in events if isinstance(e, Log) and e.level == "warning"]
    assert said == [f"calibrated without validation images of 1 of 2 classes "
                    f"({classes[1]!r}): the 'unknown' threshold knows only the others, so new "
                    "images of these may be called 'unknown'; give every class validation "
                    "images (more images, or a larger validation share) and train again"]
    events.clear()  # every class there: nothing to say
    fit_after_training(run, listener=events.append)
    assert not [e for e in events if isinstance(e, Log) and e.level == "warning"]
