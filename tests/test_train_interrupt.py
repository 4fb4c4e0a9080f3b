"""Ctrl+C in ``train``, flags --resume would ignore, and --config values out of range.

The first Ctrl+C stops like the window's Stop, the second at once.  Both leave
the run "stopped", resumable, listed by ``runs``, and the message names the run
folder (it used to say the literal ``RUN_DIR`` and record the run as failed,
missing from the run list).  The presses are real SIGINTs sent to this
process from inside training (at its first batch), not simulated exceptions.
"""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

from core.cli import main
from core.cli.console import ConsoleListener
from core.events import BatchEnd, CancelToken
from core.runs.folder import RunFolder
from weights_fixture import make_bright_dark

# The run's bookkeeping is what is tested, not the compiled train step: TensorFlow functions
# run eagerly (tests/conftest.py's ``eager``), a quarter of the time (README, "Tests").
pytestmark = pytest.mark.usefixtures("eager")


def train_argv(data, weights, out) -> list[str]:
    return ["train", str(data), "--backbone", "MobileNetV3Small", "--weights", weights,
            "--image-size", "32", "--epochs", "2", "--fine-tune-epochs", "2",
            "--batch-size", "8", "--augment", "none", "--out", str(out)]


def press_ctrl_c_at_first_batch(monkeypatch, presses: int, sig=signal.SIGINT) -> None:
    """Make the console listener send ``presses`` SIGINTs (or ``sig``) to this process at the
    first batch."""
    original = ConsoleListener.__call__
    sent = []

    def listener(self, event):
        if isinstance(event, BatchEnd) and not sent:
            sent.append(True)
            for _ in range(presses):
                os.kill(os.getpid(), sig)
        original(self, event)

    monkeypatch.setattr(ConsoleListener, "__call__", listener)


@pytest.fixture
def ctrl_c_as_at_a_terminal():
    """SIGINT handled by Python, as a command typed at a terminal has it.  A pytest started
    in the background (`pytest &` in a script) may give its workers an ignored SIGINT, which
    `train` rightly leaves ignored (as it leaves nohup's SIGHUP): the run then went on to
    the end and the test failed on exit status 0."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("presses", [1, 2])
@pytest.mark.usefixtures("ctrl_c_as_at_a_terminal")
def test_ctrl_c_stops_the_run_resumably_and_names_its_folder(tmp_path, tiny_weights, capsys,
                                                             monkeypatch, presses):
    from core.runs.history import RunHistory

    data = make_bright_dark(tmp_path / "data", per_class=12, size=32)
    out = tmp_path / "run"
    press_ctrl_c_at_first_batch(monkeypatch, presses)
    rc = main(train_argv(data, tiny_weights, out))
    err = capsys.readouterr().err
    assert rc == 130
    assert "stopping training" in err and "at the end of this batch" in err
    assert f"continue with 'python main.py train --resume {out}'" in err
    assert "RUN_DIR" not in err
    run = RunFolder(out)
    assert run.run_info().status == "stopped"
    assert run.checkpoint.weights_file() is not None or presses == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler given back
    history = RunHistory()
    assert history.get(history.find_id(out)).status == "stopped"  # listed by `runs`
    if presses == 1:  # a graceful stop finished the epoch's bookkeeping and saved a model
        assert run.model_path.exists()
        monkeypatch.undo()
        monkeypatch.chdir(tmp_path)  # --resume as typed, relative: run_dir says where
        assert main(["train", "--resume", "run", "--json"]) == 0
        done = json.loads(capsys.readouterr().out)
        assert done["status"] == "completed" and done["run_dir"] == str(out)


def test_sigterm_stops_the_run_like_stop(tmp_path, tiny_weights, capsys, monkeypatch):
    """timeout, docker stop, systemd: a SIGTERM ended the process with the run "running", never
    listed, nothing saved since its last epoch."""
    from core.runs.history import RunHistory

    data = make_bright_dark(tmp_path / "data", per_class=12, size=32)
    out = tmp_path / "run"
    before = signal.getsignal(signal.SIGTERM)
    press_ctrl_c_at_first_batch(monkeypatch, 1, signal.SIGTERM)
    assert main(train_argv(data, tiny_weights, out)) == 130
    assert "stopping training (SIGTERM)" in capsys.readouterr().err
    assert RunFolder(out).run_info().status == "stopped" and RunFolder(out).model_path.exists()
    assert signal.getsignal(signal.SIGTERM) == before  # handler given back
    history = RunHistory()
    assert history.get(history.find_id(out)).status == "stopped"


def test_a_failed_run_is_listed_as_failed(tmp_path, tiny_weights):
    from core.runs.history import RunHistory
    from core.train.engine import train
    from weights_fixture import tiny_config

    cfg = tiny_config(make_bright_dark(tmp_path / "data", per_class=12, size=32), tiny_weights)

    def listener(event):
        if isinstance(event, BatchEnd):
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        train(cfg, tmp_path / "run", listener=listener, cancel=CancelToken())
    assert RunFolder(tmp_path / "run").run_info().status == "failed"
    history = RunHistory()
    assert history.get(history.find_id(tmp_path / "run")).status == "failed"


@pytest.mark.parametrize("flags, named", [
    (["--epochs", "5"], "--epochs"),
    (["--lr", "0.1", "--seed", "3"], "--lr, --seed"),
    (["--backbone", "ResNet50"], "--backbone"),
    (["--out", "elsewhere"], "--out"),
    (["--split-seed", "3"], "--split-seed"),  # was ignored without a word (a README review)
])
def test_resume_refuses_settings_it_would_ignore(tmp_path, capsys, flags, named):
    rc = main(["train", "--resume", str(tmp_path / "some-run"), *flags])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"so {named} would be ignored" in err and "--from-run" in err


def test_a_config_files_out_of_range_value_is_named_with_the_file(tmp_path, capsys):
    data = make_bright_dark(tmp_path / "data", per_class=3, size=16)
    bad = tmp_path / "settings.json"
    bad.write_text('{"version": 1, "train": {"epochs": -5}}')
    assert main(["train", str(data), "--config", str(bad)]) == 2
    assert f"{bad}: train.epochs must be 0 to 1000, not -5" in capsys.readouterr().err
    # the flag that overrides it is the fix the message offers; then the file is fine
    assert main(["train", str(data), "--config", str(bad), "--epochs", "0",
                 "--fine-tune-epochs", "0"]) == 2
    err = capsys.readouterr().err
    assert str(bad) not in err and "both 0" in err


@pytest.mark.parametrize("together", [True, False])
def test_images_whose_pixels_cannot_be_read_end_training_in_one_line(tmp_path, tiny_weights,
                                                                      capsys, together):
    """Images damaged in the middle pass the header scan (a cut-off TIFF no longer does);
    training used to end in a ValueError (near-copy signatures of no image) or a page of
    TensorFlow traceback around the pipeline's own one-line message."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(6):
            path = tmp_path / "data" / name / f"{i}.png"
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
            data = bytearray(path.read_bytes())
            data[len(data) // 2:len(data) // 2 + 40] = bytes(40)  # pixel data, not the end
            path.write_bytes(bytes(data))
    argv = train_argv(tmp_path / "data", tiny_weights, tmp_path / "run")
    if not together:
        argv.append("--no-keep-duplicates-together")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "could be read" in err and "Traceback" not in err and "UnknownError" not in err
    assert len(err.strip().splitlines()[-1]) < 400


def test_images_gone_since_the_scan_or_during_training_fail_the_run_saying_so(tmp_path,
                                                                              tiny_weights):
    """A class folder deleted after the window's scan trained a model of the other classes;
    validation images deleted while it trained ended "completed, 0.0 % on 0 images"."""
    import shutil

    from core.data.dataset import scan_dataset
    from core.errors import DataError
    from core.events import EpochEnd
    from core.train.engine import train
    from weights_fixture import tiny_config

    data = make_bright_dark(tmp_path / "data", per_class=12, size=32)
    cfg = tiny_config(data, tiny_weights, epochs=1, fine_tune_epochs=1)
    report = scan_dataset(data)
    shutil.rmtree(data / "dark")
    with pytest.raises(DataError, match="class dark.*is gone since"):
        train(cfg, tmp_path / "run1", report=report)

    data = make_bright_dark(tmp_path / "data2", per_class=12, size=32)
    cfg = tiny_config(data, tiny_weights, epochs=1, fine_tune_epochs=1)
    run = RunFolder(tmp_path / "run2")

    def listener(event):
        if isinstance(event, EpochEnd) and event.phase == "fine_tune":  # the last epoch
            for r in run.split().val:
                os.unlink(r.path)

    with pytest.raises(DataError, match="none of the .* validation images could be read"):
        train(cfg, run.path, listener=listener)
    assert run.run_info().status == "failed"


def test_ctrl_c_during_the_scan_stops_before_training(tmp_path, tiny_weights, capsys,
                                                      monkeypatch):
    """The first press during the scan ended as "error: Cancelled: ..." and exit 1."""
    from core.events import Log

    original = ConsoleListener.__call__

    def listener(self, event):
        if isinstance(event, Log) and event.message.startswith("scanning"):
            os.kill(os.getpid(), signal.SIGINT)
        original(self, event)

    monkeypatch.setattr(ConsoleListener, "__call__", listener)
    data = make_bright_dark(tmp_path / "data", per_class=12, size=32)
    assert main(train_argv(data, tiny_weights, tmp_path / "run")) == 130
    err = capsys.readouterr().err
    assert "stopped before training began" in err and "error" not in err


def test_ctrl_c_before_a_resume_goes_on_says_the_run_is_as_it_was(tmp_path, capsys,
                                                                   monkeypatch):
    """Stopped during a resume's checks (its images' headers, a moved folder), it said
    "nothing was trained" of a run with epochs done (a stop/resume review)."""
    import core.train.engine as engine
    from core.events import Cancelled

    def stopped(*_args, **_kwargs):
        raise Cancelled("cancelled by the user")

    monkeypatch.setattr(engine, "resume_training", stopped)
    run = tmp_path / "run"
    run.mkdir()
    assert main(["train", "--resume", str(run)]) == 130
    err = capsys.readouterr().err
    assert f"{run} is as it was: continue with 'python main.py train --resume {run}'" in err
    assert "nothing was trained" not in err


def test_a_second_ctrl_c_before_the_run_folder_exists_offers_no_resume(tmp_path, capsys,
                                                                       monkeypatch):
    """Ctrl+C twice while the ImageNet weights downloaded printed "continue with 'train
    --resume OUT'" for a folder never made (a weights review)."""
    import core.train.engine as engine

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "train", interrupted)
    data = make_bright_dark(tmp_path / "data", per_class=3, size=16)
    out = tmp_path / "never-made"
    assert main(["train", str(data), "--out", str(out), "--weights", "none"]) == 130
    err = capsys.readouterr().err
    assert "interrupted; nothing was trained" in err and "--resume" not in err


def test_train_json_carries_the_calibration_the_run_ended_with(tmp_path):
    """metrics.json had "calibration" (temperature, threshold) and `train --json` did not: a
    pipeline had to open the run folder for them (a scripting review)."""
    from core.cli.commands.train import _result_dict
    from core.infer.metrics import Metrics
    from core.train.device import DeviceInfo
    from core.train.finish import RunResult
    from core.runs.records import RunStatus

    (tmp_path / "metrics.json").write_text(json.dumps(
        {"accuracy": 0.5, "calibration": {"temperature": 1.46, "unknown_threshold": 1.84}}))
    metrics = Metrics(accuracy=0.5, n_images=2, classes=["a", "b"], per_class=[],
                      confusion=[[1, 0], [1, 0]], macro_f1=0.3)
    result = RunResult(str(tmp_path), RunStatus.COMPLETED, 1, metrics,
                       DeviceInfo("CPU", 0, False, False, "default"), 1.0, ["a", "b"], 32)
    out = _result_dict(result)
    assert out["metrics"]["calibration"] == {"temperature": 1.46, "unknown_threshold": 1.84}
    assert out["metrics"]["accuracy"] == 0.5


@pytest.mark.parametrize("epochs_done", [True, False])
def test_a_full_disk_after_finished_epochs_says_how_to_resume(tmp_path, capsys, monkeypatch,
                                                              epochs_done):
    """A disk filled mid-run said "free some disk space and try again": run again, `train`
    starts a new run at epoch 1, while --resume keeps the finished epochs (a crash review)."""
    import core.train.engine as engine
    from core.errors import DiskFullError
    from core.events import RunStarted
    from core.runs.records import RunStatus

    out = tmp_path / "run"

    def full(*_args, listener=None, **_kwargs):
        run = RunFolder(out)
        run.update_run_info(status=RunStatus.FAILED)
        if epochs_done:
            run.checkpoint_dir.mkdir()
            run.checkpoint.state.write_text("{}")
        listener(RunStarted(str(out)))
        raise DiskFullError(f"{out / 'checkpoint'}: the disk is full (no space left to write "
                            "it); free some disk space and try again")

    monkeypatch.setattr(engine, "train", full)
    data = make_bright_dark(tmp_path / "data", per_class=3, size=16)
    assert main(["train", str(data), "--out", str(out), "--weights", "none"]) == 2
    err = capsys.readouterr().err
    assert "the disk is full" in err
    hint = f"its finished epochs are kept: continue with 'python main.py train --resume {out}'"
    assert (hint in err) is epochs_done
