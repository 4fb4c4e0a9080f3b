"""Train page: settings bound to config.train, a real training run started with the Start
button (live curves within epochs, validation points, run folder, state updated), and
Stop during training followed by Resume."""

import math
import os
import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from core.events import BatchEnd, EpochEnd
from core.runs.folder import RunFolder
from gui import plain_text
from gui.pages.train.lr_spin import LearningRateSpin
from gui.pages.train.page import TrainPage, runs_base_dir
from gui.durations import format_duration
from weights_fixture import make_bright_dark, tiny_config

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def ready_page(qtbot, window, tmp_path, tiny_weights, **train) -> TrainPage:
    data = make_bright_dark(tmp_path / "data")
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.state.replace_config(tiny_config(data, tiny_weights, **train))  # the Data page scans
    assert window.state.dataset_report.root == str(data)
    window.show_page(3)
    page = window.pages[3]
    assert isinstance(page, TrainPage)
    return page


class StallMeter:
    """A 10 ms QTimer on the UI thread; the largest gap between ticks is the worst freeze."""

    def __init__(self):
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.gaps = []
        self._last = None

    def start(self):
        self.clock.start()
        self._last = self.clock.elapsed()
        self.timer.start()

    def _tick(self):
        now = self.clock.elapsed()
        self.gaps.append(now - self._last)
        self._last = now

    def stop(self):
        self.timer.stop()
        return max(self.gaps) if self.gaps else 0


def test_settings_are_bound_to_config_train(qtbot, window, tmp_path):
    page = window.pages[3]
    t = window.state.config.train
    assert page.epochs_spin.value() == t.epochs
    assert page.lr_spin.text() == "0.001"
    page.epochs_spin.setValue(7)
    page.batch_spin.setValue(16)
    page.patience_spin.setValue(0)
    page.schedule_combo.setCurrentIndex(page.schedule_combo.findData("plateau"))
    page.mixed_combo.setCurrentIndex(page.mixed_combo.findData("off"))
    page.smoothing_spin.setValue(0.05)
    assert page.ft_lr_spin.text().startswith("auto")  # 0: a tenth of learning rate 1
    page.ft_lr_spin.stepBy(1)  # auto -> a tenth of learning rate 1 (1e-4)
    assert window.state.config.train.fine_tune_learning_rate == pytest.approx(1e-4)
    page.ft_lr_spin.stepBy(-1)  # 1e-4 -> 5e-5 on the 1-2-5 ladder
    t = window.state.config.train
    assert (t.epochs, t.batch_size, t.early_stopping_patience) == (7, 16, 0)
    assert (t.lr_schedule, t.mixed_precision, t.label_smoothing) == ("plateau", "off", 0.05)
    assert t.fine_tune_learning_rate == pytest.approx(5e-5)
    assert page.patience_spin.text() == "off"
    # and back: a config change elsewhere (a project load) shows on the page
    window.state.set("train.learning_rate", 3e-4)
    window.state.set("train.xla", "on")
    assert page.lr_spin.text() == "0.0003"
    assert page.xla_combo.currentData() == "on"
    for name, widget in page.settings.fields.items():
        assert widget.toolTip(), f"{name} has no tooltip"
    assert "epoch is one pass" in page.epochs_spin.toolTip()
    assert "batch is" in page.batch_spin.toolTip()
    # the training seed (shuffle order, augmentation draws) had no control in the window
    page.settings.seed_spin.setValue(7)
    assert window.state.config.train.seed == 7 and window.state.config.data.seed == 42


@pytest.mark.parametrize("change, head_epochs", [
    ({}, 1),  # ImageNet weights, logistic head: one exact fit
    ({"model.weights": "none"}, 6),  # from scratch: epochs of Adam
    ({"model.dense_units": 64}, 6),  # a hidden layer
    ({"train.fast_head": False}, 6),
    ({"train.head_solver": "adam"}, 6),
])
def test_the_epochs_hint_counts_the_head_phase_as_the_engine_will(qtbot, window, tmp_path,
                                                                   change, head_epochs):
    """It said "2 epochs at most" for every logistic head, though the engine trains the
    head with Adam (all its epochs) from scratch, with a hidden layer or without the fast
    head."""
    data = make_bright_dark(tmp_path / "data", per_class=6)
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.data_page.open_folder(str(data))
    for path, value in {"train.epochs": 6, "train.fine_tune_epochs": 2, "model.weights":
                        "imagenet", "train.head_solver": "logistic", **change}.items():
        window.state.set(path, value)
    page = window.pages[3]
    page.on_shown()
    assert f"{head_epochs + 2} epochs at most" in page.steps_hint.text()
    # the head's epochs box is off exactly when they are not trained (a novice set 10
    # head epochs and read "11 epochs at most")
    assert page.settings.epochs_spin.isEnabled() == (head_epochs != 1)
    assert ("no epochs to set" in page.settings.epochs_spin.toolTip()) == (head_epochs == 1)


def test_learning_rate_box_and_durations(qtbot):
    spin = LearningRateSpin()
    spin.setValue(1e-3)
    spin.stepBy(1)
    assert spin.value() == pytest.approx(2e-3)
    spin.stepBy(2)
    assert spin.value() == pytest.approx(1e-2)
    spin.stepBy(-3)
    assert spin.value() == pytest.approx(1e-3)
    assert spin.valueFromText("3e-5") == pytest.approx(3e-5)
    assert format_duration(42) == "0:42"
    assert format_duration(3725) == "1 h 02 min"
    assert format_duration(math.inf) == "–"


def test_start_trains_with_live_curves_and_sets_the_run(qtbot, window, tmp_path, tiny_weights):
    page = ready_page(qtbot, window, tmp_path, tiny_weights)  # 3 head epochs + 1 fine-tune epoch
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()
    assert "steps per epoch" in page.steps_hint.text() or "step per epoch" in page.steps_hint.text()
    batches, epochs, status_bar = [], [], []

    def watch(ev):
        (batches if isinstance(ev, BatchEnd) else epochs if isinstance(ev, EpochEnd)
         else []).append(ev)
        if isinstance(ev, BatchEnd) and ev.phase == "fine_tune":
            status_bar.append(window.job_label.text())  # the window's handler ran first

    meter = StallMeter()
    page.run_started.connect(lambda job: job.progress.connect(watch))
    meter.start()
    with qtbot.waitSignal(page.run_finished, timeout=180000) as sig:
        page.start_button.click()
        assert page.stop_button.isEnabled() and not page.start_button.isEnabled()
        assert not page.settings_host.isEnabled()
    worst = meter.stop()
    print(f"\nlongest UI stall during training: {worst} ms over {len(meter.gaps)} ticks")
    result = sig.args[0]
    assert result.status == "completed"
    assert [e.phase for e in epochs] == ["head"] * 3 + ["fine_tune"]

    curves = page.curves
    # training points within epochs (fractional x), validation points at epoch ends
    assert len(curves.train_x) > len(curves.val_x) == 4
    assert any(abs(x - round(x)) > 1e-6 for x in curves.train_x)
    assert curves.val_x == [1.0, 2.0, 3.0, 4.0]
    assert curves.val_acc == pytest.approx([e.metrics["val_accuracy"] for e in epochs])
    assert all(a <= b for a, b in zip(curves.train_x, curves.train_x[1:]))
    assert curves.train_x[-1] == pytest.approx(4.0)
    assert [p for _x, p in curves.phase_markers] == ["fine_tune"]
    assert curves.phase_markers[0][0] == pytest.approx(3.0)
    assert curves.plots and curves._train_items["loss"].xData is not None

    run_dir = Path(window.state.run_dir)
    assert run_dir == Path(result.run_dir) and run_dir.is_dir()
    assert run_dir.parent == runs_base_dir()
    assert str(runs_base_dir()).startswith(os.environ["FTS_DATA_DIR"])
    assert window.state.last_model == str(run_dir / "model.keras")
    assert (run_dir / "model.keras").exists() and (run_dir / "metrics.json").exists()
    assert len(RunFolder(run_dir).history()) == 4
    assert page.progress.text() == "Finished" or page.progress.format() == "Finished"
    assert page.device_label.text().startswith("Device: CPU")
    assert "Next" in page.banner.text() and "Evaluate" in page.banner.text()
    assert "head epoch 3/3" in page.log.toPlainText()
    # issue 15.8: the status bar follows fine-tuning (not "computing validation features")
    assert status_bar and all(t.startswith("Fine-tuning the backbone · epoch 1/1")
                              for t in status_bar)
    # the best epoch is starred on the curves and named within its phase too
    assert curves.best_x == float(result.best_epoch) and curves.best_point() is not None
    assert f"best: epoch {result.best_epoch} (" in page.status_label.text()
    # issue 15.3: the duration is run.json's, the figure the Runs page shows
    seconds = RunFolder(run_dir).run_info().seconds
    assert f"after {format_duration(seconds)} of training" in page.status_label.text()
    runs = next(p for p in window.pages if p.key == "runs")
    runs.refresh()
    col = [runs.model.headerData(c, Qt.Horizontal) for c in range(runs.model.columnCount())]
    row = [runs.proxy.index(0, c).data() for c in range(runs.proxy.columnCount())]
    assert row[col.index("Training time")] == format_duration(seconds)
    assert row[col.index("Val accuracy")] == f"{result.metrics.accuracy:.1%}"
    assert f"{result.metrics.accuracy:.1%} on {result.metrics.n_images} validation images" in \
        page.status_label.text()
    assert page.start_button.isEnabled() and not page.resume_button.isEnabled()
    assert page.settings_host.isEnabled()
    page.next_button.click()
    assert window.current_page() is window.pages[4]


def test_stop_keeps_the_best_epoch_and_resume_continues(qtbot, window, tmp_path, tiny_weights):
    page = ready_page(qtbot, window, tmp_path, tiny_weights, epochs=8, fine_tune_epochs=0)
    clicked = {}

    def watch(ev):
        if isinstance(ev, EpochEnd):
            clicked.setdefault("epoch_done", ev.epoch)
        elif isinstance(ev, BatchEnd) and "epoch_done" in clicked and "at" not in clicked:
            clicked["at"] = time.monotonic()
            clicked["step"] = (ev.epoch, ev.step)
            page.stop_button.click()

    page.run_started.connect(lambda job: job.progress.connect(watch))
    with qtbot.waitSignal(page.run_finished, timeout=180000) as sig:
        page.start_button.click()
    took = time.monotonic() - clicked["at"]
    print(f"\nStop clicked at epoch/step {clicked['step']}; run ended {took:.2f} s later")
    result = sig.args[0]
    assert result.status == "stopped"
    run = RunFolder(result.run_dir)
    done = len(run.history())
    assert 1 <= done < 8
    assert run.run_info().status == "stopped"
    assert window.state.run_dir == result.run_dir
    assert run.model_path.exists()  # the best epoch so far was kept
    assert "Resume" in page.banner.text()
    # A review: it said only "Resume … or go on to Evaluate", and Predict's note "A run
    # calibrated after training has one": the stopped run is not calibrated, so no "unknown"
    assert "not calibrated" in page.banner.text() and "unknown" in page.banner.text()
    from core.infer.loaders import load_predictor
    from gui.pages.predict.unknown_bar import unfinished_note

    unknown = next(p for p in window.pages if p.key == "predict").unknown
    unknown.show_model(load_predictor(result.run_dir), result.run_dir)
    note = unknown.bar.note.text()
    assert "stopped before the end" in note and "Resume on the Train page" in note
    assert page.resume_button.isEnabled() and page.start_button.isEnabled()
    assert "own settings" not in page.log.toPlainText()
    old_rate = window.state.config.train.learning_rate
    window.state.set("train.learning_rate", old_rate * 2)  # edited after the stop

    data = Path(window.state.config.data.data_dir)  # an image added since the run began
    shutil.copyfile(next((data / "dark").iterdir()), data / "bright" / "added_after.png")
    seen = []  # the banner as the resumed run trains: it said nothing of it (a review)
    page.run_started.connect(lambda job: job.progress.connect(  # (Stop is not pressed again)
        lambda ev: seen.append(page.banner.text()) if isinstance(ev, EpochEnd) else None))
    with qtbot.waitSignal(page.run_finished, timeout=180000) as sig2:
        page.resume_button.click()
        assert page.curves.val_x == [float(i) for i in range(1, done + 1)]  # history reloaded
    left = ("1 image added to the data folder since this run started is not in it: to use "
            "it, Fine-tune from this run on the Sort step (or start a new run).")
    assert seen and seen[0] == f"Resuming the run. {left}"
    assert left in page.banner.text() and page.banner.text().startswith("Training finished.")
    # Resume keeps the run's settings and says the page's edit waits for the next Start
    assert (f"own settings; your changes (train.learning_rate {old_rate!r} → "
            f"{old_rate * 2!r}) apply to the next Start") in page.log.toPlainText()
    assert RunFolder(result.run_dir).load_config().train.learning_rate == old_rate
    resumed = sig2.args[0]
    assert resumed.status == "completed" and resumed.run_dir == result.run_dir
    assert unfinished_note(result.run_dir) == ""  # completed: calibrated (or says why not)
    assert len(run.history()) == 8
    assert page.log.at_bottom()  # issue 15.8: the log still follows after Resume
    # both sessions' training time, as run.json records it (not only the resumed part)
    assert f"after {format_duration(run.run_info().seconds)} of training" in \
        page.status_label.text()
    assert page.curves.val_x == [float(i) for i in range(1, 9)]
    assert not page.resume_button.isEnabled()


def test_a_stop_before_the_first_epoch_says_start_again_and_keeps_no_current_run(
        qtbot, window, tmp_path, tiny_weights):
    """It said "Press Resume to continue it" with Resume disabled, and the empty run became
    the project's current run."""
    page = ready_page(qtbot, window, tmp_path, tiny_weights, epochs=8, fine_tune_epochs=0)
    before = window.state.run_dir

    def watch(ev):
        if isinstance(ev, BatchEnd) and ev.epoch == 1 and ev.step == 1:
            page.stop_button.click()

    page.run_started.connect(lambda job: job.progress.connect(watch))
    with qtbot.waitSignal(page.run_finished, timeout=180000) as sig:
        page.start_button.click()
    result = sig.args[0]
    assert result.status == "stopped" and not RunFolder(result.run_dir).model_path.exists()
    assert "Press Start to train again" in page.banner.text()
    assert "Resume" not in page.banner.text() and not page.resume_button.isEnabled()
    assert window.state.run_dir == before


def test_start_without_data_explains_what_to_do(qtbot, window):
    page = window.pages[3]
    window.show_page(3)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key_Return, Qt.ControlModifier)  # Ctrl+Return is Start here
    qtbot.waitUntil(lambda: "Data page" in page.banner.text(), timeout=3000)  # animated click
    assert window.current_page() is page  # not "Next"
    assert not window.runner.is_busy()


def test_train_log_lists_the_first_skipped_files_then_counts(qtbot, window):
    from core.events import FileSkipped

    train = next(p for p in window.pages if p.key == "train")
    before = len(train.log.toPlainText().splitlines())
    for i in range(500):
        train._on_event(FileSkipped(f"/data/a/z{i:04d}.jpg", "empty file (0 bytes)", "scan"))
    text = train.log.toPlainText()
    assert text.count("skipped /data/a/") == train.panel.skips.shown
    assert text.count("more files are skipped") == 1
    assert len(text.splitlines()) - before == train.panel.skips.shown + 1


def test_closing_the_window_while_training_stops_the_run(qtbot, window, tmp_path, tiny_weights,
                                                         monkeypatch):
    """Close during real training, answer "stop it?" Yes: the run stops, no thread is left,
    and the stopped run is in the project saved on the way out (the save question came
    before the stop, so the run's result arrived after the project was written)."""
    from core.project import load_project
    from gui.jobs import live_jobs

    asked = []

    def answer(_parent, title, text, *args, **kwargs):
        asked.append(title)
        return QMessageBox.Yes if title == "A job is running" else QMessageBox.Save

    monkeypatch.setattr(plain_text, "question", answer)
    page = ready_page(qtbot, window, tmp_path, tiny_weights, epochs=50, fine_tune_epochs=0)
    assert window.save_project_as(str(tmp_path / "p.ftsproj"))
    job = page.start()
    assert job is not None
    with qtbot.waitSignal(job.progress, timeout=180000,
                          check_params_cb=lambda ev: isinstance(ev, EpochEnd)):
        pass
    run_dir = page.current_run_dir()
    assert run_dir is not None and RunFolder(run_dir).run_info().status == "running"

    assert window.close()
    assert asked == ["A job is running", "Unsaved changes"] and not window.isVisible()
    project = load_project(tmp_path / "p.ftsproj")
    assert run_dir in project.runs and project.last_model == str(RunFolder(run_dir).model_path)
    # The engine turns the cancel into a "stopped" run: the job itself finishes with it.
    assert job.token.cancelled and job.state == "finished"
    assert job.result.status == "stopped" and job.result.run_dir == run_dir
    assert RunFolder(run_dir).run_info().status == "stopped"
    assert job.wait(0) and not live_jobs()  # the worker thread has ended


def test_status_bar_follows_the_phase_and_the_curves_mark_the_best_epoch(qtbot, window):
    """Issue 15.8: the status bar kept "computing validation features 100%" through the
    fine-tuning; the best epoch was not marked on the curves; the legend sat over the
    "fine-tuning" marker.  Events as the engine sends them, through the window's handlers."""
    from core.events import PhaseStarted, Progress

    page = window.pages[3]
    window.show_page(3)
    events = [Progress(10, 10, "computing validation features"),
              PhaseStarted("head", 2, 3, 1e-3)]
    accs = {("head", 1): 0.6, ("head", 2): 0.9, ("fine_tune", 1): 0.8, ("fine_tune", 2): 0.85}
    for phase, epochs in (("head", 2), ("fine_tune", 2)):
        if phase == "fine_tune":
            events.append(PhaseStarted("fine_tune", 2, 3, 1e-4))
        for epoch in (1, 2):
            events += [BatchEnd(phase, epoch, epochs, step, 3, 50.0, 1.0,
                                {"loss": 0.5, "accuracy": 0.7}) for step in (1, 2, 3)]
            events.append(EpochEnd(phase, epoch, epochs, {
                "loss": 0.5, "accuracy": 0.7, "val_loss": 1 - accs[(phase, epoch)],
                "val_accuracy": accs[(phase, epoch)]}, 1.0))
    seen = []
    for ev in events:
        window._on_job_event(ev)
        page._on_event(ev)
        if isinstance(ev, BatchEnd) and ev.phase == "fine_tune" and ev.epoch == 1 and ev.step == 2:
            seen.append((window.job_label.text(), window.job_progress.value(),
                         window.job_progress.maximum()))
    assert seen == [("Fine-tuning the backbone · epoch 1/2", 2, 6)]
    assert "validation features" not in window.job_label.text()

    curves = page.curves
    assert curves.best_x == 2.0  # head epoch 2: 90 %, the best of the four
    assert curves.best_point() == (2.0, {"loss": pytest.approx(0.1), "accuracy": 0.9})
    assert all(plot.plotItem.legend is None for plot in curves.plots.values())  # nothing on top
    assert curves.legend.isVisible() and "best&nbsp;epoch" in curves.legend.text()
    log = page.log.toPlainText().splitlines()
    assert [line for line in log if "best so far" in line][-1].endswith(
        "val_accuracy 0.9000  ★ best so far")


def test_best_epoch_is_given_within_its_phase_too():
    from gui.pages.train.outcome import best_epoch_text

    history = [{"phase": "head", "epoch": e, "global_epoch": e} for e in range(1, 11)] + \
        [{"phase": "fine_tune", "epoch": e, "global_epoch": 10 + e} for e in range(1, 11)]
    totals = {"head": 10, "fine_tune": 10}
    assert best_epoch_text(history, 12, totals) == "epoch 12 (fine-tune 2/10)"
    assert best_epoch_text(history, 3, totals) == "epoch 3 (head 3/10)"
    assert best_epoch_text([], 0, totals) == ""


def test_the_log_keeps_following_new_lines_when_it_gets_shorter(qtbot):
    """Issue 15.8: after Resume the run log stopped following new lines: the view got shorter
    (a banner, the curves) while it sat at the bottom, and Qt then leaves it where it was."""
    from PySide6.QtWidgets import QAbstractSlider

    from gui.widgets.following_log import FollowingLog

    log = FollowingLog(max_lines=150)
    qtbot.addWidget(log)
    log.resize(400, 300)
    log.show()
    for i in range(100):
        log.appendPlainText(f"line {i}")
    qtbot.waitUntil(log.at_bottom)
    log.resize(400, 120)  # the page's layout changed
    for i in range(80):  # past max_lines: old lines drop off the top
        log.appendPlainText(f"more {i}")
    qtbot.waitUntil(log.at_bottom, timeout=2000)
    bar = log.verticalScrollBar()
    bar.triggerAction(QAbstractSlider.SliderPageStepSub)  # the user scrolls up to read
    log.appendPlainText("while reading")
    assert not log.at_bottom()  # not yanked down while reading
    bar.triggerAction(QAbstractSlider.SliderToMaximum)
    log.appendPlainText("back")
    qtbot.waitUntil(log.at_bottom, timeout=2000)


def test_a_loss_spike_does_not_flatten_the_rest_of_the_loss_curve(qtbot):
    """Fine-tuning's first batches reached a loss of 120 in a screenshot run while the rest
    stayed near 1; the axis fitted the spike and every later point lay on the floor."""
    from gui.widgets.curves import TrainingCurves, loss_axis_top

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    losses = [1.1, 1.0, 0.9, 120.0, 40.0] + [1.0 - 0.01 * i for i in range(20)]
    for i, loss in enumerate(losses):
        curves.add_batch("head", 1 + i // 5, i % 5 + 1, 5, {"loss": loss, "accuracy": 0.5})
    curves.add_epoch("head", 1, {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.6,
                                 "val_accuracy": 0.5})
    low, high = curves.plots["loss"].viewRange()[1]
    assert low == 0 and 1.6 < high < 5  # every validation point and most training points
    assert high == pytest.approx(loss_axis_top(curves.train_loss, curves.val_loss))
    assert loss_axis_top([], []) is None and loss_axis_top([float("nan")], []) is None
    assert loss_axis_top([0.5], [float("nan")]) == pytest.approx(0.55)


def test_batch_points_are_drawn_together_not_one_redraw_each(qtbot):
    """Every batch event redrew both whole curves: 80-400 ms each at 5,000-100,000 points,
    20 times a second, and the window (its Stop button too) fell behind."""
    from gui.widgets.curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.add_epoch("head", 1, {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.2,
                                 "val_accuracy": 0.5})
    drawn = []
    item = curves._train_items["loss"]
    real = item.setData
    item.setData = lambda *a, **k: (drawn.append(len(a[0]) if a else 0), real(*a, **k))
    for i in range(2000):
        curves.add_batch("head", 2, i + 1, 2000, {"loss": 1.0 / (i + 1), "accuracy": 0.5})
    assert drawn == []  # nothing drawn per batch ...
    qtbot.waitUntil(lambda: bool(drawn) and drawn[-1] == 2000, timeout=5000)
    assert len(drawn) == 1  # ... and all of them in one redraw


def test_a_start_refused_before_training_began_is_not_called_failed(qtbot, window):
    """A Resume refused because another process trains the run showed "Failed" and
    "Training did not finish." beside the right banner, though the run trained on elsewhere
    (a review)."""
    window.show_page(3)
    page = window.pages[3]
    page._began = False  # as _launch leaves it until the engine says RunStarted
    page._on_failed("/runs/r is being trained by process 7 on vm; wait for it to end", "")
    assert page.progress.format() == "Not started"
    assert page.status_label.text() == "Nothing was trained: see the message above."
    page._began = True  # a run that had begun and then failed is still "Failed"
    page._on_failed("out of memory", "")
    assert page.progress.format() == "Failed"


def test_the_end_of_a_run_too_small_to_calibrate_says_it_will_not_answer_unknown(tmp_path):
    """A stop said "until it finishes it is not calibrated, so Predict cannot answer
    “unknown”" for a run with 2 validation images, which finishing never calibrates, and
    the finish said nothing of it (a review)."""
    from types import SimpleNamespace

    from core.runs.lock import release
    from core.train.engine import prepare_new_run
    from gui.pages.train.outcome import RunOutcome, ended_texts

    outcome = RunOutcome(12.0, 0.5, 2, "epoch 1 (head 1/2)")
    small, big = make_bright_dark(tmp_path / "small", 6), make_bright_dark(tmp_path / "big", 30)
    texts = {}
    for name, data in (("small", small), ("big", big)):
        _, run, _, _ = prepare_new_run(tiny_config(data), tmp_path / f"run_{name}", None, None,
                                       None, None)
        release(run)
        for status in ("stopped", "completed"):
            result = SimpleNamespace(status=status, run_dir=str(run.path))
            texts[name, status] = ended_texts(result, outcome, True)[1]
    few = len(RunFolder(tmp_path / "run_small").split().val)
    assert few < 10 <= len(RunFolder(tmp_path / "run_big").split().val)
    said = (f"This run has {few} validation images and calibration needs at least 10, so it "
            "cannot say “unknown”")
    assert said in texts["small", "stopped"] and "until it finishes" not in \
        texts["small", "stopped"]
    assert texts["small", "stopped"].startswith("Training stopped. The best epoch so far was "
                                                "kept.")
    assert said in texts["small", "completed"] and texts["small", "completed"].endswith(
        "Next: see where the model goes right and wrong on the Evaluate step →")
    assert "until it finishes it is not calibrated" in texts["big", "stopped"]



def test_a_run_s_warnings_end_its_banner_not_only_its_log(window, tmp_path):
    """A run calibrated on validation images of some classes only warned in the log alone,
    and the banner said "Training finished" as for any run (a review): the warnings the run
    logged end the banner, the first two in full; a shortfall of validation images, which the
    banner says in its own words, is not said twice; the next run starts with none."""
    from core.events import Log
    from core.runs.lock import release
    from core.runs.records import RunStatus
    from core.train.engine import prepare_new_run
    from core.train.device import DeviceInfo
    from core.train.finish import RunResult

    page = window.pages[3]
    unseen = ("calibrated without validation images of 1 of 2 classes ('bright'): the "
              "'unknown' threshold knows only the others")
    runs = {}
    for name, n in (("small", 6), ("big", 30)):
        _, run, _, _ = prepare_new_run(tiny_config(make_bright_dark(tmp_path / name, n)),
                                       tmp_path / f"run_{name}", None, None, None, None)
        release(run)
        runs[name] = RunResult(str(run.path), RunStatus.COMPLETED, 1, None,
                               DeviceInfo("CPU", 0, False, False, "default"), 1.0,
                               ["bright", "dark"], 32)
    page.panel.new_run()
    for message in (unseen, "the second", "the third"):
        page.panel.show_event(Log(message, "warning"))
    page.panel.show_event(Log("calibrated on 12 validation images"))  # info: not a warning
    page._on_finished(runs["big"])
    assert page.banner.text().startswith("Training finished.")
    assert page.banner.text().endswith(
        f"Evaluate step →\nWarning: C{unseen[1:]}. The second. (1 more in the log below.)")
    page.panel.new_run()
    few = ("only 2 validation images; calibration needs at least 10: probabilities stay "
           "uncalibrated")
    page.panel.show_event(Log(few, "warning"))
    page._on_finished(runs["small"])
    said = page.banner.text()
    assert "calibration needs at least 10, so it cannot say" in said  # the banner's words
    assert "Warning" not in said and few not in said
    page.panel.new_run()
    page._on_finished(runs["big"])
    assert "Warning" not in page.banner.text()

def test_the_intro_says_every_layer_learns_when_the_model_starts_from_random_weights(
        window, tmp_path):
    """With None (random start) on the Model page, which says every layer learns in both
    phases, the Train page still said the backbone stays frozen while the head learns (a
    review); the intro follows the weights, a project's included."""
    from core.config import StudioConfig

    page, model = window.pages[3], window.model_page
    assert "backbone stays frozen" in page.intro_label.text()
    model.w_none.click()
    assert window.state.config.model.weights == "none"
    text = page.intro_label.text()
    assert "random weights" in text and "every layer, BatchNorm included, learns in both" in text
    assert "frozen" not in text
    model.w_imagenet.click()
    assert "backbone stays frozen" in page.intro_label.text()
    cfg = StudioConfig()
    cfg.model.weights = "none"
    window.state.replace_config(cfg)
    assert "random weights" in page.intro_label.text()


def test_the_device_line_says_no_strategy_jargon(qtbot):
    """The Train page's device line said "strategy default" (a review): the strategy is said
    in words, and only when it spreads the work."""
    from core.events import DeviceChosen
    from core.train.device import decide
    from gui.pages.train.run_panel import RunPanel

    panel = RunPanel()
    qtbot.addWidget(panel)
    panel.show_event(DeviceChosen(decide("auto", "auto", "auto", [])))
    assert panel.device_label.text() == "Device: CPU; mixed precision off; XLA off"
    panel.show_event(DeviceChosen(decide("auto", "auto", "auto", ["GPU:0", "GPU:1"])))
    assert panel.device_label.text().endswith("; each batch split over the GPUs")
    assert "strategy" not in panel.device_label.text()
