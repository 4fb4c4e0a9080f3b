"""End to end in one real window, the way a user goes through the app.

Data folder → Model (MobileNetV3Small from a weights file, 32 px) → Train (1 head + 1
fine-tune epoch) → Evaluate → Predict (a real drop on the window) → Export (keras +
tflite) → save the project, close, and reopen it in a new window.  Every step clicks the
page's real buttons and waits for the real signals of the jobs it starts, so a wire
missing between two pages (a run not handed on, a setting not saved) fails here even
when each page's own test passes.

The first three steps run once for the module (:func:`flow`: a window that has
scanned, chosen a model and trained, with what each step showed recorded); every step
is then checked by a test of its own, and the later steps continue in that window, so
one failing step does not hide what the others would have found.
"""

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox
from weights_fixture import make_bright_dark

from core.config import StudioConfig
from core.events import BatchEnd, EpochEnd
from core.runs.folder import RunFolder
from gui import plain_text, recent
from gui.main_window import MainWindow
from gui.pages.train.page import runs_base_dir

DATA, MODEL, AUGMENT, TRAIN, EVALUATE, PREDICT, SORT, EXPORT = range(8)


def click(bot, button) -> None:
    """A real mouse click on a visible, enabled push button."""
    assert button.isVisible() and button.isEnabled(), button.text()
    bot.mouseClick(button, Qt.LeftButton)


def run_job(bot, window, done_signal, action, timeout_ms: int):
    """Do ``action`` (which starts the window's one job) and wait for ``done_signal``.

    A job that fails or is cancelled ends the wait at once with its message
    instead of letting the test sit out the whole timeout.
    """
    problems = []
    with bot.waitSignal(done_signal, timeout=timeout_ms) as blocker:
        action()
        job = window.runner.current
        assert job is not None, window.current_page().banner.text()
        job.failed.connect(lambda msg, _tb: problems.append(msg))
        job.cancelled.connect(lambda: problems.append("cancelled"))
        blocker.connect(job.failed)
        blocker.connect(job.cancelled)
    assert not problems, problems
    return blocker.args


def choose_data(bot, window, data: Path) -> dict:
    """Step 1: "Choose image folder…" (the dialog answers with ``data``)."""
    page = window.data_page
    seen = {"next_enabled_before": page.next_button.isEnabled()}
    with bot.waitSignal(page.scan_finished, timeout=60000) as sig:
        click(bot, page.choose_button)
        sig.connect(page.scan_failed)
    table = page.class_table
    seen.update(report=sig.args[0], chart=list(page.chart.values),
                rows=[(table.item(r, 0).text(), table.item(r, 1).text())
                      for r in range(table.rowCount())],
                summary=page.summary_label.text(), sidebar=window.sidebar.item(DATA).text())
    click(bot, page.next_button)
    return seen


def choose_model(bot, window, weights: str) -> dict:
    """Step 2: MobileNetV3Small by a click in the table, 32 px, weights from a file."""
    model = window.model_page
    row = next(r for r in range(model.table.rowCount())
               if model.table.item(r, 0).data(Qt.UserRole) == "MobileNetV3Small")
    item = model.table.item(row, 0)
    model.table.scrollToItem(item)
    # Opening the page started listing the default backbone's layers; wait for the list
    # of the backbone chosen here.
    with bot.waitSignal(model.layers_ready, timeout=120000,
                        check_params_cb=lambda _n: model.built_key[:2] == (
                            "MobileNetV3Small", 32)):
        bot.mouseClick(model.table.viewport(), Qt.LeftButton,
                       pos=model.table.visualItemRect(item).center())
        model.size_spin.setValue(32)  # inside the 300 ms rebuild delay: one layer list
    seen = {"total_params": model.total_params, "blocks": model.tree.topLevelItemCount()}
    with bot.waitSignal(window.state.config_changed, timeout=60000,
                        check_params_cb=lambda path: path == "model.weights"):
        # "From a file:" with no path yet asks for the file, then checks it in a worker
        bot.mouseClick(model.w_file, Qt.LeftButton, pos=QPoint(8, model.w_file.height() // 2))
    seen.update(status=model.weights_status.text(), path=model.w_path.text(),
                path_enabled=model.w_path.isEnabled(), banner=model.banner.isVisible())
    click(bot, model.next_button)
    click(bot, window.augment_page.next_button)
    return seen


def train(bot, window) -> dict:
    """Step 3: 1 head epoch + 1 fine-tune epoch in batches of 8, then Start."""
    page = window.pages[TRAIN]
    page.epochs_spin.setValue(1)
    page.ft_epochs_spin.setValue(1)
    page.batch_spin.setValue(8)
    seen = {"hint": page.steps_hint.text(), "events": []}
    page.run_started.connect(lambda job: job.progress.connect(
        lambda ev: isinstance(ev, (BatchEnd, EpochEnd)) and seen["events"].append(ev)))

    def start():
        click(bot, page.start_button)
        seen["buttons_while_running"] = (page.start_button.isEnabled(),
                                         page.stop_button.isEnabled())

    (seen["result"],) = run_job(bot, window, page.run_finished, start, 240000)
    return seen


@pytest.fixture(scope="module")
def flow(request, qapp, tmp_path_factory, tiny_weights):
    """A window that went through Data, Model and Train by clicks; what each step showed."""
    from pytestqt.qtbot import QtBot

    base = tmp_path_factory.mktemp("e2e")
    home = tmp_path_factory.mktemp("e2e-home")  # apart from the project: runs stay absolute
    asked = []
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"),
                         ("XDG_DATA_HOME", ".local/share"), ("KERAS_HOME", ".keras"),
                         ("FTS_DATA_DIR", "studio-data")):
            mp.setenv(var, str(home / sub))
        mp.setattr(plain_text, "question",
                   lambda *a, **k: asked.append(a[1]) or QMessageBox.Discard)
        data = make_bright_dark(base / "data")  # 24 bright + 24 dark, 40 px
        mp.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(data))
        mp.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (tiny_weights, ""))
        bot = QtBot(request)
        window = MainWindow(load_tensorflow=False)
        window.show()
        try:
            steps = {"data": choose_data(bot, window, data),
                     "model": choose_model(bot, window, tiny_weights),
                     "train": train(bot, window)}
            yield {"window": window, "data_dir": data, "base": base, "asked": asked,
                   "weights": tiny_weights, "runs_base": runs_base_dir(), **steps}
        finally:
            window.state.mark_saved()
            window.close()
            window.shutdown()


def test_data_step_scans_the_chosen_folder(flow):
    seen, window = flow["data"], flow["window"]
    assert not seen["next_enabled_before"]  # nothing to go on with before a scan
    assert seen["report"].counts == {"bright": 24, "dark": 24}
    assert window.state.config.data.data_dir == str(flow["data_dir"])
    assert window.state.dataset_report is seen["report"]
    assert seen["rows"] == [("bright", "24"), ("dark", "24")]
    assert seen["chart"] == [24, 24]
    assert "48 images" in seen["summary"]
    assert seen["sidebar"].endswith("✓")


def test_model_step_sets_backbone_size_and_weights_file(flow):
    seen, state = flow["model"], flow["window"].state
    assert state.config.model.backbone == "MobileNetV3Small"
    assert state.config.model.image_size == 32
    assert seen["total_params"] > 0 and seen["blocks"] > 0
    assert state.config.model.weights == str(Path(flow["weights"]).absolute())
    assert seen["status"] == "The file fits this backbone."
    assert seen["path"] == state.config.model.weights and seen["path_enabled"]
    assert not seen["banner"]


def test_train_step_shows_live_curves_and_hands_on_the_run(flow):
    seen, window = flow["train"], flow["window"]
    state, page = window.state, window.pages[TRAIN]
    assert "batches of 8" in seen["hint"] and "2 epochs at most" in seen["hint"]
    assert seen["buttons_while_running"] == (False, True)
    result = seen["result"]
    assert result.status == "completed"
    epochs = [e for e in seen["events"] if isinstance(e, EpochEnd)]
    assert [(e.phase, e.epoch) for e in epochs] == [("head", 1), ("fine_tune", 1)]
    assert any(isinstance(e, BatchEnd) for e in seen["events"])
    curves = page.curves
    # batch points inside the epochs (fractional x) and a validation point per epoch
    assert len(curves.train_x) > len(curves.val_x) == 2
    assert any(abs(x - round(x)) > 1e-6 for x in curves.train_x), curves.train_x
    assert curves.val_x == [1.0, 2.0]
    assert curves.val_acc == pytest.approx([e.metrics["val_accuracy"] for e in epochs])
    assert [p for _x, p in curves.phase_markers] == ["fine_tune"]
    run = RunFolder(state.run_dir)
    assert run.path == Path(result.run_dir) and run.path.parent == flow["runs_base"]
    assert state.last_model == str(run.model_path)
    assert run.model_path.is_file() and run.metrics_path.is_file()
    run_cfg = run.load_config()
    assert run_cfg.model.backbone == "MobileNetV3Small" and run_cfg.model.image_size == 32
    assert run_cfg.model.weights == state.config.model.weights
    assert (run_cfg.train.epochs, run_cfg.train.fine_tune_epochs) == (1, 1)
    assert page.progress.format() == "Finished"
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()


def test_evaluate_step_shows_the_new_runs_results(qtbot, flow):
    window = flow["window"]
    run_dir = Path(flow["train"]["result"].run_dir)
    evaluate = window.pages[EVALUATE]
    saved = json.loads(RunFolder(run_dir).metrics_path.read_text())
    window.show_page(TRAIN)
    with qtbot.waitSignal(evaluate.metrics_shown, timeout=10000) as sig:
        click(qtbot, window.pages[TRAIN].next_button)
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


def test_predict_step_takes_a_drop_on_the_window(qtbot, flow):
    from core.infer.loaders import load_predictor

    window, data = flow["window"], flow["data_dir"]
    run = RunFolder(flow["train"]["result"].run_dir)
    window.show_page(EVALUATE)
    click(qtbot, window.pages[EVALUATE].next_button)
    predict = window.pages[PREDICT]
    assert window.current_page() is predict
    assert str(run.model_path) in predict.model_label.text()
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
    assert window.state.config.data.data_dir == str(data)  # the drop did not go to Data
    rows = predict.table_rows()
    assert [r["path"] for r in rows] == [image] and not rows[0]["error"]
    expected = load_predictor(str(run.path)).predict_paths([image])[0]
    # The same answer as the CLI's predictor, "unknown" included (the tiny model may call
    # a training image unlike the others: its threshold keeps 95% of validation images).
    assert rows[0]["label"] == expected.shown_label
    assert rows[0]["confidence"] == pytest.approx(expected.confidence, abs=1e-5)
    assert "keras" in predict.model_label.text()  # the loaded model is described


def choose_export(qtbot, export, out: Path) -> None:
    """keras + tflite into ``out``, 6 parity images, through the page's widgets."""
    for fmt, check in export.format_checks.items():
        if check.isChecked() != (fmt in ("keras", "tflite")):
            check.click()
    export.parity_spin.setValue(6)
    export.out_edit.clear()
    qtbot.keyClicks(export.out_edit, str(out))
    qtbot.keyClick(export.out_edit, Qt.Key_Return)


def test_export_step_writes_keras_and_tflite(qtbot, flow):
    window = flow["window"]
    run_dir = flow["train"]["result"].run_dir
    window.show_page(PREDICT)
    click(qtbot, window.pages[PREDICT].next_button)
    assert window.current_page() is window.pages[SORT]
    click(qtbot, window.pages[SORT].next_button)
    export = window.pages[EXPORT]
    assert window.current_page() is export
    assert str(run_dir) in export.source_label.text()
    out = flow["base"] / "export"
    choose_export(qtbot, export, out)
    assert export.selected_formats() == ["keras", "tflite"]
    assert window.state.config.export.formats == ["keras", "tflite"]
    assert window.state.config.export.out_dir == str(out)
    (report,) = run_job(qtbot, window, export.export_finished,
                        lambda: click(qtbot, export.export_button), 300000)
    rows = {r["Format"]: r for r in export.report_rows()}
    assert set(rows) == {"keras", "tflite"}
    for fmt, name in (("keras", "model.keras"), ("tflite", "model.tflite")):
        assert rows[fmt]["Result"] == "PASS", report.to_text()
        assert rows[fmt]["File"] == name
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    assert report.ok and export.open_button.isEnabled()


def test_project_saved_closed_and_reopened_in_a_new_window(qtbot, flow):
    window, data = flow["window"], flow["data_dir"]
    state, run_dir = window.state, Path(flow["train"]["result"].run_dir)
    out = flow["base"] / "export"
    window.show_page(EXPORT)
    choose_export(qtbot, window.pages[EXPORT], out)  # the same settings the export test made
    saved_cfg = state.config.copy()
    assert saved_cfg != StudioConfig()
    project = flow["base"] / "flow.ftsproj"
    assert window.save_project_as(str(project))
    assert project.is_file() and not state.dirty
    assert recent.recent_projects()[0] == str(project)
    stored = json.loads(project.read_text())
    assert stored["config"]["data"]["data_dir"] == "data"  # beside the project: relative
    assert stored["runs"] == [str(run_dir)]
    assert window.close()
    assert not window.isVisible() and flow["asked"] == []  # saved: closing asks nothing
    assert not window.runner.is_busy()

    second = MainWindow(load_tensorflow=False)
    qtbot.addWidget(second, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    second.show()
    assert second.state.config == StudioConfig() and second.state.run_dir is None
    with qtbot.waitSignal(second.data_page.scan_finished, timeout=60000) as sig:
        assert second.open_project(str(project))  # reopening rescans the image folder
    assert sig.args[0].counts == {"bright": 24, "dark": 24}
    s2 = second.state
    assert s2.config == saved_cfg and s2.config is not saved_cfg
    assert s2.config.data.data_dir == str(data)
    assert s2.config.model.weights == str(Path(flow["weights"]).absolute())
    assert s2.config.export.out_dir == str(out)
    assert s2.run_dir == str(run_dir) and s2.runs == [str(run_dir)]
    assert s2.last_model == str(RunFolder(run_dir).model_path)
    assert s2.project_path == str(project) and not s2.dirty
    # the pages show what was restored
    assert second.model_page.size_spin.value() == 32 and second.model_page.w_file.isChecked()
    assert second.pages[TRAIN].epochs_spin.value() == 1
    assert second.pages[EXPORT].selected_formats() == ["keras", "tflite"]
    evaluate2 = second.pages[EVALUATE]
    with qtbot.waitSignal(evaluate2.metrics_shown, timeout=10000):
        second.show_page(EVALUATE)
    saved = json.loads(RunFolder(run_dir).metrics_path.read_text())
    assert evaluate2.confusion.counts() == saved["confusion"]
    second.show_page(PREDICT)
    assert second.pages[PREDICT].current_model_path() == str(RunFolder(run_dir).model_path)
    second.show_page(EXPORT)
    assert str(run_dir) in second.pages[EXPORT].source_label.text()
    assert not s2.dirty  # looking around changed nothing
