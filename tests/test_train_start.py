"""Starting a run: everything checkable is checked before the run folder is written.

A start that fails must not leave a folder that ``train --out`` refuses and
``--resume`` cannot use; the config stored is the resolved one.
"""

import json
import os

import pytest

from core.config import FreezeConfig, TransformConfig
from core.errors import ConfigError, UserError, WeightsError
from weights_fixture import make_bright_dark, tiny_config

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


@pytest.fixture
def data(tmp_path):
    return make_bright_dark(tmp_path / "data", per_class=6, size=32)


def test_a_missing_weights_file_is_refused_before_the_folder_is_written(data, tmp_path):
    from core.train.engine import train

    out = tmp_path / "run"
    with pytest.raises(WeightsError, match="nope.h5"):
        train(tiny_config(data, str(tmp_path / "nope.h5")), out)
    assert not out.exists()


def test_an_unknown_unfreeze_layer_is_refused_before_the_head_phase(data, tmp_path):
    from core.train.engine import train

    cfg = tiny_config(data)
    cfg.model.weights = "imagenet"  # never fetched: the check comes before any download
    cfg.model.freeze = FreezeConfig(mode="from_layer", from_layer="no_such_layer")
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="no layer 'no_such_layer'"):
        train(cfg, out)
    assert not out.exists()


def test_a_broken_augmentation_is_refused_before_the_folder_is_written(data, tmp_path):
    from core.train.engine import train

    cfg = tiny_config(data)
    cfg.augment.preset = "custom"
    cfg.augment.transforms = [TransformConfig("Rotate", params={"limit": "sideways"})]
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="Rotate"):
        train(cfg, out)
    assert not out.exists()


def test_the_folder_of_a_failed_start_is_reused_and_resume_names_the_problem(data, tmp_path):
    from core.runs.lock import release
    from core.runs.records import RunStatus
    from core.train.engine import prepare_new_run, resume_training, train

    out = tmp_path / "run"
    # a kill -9 just after config.json appeared (prepare_new_run keeps the run's lock for the
    # training; a killed process's lock names a dead pid, this living one gives it back)
    _, run, _, _ = prepare_new_run(tiny_config(data), out, None, None, None, None)
    release(run)
    run.labels_path.unlink()
    run.split_path.unlink()
    run.run_path.unlink()
    with pytest.raises(UserError, match="start was interrupted.*no split.json and no "
                                        "labels.json.*--out"):
        resume_training(out)
    # a start that failed (out of memory before the first epoch ended)
    prepare_new_run(tiny_config(data), out, None, None, None, None)
    release(run)
    run.update_run_info(status=RunStatus.FAILED)
    result = train(tiny_config(data, epochs=1, fine_tune_epochs=0), out)
    assert result.status == "completed" and len(run.history()) == 1
    # a folder that trained is never reused
    with pytest.raises(UserError, match="already holds a completed run; choose another") as e:
        train(tiny_config(data), out)
    assert "--resume" not in str(e.value)  # resuming it would be refused: not offered


def test_config_json_holds_the_resolved_augmentation(data, tmp_path):
    """A preset is stored as its transforms, so the window's and the CLI's runs compare equal."""
    from core.data.augment import preset_config
    from core.train.engine import prepare_new_run

    cfg = tiny_config(data)
    cfg.augment.preset, cfg.augment.transforms = "light", []  # what the window stores
    _, run, _, _ = prepare_new_run(cfg, tmp_path / "run", None, None, None, None)
    stored = json.loads(run.config_path.read_text())["augment"]
    cli = preset_config("light")
    assert stored["preset"] == "light" and len(stored["transforms"]) == len(cli.transforms) > 0
    assert stored == json.loads(json.dumps(_as_dict(cli)))


def test_a_relative_data_folder_is_recorded_absolute(data, tmp_path, monkeypatch):
    """'train data' from the data's parent: calibrate, evaluate and export run later from
    anywhere, and said the data folder 'data' was not there."""
    import os
    import shutil

    from core.runs.folder import RunFolder
    from core.runs.lock import release
    from core.train.engine import prepare_new_run

    monkeypatch.chdir(data.parent)
    _, run, _, _ = prepare_new_run(tiny_config(data.name), tmp_path / "run", None, None, None,
                                   None)
    release(run)
    assert json.loads(run.config_path.read_text())["data"]["data_dir"] == str(data)
    # a run of an earlier version kept it as given: run.json's absolute place is used
    old = tmp_path / "old"
    shutil.copytree(run.path, old)
    cfg = json.loads((old / "config.json").read_text())
    cfg["data"]["data_dir"] = data.name
    (old / "config.json").write_text(json.dumps(cfg))
    monkeypatch.chdir(old)
    assert not os.path.isdir(data.name)
    assert RunFolder(old).load_config().data.data_dir == str(data.resolve())


def _as_dict(obj):
    import dataclasses

    return dataclasses.asdict(obj)


def test_an_output_that_is_a_file_or_inside_the_data_is_refused_before_the_scan(data,
                                                                              tmp_path):
    from core.train.engine import train

    afile = tmp_path / "afile"
    afile.write_text("x")
    for out, words in ((afile, "is a file, not a folder"),
                       (afile / "sub", "is a file, not a folder"),
                       (data / "runs", "inside the data folder")):
        with pytest.raises(UserError, match=words):  # was FileExistsError / accepted
            train(tiny_config(data), out)
    assert not (data / "runs").exists()


def test_a_start_refused_by_the_lock_writes_nothing(data, tmp_path, trained_run):
    """Two `train --out SAME` at once: the second saw the first's fresh folder as a failed
    start, wrote its own config and split over it, and only then was refused by the lock."""
    import os
    import shutil
    import socket

    from core.runs.folder import FILES, RunFolder
    from core.train.engine import train

    out = tmp_path / "race"
    out.mkdir()
    for name in (FILES.config, FILES.split, FILES.labels):
        shutil.copy(trained_run / name, out / name)
    RunFolder(out).update_run_info(status="created")
    (out / FILES.lock).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                             "started": 0}) + "\n")  # a live holder
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(UserError, match="is being trained by"):
        train(tiny_config(data, epochs=1), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_augmentations_that_need_metadata_or_bad_values_are_refused_by_name(data, tmp_path):
    from core.data.augment_files import load_augment_file
    from core.train.engine import train

    cfg = tiny_config(data)
    cfg.augment.preset = "custom"
    cfg.augment.transforms = [TransformConfig("HistogramMatching", True, 1.0,
                                              {"reference_images": ["/etc/hostname"]})]
    with pytest.raises(ConfigError, match="HistogramMatching.*needs other images"):
        train(cfg, tmp_path / "run")  # it stopped training at the first batch
    assert not (tmp_path / "run").exists()
    saved = {"__version__": "2.0.8", "transform": {
        "__class_fullname__": "Compose", "p": 1.0,
        "transforms": [{"__class_fullname__": "HorizontalFlip", "p": "x"}]}}
    bad = tmp_path / "a.json"
    bad.write_text(json.dumps(saved))
    with pytest.raises(ConfigError, match="a.json: not an albumentations pipeline"):
        load_augment_file(bad)  # was ValueError: could not convert string to float
    saved["transform"]["transforms"] = "oops"
    bad.write_text(json.dumps(saved))
    with pytest.raises(ConfigError, match="a.json"):
        load_augment_file(bad)  # was AttributeError


def test_images_added_since_the_window_s_scan_are_trained_on(tmp_path):
    """The window passes its scan to the run start; images copied into a class folder with a
    file manager since were left out without a word."""
    import shutil
    from pathlib import Path

    import numpy as np
    from PIL import Image

    from core.data.dataset import scan_dataset
    from core.data.sample_data import generate_sample_dataset
    from core.events import Log
    from core.runs.lock import release
    from core.train.engine import changes_since_scan, prepare_new_run
    from weights_fixture import tiny_config

    root = Path(generate_sample_dataset(tmp_path / "data", classes=["a", "b"], per_class=6,
                                        size=32))
    shutil.copy(next((root / "a").iterdir()), root / "loose.png")  # not in a class: not read
    (root / "a" / "broken.jpg").write_bytes(b"junk")  # a problem the scan saw
    stale = scan_dataset(str(root))
    assert changes_since_scan(stale) == (0, 0, 0)
    rng = np.random.default_rng(0)
    for i in range(3):  # new pictures, not copies (a byte-identical copy is left out)
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), np.uint8)).save(root / "b" / f"new{i}.png")
    assert changes_since_scan(stale) == (3, 0, 0)
    logs = []
    _, run, split, _ = prepare_new_run(tiny_config(root), tmp_path / "run", None,
                                       lambda e: logs.append(e.message)
                                       if isinstance(e, Log) else None, None, stale)
    release(run)
    used = {Path(r.path).name for r in (*split.train, *split.val)}
    assert {"new0.png", "new1.png", "new2.png"} <= used
    assert any("(3 image files added, 0 gone, 0 changed)" in m for m in logs)


def test_images_deleted_or_edited_since_the_window_s_scan_are_not_in_the_run(tmp_path):
    """Deleted or resized in a file manager after the scan: the run listed them in split.json
    with their old sizes, skipped them, and Resume then refused the run for ever ("3 of the
    20 images are missing", "32x32 then, 48x48 now")."""
    from pathlib import Path

    from PIL import Image

    from core.data.dataset import scan_dataset
    from core.data.sample_data import generate_sample_dataset
    from core.runs.lock import release
    from core.train.engine import changes_since_scan, prepare_new_run
    from weights_fixture import tiny_config

    root = Path(generate_sample_dataset(tmp_path / "data", classes=["a", "b"], per_class=6,
                                        size=32))
    a = sorted((root / "a").iterdir())
    future = a[3].stat().st_mtime + 86400 * 365  # unzipped from a clock ahead: every Start
    os.utime(a[3], (future, future))             # scanned the folder again
    stale = scan_dataset(str(root))
    assert changes_since_scan(stale) == (0, 0, 0)
    a[1].unlink()
    Image.new("RGB", (48, 48), "red").save(a[2])
    assert changes_since_scan(stale) == (0, 1, 1)  # a[3], dated a year ahead, is not
    _, run, split, _ = prepare_new_run(tiny_config(root), tmp_path / "run", None, None, None,
                                       stale)
    release(run)
    sizes = {Path(r.path).name: (r.width, r.height) for r in (*split.train, *split.val)}
    assert a[1].name not in sizes and sizes[a[2].name] == (48, 48) and len(sizes) == 11


def test_a_linked_folder_read_once_by_the_scan_is_not_counted_as_added(tmp_path):
    """The scan reads cat/a_link -> cat/z_real once, as a_link; by name z_real's images were
    'added' and every start scanned the folder again."""
    import os

    from core.data.dataset import scan_dataset
    from core.data.sample_data import generate_sample_dataset
    from core.train.engine import changes_since_scan

    root = generate_sample_dataset(tmp_path / "d", classes=["cat", "dog"], per_class=6, size=32)
    cat = root / "cat"
    (cat / "z_real").mkdir()
    for f in sorted(p for p in cat.iterdir() if p.is_file())[:3]:
        f.rename(cat / "z_real" / f.name)
    os.symlink(cat / "z_real", cat / "a_link")
    assert changes_since_scan(scan_dataset(root)) == (0, 0, 0)


def test_a_run_folder_that_cannot_be_written_is_named_not_its_hidden_lock_file(tmp_path,
                                                                            monkeypatch):
    """A read-only run folder: resume said "cannot use .../.lock.32234.tmp: Read-only file
    system; give another path" (--resume takes none) and the window "OSError"."""
    import errno
    from pathlib import Path

    from core.errors import DiskFullError
    from core.runs.folder import RunFolder
    from core.runs.lock import acquire

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    real = Path.write_text

    def refused(self, *a, **k):
        if self.name.startswith(run.lock_path.name):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", refused)
    with pytest.raises(UserError) as err:
        acquire(run)
    said = str(err.value)
    assert said.startswith(f"{run.path}: the run folder cannot be written (Read-only file "
                           "system)") and ".tmp" not in said and "copy the run folder" in said

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(DiskFullError):
        acquire(run)
    assert list(run.path.iterdir()) == []
    monkeypatch.setattr(Path, "write_text", real)

    def no_hard_links(src, dst):  # exFAT, some SMB mounts: the folder is writable
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    acquire(run)  # taken by creating the lock file exclusively instead
    assert json.loads(run.lock_path.read_text())["pid"] == os.getpid()
    assert [p.name for p in run.path.iterdir()] == [run.lock_path.name]


def test_a_relative_weights_file_is_recorded_absolute(data, tmp_path, tiny_weights,
                                                      monkeypatch):
    """--weights files/w.weights.h5 was stored as typed: the run's config.json given to
    --config from another folder then failed with "weights file ... not found"."""
    from core.events import Cancelled, CancelToken, PhaseStarted
    from core.train.engine import train

    monkeypatch.chdir(os.path.dirname(tiny_weights))
    cfg = tiny_config(data, os.path.basename(tiny_weights))
    token = CancelToken()
    out = tmp_path / "run"
    try:  # stopped as training starts: the settings are written by then
        train(cfg, out, listener=lambda e: isinstance(e, PhaseStarted) and token.cancel(),
              cancel=token)
    except Cancelled:
        pass
    saved = json.loads((out / "config.json").read_text())["model"]["weights"]
    assert saved == os.path.abspath(tiny_weights)


def test_a_runs_folder_that_takes_no_new_folder_is_named(data, tmp_path, monkeypatch):
    """The window's Start said "cannot write .../20261206-072340-MobileNetV2: not permitted;
    make the folder writable, or choose another folder": a folder that does not exist, and a
    choice the window does not offer (a review)."""
    import errno
    from pathlib import Path

    from core.appdirs import default_runs_dir
    from core.train.engine import train

    real_mkdir = Path.mkdir

    def refused(self, *args, **kwargs):
        if self.parent.name in ("runs", "later"):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refused)
    base = default_runs_dir()
    base.mkdir(parents=True, exist_ok=True)
    with pytest.raises(UserError) as e:
        train(tiny_config(data), runs_base=base)
    assert str(e.value) == (
        f"cannot make a new run folder: the runs folder {base} is not writable (not "
        "permitted); make it writable, or start the app with the environment variable "
        "FTS_DATA_DIR set to a writable folder (new runs then go to its runs/ folder)")
    later = tmp_path / "nowhere" / "later"  # neither exists: the nearest folder is named
    with pytest.raises(UserError, match=rf"^cannot make a new run folder: {tmp_path}, where "
                                        rf"the runs folder {later} would be made, is not "
                                        r"writable \(not permitted\); make it writable$"):
        train(tiny_config(data), runs_base=later)


def test_a_full_disk_saving_a_phase_best_names_the_run_folder_not_its_hidden_file(tmp_path,
                                                                                 monkeypatch):
    """A disk full mid-run said "RUN/.phase-best-head.npz: the disk is full ... the previous
    version, if any, is unchanged": a file the user never sees (a crash review)."""
    import errno

    import numpy as np

    import core.train.checkpoint as checkpoint
    from core.errors import DiskFullError
    from core.runs.folder import RunFolder

    class Model:
        def get_weights(self):
            return [np.zeros((4, 4), np.float32)]

    def full(model, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    monkeypatch.setattr(checkpoint, "save_weights", full)
    with pytest.raises(DiskFullError) as err:
        checkpoint.save_weights_atomic(Model(), run.phase_best_path("head"))
    said = str(err.value)
    assert said.startswith(f"{run.path}: the disk is full") and ".phase-best" not in said
    assert "previous version" not in said and list(run.path.iterdir()) == []
    with pytest.raises(DiskFullError) as err:  # a file the user knows keeps its name
        checkpoint.save_weights_atomic(Model(), run.best_weights_path)
    assert str(err.value).startswith(f"{run.best_weights_path}: the disk is full")
