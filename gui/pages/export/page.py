"""Step 8: take the model away in the formats you need, each one checked, or serve it.

The page edits ``config.export`` (formats, parity sample, int8 calibration and float layers:
:mod:`gui.pages.export.checks_box`, output folder), so the project file and ``python main.py
export`` use the same choices.  "Export" runs :func:`core.export.exporter.export_model` as the
window's one job: it builds every format, loads each with its own runtime in a fresh process
and compares its answers with the app's.  The report table shows that comparison per format
against the format's bound, so a user sees PASS or FAIL rather than having to trust the
converter.  "Serve" answers over HTTP (:mod:`gui.pages.export.serve_box`)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QUrl, Qt, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QMenu, QPlainTextEdit, QPushButton)

from core.export.source import source_problem
from core.formats import FORMATS, NAMES
from core.path_names import same_path
from gui.pages.base import Page
from gui.pages.export.checks_box import ChecksBox
from gui.pages.export.report_table import (fill_table, html, make_table, outcome_text,
                                           table_rows)
from gui.pages.export.serve_box import ServeBox
from gui.pages.export.source import (confirm_replacing, current_model, default_out_dir,
                                     no_model_text)
from gui.plain_text import plain_label, rich_label
from gui.state import touches
from gui.steps import step
from gui.widgets.turning_splitter import TurningRow


def export_job(source: str, formats: list, out_dir: str, export_cfg: Any,
               listener=None, cancel=None):
    """Worker side: import the exporter there (TensorFlow) and run it."""
    from core.export.exporter import export_model

    return export_model(source, formats, out_dir, export_cfg, listener=listener, cancel=cancel)


class ExportPage(Page):
    key = "export"
    title = "8 · Export"
    intro = ("Save the model in the formats your app or device needs. Each file is loaded "
             "again with its own runtime and must give the same answers as this app on your "
             "validation images before it is marked PASS.")
    next_text = "Next: look inside the network"

    export_finished = Signal(object)  # core.export.exporter.ExportReport
    export_failed = Signal(str)

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.report: Any = None
        self._chosen_source: Optional[str] = None
        self._last_out: Optional[str] = None
        self._exporting: Optional[str] = None  # the model of the export in flight
        self._report_source: Optional[str] = None  # ... and of the report on show
        self._build_source_row()
        self._build_settings()
        self._build_actions()
        self._build_report()
        self.serve_box = ServeBox(self.source_path, self)  # the same model, over HTTP
        self.serve_box.started.connect(lambda url: self.show_info(
            f"Serving at {url} (TensorFlow Serving's REST API); the command below tries it."))
        self.serve_box.failed.connect(self.show_error)
        self.body.addWidget(self.serve_box)
        self.state.config_changed.connect(self._on_config_changed)
        self.state.run_changed.connect(lambda _r: self._refresh_source())
        self.state.model_changed.connect(lambda _m: self._refresh_source())
        self.state.project_opening.connect(self.use_current_source)  # "chosen here" was the
        # previous project's model
        self.runner.busy_changed.connect(self._on_busy)
        self._sync_from_config()
        self._refresh_source()

    def _build_source_row(self) -> None:
        """What to export: the current run, or a run folder / .keras chosen here."""
        row = QHBoxLayout()
        self.source_label = rich_label()  # "<b>Model to export</b>", the path escaped
        self.source_label.setWordWrap(True)
        self.source_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.source_button = QPushButton("Choose model…")
        self.source_button.setToolTip("Export another run folder or .keras file")
        menu = QMenu(self.source_button)
        menu.addAction("Run folder…", self.choose_source_folder)
        menu.addAction(".keras file…", self.choose_source_file)
        self.use_current_action = menu.addAction("Use the current run", self.use_current_source)
        self.source_button.setMenu(menu)
        row.addWidget(self.source_label, 1)
        row.addWidget(self.source_button)
        self.body.addLayout(row)

    def _build_settings(self) -> None:
        """One tick box per format of core.formats, the check sizes and the output folder."""
        top = TurningRow()  # the two boxes one above the other when both do not fit
        box = QGroupBox("Formats")
        grid = QGridLayout(box)
        self.format_checks: dict[str, QCheckBox] = {}
        for i, spec in enumerate(FORMATS):
            fmt, what = spec.name, spec.use
            check = QCheckBox(spec.title)
            check.setToolTip(f"{fmt}: {what}")
            check.toggled.connect(self._on_formats_edited)
            hint = QLabel(what)
            hint.setObjectName("hint")
            hint.setWordWrap(True)  # the page fits the window's 900 px minimum width
            grid.addWidget(check, i, 0)
            grid.addWidget(hint, i, 1)
            self.format_checks[fmt] = check
        grid.setColumnStretch(1, 1)
        top.add(box, 3)
        top.add(self._build_checks(), 2)
        self.body.addWidget(top)
        self._build_out_row()

    def _build_checks(self) -> QGroupBox:
        self.checks = ChecksBox(self.state.set)
        self.parity_spin = self.checks.spins["export.parity_images"]
        self.calib_spin = self.checks.spins["export.int8_calibration_images"]
        return self.checks

    def _build_out_row(self) -> None:
        self.out_edit = QLineEdit()
        self.out_edit.setToolTip("A new or empty folder, or an earlier export: the formats "
                                 "exported now replace theirs there; your own files stay")
        self.out_edit.editingFinished.connect(self._on_out_typed)
        self.out_button = QPushButton("Choose…")
        self.out_button.clicked.connect(self.choose_out_dir)
        out_row = QHBoxLayout()
        label = QLabel("Save to folder:")
        label.setBuddy(self.out_edit)
        out_row.addWidget(label)
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(self.out_button)
        self.body.addLayout(out_row)

    def _on_out_typed(self) -> None:
        """Stored absolute: a relative name meant the working folder now but the project's
        folder once the project was reopened."""
        text = os.path.expanduser(self.out_edit.text().strip())
        if text and not os.path.isabs(text):
            base = os.path.dirname(self.state.project_path) if self.state.project_path \
                else os.getcwd()
            text = os.path.normpath(os.path.join(base, text))
            self.out_edit.setText(text)
        self.state.set("export.out_dir", text)

    def _build_actions(self) -> None:
        row = QHBoxLayout()
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("primary")
        self.export_button.clicked.connect(self.start_export)
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Show the exported files")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_folder)
        self.status_label = plain_label()  # "Exporting … to <folder>…"
        self.status_label.setObjectName("hint")
        self.status_label.setWordWrap(True)
        row.addWidget(self.export_button)
        row.addWidget(self.open_button)
        row.addWidget(self.status_label, 1)
        self.body.addLayout(row)

    def _build_report(self) -> None:
        self.table = make_table()
        self.body.addWidget(self.table, 2)
        self.failures_label = rich_label()  # problem_text escaped by fill_table
        self.failures_label.setWordWrap(True)
        self.failures_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.failures_label.hide()
        self.body.addWidget(self.failures_label)
        self.log = QPlainTextEdit()
        self.log.setAccessibleName("Export log")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        self.log.setPlaceholderText("What the export does shows here.")
        self.log.setMaximumHeight(110)
        self.body.addWidget(self.log, 1)

    # ------------------------------------------------------------------ source
    def source_path(self) -> Optional[str]:
        """The run folder or .keras file to export: chosen here, else the current run."""
        return self._chosen_source or current_model(self.state)

    def set_source(self, path: str) -> None:
        why = source_problem(path)  # said at once, not after "Replace another export?"
        if why:
            self.show_error(why)
            return
        self._chosen_source = os.path.abspath(path)
        self._refresh_source()

    def use_current_source(self) -> None:
        self._chosen_source = None
        self._refresh_source()

    def choose_source_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a run folder", self._start_dir())
        if path:
            self.set_source(path)

    def choose_source_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a .keras model", self._start_dir(),
                                              "Keras models (*.keras);;All files (*)")
        if path:
            self.set_source(path)

    def default_out_dir(self) -> str:
        return default_out_dir(self.source_path())

    def out_dir(self) -> str:
        return self.state.config.export.out_dir or self.default_out_dir()

    def _refresh_source(self) -> None:
        src = self.source_path()
        self.use_current_action.setEnabled(self._chosen_source is not None)
        if src is None:
            self.source_label.setText(no_model_text(self.state))
        else:
            whose = "chosen here" if self._chosen_source else "the current run"
            self.source_label.setText(f"<b>Model to export</b> ({whose}): {html(src)}")
        self.out_edit.setPlaceholderText(self.default_out_dir() or "choose a folder")
        if self._report_source is not None and not same_path(self._report_source, src):
            self._clear_report()  # the verdicts, banner and log were another model's
        self._update_export_button()
        self.serve_box.refresh()

    # ------------------------------------------------------------------ settings
    def selected_formats(self) -> list[str]:
        return [f for f in NAMES if self.format_checks[f].isChecked()]

    def set_formats(self, formats) -> None:
        self.state.set("export.formats", [f for f in NAMES if f in set(formats)])

    def _on_formats_edited(self) -> None:
        self.state.set("export.formats", self.selected_formats())
        self.checks.set_int8(self.format_checks["tflite-int8"].isChecked())
        self._update_export_button()

    def _on_config_changed(self, path: str) -> None:
        if touches(path, "export"):
            self._sync_from_config()

    def _sync_from_config(self) -> None:
        e = self.state.config.export
        chosen = set(e.formats)
        for fmt, check in self.format_checks.items():
            check.blockSignals(True)
            check.setChecked(fmt in chosen)
            check.blockSignals(False)
        self.checks.show_config(e)
        if self.out_edit.text() != e.out_dir:
            self.out_edit.setText(e.out_dir)
        self.checks.set_int8("tflite-int8" in chosen)
        self._update_export_button()

    def choose_out_dir(self) -> None:
        start = self.out_dir() or self._start_dir()
        path = QFileDialog.getExistingDirectory(self, "Choose the export folder",
                                                str(Path(start).parent) if start else "")
        if path:
            self.state.set("export.out_dir", path)

    def _update_export_button(self) -> None:
        ok = bool(self.selected_formats()) and self.source_path() is not None
        self.export_button.setEnabled(ok and not self.runner.is_busy())
        if not self.selected_formats():
            self.export_button.setToolTip("Tick at least one format")
        elif self.source_path() is None:
            self.export_button.setToolTip("Train a model first, or choose one")
        else:
            self.export_button.setToolTip("Build and check every ticked format")

    # ------------------------------------------------------------------ exporting
    def start_export(self) -> bool:
        """Run the export as the window's job; False when it cannot start."""
        src = self.source_path()
        if src is None:
            self.show_error(f"There is no model to export yet: train one on {step('Train')}, or "
                            "use Choose model… to pick a run folder or a .keras file.")
            return False
        formats = self.selected_formats()
        if not formats:
            self.show_error("Tick at least one format to export.")
            return False
        out = self.out_dir()
        if not confirm_replacing(self, out, src):
            return False
        job = self.runner.start(export_job, src, formats, out,
                                copy.deepcopy(self.state.config.export), name="Exporting")
        if job is None:
            job_now = self.runner.current
            self.show_error(f"Please wait: “{job_now.name if job_now else 'a job'}” is still "
                            "running (or cancel it in the status bar).")
            return False
        self._clear_report()
        self._last_out, self._exporting = out, src
        self.status_label.setText(f"Exporting {', '.join(formats)} to {out}…")
        job.progress.connect(self._on_event)
        job.finished.connect(self._on_exported)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(lambda: (self.status_label.setText(
            "Export cancelled; nothing was changed in the output folder."),
            self.log.appendPlainText("cancelled")))
        return True

    def _on_event(self, event: Any) -> None:
        from core.events import Log, Progress

        if isinstance(event, Log):
            self.log.appendPlainText(event.message)
        elif isinstance(event, Progress) and event.message:
            self.status_label.setText(event.message + "…" if event.total else event.message)

    def _on_failed(self, message: str) -> None:
        same = same_path(self._exporting, self.source_path())  # its message and log go
        self._report_source = self._exporting if same else None  # with the model
        self.status_label.setText("")
        self.show_error(message)
        self.export_failed.emit(message)

    def _clear_report(self) -> None:
        """Forget the last export: table, banner, log (they stayed over a new run: a review)."""
        self.report, self._report_source = None, None
        self.clear_message()
        self.log.clear()
        self.table.setRowCount(0)
        self.failures_label.hide()
        self.open_button.setEnabled(False)
        self.status_label.setText("")

    def _on_exported(self, report: Any) -> None:
        passed = sum(1 for r in report.results if r.ok)
        total = len(report.results)
        self.export_finished.emit(report)
        if not same_path(self._exporting, self.source_path()):  # another model chosen since
            self.open_button.setEnabled(bool(report.written))
            self.show_info(f"The export of {report.source} finished ({passed} of {total} "
                           f"formats passed, written to {report.out_dir}); the model to "
                           "export is another one now.")
            return
        self.report, self._report_source = report, self._exporting
        self._fill_report(report)
        self.open_button.setEnabled(bool(report.written))
        self.status_label.setText(outcome_text(report))
        if report.ok:
            self.show_info(f"Exported and checked: {', '.join(r.format for r in report.results)}."
                           " Open folder shows the files; README.txt there says how to use "
                           "each one.")
        else:
            unchecked = sum(1 for r in report.results if r.status == "not_checked")
            how = f" ({unchecked} could not be checked)" if unchecked else ""
            self.show_error(f"{total - passed} of {total} formats failed{how}; see below why."
                            + (" The others are fine to use." if passed else ""))

    def _fill_report(self, report: Any) -> None:
        problems = fill_table(self.table, report)
        if problems:
            self.failures_label.setText("<br>".join(problems))
            self.failures_label.show()
        else:
            self.failures_label.hide()

    def report_rows(self) -> list[dict]:
        """The report table as dicts keyed by column title (for tests and scripting)."""
        return table_rows(self.table)

    def open_folder(self) -> None:
        folder = self.report.out_dir if self.report is not None else self._last_out
        if folder and os.path.isdir(folder):
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    # ------------------------------------------------------------------ plumbing
    def on_shown(self) -> None:
        self._refresh_source()

    def shutdown(self) -> None:
        self.serve_box.shutdown()
        super().shutdown()

    def _on_busy(self, busy: bool) -> None:
        self.source_button.setEnabled(not busy)
        self._update_export_button()

    def _start_dir(self) -> str:
        src = self.source_path()
        return str(Path(src).parent) if src else str(Path.home())

