"""Resuming a run: same result as never stopping, whole-run time, damaged files, moved data, lock.

Real tiny training runs (MobileNetV3Small at 32 px) on generated images.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import DataError, UserError
from core.events import CancelToken, EpochEnd, Log
from core.runs.folder import RunFolder
from weights_fixture import make_bright_dark, tiny_config

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager
NUMBERS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


def stopped_run(cfg, out: Path, after_head_epoch: int) -> RunFolder:
    """A run stopped by the user right after head epoch ``after_head_epoch``."""
    from core.train.engine import train

    cancel = CancelToken()

    def listener(e):
        if isinstance(e, EpochEnd) and e.phase == "head" and e.epoch == after_head_epoch:
            cancel.cancel()

    result = train(cfg, out, listener=listener, cancel=cancel)
    assert result.status == "stopped"
    return RunFolder(out)


def rows(run: RunFolder) -> list[dict]:
    return [{k: r[k] for k in ("phase", "epoch", "global_epoch", *NUMBERS)}
            for r in run.history()]


def test_stop_and_resume_ends_exactly_like_the_uninterrupted_run(tmp_path):
    """Dropout's generator, the fast head's shuffles and the fine-tuning pipeline's seeds
    all depend on the epoch alone, so the resumed run is bit-identical (same digest)."""
    from core.train.engine import resume_training, train

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    straight = train(tiny_config(data, epochs=2, fine_tune_epochs=1), tmp_path / "a")
    run_b = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=1), tmp_path / "b", 1)
    first_session = run_b.run_info().seconds
    resumed = resume_training(run_b.path)
    run_a = RunFolder(straight.run_dir)
    assert rows(run_b) == rows(run_a)
    info_a, info_b = run_a.run_info(), run_b.run_info()
    assert info_b.weights_digest == info_a.weights_digest
    assert resumed.metrics.macro_f1 == straight.metrics.macro_f1
    # "Finished in" is the whole run: both sessions, and the figure run.json keeps.
    assert info_b.seconds == pytest.approx(resumed.seconds, abs=0.01)
    assert info_b.seconds > first_session > 0
    # A state.json that cannot be read is rebuilt from history.csv exactly as it was kept.
    from core.train.checkpoint import state_from_history
    from core.train.loop_state import LoopState

    saved, rebuilt = LoopState.read(run_a.checkpoint.state), state_from_history(run_a.history())
    for name in ("phase", "epoch", "global_epoch", "best_epoch", "best_score", "wait",
                 "phase_best_epoch", "phase_best_score", "learning_rate"):
        assert getattr(rebuilt, name) == getattr(saved, name), name


def test_damaged_checkpoint_files_are_named_and_the_finished_epochs_kept(tmp_path):
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=1), tmp_path / "run", 1)
    before = rows(run)
    ck = run.checkpoint
    weights = ck.weights.read_bytes()
    ck.weights.write_bytes(weights[: len(weights) // 2])  # truncated: BadZipFile
    ck.optimizer.write_bytes(b"garbage, not numpy")  # ValueError
    state = json.loads(ck.state.read_text())
    state["epoch"] = "one"  # wrong type
    ck.state.write_text(json.dumps(state))
    seen = []
    result = resume_training(run.path, listener=seen.append)
    assert result.status == "completed"
    warnings = " | ".join(e.message for e in seen if isinstance(e, Log) and e.level == "warning")
    for path in (ck.weights, ck.optimizer, ck.state):
        assert str(path) in warnings
    assert "rebuilt from history.csv" in warnings and "restarts fresh" in warnings
    after = rows(run)
    assert after[:1] == before and [r["global_epoch"] for r in after] == [1, 2, 3]
    assert run.run_info().status == "completed"


def test_a_lost_checkpoint_weights_file_or_folder_is_named_on_resume(tmp_path):
    """With checkpoint/weights.npz gone (state.json there) a resume went on from freshly
    built weights without a word, counting the finished epochs as trained; with the whole
    checkpoint/ gone it began again at epoch 1 saying only "at head epoch 1"."""
    from core.errors import ModelFileError
    from core.train.checkpoint import load_loop_state
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=1), tmp_path / "run", 1)
    before = rows(run)
    copies = {}
    for name in ("none_left", "no_folder", "no_state"):
        shutil.copytree(run.path, tmp_path / name)
        copies[name] = RunFolder(tmp_path / name)
    # No weights at all: refused, naming the missing file.
    gone = copies["none_left"]
    for path in (gone.checkpoint.weights, gone.checkpoint.phase_best,
                 gone.phase_best_path("head"), gone.best_weights_path):
        path.unlink()
    with pytest.raises(ModelFileError, match=r"weights\.npz is missing; the run holds no "
                                             r"other usable weights"):
        resume_training(gone.path)
    # No checkpoint folder: the run starts again from epoch 1, and says so.
    shutil.rmtree(copies["no_folder"].checkpoint_dir)
    seen = []
    state = load_loop_state(copies["no_folder"], seen.append)
    assert state.global_epoch == 0
    said = " | ".join(e.message for e in seen if isinstance(e, Log) and e.level == "warning")
    assert f"{copies['no_folder'].checkpoint_dir} is missing: the run starts again from " \
           "epoch 1 (its 1 finished epoch in history.csv is trained again)" in said
    # state.json alone gone, the weights there: rebuilt from history.csv.
    copies["no_state"].checkpoint.state.unlink()
    seen.clear()
    state = load_loop_state(copies["no_state"], seen.append)
    assert state.global_epoch == 1 and "rebuilt from history.csv" in seen[0].message
    # weights.npz gone: the phase's best (epoch 1's weights) is used, and named.
    run.checkpoint.weights.unlink()
    seen.clear()
    result = resume_training(run.path, listener=seen.append)
    assert result.status == "completed"
    said = " | ".join(e.message for e in seen if isinstance(e, Log) and e.level == "warning")
    assert (f"{run.checkpoint.weights} is missing; resuming from the weights in "
            f"{run.checkpoint.phase_best} instead") in said
    after = rows(run)
    assert after[:1] == before and [r["global_epoch"] for r in after] == [1, 2, 3]


def test_a_lost_run_json_is_written_again_and_a_completed_run_is_not_finished_again(
        tmp_path):
    """Without run.json a resume wrote one with no data folder, classes, image count or
    settings, and a completed run was "finished" again (model.keras rewritten)."""
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    was = run.run_info()
    run.run_path.unlink()
    seen = []
    assert resume_training(run.path, listener=seen.append).status == "completed"
    assert any(f"{run.run_path} is missing; it is written again from config.json, "
               "labels.json and split.json" in e.message for e in seen if isinstance(e, Log))
    info = run.run_info()
    assert info.status == "completed" and info.data_dir == was.data_dir
    assert info.classes == was.classes and info.images == was.images == 12
    assert info.settings == was.settings and info.created is not None
    run.run_path.unlink()
    model = run.model_path.stat().st_mtime_ns
    with pytest.raises(UserError, match=r"run\.json is missing, but the run's other files say "
                                        r"it completed .*nothing to resume"):
        resume_training(run.path)
    assert run.model_path.stat().st_mtime_ns == model and not run.run_path.exists()


def test_resume_after_the_data_folder_moved(tmp_path):
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    moved = tmp_path / "elsewhere" / "images"
    moved.parent.mkdir()
    shutil.move(str(data), str(moved))
    with pytest.raises(DataError, match="no longer exists.*--data"):
        resume_training(run.path)
    # a folder with other images is refused, naming what is missing
    other = make_bright_dark(tmp_path / "other", per_class=3, size=32)
    with pytest.raises(DataError, match="not there under the same names") as refused:
        resume_training(run.path, data_dir=other)
    assert str(refused.value).startswith(
        f"The run was trained on {data}, which no longer exists. --data {other.resolve()} "
        "does not hold its images (")
    # From the window it is the Data page's folder, not a --data flag the user never typed
    # (a review); and the moved folder missing one image is the run's, with one image gone.
    from gui.pages.train.jobs import resume_job

    with pytest.raises(DataError) as refused:
        resume_job(str(run.path), str(other))
    said = str(refused.value)
    assert "--data" not in said and f"the folder open on the Data page {other.resolve()}" in said
    assert said.endswith("open the folder the run's images are in now on the Data page")
    aside = sorted((moved / "dark").iterdir())[0]
    aside.rename(tmp_path / aside.name)
    with pytest.raises(DataError) as refused:
        resume_job(str(run.path), str(moved))
    assert (f"the folder open on the Data page {moved.resolve()} holds the run's images except "
            f"1 image (dark/{aside.name}): put it back, or train a new run") in str(refused.value)
    (tmp_path / aside.name).rename(aside)
    result = resume_training(run.path, data_dir=moved)
    assert result.status == "completed"
    info = run.run_info()
    assert info.data_dir == str(moved.resolve()) and info.data_moved_from == str(data)
    assert run.load_config().data.data_dir == str(moved.resolve())


def test_missing_images_are_counted_before_resuming(tmp_path):
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=8, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    gone = sorted((data / "dark").iterdir())[:4]
    for p in gone:
        p.unlink()
    with pytest.raises(DataError, match=r"4 of the 16 images .* are missing"):
        resume_training(run.path)


def test_images_replaced_under_the_same_names_are_refused_before_resuming(tmp_path):
    """Every dark image overwritten by a 64x64 picture: --data refused the folder, a plain
    resume trained on, mixing the two sets, and said "run completed"."""
    import numpy as np
    from PIL import Image

    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=8, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    replaced = sorted((data / "dark").iterdir())
    for p in replaced:
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(p)
    with pytest.raises(DataError, match=r"8 images of .* are not the pictures it started "
                                        r"with \(first: .*dark.*32x32 then, 64x64 now\).*"
                                        r"--from-run"):
        resume_training(run.path)
    assert RunFolder(run.path).run_info().status.value == "stopped"


HOLD_LOCK = """
import sys
sys.path.insert(0, {root!r})
from core.runs.folder import RunFolder
from core.runs.lock import acquire
acquire(RunFolder({run!r}))
print("locked", flush=True)
sys.stdin.readline()
"""


def test_a_second_trainer_is_told_who_holds_the_run_and_a_dead_holder_is_replaced(tmp_path):
    from core.runs.lock import holding_lock, lock_holder
    from core.train.engine import resume_training

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    run.save_config(tiny_config(tmp_path / "data"))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK.format(root=str(ROOT),
                                                                       run=str(run.path))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=f"being trained by process {holder.pid} on "):
            resume_training(run.path)
    finally:
        holder.kill()
        holder.wait()
    assert run.lock_path.exists() and lock_holder(run) is None  # killed: its lock is stale
    (run.path / ".best.weights.x1y2.tmp.npz").write_bytes(b"half")  # a killed writer's
    with holding_lock(run):
        assert lock_holder(run)["pid"] == os.getpid()
        assert not (run.path / ".best.weights.x1y2.tmp.npz").exists()
    assert not run.lock_path.exists()


def _dead_lock(run: RunFolder) -> None:
    from core.runs.lock import MACHINE

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs: what a kill -9 leaves in the lock
    run.lock_path.write_text(json.dumps({"pid": gone.pid, "host": socket.gethostname(),
                                         "machine": MACHINE, "started": 0, "token": "dead"}))


def _race_for_the_lock(path, barrier, results):
    from core.runs.lock import acquire

    barrier.wait()
    try:
        acquire(RunFolder(path))
        results.put("held")
        barrier.wait()  # both have tried before either ends (and its lock with it)
    except UserError:
        results.put("refused")
        barrier.wait()


def test_two_takers_of_a_dead_lock_at_once_do_not_both_get_it(tmp_path):
    """Both saw the dead holder; the second deleted the lock the first had just taken, and
    both trained the run (196 times in 200 in a stop/resume review)."""
    import multiprocessing

    from core.runs.lock import _take_over, acquire, lock_holder, release

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    _dead_lock(run)
    acquire(run)  # the first taker ...
    mine = json.loads(run.lock_path.read_text())["token"]
    _take_over(run)  # ... and the second and third, who judged the lock dead a moment before
    _take_over(run)
    assert json.loads(run.lock_path.read_text())["token"] == mine  # not deleted
    assert lock_holder(run)["pid"] == os.getpid()
    breaking = run.lock_path.with_name(".lock.breaking")
    breaking.touch()  # another process breaking a dead lock: its turn is waited for
    _take_over(run)
    assert breaking.exists()
    os.utime(breaking, (0, 0))  # ... unless it died doing so
    _take_over(run)
    assert not breaking.exists() and lock_holder(run)["pid"] == os.getpid()
    release(run)
    assert list(run.path.iterdir()) == []  # no moved-aside lock left behind
    context = multiprocessing.get_context("spawn")
    for trial in range(6):
        _dead_lock(run)
        barrier, results = context.Barrier(2), context.Queue()
        takers = [context.Process(target=_race_for_the_lock, args=(str(run.path), barrier,
                                                                   results)) for _ in range(2)]
        for p in takers:
            p.start()
        for p in takers:
            p.join(120)
        assert sorted(results.get(timeout=10) for _ in takers) == ["held", "refused"], trial
        run.lock_path.unlink(missing_ok=True)


def test_a_hand_edited_labels_or_backbone_is_named_before_resuming(tmp_path):
    """labels.json cut to one class gave "dark_0.png: label 1 is outside the 1 classes;
    rescan the data folder"; another backbone in config.json "... Resume the run it came
    from, or start a new run, and the run holds no other usable weights; start a new run",
    and both marked the run failed."""
    from core.errors import ModelFileError
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    labels = run.labels_path.read_text()
    run.labels_path.write_text('["bright"]')
    with pytest.raises(UserError, match=r"labels\.json: lists 1 class\(es\) \['bright'\], but "
                                        r"the run was started with \['bright', 'dark'\]"):
        resume_training(run.path)
    assert run.run_info().status.value == "stopped"
    run.labels_path.write_text(labels)
    cfg = run.load_config()
    cfg.model.backbone = "MobileNetV2"
    run.save_config(cfg)
    with pytest.raises(ModelFileError, match=r"do not fit the model that .*config\.json "
                                             r"describes \(MobileNetV2, 32 px\); if config"
                                             r"\.json was edited, put model\.backbone"):
        resume_training(run.path)


def test_the_resume_log_names_the_epoch_that_comes_next():
    """Stopped as fine-tuning was being set up, a resume said "at head epoch 2" (the head had
    one epoch, finished)."""
    from core.config import FreezeConfig
    from core.train.engine import resume_point
    from core.train.loop_state import LoopState
    from weights_fixture import tiny_config

    cfg = tiny_config("/data", "imagenet", epochs=1, fine_tune_epochs=2)
    assert resume_point(LoopState(phase="head", epoch=0), cfg) == "head epoch 1"
    done = LoopState(phase="head", epoch=1, finished_phases=["head"])
    assert resume_point(done, cfg) == "fine_tune epoch 1"
    cfg.model.freeze = FreezeConfig(mode="none")
    assert resume_point(done, cfg) == "its end (every phase has finished)"


def test_a_resume_says_which_images_added_since_it_leaves_out(tmp_path):
    """Images and a whole class added to the data folder were left out of the resumed run,
    rightly, but without a word: it ended "run completed" with the old classes (a stop/resume
    review)."""
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    (data / "grey").mkdir()
    for name in ("grey/0.png", "bright/new.png"):
        shutil.copyfile(next((data / "dark").iterdir()), data / name)
    events = []
    result = resume_training(run.path, listener=events.append)
    said = [e.message for e in events if isinstance(e, Log) and e.level == "warning"]
    assert any(m.startswith(f"2 images added to {data} since this run started") and
               "train DATA --from-run" in m for m in said), said
    # The window said it in one log line in command-line words only (a review): its end
    # banner says it too, with the window's way to use them.
    from gui.pages.train.outcome import ended_texts, read_outcome

    assert result.added_left_out == 2
    # ... and as a typed event before training goes on, for the window's start banner
    from core.events import EpochEnd, ImagesLeftOut

    kinds = [type(e) for e in events]
    assert ImagesLeftOut(2) in events and kinds.index(ImagesLeftOut) < kinds.index(EpochEnd)
    assert any("Fine-tune from this run on the Sort step" in m for m in said)
    banner = ended_texts(result, read_outcome(result), True)[1]
    assert ("2 images added to the data folder since this run started are not in it: to use "
            "them, Fine-tune from this run on the Sort step (or start a new run).") in banner
    assert "--from-run" not in banner


def test_a_resume_names_settings_edited_by_hand_and_follows_them(tmp_path):
    """A config.json edited between stop and resume was followed without a word (left alone
    in session 22): the run's record mixed two sets of settings.  Told once, then adopted."""
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    assert run.run_info().settings["train"]["epochs"] == 2  # as the app wrote it
    raw = json.loads(run.config_path.read_text())
    raw["train"]["epochs"] = 3
    run.config_path.write_text(json.dumps(raw, indent=2))
    events = []
    resume_training(run.path, listener=events.append)
    said = [e.message for e in events if isinstance(e, Log) and e.level == "warning"]
    edited = [m for m in said if m.startswith(f"{run.config_path}: edited since")]
    assert len(edited) == 1 and "2 → 3" in edited[0], said
    assert [r["epoch"] for r in run.history() if r["phase"] == "head"] == [1, 2, 3]
    assert run.run_info().settings["train"]["epochs"] == 3


def test_a_resume_of_an_unedited_run_says_nothing_of_edits(tmp_path):
    """The app's own rewrites of config.json (the run's start, --resume --data) are no edit."""
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    moved = tmp_path / "moved"
    shutil.move(str(data), moved)
    events = []
    resume_training(run.path, listener=events.append, data_dir=moved)
    assert not [e for e in events if isinstance(e, Log) and "edited since" in e.message]
    assert run.run_info().settings["data"]["data_dir"] == str(moved)


def test_a_run_folder_moved_while_training_is_not_made_again_at_its_old_path(tmp_path):
    """Renamed after its first epoch, the run folder was made again at the old path by the
    next checkpoint: the rest of the run landed there without its config, split or labels,
    "run completed" was printed, and the moved folder kept one epoch and a stale lock (a
    review).  Training now stops, writes nothing more, and the moved folder resumes."""
    from core.runs.in_place import RunFolderMoved
    from core.train.engine import resume_training, train

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    old, moved = tmp_path / "run", tmp_path / "moved"

    def listener(e):
        if isinstance(e, EpochEnd) and e.phase == "head" and e.epoch == 1:
            os.rename(old, moved)  # the user renames it in the file browser

    with pytest.raises(RunFolderMoved, match="renamed, moved or removed while training"):
        train(tiny_config(data, epochs=3, fine_tune_epochs=0), old, listener=listener)
    assert not old.exists()
    run = RunFolder(moved)
    assert run.config_path.exists() and len(run.history()) == 1
    assert run.run_info().status == "running"  # not written after the move: resumable
    assert resume_training(moved).status == "completed" and len(run.history()) == 3


def test_a_run_folder_that_turns_read_only_reports_the_write_that_failed(tmp_path,
                                                                          monkeypatch):
    """The checkpoint write failed, then recording the end in run.json and removing the
    lock failed too, and those replaced it: "cannot use .../.lock: Operation not permitted;
    give another path" (a review).  The first failure is the one reported."""
    from core.runs import folder as folder_module
    from core.train import loop as loop_module
    from core.train.engine import train

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    calls = []  # checkpoints asked for; from the second on the folder is read-only

    def read_only(run, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise PermissionError(13, "Operation not permitted", str(run.checkpoint_dir))
        return real_checkpoint(run, *args, **kwargs)

    def run_info(self, **fields):
        if len(calls) > 1:
            raise UserError(f"cannot write {self.run_path}: Operation not permitted")
        return real_run_info(self, **fields)

    def unlink(self, *args, **kwargs):
        if len(calls) > 1 and self.name == ".lock":
            raise PermissionError(13, "Operation not permitted", str(self))
        return real_unlink(self, *args, **kwargs)

    real_checkpoint, real_run_info = loop_module.write_checkpoint, \
        folder_module.RunFolder.update_run_info
    real_unlink = Path.unlink
    monkeypatch.setattr(loop_module, "write_checkpoint", read_only)
    monkeypatch.setattr(folder_module.RunFolder, "update_run_info", run_info)
    monkeypatch.setattr(Path, "unlink", unlink)
    events = []
    with pytest.raises(PermissionError, match="Operation not permitted") as info:
        train(tiny_config(data, epochs=3, fine_tune_epochs=0), tmp_path / "run",
              listener=events.append)
    assert "checkpoint" in str(info.value)
    assert any(isinstance(e, Log) and "could not record in run.json" in e.message
               for e in events)


def test_a_resume_refuses_edits_of_the_split_and_the_image_size(tmp_path):
    """Edited by hand, the validation share, split seed and image size were "followed": the
    split was not redone (config.json named one never used) and the best epoch, learnt at
    64 px, was scored at 96 px (a review)."""
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    raw = json.loads(run.config_path.read_text())
    raw["data"]["val_split"], raw["model"]["image_size"] = 0.5, 48
    run.config_path.write_text(json.dumps(raw, indent=2))
    with pytest.raises(UserError, match="keeps its split and image size") as info:
        resume_training(run.path)
    assert "data.val_split and model.image_size back" in str(info.value)
    assert len(run.history()) == 1  # nothing trained


def test_lost_best_weights_files_are_made_again_or_named_on_resume(tmp_path):
    """With best.weights.npz and the phase's best gone, a resume went on without a word:
    fine-tuning started from the last head epoch instead of the head's best, and a run
    whose best epoch came before the stop ended "completed" with no model saved,
    calibrated nor scored (run.json: no digest, no accuracy)."""
    from core.train.engine import resume_training, train

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    straight = train(tiny_config(data, epochs=2, fine_tune_epochs=1), tmp_path / "a")
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=1), tmp_path / "b", 1)
    for path in (run.best_weights_path, run.phase_best_path("head"), run.checkpoint.phase_best):
        path.unlink()
    seen = []
    result = resume_training(run.path, listener=seen.append)
    said = " | ".join(e.message for e in seen if isinstance(e, Log) and e.level == "warning")
    # Epoch 1, the best so far, was the last one finished: the checkpoint holds its weights.
    for path in (run.best_weights_path, run.phase_best_path("head")):
        assert f"{path} was missing: written again from the checkpoint" in said
    assert result.status == "completed" and result.metrics is not None
    assert rows(run) == rows(RunFolder(straight.run_dir))
    assert run.run_info().weights_digest == RunFolder(straight.run_dir).run_info().weights_digest
    assert run.run_info().val_accuracy is not None



def test_a_damaged_history_is_written_again_on_resume_and_said_once(tmp_path, caplog):
    """A damaged history.csv line gave a logger line asking to repair the file by hand,
    which the resume then rewrote without a word (a review)."""
    from core.train.engine import resume_training

    data = make_bright_dark(tmp_path / "data", per_class=6, size=32)
    run = stopped_run(tiny_config(data, epochs=2, fine_tune_epochs=0), tmp_path / "run", 1)
    before = rows(run)
    with open(run.history_path, "a", encoding="utf-8") as fh:
        fh.write("head,2,2,xx,,,,,\n")
    seen = []
    assert resume_training(run.path, listener=seen.append).status == "completed"
    said = [e.message for e in seen if isinstance(e, Log) and e.level == "warning"
            and "history.csv" in e.message]
    assert said == [f"{run.history_path}, line 3: not a history row as the app writes it "
                    "(could not convert string to float: 'xx'): it is written again from the "
                    "checkpoint's record of the 1 finished epoch"]
    assert not [r for r in caplog.records if "without its history" in r.getMessage()]
    assert rows(run)[:1] == before and len(rows(run)) == 2


def test_a_damaged_history_is_named_whole_whatever_its_bad_value_says(tmp_path):
    """The rewrite's warning took the damage from the error's text, cut at "; put the file
    back": a bad value holding those words cut the file's description short.  The error
    carries the damage itself."""
    import pickle

    from core.runs.history_csv import DamagedHistoryError
    from core.train.checkpoint import rewrite_damaged_history
    from core.train.loop_state import LoopState

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    row = {"phase": "head", "epoch": 1, "global_epoch": 1, "loss": 0.5, "accuracy": 0.5,
           "val_loss": 0.6, "val_accuracy": 0.5, "learning_rate": 0.001, "seconds": 1.0}
    run.write_history([row])
    with open(run.history_path, "a", encoding="utf-8") as fh:
        fh.write("head,2,2,x; put the file back; put the file back,,,,,\n")
    damage = (f"{run.history_path}, line 3: not a history row as the app writes it (could not "
              "convert string to float: 'x; put the file back; put the file back')")
    with pytest.raises(UserError) as info:  # every existing `except UserError` still holds
        run.history()
    assert isinstance(info.value, DamagedHistoryError) and info.value.damage == damage
    assert str(info.value) == (f"{damage}; put the file back from a copy of the run, or "
                               "delete that line")
    again = pickle.loads(pickle.dumps(info.value))
    assert again.damage == damage and str(again) == str(info.value)
    seen = []
    rewrite_damaged_history(run, LoopState(history=[row]), seen.append)
    assert [e.message for e in seen] == [f"{damage}: it is written again from the "
                                         "checkpoint's record of the 1 finished epoch"]
    assert run.history() == [row]


def test_a_best_epoch_lost_for_good_is_named_and_the_run_still_ends_on_a_model(tmp_path):
    from core.train.lost_best import final_weights, recover_lost_best
    from core.train.loop_state import LoopState
    from core.runs.records import RunStatus

    import keras

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    state = LoopState(phase="head", epoch=3, global_epoch=3, best_epoch=1, best_score=[1.0, 0],
                      phase_best_epoch=1, phase_best_score=[1.0, 0])
    seen = []
    recover_lost_best(run, model, state, "head", seen.append, holds_last_epoch=True)
    said = " | ".join(e.message for e in seen)
    assert (f"{run.best_weights_path} is missing: the weights of the run's best epoch so far "
            "(epoch 1) are lost") in said
    assert f"{run.phase_best_path('head')} is missing" in said
    assert state.best_score is None and state.phase_best_score is None
    # No epoch trained since: a completed run ends on its last epoch, a stopped one keeps
    # its model.keras.
    seen.clear()
    assert final_weights(run, model, state, RunStatus.STOPPED, seen.append) is False
    assert final_weights(run, model, state, RunStatus.COMPLETED, seen.append) is True
    assert "the run's model is its last epoch's weights (epoch 3)" in seen[0].message


def test_the_moved_run_folder_message_says_how_the_window_resumes_it(tmp_path):
    """It pointed to "Resume on the Runs page", a button that does not exist (a review)."""
    from core.runs.in_place import RunFolderMoved, folder_identity, require_in_place

    old = tmp_path / "run"
    old.mkdir()
    identity = folder_identity(old)
    os.rename(old, tmp_path / "moved")
    with pytest.raises(RunFolderMoved) as caught:
        require_in_place(old, identity, 1)
    said = str(caught.value)
    assert "Resume on the Runs page" not in said
    assert "the 1 epoch before it is saved" in said
    with pytest.raises(RunFolderMoved) as caught:
        require_in_place(old, identity, 3)
    assert "the 3 epochs before it are saved in the folder" in str(caught.value)
    assert ("press Rescan on the Runs step (Add folder… if it is outside the runs folder), "
            "open it, then press Resume on the Train step") in said


def test_images_added_since_a_run_are_counted_in_words(tmp_path):
    """The status bar said "1 image(s) added to …", core's words passed through: "1 image
    … is", "3 images … are"."""
    from types import SimpleNamespace

    from core.train.preflight import added_since

    data = make_bright_dark(tmp_path / "data", per_class=2, size=8)
    had = sorted(data.rglob("*.png"))
    split = SimpleNamespace(train=[SimpleNamespace(path=str(p)) for p in had], val=[], test=[])
    shutil.copyfile(had[0], data / "dark" / "new0.png")
    n, said = added_since(split, str(data), 1.0)
    assert n == 1 and said.startswith(f"1 image added to {data} ") and ") is not part" in said
    assert "to train on it," in said
    for i in (1, 2):
        shutil.copyfile(had[0], data / "dark" / f"new{i}.png")
    n, said = added_since(split, str(data), 1.0)
    assert n == 3 and said.startswith("3 images added") and ") are not part" in said
    assert "(s)" not in said and "to train on them," in said
