"""Step 7: sort new images into the data set, the most useful first, with the keyboard.

Choose (or drop) a folder of unlabelled images; the current model -- the run just trained, or
one opened here -- predicts them as the window's long job (:func:`core.label.suggestions.suggest`,
cancellable) and orders them: "Most useful first" (what a label would teach the model most, no
runs of near-copies) or "Most confident first" (for accepting in bulk).  The grid (:mod:`.grid`)
shows every image with its suggestion and what was decided; the one-image view (:mod:`.viewer`)
takes the keys of :mod:`.keys`.  The session itself is :class:`.review.Review`; adding to the
data set, Undo and the model update are :class:`.dataset_box.DataSetBox`.
"""

from __future__ import annotations

import os
from typing import Optional

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QFileDialog

from core.path_names import is_within
from gui.pages.base import Page
from gui.pages.sort.bulk import BulkBar, class_folders
from gui.pages.sort.dataset_box import DataSetBox
from gui.pages.sort.drafts import DraftKeeper
from gui.pages.sort.folder_row import folder_row
from gui.pages.sort.grid import caption
from gui.pages.sort.jobs import run_folder_of, suggest_job
from gui.pages.sort.keys import action_for, focused_control_takes
from gui.pages.sort.layout import model_choice_row, review_splitter
from gui.pages.sort.review import Review, arrival_notes
from gui.steps import get_a_model

NO_MODEL = "No model yet: " + get_a_model("open a run folder with “Open model…”.")


class SortPage(Page):
    key = "sort"
    title = "7 · Sort new images"
    intro = ("Choose a folder of new images: the model suggests a class for each, the ones "
             "worth labelling first come first. Keys: 1-9 or a class's first letter, Enter "
             "accepts, S skips, N none of these, Backspace steps back.")
    next_text = "Next: export"

    suggestions_ready = Signal(int)  # how many images were suggested
    files_changed = Signal()         # images went into (or out of) the data folder
    fine_tune_requested = Signal(str)  # "Fine-tune from this run": the run folder

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.review = Review()
        self.folder = ""
        self.shown_folder = ""  # the folder whose images the grid shows
        self._chosen_model: Optional[str] = None
        self._job = None
        self._marks_stale = False  # the data folder changed: which images it holds is unknown
        self.drafts = DraftKeeper(lambda: (self.shown_folder, self.review, self.box.data_dir()),
                                  self)
        self.body.addLayout(model_choice_row(self))
        self.body.addLayout(folder_row(self))
        self.body.addWidget(review_splitter(self), 1)
        self.bulk = BulkBar(self.review_preview, lambda: list(self.review.classes),
                            lambda: class_folders(self.state.config.data.data_dir),
                            images=lambda: len(self.review))
        self.bulk.confirmed.connect(self.accept_above)
        self.bulk.class_added.connect(self.add_class)
        self.bulk.problem.connect(self.show_error)
        self.body.addWidget(self.bulk)
        self.box = DataSetBox(state, runner, lambda: self.review.rows_to_apply(), self.run_dir)
        self.box.applied.connect(self._on_applied)
        self.box.undone.connect(self.after_undo)
        self.box.message.connect(lambda text, kind: self.banner.show_message(text, kind))
        self.box.files_changed.connect(self.files_changed)
        self.box.full_fine_tune.connect(lambda: self.fine_tune_requested.emit(self.run_dir()))
        self.box.updated.connect(self._on_updated)
        self.body.addWidget(self.box)
        state.project_opening.connect(self._forget_session)
        for signal in (state.run_changed, state.model_changed):
            signal.connect(lambda _v: self._refresh_model())
        state.config_changed.connect(lambda path: path in ("", "data", "data.data_dir")
                                     and self._data_folder_changed())
        runner.busy_changed.connect(lambda _b: self._refresh_buttons())
        self._refresh_model()
        self._show_current()

    # ------------------------------------------------------------------ the model
    def model_path(self) -> Optional[str]:
        """The model that suggests: the one opened here, else the app's current model."""
        return self._chosen_model or self.state.model_on_disk()

    def run_dir(self) -> str:
        """The run folder behind the model ("" for an exported model): what an update retrains."""
        return run_folder_of(self.model_path() or "")

    def choose_model(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a run folder", self.folder or "")
        if path:
            self.open_model(path)

    def choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", self.folder or "",
                                              "Models (*.keras *.tflite *.onnx);;All files (*)")
        if path:
            self.open_model(path)

    def _on_updated(self, outcome) -> None:  # the new run is the model now, unless worse
        if self.box.made_current(outcome):
            self.open_model("")

    def open_model(self, path: str) -> None:
        """Suggest with ``path`` ("": the app's current model); the folder is sorted again."""
        self._chosen_model = os.path.abspath(path) if path else None
        self._refresh_model()
        if self.folder:
            self.start()

    def _refresh_model(self) -> None:
        path = self.model_path()
        self.model_label.setText(f"Model: {path}" if path else self._no_model())
        self.box.refresh()
        self._refresh_buttons()

    def _no_model(self) -> str:
        return self.state.model_gone() or NO_MODEL

    # ------------------------------------------------------------------ the folder
    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder of new images",
                                                self.folder or "")
        if path:
            self.open_folder(path)

    def open_folder(self, path: str) -> bool:
        data = self.box.data_dir()  # said at once: adding refused every image of it, later
        if data and is_within(os.path.abspath(path), os.path.abspath(data)):
            self.show_error(f"{path} is the data set's own folder (or inside it): its images "
                            "are labelled already. Choose a folder of new images; to move "
                            "an image to another class, use Check data on the Data step.")
            return False
        before, self.folder = self.folder, os.path.abspath(path)
        started = self.start()
        if started or not self.model_path():  # no model yet: sorted once one is opened
            self.folder_label.setText(self.folder)
            return started
        # another job runs: the grid keeps the folder before (the line named the refused one
        # above its images, its labels were kept as that folder's, a new order sorted it)
        self.folder = before
        return False

    def drop_paths(self, paths: list[str]) -> bool:
        """Files dropped on the window while this page shows: the first folder is sorted."""
        folders = [p for p in paths if os.path.isdir(p)]
        if not folders:
            self.show_error("Drop a folder of new images (not single files).")
            return False
        return self.open_folder(folders[0])

    def start(self) -> bool:
        """Predict and order the folder's images as the long job; False when it cannot start."""
        model = self.model_path()
        if not model:
            self.show_error(self._no_model())
            return False
        data_dir = self.box.data_dir()
        job = self.runner.start(suggest_job, model, self.folder, self.order(),
                                data_dir, name="Suggesting classes")
        if job is None:
            self.show_error("Please wait: another job is still running (or cancel it in the "
                            "status bar).")
            return False
        self.clear_message()
        self._job = job
        self.progress.setRange(0, 0)
        for w in (self.progress, self.cancel_button):
            w.show()
        job.progress.connect(self._on_progress)
        job.finished.connect(lambda out: self._on_suggested(*out, data_dir))
        job.failed.connect(lambda msg, _tb: self._on_suggest_failed(msg))
        job.cancelled.connect(self._on_suggest_cancelled)
        job.done.connect(self._on_job_done)
        return True

    def _back_to_shown_folder(self) -> str:
        """After a folder failed or was cancelled, the label names the folder whose images
        are still in the grid (it named the new one above the old images, and "Add to data
        set" then copied the old folder's files)."""
        if self.folder != self.shown_folder:
            self.folder = self.shown_folder
            self.folder_label.setText(self.shown_folder or "No folder yet.")
            return f" Still showing {self.shown_folder}." if self.shown_folder else ""
        return ""

    def _on_suggest_failed(self, message: str) -> None:
        self.show_error(message + self._back_to_shown_folder())

    def _on_suggest_cancelled(self) -> None:
        self._back_to_shown_folder()
        self.counter_label.setText("Cancelled.")

    def order(self) -> str:
        return self.order_combo.currentData()

    def _on_progress(self, event) -> None:
        if hasattr(event, "done") and hasattr(event, "total") and event.total:
            self.progress.setRange(0, int(event.total))
            self.progress.setValue(int(event.done))

    def _on_job_done(self) -> None:
        self._job = None
        for w in (self.progress, self.cancel_button):
            w.hide()

    def _data_folder_changed(self) -> None:
        """Another data folder: images added to the last one are not in it (the labels stay);
        the folder is sorted again when the page shows, for those this one holds already."""
        self.box.refresh()
        self.box.refresh_undo()
        if self.review.data_dir != self.box.data_dir():
            self._marks_stale = bool(self.shown_folder)
            for path in self.review.moved_to(self.box.data_dir()):
                self._paint_decision(path)
            self._show_current()

    def _on_suggested(self, result, earlier=None, draft=None, data_dir=None) -> None:
        """A new order of the folder's images; decisions already made are kept, and images
        ``earlier`` batches added (another day) are shown as added, not offered again; the
        labels of the folder's draft (given another time, not added) come back."""
        self.drafts.flush()  # the folder shown until now keeps its labels
        self.bulk.hide_preview()  # it counted other images (or other probabilities)
        again, self.shown_folder = self.shown_folder == self.folder, self.folder
        old = self.review
        rows = {s.path: i for i, s in enumerate(result.items)}
        now = self.box.data_dir()  # a job sorting for another data folder: not its marks
        self._marks_stale = data_dir is not None and data_dir != now
        earlier = {} if self._marks_stale else earlier
        self.review = old.following(result.items, result.classes, again, now)
        back = [] if again or draft is None else DraftKeeper.restore(draft, self.review, rows)
        self.review.mark_earlier(earlier := earlier or {})
        self.review.current = next((i for i, s in enumerate(result.items)
                                    if s.path not in self.review.decisions), 0)
        self.grid.fit_names(self.review.classes)
        self.thumbs.set_items([s.path for s in result.items],
                              [caption(s) for s in result.items])
        self.thumbs.prefetch(60)  # what a freshly shown grid displays
        for path in {*self.thumbs.marked(), *old.decisions, *old.added, *earlier, *back}:
            if path in rows:  # only these: painting every row took 1.3 s at 100,000 images
                self._paint_decision(path)
        self.view.set_classes(self.review.classes)
        before = {p: a for p, a in earlier.items() if p not in old.added}  # not today's batches
        if result.skipped or before or back or result.left_out:
            self.show_info(arrival_notes(result.skipped, before, len(back), result.left_out))
        self._show_current()
        self.grid.setFocus()
        self.suggestions_ready.emit(len(result.items))

    # ------------------------------------------------------------------ labelling
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.KeyPress and self.handle_key(event):
            return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if focused_control_takes(event) or not self.handle_key(event):
            super().keyPressEvent(event)

    def handle_key(self, event) -> bool:
        """Label, accept, skip or step back by key; False for keys that mean nothing here."""
        if not len(self.review):
            return False
        action = action_for(event.key(), event.modifiers(), event.text(), self.review.classes)
        if action is None:
            return False
        self.apply_key(*action)
        return True

    def apply_key(self, what: str, label: str) -> None:
        before = self.review.current
        if what == "accept":
            changed = self.review.accept()
        elif what == "back":
            rows = self.review.back_rows()  # a whole "accept all" at once
            changed = bool(rows)
            for row in rows:
                self._paint_decision(self.review.items[row].path)
        else:
            changed = self.review.decide(label)
        if changed:
            self.bulk.recount()  # an open preview says what Confirm does now
        if changed and what != "back":
            self._paint_decision(self.review.items[before].path)
        elif not changed and what != "back" and self.review.current_item() is not None:
            self.show_info("This image is already in the data set; Undo takes it back out.")
        self._show_current()

    def label_current(self, label: str) -> None:
        self.apply_key("label", label)

    def _go_to(self, row: int) -> None:
        self.review.current = row
        self._show_current()

    def _paint_decision(self, path: str) -> None:
        self.thumbs.show_decision(path, self.review.decision(path), path in self.review.added)

    def _show_current(self) -> None:
        item = self.review.current_item()
        path = item.path if item is not None else ""
        self.view.show_item(item, self.review.decision(path), path in self.review.added)
        if item is not None:
            self.grid.show_row(self.review.current)
        self.counter_label.setText(self.review.describe() if len(self.review) else "")
        self._refresh_buttons()
        self.drafts.changed()

    def review_preview(self, threshold: float) -> list[tuple[str, str]]:
        return [(s.path, s.suggested) for s in self.review.above(threshold)]

    def accept_above(self, threshold: float, rows=None) -> int:
        """Accept ``rows`` (what the preview showed), or every suggestion above ``threshold``."""
        before = set(self.review.decisions)
        n = self.review.accept_rows(self.review_preview(threshold) if rows is None else rows)
        for path in set(self.review.decisions) - before:
            self._paint_decision(path)
        self.show_info(f"Accepted {n} suggestion(s) at or above {threshold * 100:.0f} %.")
        self._show_current()
        return n

    def add_class(self, name: str) -> None:
        self.review.classes.append(name)
        self.review.made.append(name)
        self.view.set_classes(self.review.classes)
        self.grid.fit_names(self.review.classes)
        self.show_info(f"New class {name!r}: its folder is made when its images are added to "
                       "the data set.")
        self._show_current()

    # ------------------------------------------------------------------ the data set
    def _on_applied(self, outcome) -> None:
        placed = [src for src, _dst in outcome.placed]
        self.review.mark_placed(outcome.placed, outcome.batch)
        self.review.mark_earlier(outcome.already)  # in the data set: as its folder's class
        for p in [*placed, *outcome.already]:
            self._paint_decision(p)
        self._show_current()

    def after_undo(self, outcome) -> None:
        """An undo made here or on the Data page (one journal): the review follows it."""
        for p in self.review.unmark_batch(outcome.batch):
            self._paint_decision(p)
        # Moved files put back in the shown folder had left the review: sort again for them
        shown = {s.path for s in self.review.items}
        top = os.path.join(os.path.abspath(self.shown_folder or ""), "")
        if self.shown_folder and self.folder == self.shown_folder and any(
                os.path.isabs(m.dst) and m.dst.startswith(top) and m.dst not in shown
                for m in outcome.moved):
            if self.runner.is_busy():  # the undo job is still finishing
                self.runner.when_idle(self.start)
            else:
                self.start()
        self._show_current()

    def _refresh_buttons(self) -> None:
        busy = self.runner.is_busy()
        self.folder_button.setEnabled(not busy)
        self.open_model_button.setEnabled(not busy)

    def unkept_work(self) -> str:
        return self.drafts.unkept(self.review)

    def _forget_session(self) -> None:
        """Another project: its folders and model, not this one's labels and chosen model
        ("Add to data set" had put project A's labels into B's data folder)."""
        self.drafts.flush()  # the folder's labels wait for it in its draft
        self.review, self.folder, self.shown_folder, self._chosen_model = Review(), "", "", None
        self._marks_stale = False
        self.bulk.hide_preview()
        self.thumbs.set_items([])
        self.folder_label.setText("No folder yet.")
        self.box.outcome_label.setText("")  # "copied into A's folder" under project B
        self.view.set_classes([])
        self._refresh_model()
        self._show_current()

    def on_shown(self) -> None:
        self.box.refresh_undo()
        if self._marks_stale and self.folder == self.shown_folder and self.model_path() \
                and not self.runner.is_busy():
            self.start()  # another data folder: which of these images it holds already

    def shutdown(self) -> None:
        self.drafts.flush()
        self.thumbs.shutdown()
        self.view.shutdown()
        self.box.shutdown()

