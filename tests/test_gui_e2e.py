"""End to end in one real window, the way a user goes through the app.

Data folder → Model (MobileNetV3Small from a weights file, 32 px) → Train (1 head + 1
fine-tune epoch) → Evaluate → Predict (a real drop on the window) → Export (keras +
tflite) → save the project, close, and reopen it in a new window.  Every step clicks the
page's real buttons and waits for the real signals of the jobs it starts, so a wire
missing between two pages (a run not handed on, a setting not saved) fails here even
when each page's own test passes.
"""

import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox
from weights_fixture import make_bright_dark

from core.config import StudioConfig
from core.events import BatchEnd, EpochEnd
from core.runs.folder import RunFolder
from gui import recent
from gui.main_window import MainWindow
from gui.pages.train_page import runs_base_dir

DATA, MODEL, AUGMENT, TRAIN, EVALUATE, PREDICT, EXPORT = range(7)


def new_window(qtbot) -> MainWindow:
    w = MainWindow(load_tensorflow=False)
    qtbot.addWidget(w, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    w.show()
    return w


def click(qtbot, button) -> None:
    """A real mouse click on a visible, enabled push button."""
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.LeftButton)


def run_job(qtbot, window, done_signal, action, timeout_ms: int):
    """Do ``action`` (which starts the window's one job) and wait for ``done_signal``.

    A job that fails or is cancelled ends the wait at once with its message
    instead of letting the test sit out the whole timeout.
    """
    problems = []
    with qtbot.waitSignal(done_signal, timeout=timeout_ms) as blocker:
        action()
        job = window.runner.current
        assert job is not None, window.current_page().banner.text()
        job.failed.connect(lambda msg, _tb: problems.append(msg))
        job.cancelled.connect(lambda: problems.append("cancelled"))
        blocker.connect(job.failed)
        blocker.connect(job.cancelled)
    assert not problems, problems
    return blocker.args


def test_whole_flow_in_one_window_then_reopen_the_project(qtbot, tmp_path, tiny_weights,
                                                          monkeypatch):
    from core.infer.loaders import load_predictor

    t0 = time.monotonic()
    timings = {}
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[1]) or QMessageBox.Discard)
    data = make_bright_dark(tmp_path / "data")  # 24 bright + 24 dark, 40 px
    window = new_window(qtbot)
    state = window.state

    # -- 1. Data: Choose image folder… (the dialog answers with our folder) ------------------
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(data))
    page = window.data_page
    assert window.current_page() is page and not page.next_button.isEnabled()
    with qtbot.waitSignal(page.scan_finished, timeout=60000) as sig:
        click(qtbot, page.choose_button)
        sig.connect(page.scan_failed)
    report = sig.args[0]
    assert report.counts == {"bright": 24, "dark": 24}
    assert state.config.data.data_dir == str(data) and state.dataset_report is report
    table = page.class_table
    assert [(table.item(r, 0).text(), table.item(r, 1).text())
            for r in range(table.rowCount())] == [("bright", "24"), ("dark", "24")]
    assert page.chart.values == [24, 24]
    assert "48 images" in page.summary_label.text()
    assert window.sidebar.item(DATA).text().endswith("✓")
    click(qtbot, page.next_button)
    timings["data"] = time.monotonic() - t0

    # -- 2. Model: MobileNetV3Small, 32 px, weights from a file ------------------------------
    model = window.model_page
    assert window.current_page() is model
    row = next(r for r in range(model.table.rowCount())
               if model.table.item(r, 0).data(Qt.UserRole) == "MobileNetV3Small")
    item = model.table.item(row, 0)
    model.table.scrollToItem(item)
    # Opening the page started listing the default backbone's layers; wait for the list
    # of the backbone chosen here.
    with qtbot.waitSignal(model.layers_ready, timeout=120000,
                          check_params_cb=lambda _n: model._model_key[:2] == (
                              "MobileNetV3Small", 32)):
        qtbot.mouseClick(model.table.viewport(), Qt.LeftButton,
                         pos=model.table.visualItemRect(item).center())
        assert state.config.model.backbone == "MobileNetV3Small"
        model.size_spin.setValue(32)  # inside the 300 ms rebuild delay: one layer list
    assert state.config.model.image_size == 32
    assert model.total_params > 0 and model.tree.topLevelItemCount() > 0

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (tiny_weights, ""))
    with qtbot.waitSignal(state.config_changed, timeout=60000,
                          check_params_cb=lambda path: path == "model.weights"):
        # "From a file:" with no path yet asks for the file, then checks it in a worker
        qtbot.mouseClick(model.w_file, Qt.LeftButton,
                         pos=QPoint(8, model.w_file.height() // 2))
        assert model.w_file.isChecked()
    assert state.config.model.weights == str(Path(tiny_weights).absolute())
    assert model.weights_status.text() == "The file fits this backbone."
    assert model.w_path.text() == state.config.model.weights and model.w_path.isEnabled()
    assert not model.banner.isVisible()
    click(qtbot, model.next_button)
    assert window.current_page() is window.augment_page
    click(qtbot, window.augment_page.next_button)
    timings["model"] = time.monotonic() - t0

    # -- 3. Train: 1 head epoch + 1 fine-tune epoch, batches of 8, Start --------------------
    train = window.pages[TRAIN]
    assert window.current_page() is train
    train.epochs_spin.setValue(1)
    train.ft_epochs_spin.setValue(1)
    train.batch_spin.setValue(8)
    t = state.config.train
    assert (t.epochs, t.fine_tune_epochs, t.batch_size) == (1, 1, 8)
    assert "batches of 8" in train.steps_hint.text()
    assert "2 epochs at most" in train.steps_hint.text()
    events = []
    train.run_started.connect(lambda job: job.progress.connect(
        lambda ev: isinstance(ev, (BatchEnd, EpochEnd)) and events.append(ev)))

    def start():
        click(qtbot, train.start_button)
        assert not train.start_button.isEnabled() and train.stop_button.isEnabled()

    (result,) = run_job(qtbot, window, train.run_finished, start, 240000)
    assert result.status == "completed"
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [(e.phase, e.epoch) for e in epochs] == [("head", 1), ("fine_tune", 1)]
    assert any(isinstance(e, BatchEnd) for e in events)
    curves = train.curves
    # batch points inside the epochs (fractional x) and a validation point per epoch
    assert len(curves.train_x) > len(curves.val_x) == 2
    assert any(abs(x - round(x)) > 1e-6 for x in curves.train_x), curves.train_x
    assert curves.val_x == [1.0, 2.0]
    assert curves.val_acc == pytest.approx([e.metrics["val_accuracy"] for e in epochs])
    assert [p for _x, p in curves.phase_markers] == ["fine_tune"]
    run_dir = Path(state.run_dir)
    assert run_dir == Path(result.run_dir) and run_dir.parent == runs_base_dir()
    assert state.last_model == str(run_dir / "model.keras")
    assert (run_dir / "model.keras").is_file() and (run_dir / "metrics.json").is_file()
    run_cfg = RunFolder(run_dir).load_config()
    assert run_cfg.model.backbone == "MobileNetV3Small" and run_cfg.model.image_size == 32
    assert run_cfg.model.weights == state.config.model.weights
    assert (run_cfg.train.epochs, run_cfg.train.fine_tune_epochs) == (1, 1)
    assert train.progress.format() == "Finished"
    assert train.start_button.isEnabled() and not train.stop_button.isEnabled()
    timings["train"] = time.monotonic() - t0

    # -- 4. Evaluate: the run's own results ---------------------------------------------------
    evaluate = window.pages[EVALUATE]
    saved = json.loads((run_dir / "metrics.json").read_text())
    with qtbot.waitSignal(evaluate.metrics_shown, timeout=10000) as sig:
        click(qtbot, train.next_button)
    assert window.current_page() is evaluate
    metrics = sig.args[0]
    assert evaluate.content.isVisible() and not evaluate.empty_label.isVisible()
    assert evaluate.confusion.counts() == saved["confusion"] == metrics.confusion
    assert sum(map(sum, saved["confusion"])) == saved["n_images"] == metrics.n_images > 0
    assert evaluate.accuracy_label.text() == f"{saved['accuracy']:.1%}"
    assert f"{saved['macro_f1']:.3f}" in evaluate.summary_label.text()
    assert [evaluate.class_table.item(r, 0).text()
            for r in range(evaluate.class_table.rowCount())] == saved["classes"] == \
        ["bright", "dark"]
    assert run_dir.name in evaluate.source_label.text()
    click(qtbot, evaluate.next_button)
    timings["evaluate"] = time.monotonic() - t0

    # -- 5. Predict: drop a dataset image on the window ---------------------------------------
    predict = window.pages[PREDICT]
    assert window.current_page() is predict
    assert str(run_dir / "model.keras") in predict.model_label.text()
    image = str(data / "dark" / "dark_5.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(image)])
    enter = QDragEnterEvent(QPoint(300, 300), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QCoreApplication.sendEvent(window, enter)
    assert enter.isAccepted()  # the window takes image files while Predict shows
    drop = QDropEvent(QPointF(300, 300), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    (n_new,) = run_job(qtbot, window, predict.predictions_ready,
                       lambda: QCoreApplication.sendEvent(window, drop), 120000)
    assert drop.isAccepted() and n_new == 1
    assert window.current_page() is predict
    assert state.config.data.data_dir == str(data)  # the drop did not go to the Data page
    rows = predict.table_rows()
    assert [r["path"] for r in rows] == [image] and not rows[0]["error"]
    expected = load_predictor(str(run_dir)).predict_paths([image])[0]
    assert rows[0]["label"] == expected.label
    assert rows[0]["confidence"] == pytest.approx(expected.confidence, abs=1e-5)
    assert "keras" in predict.model_label.text()  # the loaded model is described
    click(qtbot, predict.next_button)
    timings["predict"] = time.monotonic() - t0

    # -- 6. Export: keras + tflite into tmp_path/export --------------------------------------
    export = window.pages[EXPORT]
    assert window.current_page() is export
    assert str(run_dir) in export.source_label.text()
    for fmt, check in export.format_checks.items():
        if check.isChecked() != (fmt in ("keras", "tflite")):
            check.click()
    assert export.selected_formats() == ["keras", "tflite"]
    assert state.config.export.formats == ["keras", "tflite"]
    export.parity_spin.setValue(6)
    out = tmp_path / "export"
    qtbot.keyClicks(export.out_edit, str(out))
    qtbot.keyClick(export.out_edit, Qt.Key_Return)
    assert state.config.export.out_dir == str(out)
    (report,) = run_job(qtbot, window, export.export_finished,
                        lambda: click(qtbot, export.export_button), 300000)
    rows = {r["Format"]: r for r in export.report_rows()}
    assert set(rows) == {"keras", "tflite"}
    for fmt, name in (("keras", "model.keras"), ("tflite", "model.tflite")):
        assert rows[fmt]["Result"] == "PASS", report.to_text()
        assert rows[fmt]["File"] == name
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    assert report.ok and export.open_button.isEnabled()
    timings["export"] = time.monotonic() - t0

    # -- 7. Save the project, close, reopen it in a new window --------------------------------
    assert state.dirty  # everything above changed the project
    saved_cfg = state.config.copy()
    assert saved_cfg != StudioConfig()
    project = tmp_path / "flow.ftsproj"
    assert window.save_project_as(str(project))
    assert project.is_file() and not state.dirty
    assert recent.recent_projects()[0] == str(project)
    stored = json.loads(project.read_text())
    assert stored["config"]["data"]["data_dir"] == "data"  # beside the project: relative
    assert stored["runs"] == [str(run_dir)]
    assert window.close()
    assert not window.isVisible() and asked == []  # saved: closing asks nothing
    assert not window.runner.is_busy()

    second = new_window(qtbot)
    assert second.state.config == StudioConfig() and second.state.run_dir is None
    with qtbot.waitSignal(second.data_page.scan_finished, timeout=60000) as sig:
        assert second.open_project(str(project))  # reopening rescans the image folder
    assert sig.args[0].counts == {"bright": 24, "dark": 24}
    s2 = second.state
    assert s2.config == saved_cfg and s2.config is not saved_cfg
    assert s2.config.data.data_dir == str(data)
    assert s2.config.model.weights == str(Path(tiny_weights).absolute())
    assert s2.config.export.out_dir == str(out)
    assert s2.run_dir == str(run_dir) and s2.runs == [str(run_dir)]
    assert s2.last_model == str(run_dir / "model.keras")
    assert s2.project_path == str(project) and not s2.dirty
    # the pages show what was restored
    assert second.model_page.size_spin.value() == 32 and second.model_page.w_file.isChecked()
    assert second.pages[TRAIN].epochs_spin.value() == 1
    assert second.pages[EXPORT].selected_formats() == ["keras", "tflite"]
    evaluate2 = second.pages[EVALUATE]
    with qtbot.waitSignal(evaluate2.metrics_shown, timeout=10000) as sig:
        second.show_page(EVALUATE)
    assert evaluate2.confusion.counts() == saved["confusion"]
    second.show_page(PREDICT)
    assert second.pages[PREDICT].current_model_path() == str(run_dir / "model.keras")
    second.show_page(EXPORT)
    assert str(run_dir) in second.pages[EXPORT].source_label.text()
    assert not s2.dirty  # looking around changed nothing
    timings["reopen"] = time.monotonic() - t0
    print("\ncumulative seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
