"""The Sort step's bulk tools: "Accept all above N %" (preview, then confirm) and "New class…".

Accepting in bulk shows first what it would do -- how many images per class --
and changes nothing until "Confirm", which accepts exactly the images the preview counted
(the page hides or recounts the preview when the images or decisions change).  A new class is only a name until the
labels are added to the data set (its folder is made then, by
:func:`core.label.apply.apply_labels` with ``new_classes=True``).
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QLabel, QPushButton, QSpinBox,
                               QWidget)

from core.label.apply import class_name_problem, classes_root, spelled_as
from gui.pages.sort.keys import leave_keys_to_the_review


class BulkBar(QWidget):
    """Spin box, preview, confirm; and the "New class…" button."""

    confirmed = Signal(float, object)  # the threshold (0..1), the previewed [(path, class)]
    class_added = Signal(str)
    problem = Signal(str)  # why a new class name was refused

    def __init__(self, preview: Callable[[float], list], classes: Callable[[], list],
                 folders: Callable[[], list] = list, parent: Optional[QWidget] = None,
                 images: Callable[[], int] = lambda: 1) -> None:
        """``preview(threshold)``: the [(path, class)] accepting above it would label;
        ``images()``: how many images are being sorted (0: no folder yet)."""
        super().__init__(parent)
        self._preview, self._classes, self._folders = preview, classes, folders
        self._images = images
        self._previewed: list = []  # what Confirm accepts: the rows the preview counted
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.spin = QSpinBox()
        self.spin.setRange(50, 100)
        self.spin.setValue(90)
        self.spin.setSuffix(" %")
        self.spin.setMaximumWidth(90)
        self.spin.setToolTip("Accept every undecided suggestion at least this sure "
                             "(calibrated probability; images flagged unknown are left out)")
        self.spin.valueChanged.connect(lambda _v: self.preview_label.isVisible()
                                       and self.show_preview())
        self.spin.editingFinished.connect(  # Enter here previews (it labelled an image)
            lambda: self.spin.hasFocus() and self.show_preview())
        self.accept_button = QPushButton("Accept all above…")
        self.accept_button.setToolTip("Shows what it would do first; nothing changes until "
                                      "you confirm")
        self.accept_button.clicked.connect(self.show_preview)
        self.preview_label = QLabel("")
        self.preview_label.setTextFormat(Qt.PlainText)  # "Will label 3 image(s): 3 <class>."
        self.preview_label.setWordWrap(True)
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.setObjectName("primary")
        self.confirm_button.clicked.connect(self._confirm)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.hide_preview)
        self.new_class_button = QPushButton("New class…")
        self.new_class_button.setToolTip("Add a class for these images; its folder is made when "
                                         "the labels are added to the data set")
        self.new_class_button.clicked.connect(self.ask_new_class)
        label = QLabel("Accept all above")
        label.setBuddy(self.spin)  # the box's name for a screen reader
        for w in (label, self.spin, self.accept_button):
            row.addWidget(w)
        row.addWidget(self.preview_label, 1)
        for w in (self.confirm_button, self.cancel_button):
            row.addWidget(w)
        row.addStretch(1)  # the buttons keep their size while the preview is hidden
        row.addWidget(self.new_class_button)
        self.hide_preview()
        leave_keys_to_the_review(self)

    def threshold(self) -> float:
        return self.spin.value() / 100.0

    def show_preview(self) -> None:
        self._previewed = list(self._preview(self.threshold()))
        counts = Counter(label for _path, label in self._previewed)
        total = len(self._previewed)
        if not total and not self._images():  # "No undecided image is 90 % sure." said
            # that of an empty page, before any folder (a review)
            self.preview_label.setText("No images to sort yet: choose a folder of new images "
                                       "first.")
            self.confirm_button.hide()
        elif not total:
            self.preview_label.setText(f"No undecided image is {self.spin.value()} % sure.")
            self.confirm_button.hide()
        else:
            parts = ", ".join(f"{c} {n}" for c, n in sorted(counts.items(), key=lambda t: -t[1]))
            self.preview_label.setText(f"Will label {total} image(s): {parts}.")
            self.confirm_button.show()
        self.preview_label.show()
        self.cancel_button.show()

    def hide_preview(self) -> None:
        self._previewed = []
        for w in (self.preview_label, self.confirm_button, self.cancel_button):
            w.hide()

    def recount(self) -> None:
        """The decisions changed: an open preview counts again, so it says what Confirm does."""
        if self.preview_label.isVisible():
            self.show_preview()

    def _confirm(self) -> None:
        rows = self._previewed
        self.hide_preview()
        self.confirmed.emit(self.threshold(), rows)

    def ask_new_class(self) -> None:
        name, ok = QInputDialog.getText(self, "New class", "Name of the new class:")
        if ok:
            self.add_class(name)

    def add_class(self, name: str) -> str:
        """Add ``name`` as a class; the problem with it ("" when added).  A class folder of
        the data set made since the model was trained ("Cats", by a capture) is taken as it
        is; a name that clashes with one ("cats") is refused now, not when adding."""
        name = (name or "").strip()
        classes, folders = self._classes(), self._folders()
        name = spelled_as(name, folders) or name  # a Mac's folder names are decomposed
        if name in folders and name not in classes:
            self.class_added.emit(name)
            return ""
        problem = class_name_problem(name, classes + folders)
        if problem:
            self.problem.emit(problem)
        else:
            self.class_added.emit(name)
        return problem


def class_folders(data_dir: str) -> list[str]:
    """The class folders of the data set ``data_dir`` now ([] when there is none)."""
    from pathlib import Path

    from core.data.folder_walk import class_folder_names
    from core.errors import UserError

    if not data_dir:
        return []
    try:
        return class_folder_names(str(classes_root(Path(data_dir))))
    except (UserError, OSError):
        return []
