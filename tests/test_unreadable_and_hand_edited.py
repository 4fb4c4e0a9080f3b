"""A run folder the user cannot read, an export folder that cannot be listed, and a
hand-edited results file: each named with what to do, never 'Something went wrong'."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.infer.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent


def _as_a_user(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` where file permissions apply: root drops the two capabilities that let it
    read anything (util-linux's setpriv); an ordinary user needs nothing dropped."""
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv reads every file")
        caps = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"] + cmd
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def _as_a_user_while_locked(code: str, *folders) -> subprocess.CompletedProcess:
    """:func:`_as_a_user` with ``folders`` unreadable meanwhile."""
    for folder in folders:
        folder.chmod(0)
    try:
        return _as_a_user(code)
    finally:
        for folder in folders:
            folder.chmod(0o755)


def test_an_unreadable_run_folder_is_named_not_a_crash(tmp_path):
    """Path.exists raises PermissionError inside it (Python 3.11): five pages broke silently,
    Open model said 'Something went wrong: PermissionError'."""
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "labels.json", "model.keras"):
        (run / name).write_text("{}")
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("")
    probe = _as_a_user_while_locked(
        "import sys; sys.path.insert(0, '.')\n"
        "from pathlib import Path\n"
        "from core.errors import UserError\n"
        "from core.runs.folder import RunFolder, find_run_folder, run_of_model\n"
        "from core.infer.loaders import load_predictor\n"
        "from core.export.folder import check_out_dir\n"
        f"run, out = Path({str(run)!r}), Path({str(out)!r})\n"
        "print('run folder', RunFolder(run).is_run_folder(), find_run_folder(run),"
        " run_of_model(run))\n"
        "for call in (lambda: load_predictor(run), lambda: RunFolder(run).require_run_folder(),"
        " lambda: check_out_dir(out, None)):\n"
        "    try:\n"
        "        call()\n"
        "    except UserError as exc:\n"
        "        print('refused:', exc)\n", run, out)
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.splitlines()
    assert lines[0] == "run folder False None None"
    assert lines[1] == f"refused: {run}: this folder cannot be read (permission denied); make it " \
                       "readable, or give another model"
    assert lines[2].startswith(f"refused: {run}: this folder cannot be read")
    assert lines[3].startswith(f"refused: {out}: cannot read this folder (Permission denied)")


@pytest.mark.parametrize("field, value, needle", [
    ("accuracy", "abc", "accuracy is 'abc'"), ("n_images", "4", "n_images is '4'"),
    ("accuracy", None, "accuracy is None"), ("confusion", [[1, "x"], [0, 1]], "confusion cell"),
    ("confusion", [[1]], "confusion is not a 2x2 table"), ("reliability", [3], "reliability"),
    # each of these crashed the Evaluate page as it painted (one with SIGSEGV), and 'report'
    ("accuracy", float("nan"), "accuracy is nan"),
    ("per_class", [{"name": 1, "precision": 1, "recall": 1, "f1": 1, "support": 1}],
     "per_class name is 1, not text"),
    ("mistakes", [{"path": "a.png", "true_label": "a", "predicted_label": "b",
                   "confidence": "high"}], "mistakes confidence is 'high'"),
    ("reliability", [{"low": 0, "high": 0.1, "count": 1, "confidence": 0.05}],
     "reliability: bins without accuracy"),
    ("skipped", "a.png", "skipped is not a list")])
def test_a_hand_edited_results_file_is_refused_naming_the_field(field, value, needle):
    """The Evaluate page kept showing the previous run's 50.0 % with no word."""
    good = Metrics(0.5, 4, ["a", "b"], [], [[1, 1], [1, 1]], 0.5).to_dict()
    assert Metrics.from_dict(json.loads(json.dumps(good))).accuracy == 0.5
    with pytest.raises(TypeError, match=needle.replace("[", r"\[").replace("(", r"\(")):
        Metrics.from_dict({**good, field: value})


def test_the_evaluate_page_names_a_hand_edited_results_file(qtbot, window, tmp_path):
    from core.runs.folder import RunFolder

    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "labels.json"):
        (run / name).write_text("{}")
    RunFolder(run).write_json("metrics.json", {**Metrics(
        0.5, 4, ["a", "b"], [], [[1, 1], [1, 1]], 0.5).to_dict(), "accuracy": "abc"})
    page = window.pages[4]
    window.state.set_run(str(run))
    window.show_page(4)
    assert "metrics.json: not a results file this app wrote" in page.banner.text()
    assert page.metrics is None
    # a calibration summary that is not numbers is left out; the scores are shown
    good = Metrics(0.5, 4, ["a", "b"], [], [[1, 1], [1, 1]], 0.5).to_dict()
    RunFolder(run).write_json("metrics.json", {**good, "calibration": {"temperature": "warm"}})
    window.state.set_run(None)
    window.state.set_run(str(run))
    assert page.metrics is not None and page.calibration is None
    page.content.tabs.setCurrentIndex(page.content.tabs.count() - 1)
    page.grab()  # painted every tab's text without a traceback


def test_a_folder_of_images_that_cannot_be_read_is_named_not_empty(tmp_path):
    """Predict said 'no images found in X' and Sort 'no image files in it'."""
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.png").write_bytes(b"x")
    probe = _as_a_user_while_locked(
        "import sys; sys.path.insert(0, '.')\n"
        "from core.errors import UserError\n"
        "from core.infer.predictor import expand_image_paths\n"
        "try:\n"
        f"    print(expand_image_paths([{str(locked)!r}]))\n"
        "except UserError as exc:\n"
        "    print('refused:', exc)\n", locked)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == (f"refused: {locked}: cannot read this folder (Permission "
                                    "denied); make it readable")


def test_a_locked_folder_beside_readable_inputs_is_reported_and_the_rest_go_on(tmp_path):
    """predict A LOCKED stopped with 'cannot read this folder' and predicted nothing."""
    locked, fine = tmp_path / "locked", tmp_path / "fine"
    locked.mkdir()
    fine.mkdir()
    (locked / "a.png").write_bytes(b"x")
    (fine / "b.png").write_bytes(b"x")
    probe = _as_a_user_while_locked(
        "import sys; sys.path.insert(0, '.')\n"
        "from core.infer.predictor import expand_image_paths\n"
        "heard = []\n"
        f"found = expand_image_paths([{str(locked)!r}, {str(fine)!r}], heard.append)\n"
        "print([p.rsplit('/', 1)[-1] for p in found])\n"
        "print([e.message for e in heard])\n", locked)
    assert probe.returncode == 0, probe.stderr
    found, heard = probe.stdout.strip().splitlines()
    assert found == "['b.png']"
    assert heard == repr([f"skipped {locked}: cannot read this folder (Permission denied); "
                          "make it readable to include its images"])


def test_an_unreadable_class_folder_is_blamed_on_its_permissions_not_the_layout(tmp_path):
    """A class folder without read permission: the scan said to "put each class's images in
    its own sub-folder", which they were (a message review)."""
    from PIL import Image

    data = tmp_path / "data"
    for cls in ("cats", "dogs"):
        (data / cls).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(data / cls / "a.png")
    probe = _as_a_user_while_locked(
        "import sys; sys.path.insert(0, '.')\n"
        "from core.data.dataset import scan_dataset\n"
        f"report = scan_dataset({str(data)!r})\n"
        "print(report.unusable_reason)\n"
        "print(report.warnings)\n", data / "cats")
    assert probe.returncode == 0, probe.stderr
    reason, warnings = probe.stdout.strip().splitlines()
    assert "class folder(s) 'cats' cannot be read; make them readable" in reason
    assert "its own sub-folder" not in reason
    assert "class folder 'cats' cannot be read; it is left out" in warnings


def test_a_read_only_class_folder_says_to_make_it_writable_once(tmp_path):
    """'refused 5.png: could not copy it (cannot write .../cats/5.png (Permission denied);
    choose another folder)': a sentence in brackets, and no other class folder to choose."""
    from PIL import Image

    data, new = tmp_path / "data", tmp_path / "new"
    for folder in (data / "cats", data / "dogs", new):
        folder.mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(new / "5.png")
    (data / "cats").chmod(0o555)
    try:
        probe = _as_a_user(
            "import sys; sys.path.insert(0, '.')\n"
            "from core.label.apply import apply_labels\n"
            f"out = apply_labels([({str(new / '5.png')!r}, 'cats')], {str(data)!r})\n"
            "print(out.refused[0][1])\n")
    finally:
        (data / "cats").chmod(0o755)
    assert probe.returncode == 0, probe.stderr
    why = probe.stdout.strip()
    assert why == (f"cannot write {data / 'cats' / '5.png'}: permission denied; make the "
                   "folder writable, or choose another folder")
    assert sorted(p.name for p in (data / "cats").iterdir()) == []  # no temporary left


def test_an_unreadable_validation_class_folder_is_named_as_unreadable(tmp_path):
    """A split data set (train/ and val/) with val/cats unreadable: the scan said "val/cats
    has no usable images" (note 21 left it), and with every val folder shut "val has no usable
    images to validate on" with no reason."""
    from PIL import Image

    data = tmp_path / "data"
    k = 0
    for subset, n in (("train", 4), ("val", 2)):
        for cls in ("cats", "dogs"):
            (data / subset / cls).mkdir(parents=True)
            for i in range(n):
                k += 1
                Image.new("RGB", (8, 8), (k * 9, 40 if cls == "cats" else 200, k)).save(
                    data / subset / cls / f"{i}.png")
    scan = ("import sys; sys.path.insert(0, '.')\n"
            "from core.data.dataset import scan_dataset\n"
            f"report = scan_dataset({str(data)!r})\n"
            "print(report.unusable_reason)\n"
            "print(report.warnings)\n")
    probe = _as_a_user_while_locked(scan, data / "val" / "cats")
    assert probe.returncode == 0, probe.stderr
    reason, warnings = probe.stdout.rstrip("\n").split("\n")
    assert reason == ""
    assert "val/cats cannot be read; make it readable, then scan again" in warnings
    assert "val/cats has no usable images" not in warnings
    probe = _as_a_user_while_locked(scan, data / "val" / "cats", data / "val" / "dogs")
    reason = probe.stdout.split("\n")[0]
    assert reason == (f"{data / 'val'} has no usable images to validate on: class folder(s) "
                      "'cats', 'dogs' cannot be read; make them readable, then scan again")


def test_a_run_inside_a_folder_the_user_may_not_enter_cannot_be_reached(tmp_path):
    """Path.exists raised PermissionError for a run inside a locked folder (not only for the
    locked run folder itself): the run is 'not available', with the reason (a review)."""
    locked = tmp_path / "locked"
    (locked / "run1").mkdir(parents=True)
    probe = _as_a_user_while_locked(
        "import sys; sys.path.insert(0, '.')\n"
        "from core.path_names import cannot_reach\n"
        "from core.runs.folder import RunFolder\n"
        "from core.train.tensorboard import has_event_files\n"
        f"run = {str(locked / 'run1')!r}\n"
        "print(cannot_reach(run), '|', RunFolder(run).unreadable(), '|',"
        " has_event_files(run + '/logs'))\n", locked)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "permission denied | permission denied | False"


def test_a_project_naming_an_unreachable_run_says_so_on_every_page(qtbot, tmp_path):
    """A run path the system refuses to look at (here a name over 255 bytes, as in a damaged
    project; a folder the user may not enter raises alike) raised in six page slots, leaving
    the pages half-updated with no word (a review)."""
    from core.config import StudioConfig
    from core.project import Project, save_project
    from gui.main_window import MainWindow

    run = str(tmp_path / ("x" * 300) / "run1")
    path = tmp_path / "far.ftsproj"
    save_project(Project(config=StudioConfig(), runs=[run], last_model=run), path)
    window = MainWindow(load_tensorflow=False)
    qtbot.addWidget(window, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    window.show()
    assert window.open_project(str(path))
    for row in range(len(window.pages)):  # an exception in a slot fails the test (pytest-qt)
        window.show_page(row)
        qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=60000)
    page = {p.key: p for p in window.pages}
    why = "cannot be opened (file name too long)"
    assert why in page["train"].status_label.text()
    assert "cannot be read (file name too long)" in page["evaluate"].empty_label.text()
    assert why in window.state.model_gone()
