"""Export page: settings edit config.export; a real export of keras + tflite, checked."""

import json
import os
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from core.formats import NAMES

EXPORT_INDEX = 7
PREDICT_INDEX = 5


def test_the_page_offers_every_format_of_the_table(window):
    page = window.pages[EXPORT_INDEX]
    assert tuple(page.format_checks) == NAMES


def test_settings_edit_the_one_config(window):
    window.show_page(EXPORT_INDEX)
    page = window.current_page()
    assert page.key == "export"
    assert "No model yet" in page.source_label.text()
    assert not page.export_button.isEnabled()
    for fmt, check in page.format_checks.items():
        check.setChecked(fmt in ("tflite", "onnx"))
    assert window.state.config.export.formats == ["tflite", "onnx"]
    assert not page.calib_spin.isEnabled()  # only int8 calibrates
    page.format_checks["tflite-int8"].setChecked(True)
    assert page.calib_spin.isEnabled()
    page.calib_spin.setValue(50)
    page.parity_spin.setValue(8)
    assert window.state.config.export.int8_calibration_images == 50
    assert window.state.config.export.parity_images == 8
    page.checks.spins["export.int8_max_float_layers"].setValue(4)
    page.checks.spins["export.int8_min_agreement"].setValue(97.5)  # shown in percent
    assert window.state.config.export.int8_max_float_layers == 4
    assert window.state.config.export.int8_min_agreement == 0.975
    assert page.checks.bias_check.isChecked() and page.checks.bias_check.isEnabled()
    page.checks.bias_check.setChecked(False)
    assert window.state.config.export.int8_bias_correction is False
    assert page.checks.rounding_check.isChecked() and page.checks.rounding_check.isEnabled()
    page.checks.rounding_check.setChecked(False)
    assert window.state.config.export.int8_weight_rounding is False
    page.format_checks["tflite-int8"].setChecked(False)
    assert not page.checks.spins["export.int8_max_float_layers"].isEnabled()
    assert not page.checks.bias_check.isEnabled()
    assert not page.checks.rounding_check.isEnabled()
    # a project loaded later shows its own settings
    cfg = window.state.config.copy()
    cfg.export.formats = ["keras"]
    cfg.export.out_dir = "/somewhere/out"
    cfg.export.int8_bias_correction = True
    cfg.export.int8_weight_rounding = True
    window.state.replace_config(cfg)
    assert page.selected_formats() == ["keras"]
    assert page.checks.bias_check.isChecked() and page.checks.rounding_check.isChecked()
    assert page.out_edit.text() == "/somewhere/out"
    assert not page.start_export()  # still no model: a message, no job
    assert "no model to export" in page.banner.text()


def test_export_keras_and_tflite(qtbot, window, trained_run, tmp_path, monkeypatch):
    window.resize(window.minimumSize())  # the narrowest table: rows grew six lines tall here
    window.state.set_run(str(trained_run))
    window.show_page(EXPORT_INDEX)
    page = window.current_page()
    assert str(trained_run) in page.source_label.text()
    assert page.default_out_dir() == str(Path(trained_run).parent / f"{Path(trained_run).name}"
                                         "-export")
    page.set_formats(["keras", "tflite"])
    page.parity_spin.setValue(6)
    out = tmp_path / "exported"
    window.state.set("export.out_dir", str(out))
    assert page.out_edit.text() == str(out)

    with qtbot.waitSignal(page.export_finished, timeout=300000) as sig:
        assert page.start_export()
        assert not page.export_button.isEnabled()  # one export at a time
    report = sig.args[0]
    rows = {r["Format"]: r for r in page.report_rows()}
    assert set(rows) == {"keras", "tflite"}
    for fmt, name in (("keras", "model.keras"), ("tflite", "model.tflite")):
        assert rows[fmt]["Result"] == "PASS", report.to_text()
        assert (out / name).is_file()
        assert rows[fmt]["File"] == name
        assert rows[fmt]["Top-1 agreement"] == "6/6 (100.0%)"
        assert "max |Δp| <= 0.0001" in rows[fmt]["Bound for PASS"]
        assert float(rows[fmt]["Max |Δp|"]) <= 1e-4
        assert rows[fmt]["Latency (CPU, 1 image)"].endswith(" ms")
        assert rows[fmt]["Size"] != "–"
    assert json.loads((out / "metadata.json").read_text())["export_config"]["parity_images"] == 6
    assert not page.failures_label.isVisible()
    # one line a row, whatever the width (an export finished at 900 px left rows six lines
    # tall, the bound wrapped in a 26 px column, also once the window grew; a review)
    table = page.table
    one_line = table.verticalHeader().defaultSectionSize()
    assert all(table.rowHeight(i) <= one_line for i in range(table.rowCount()))
    assert not table.wordWrap()
    assert page.log.toPlainText()  # the exporter's progress lines were shown
    assert page.export_button.isEnabled()
    # formats judged on agreement are checked on more images than the others: "up to"
    assert "checked on up to" in page.status_label.text()

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    assert page.open_button.isEnabled()
    page.open_button.click()
    assert opened == [QUrl.fromLocalFile(str(out))]

    # The exported .tflite opens on the Predict page; Grad-CAM explains it needs .keras.
    window.show_page(PREDICT_INDEX)
    predict = window.current_page()
    with qtbot.waitSignal(predict.model_loaded, timeout=120000) as sig:
        assert predict.open_model(str(out / "model.tflite"))
    assert sig.args[0].kind == "tflite"
    assert "tflite" in predict.model_label.text()
    assert not predict.gradcam_check.isChecked() and not predict.gradcam_check.isEnabled()
    assert "TensorFlow Lite" in predict.gradcam_bar.note.text()
    image = str(Path(trained_run).parent / "data" / "dark" / "dark_1.png")
    with qtbot.waitSignal(predict.predictions_ready, timeout=120000):
        assert predict.add_paths([image])
    row = predict.table_rows()[0]
    assert row["path"] == os.path.abspath(image) and row["label"] in ("bright", "dark")


def test_a_failing_format_is_reported_with_its_reason(qtbot, window, trained_run, tmp_path,
                                                      monkeypatch):
    """The tflite builder raises like a converter bug: its reason is shown, nothing written."""
    from core.export import builders

    def broken(build, work):
        raise RuntimeError("converter exploded: unsupported op FancyOp")

    monkeypatch.setitem(builders.BUILDERS, "tflite", broken)
    page = window.pages[EXPORT_INDEX]
    page.set_source(str(Path(trained_run) / "model.keras"))
    assert "chosen here" in page.source_label.text()
    page.set_formats(["tflite"])
    page.parity_spin.setValue(4)
    window.state.set("export.out_dir", str(tmp_path / "out"))
    with qtbot.waitSignal(page.export_finished, timeout=300000):
        assert page.start_export()
    rows = page.report_rows()
    assert [(r["Format"], r["Result"]) for r in rows] == [("tflite", "FAILED")]
    assert "FancyOp" in page.failures_label.text()
    assert page.failures_label.isVisibleTo(page)
    assert "1 of 1 formats failed" in page.banner.text()
    assert "Nothing was written" in page.status_label.text()
    assert not page.open_button.isEnabled()
    assert not (tmp_path / "out").exists()


def test_the_bound_column_keeps_the_rule_and_leaves_its_explanation_to_the_tooltip():
    from core.export.parity import bound_text
    from core.formats import BY_NAME
    from gui.pages.export.report_table import short_bound

    full = bound_text(BY_NAME["tflite-int8"], 24)
    short = short_bound(full)
    assert "(" in full and "(" not in short
    assert short == "top-1 >= 97% and accuracy drop <= 2 pts"
    assert short_bound(bound_text(BY_NAME["keras"], 6)) == "max |Δp| <= 0.0001 and top-1 100%"


def test_an_export_folder_of_another_model_is_replaced_only_when_the_user_says_so(
        qtbot, window, trained_run, tmp_path, monkeypatch):
    """The page remembers its output folder: after training another run, Export replaced the
    last run's export there with only a log line saying so."""
    from PySide6.QtWidgets import QMessageBox

    from core.formats import METADATA_MARKER
    from gui import plain_text

    out = tmp_path / "exported"
    out.mkdir()
    other = str(tmp_path / "run-1" / "model.keras")
    (out / "metadata.json").write_text(json.dumps({METADATA_MARKER: True, "source": other}))
    (out / "model.keras").write_bytes(b"run 1's model")
    window.state.set_run(str(trained_run))
    window.show_page(EXPORT_INDEX)
    page = window.current_page()
    page.set_formats(["keras"])
    window.state.set("export.out_dir", str(out))
    asked = []
    monkeypatch.setattr(plain_text, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.No)
    assert not page.start_export()
    assert other in asked[-1] and window.runner.current is None
    assert (out / "model.keras").read_bytes() == b"run 1's model"
    monkeypatch.setattr(plain_text, "question", lambda *a, **k: QMessageBox.Yes)
    with qtbot.waitSignal(page.export_finished, timeout=300000):
        assert page.start_export()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["source"] == str(Path(trained_run) / "model.keras")
    asked.clear()
    monkeypatch.setattr(plain_text, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.No)
    with qtbot.waitSignal(page.export_finished, timeout=300000):
        assert page.start_export()  # its own export again: nothing to ask
    assert asked == []


def test_the_own_export_reached_through_a_link_is_not_another_models(tmp_path):
    """The export records the model's path with links resolved: a run opened through a
    linked folder was asked "Replace another model's export?" about its own export."""
    from core.formats import METADATA_MARKER
    from gui.pages.export.source import other_models_export

    real = tmp_path / "real" / "run-1"
    real.mkdir(parents=True)
    (real / "model.keras").write_bytes(b"k")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    out = tmp_path / "out"
    out.mkdir()
    (out / "metadata.json").write_text(json.dumps({METADATA_MARKER: True,
                                                   "source": str(real / "model.keras")}))
    assert other_models_export(str(out), str(tmp_path / "link" / "run-1" / "model.keras")) is None
    assert other_models_export(str(out), str(tmp_path / "other.keras")) == str(
        real / "model.keras")


def test_a_new_model_to_export_drops_the_last_exports_banner_and_log(qtbot, window, trained_run,
                                                                     tmp_path, monkeypatch):
    """A review: after a new run became the current model, the page kept the last run's
    "Exported and checked" banner and its log (with its accuracy) above the new run, which
    was not exported; the table alone had gone."""
    import shutil

    from core.export import exporter

    other = tmp_path / "run-2"
    shutil.copytree(trained_run, other)
    window.state.set_run(str(trained_run))
    window.show_page(EXPORT_INDEX)
    page = window.current_page()
    page.set_formats(["keras"])
    page.parity_spin.setValue(4)
    window.state.set("export.out_dir", str(tmp_path / "exported"))
    with qtbot.waitSignal(page.export_finished, timeout=300000):
        assert page.start_export()
    assert "Exported and checked" in page.banner.text() and page.banner.isVisibleTo(page)
    assert page.log.toPlainText() and page.report_rows()
    window.state.set_run(str(other))  # e.g. a new run trained
    assert str(other) in page.source_label.text()
    assert not page.banner.isVisibleTo(page) and page.log.toPlainText() == ""
    assert page.report_rows() == [] and not page.open_button.isEnabled()
    window.state.set_run(str(trained_run))  # its report went too: it is exported again
    assert not page.banner.isVisibleTo(page) and page.report_rows() == []

    def no_room(*_a, **_k):
        raise OSError("No space left on device")

    monkeypatch.setattr(exporter, "export_model", no_room)  # an export that failed: the same
    with qtbot.waitSignal(page.export_failed, timeout=60000):
        assert page.start_export()
    assert "No space left" in page.banner.text() and page.banner.isVisibleTo(page)
    window.state.set_run(str(other))
    assert not page.banner.isVisibleTo(page)


def test_an_export_folder_that_takes_no_new_file_is_refused_at_once(qtbot, window, trained_run,
                                                                   tmp_path, monkeypatch):
    """A review: a read-only export folder was refused only after every format had been built
    and checked; the page now says so before any format is built."""
    from core.export import builders
    from test_export_folder_refusals import _refuse_new_entries

    out = tmp_path / "exp"
    out.mkdir()
    built = []
    monkeypatch.setitem(builders.BUILDERS, "keras", lambda *a: built.append("keras"))
    _refuse_new_entries(monkeypatch, out)
    window.state.set_run(str(trained_run))
    window.show_page(EXPORT_INDEX)
    page = window.current_page()
    page.set_formats(["keras"])
    window.state.set("export.out_dir", str(out))
    with qtbot.waitSignal(page.export_failed, timeout=120000) as failed:
        assert page.start_export()
    assert failed.args[0] == (f"cannot write {out}: not permitted; make the folder writable, "
                              "or choose another folder")
    assert failed.args[0] in page.banner.text() and page.banner.isVisibleTo(page)
    assert built == [] and "exporting" not in page.log.toPlainText()
