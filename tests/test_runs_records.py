"""run.json and checkpoint/state.json are typed, versioned records; RunFolder names every file.

A run folder outlives the app version that wrote it, so reading one checks it:
files of earlier releases (no "version") load, files of a newer release or with
wrong types are refused with a message naming the file and the field.  No
TensorFlow here.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from core.config import StudioConfig
from core.errors import UserError
from core.runs.folder import FILES, RunFolder
from core.runs.records import RunInfo, RunStatus
from core.train.loop_state import LoopState

ROOT = Path(__file__).resolve().parent.parent


def test_run_info_round_trips_with_a_version_and_a_status_enum(tmp_path):
    run = RunFolder(tmp_path)
    assert run.run_info() == RunInfo()  # no run.json yet: nothing known
    run.update_run_info(status=RunStatus.CREATED, images=12, classes=["a", "b"], created=1.0)
    info = run.update_run_info(status="running", device={"kind": "CPU"})  # strings convert
    assert info.status is RunStatus.RUNNING and info.images == 12 and info.created == 1.0
    on_disk = json.loads(run.run_path.read_text())
    assert on_disk["version"] == RunInfo.VERSION and on_disk["status"] == "running"
    assert run.run_info() == info
    assert RunStatus.STOPPED.resumable and not RunStatus.COMPLETED.resumable


def test_a_version_less_run_json_of_an_earlier_release_loads(tmp_path):
    earlier = {"status": "stopped", "app_version": "0.9.0", "created": 1700000000,
               "data_dir": "/data", "images": 40, "classes": ["bright", "dark"],
               "dataset_fingerprint": "abc", "device": {"kind": "CPU"}, "started": 1700000001.5,
               "replicas": 1, "workers": 1, "global_batch": 8, "best_epoch": 2,
               "finished": 1700000100.0, "seconds": 12.5, "weights_digest": None,
               "val_accuracy": 0.75}
    (tmp_path / "run.json").write_text(json.dumps(earlier))
    info = RunFolder(tmp_path).run_info()
    assert info.version == 1 and info.status is RunStatus.STOPPED
    assert info.created == 1700000000.0 and isinstance(info.created, float)
    assert info.best_epoch == 2 and info.val_accuracy == 0.75


@pytest.mark.parametrize("data, words", [
    ({"status": "completed", "images": "many"}, "field 'images' should be a whole number"),
    ({"status": "paused"}, "field 'status' should be one of 'created'"),
    ({"classes": ["a", 3]}, "field 'classes' should be a list of strings"),
    ({"seconds": True}, "field 'seconds' should be a number"),
    ({"version": "1"}, "field 'version'"),
    (["status", "completed"], "expected a JSON object"),
])
def test_wrong_types_name_the_file_and_the_field(tmp_path, data, words):
    (tmp_path / "run.json").write_text(json.dumps(data))
    with pytest.raises(UserError) as err:
        RunFolder(tmp_path).run_info()
    assert str(tmp_path / "run.json") in str(err.value) and words in str(err.value)


@pytest.mark.parametrize("data", [{"version": RunInfo.VERSION + 1, "status": "completed"},
                                  {"status": "completed", "tags": ["from the future"]}])
def test_a_newer_releases_run_json_is_refused(tmp_path, data):
    (tmp_path / "run.json").write_text(json.dumps(data))
    with pytest.raises(UserError, match="written by a newer Fine-Tune Studio"):
        RunFolder(tmp_path).run_info()
    with pytest.raises(UserError, match="newer"):  # and never overwritten by this version
        RunFolder(tmp_path).update_run_info(status="running")
    assert json.loads((tmp_path / "run.json").read_text()) == data


def test_garbage_is_a_user_error_naming_the_file(tmp_path):
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(UserError, match=r"run.json: damaged \(not valid JSON at line 1, "
                                        r"column 2: a name is not in ") as err:
        RunFolder(tmp_path).run_info()
    assert "char" not in str(err.value)  # the parser's "(char 1)" told a user nothing


def test_loop_state_validates_and_migrates_like_run_json(tmp_path):
    path = tmp_path / "state.json"
    state = LoopState(phase="fine_tune", epoch=2, global_epoch=5, learning_rate=1e-4,
                      best_score=[0.9, -0.3], best_epoch=4, finished_phases=["head"],
                      history=[{"phase": "head", "epoch": 1}], elapsed=3.0)
    path.write_text(state.to_json())
    assert LoopState.read(path) == state
    earlier = json.loads(path.read_text())
    del earlier["version"]
    earlier["elapsed"] = 3  # JSON has one number type: a whole float reads back as a float
    path.write_text(json.dumps(earlier))
    assert LoopState.read(path) == state
    earlier["epoch"] = "2"
    path.write_text(json.dumps(earlier))
    with pytest.raises(UserError, match=r"state\.json: field 'epoch' should be a whole number"):
        LoopState.read(path)
    path.write_text(json.dumps({"version": LoopState.VERSION + 1}))
    with pytest.raises(UserError, match="written by a newer Fine-Tune Studio"):
        LoopState.read(path)


def test_resume_refuses_a_checkpoint_written_by_a_newer_release(tmp_path):
    """Guessing at a newer state.json could resume at the wrong epoch: refuse, say why."""
    from core.data.dataset import Split
    from core.train.engine import resume_training

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    cfg = StudioConfig()
    cfg.data.data_dir = str(tmp_path / "data")
    run.save_config(cfg)
    run.write_labels(["a", "b"])
    run.write_split(Split([], [], [], 0, 0.2))
    run.update_run_info(status=RunStatus.STOPPED)
    run.checkpoint_dir.mkdir()
    run.checkpoint.state.write_text(json.dumps({"version": 99, "epoch": 3}))
    with pytest.raises(UserError) as err:
        resume_training(run.path)
    message = str(err.value)
    assert str(run.checkpoint.state) in message and "newer Fine-Tune Studio" in message


def _code_strings(path: Path) -> list[str]:
    """String constants of a module, docstrings excluded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and id(n) not in docstrings]


def test_only_run_folder_spells_the_run_folders_file_names():
    """One table of names (FILES): training and the run index ask RunFolder for paths."""
    names = {v.split("{")[0] for v in asdict(FILES).values() if "." in v}
    offenders = []
    for package in ("train", "runs"):
        for path in sorted((ROOT / "core" / package).glob("*.py")):
            if path.name == "folder.py":
                continue
            offenders += [f"{path.relative_to(ROOT)}: {s!r}" for s in _code_strings(path)
                          if any(name in s for name in names)]
    assert not offenders, offenders


def test_a_model_argument_means_a_run_only_when_it_is_the_run_or_its_model(trained_run, tmp_path):
    """run_of_model: what needs a run (features, calibration, retraining) must not take an
    exported model -- also one saved inside a run folder -- for the run itself."""
    from core.runs.folder import run_of_model

    run = RunFolder(trained_run)
    assert run_of_model(trained_run).path == run.path
    assert run_of_model(str(run.model_path)).path == run.path
    inside = tmp_path / "copy"
    import shutil

    shutil.copytree(trained_run, inside)
    (inside / "exports").mkdir(exist_ok=True)
    (inside / "exports" / "model.tflite").write_bytes(b"x")
    assert run_of_model(inside / "exports") is None
    assert run_of_model(inside / "exports" / "model.tflite") is None
    assert run_of_model(tmp_path / "nothing") is None
    assert run_of_model(tmp_path) is None


def test_two_long_class_lists_are_told_apart_by_what_differs():
    """Cut at 40 characters, a 2-class and a 3-class run both read "blue_berries_with_a_long_
    name, green_pe…" on the Runs page; the difference was only in a tooltip (a bug hunt)."""
    from core.runs.compare import SettingDifference

    a = ["blue_berries_with_a_long_name", "green_pears"]
    b = a + ["red_apples"]
    d = SettingDifference("data.classes", "Classes", a, b)
    assert (d.a_text, d.b_text) == ("2 · lacks red_apples", "3 · also red_apples")
    assert "red_apples" in d.b_full
    assert SettingDifference("data.classes", "Classes", a, a[::-1]).a_text.endswith(
        "in another order")
    twice = SettingDifference("data.classes", "Classes", a + ["green_pears"], a)
    assert (twice.a_text, twice.b_text) == ("3 · also green_pears", "2 · lacks green_pears")
    short = SettingDifference("data.classes", "Classes", ["bright", "dark"], ["dark"])
    assert (short.a_text, short.b_text) == ("bright, dark", "dark")  # short lists as written
    # what a cell of a 900-pixel window shows: "cracked, good, poly_cracked, po…" hid the
    # one class that differed (a week-on-the-line review)
    line = SettingDifference("data.classes", "Classes", ["cracked", "good", "poly_cracked",
                                                         "poly_good"],
                             ["cracked", "good", "poly_good"])
    assert (line.a_text, line.b_text) == ("4 · also poly_cracked", "3 · lacks poly_cracked")


def test_a_damaged_metrics_json_says_where_and_what_to_look_for(tmp_path):
    """metrics.json read through read_json showed the parser's own words: "cannot be read
    (Expecting ',' delimiter: line 3 column 5 (char 31))" (note 21's leftover)."""
    (tmp_path / FILES.metrics).write_text('{\n  "accuracy": 0.9\n  "loss": 0.3\n}')
    with pytest.raises(UserError) as err:
        RunFolder(tmp_path).read_json(FILES.metrics)
    assert str(err.value) == (f"{tmp_path / FILES.metrics}: damaged (not valid JSON at line 3, "
                              "column 3: a comma, or a closing ] or }, is missing); fix it, or "
                              "put it back from a copy of the run")
