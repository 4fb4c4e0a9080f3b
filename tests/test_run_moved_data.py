"""A run whose images are elsewhere now (its data folder moved, or the run copied from another
machine): the Evaluate page finds them in the Data page's folder (a second-day review: "none of
the run's validation images are where it recorded them ... put it back" was all it said)."""

import json
import shutil

import pytest

from core.errors import DataError
from core.infer.evaluation import evaluate_run_validation
from core.runs.folder import RunFolder


def _run_from_elsewhere(trained_run, tmp_path):
    """A copy of the run whose config names a folder on "alice's machine", with a mistake
    recorded there, and a copy of its images here."""
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    folder = RunFolder(run)
    cfg = folder.load_config()
    here = tmp_path / "pets"
    shutil.copytree(cfg.data.data_dir, here)
    alice = "/home/alice/pets"
    old = cfg.data.data_dir
    cfg.data.data_dir = alice
    folder.save_config(cfg)
    folder.update_run_info(data_dir=alice)
    metrics = folder.metrics()
    first = folder.split(old).val[0]
    metrics["mistakes"] = [{"path": f"{alice}/{first.class_name}/x.png", "true_label": "a",
                            "predicted_label": "b", "confidence": 0.9}]
    folder.write_metrics(metrics)
    return run, here, alice


def test_a_run_from_another_machine_is_scored_on_the_same_images_here(trained_run, tmp_path):
    run, here, alice = _run_from_elsewhere(trained_run, tmp_path)
    with pytest.raises(DataError, match="put it back, open the folder where it is now on the "
                                        "Data page"):
        evaluate_run_validation(str(run))
    heard = []
    result = evaluate_run_validation(str(run), data_dir=str(here), listener=heard.append)
    assert result.metrics.n_images > 0
    assert all(p.path.startswith(str(here)) for p in result.predictions)
    info = RunFolder(run).run_info()
    assert info.data_dir == str(here.resolve()) and info.data_moved_from == alice
    mistake = json.loads((run / "metrics.json").read_text())["mistakes"][0]["path"]
    assert mistake.startswith(str(here.resolve()))  # a picture again, not a broken one
    assert any("the run now points there" in getattr(e, "message", "") for e in heard)


def test_a_folder_that_is_not_the_runs_is_said_so(trained_run, tmp_path):
    run, _here, _alice = _run_from_elsewhere(trained_run, tmp_path)
    other = tmp_path / "other"
    (other / "a").mkdir(parents=True)
    with pytest.raises(DataError) as err:
        evaluate_run_validation(str(run), data_dir=str(other))
    text = str(err.value)
    assert "none of the run's validation images are where it recorded them" in text
    assert f"the Data page's folder {other}" in text and "not there" in text
    assert RunFolder(run).run_info().data_moved_from is None  # nothing changed


def test_finding_the_images_elsewhere_stops_on_cancel_and_changes_nothing(trained_run,
                                                                           tmp_path):
    """The check reads every image of the run (minutes at 100,000 images on a network drive)
    and Cancel did nothing until it ended (note 21's leftover)."""
    from core.events import CancelToken, Cancelled

    run, here, alice = _run_from_elsewhere(trained_run, tmp_path)
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        evaluate_run_validation(str(run), data_dir=str(here), cancel=cancel)
    assert RunFolder(run).run_info().data_dir == alice  # not pointed anywhere
