"""Capture from a camera into the data set: pick a class, hold the button (or Space).

The picture comes from :class:`gui.widgets.camera.CameraFeed` (a worker reads
the camera; the UI only paints).  While the Capture button or Space is held,
the newest frame is taken :data:`BURST_FPS` times a second and written by
:class:`core.label.capture.CaptureWriter` on a worker (one file after the
other, :class:`gui.jobs.SerialJobs`): JPEG at the chosen size, a new name every
time, journalled, so "Undo last burst" (or the Check data tab's Undo) removes
a burst.  A video file can stand in for the camera (tests use one).  The table
counts each class's pictures of this session and its images in the folder (the
Data page's last scan plus this session's), so balancing the classes needs no
trip back to the Data page.

With no camera the dialog says so and offers the video file; nothing is written.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QHeaderView, QInputDialog, QLabel, QPushButton,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gui.jobs import SerialJobs
from gui.recent import capture_side, set_capture_side
from gui.widgets.camera import CameraFeed, LiveImage, SourcePicker, narrow_combo

#: Pictures per second while the button is held.
BURST_FPS = 5
#: The dialog's largest size when it opens (over a big window): the picture gets the room.
OPEN_SIZE = QSize(1100, 700)


def opening_size(window: QSize, hint: QSize) -> QSize:
    """Nine tenths of the window the dialog opens over, at most :data:`OPEN_SIZE`, never under
    ``hint``.  Opened at its size hint (534x415) the picture was a stamp and the class list
    cut its names ("new one" showed as "new or"), whatever the window's size."""
    return QSize(window.width() * 9 // 10, window.height() * 9 // 10) \
        .boundedTo(OPEN_SIZE).expandedTo(hint)


def save_frame(writer, frame, burst: str, listener=None, cancel=None):
    """Worker: write one frame (see :meth:`core.label.capture.CaptureWriter.save`)."""
    return writer.save(frame, burst)


def undo_burst(writer, listener=None, cancel=None):
    return writer.undo_last_burst()


class CaptureDialog(QDialog):
    """See the module docstring; ``changed`` is True once a file was written or removed."""

    saved = Signal(int)  # frames written so far in this dialog
    #: A picture could not be written after the dialog closed: the page says so.
    failed_after_closing = Signal(str)

    def __init__(self, data_dir: str, parent: Optional[QWidget] = None,
                 folder_counts: Optional[dict] = None) -> None:
        """``folder_counts``: images per class in the folder when the dialog opens (the last
        scan's counts; None when unknown, e.g. while a scan runs)."""
        from core.label.capture import DEFAULT_SIDE, CaptureWriter

        super().__init__(parent)
        self.folder_counts = None if folder_counts is None else dict(folder_counts)
        self.setWindowTitle("Capture from camera")
        self.writer = CaptureWriter(data_dir, capture_side(DEFAULT_SIDE))
        self.feed = CameraFeed(self)
        self.saver = SerialJobs(self, name="Saving captures")
        self.counts: dict[str, int] = {}
        self.total = 0
        self.changed = False
        self.closed = False
        self.frame: Any = None  # the newest RGB frame
        self._frames = 0  # frames shown so far: a burst saves each one once
        self._taken = -1  # the frame number saved last
        self._saved_pictures: set[bytes] = set()  # hashes of the frames saved in this dialog
        self._burst_pictures: dict[str, set[bytes]] = {}  # the same, by burst (for Undo)
        self.burst: Optional[str] = None
        self._n = 0
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / BURST_FPS))
        self.timer.timeout.connect(self._take)
        self._build(data_dir)
        if parent is not None:
            self.resize(opening_size(parent.window().size(), self.sizeHint()))
        self._show_counts()
        self.class_combo.currentTextChanged.connect(lambda _t: self._show_counts())
        self.feed.frame.connect(self._on_frame)
        self.feed.failed.connect(self._on_failed)
        self.picker.chosen.connect(self._play)
        self.picker.status.connect(self._status)
        QApplication.instance().installEventFilter(self)
        self.picker.look()

    def _build(self, data_dir: str) -> None:
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        self.picker = SourcePicker()
        left.addWidget(self.picker)
        self.status_label = QLabel("")
        self.status_label.setTextFormat(Qt.PlainText)  # a camera's or video file's name
        self.status_label.setObjectName("hint")
        self.status_label.setWordWrap(True)
        left.addWidget(self.status_label)
        self.image = LiveImage("No picture yet.")
        self.feed.show_in(self.image)
        left.addWidget(self.image, 1)
        outer.addLayout(left, 3)
        outer.addLayout(self._build_controls(data_dir), 2)

    def _build_controls(self, data_dir: str) -> QVBoxLayout:
        right = QVBoxLayout()
        form = QFormLayout()
        self.class_combo = QComboBox()
        self.class_combo.addItems(self.writer.classes())
        narrow_combo(self.class_combo)
        self.new_class_button = QPushButton("New class…")
        self.new_class_button.clicked.connect(self.ask_new_class)
        row = QHBoxLayout()
        row.addWidget(self.class_combo, 1)
        row.addWidget(self.new_class_button)
        form.addRow("Class:", row)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(32, 4096)
        self.size_spin.setSingleStep(32)
        self.size_spin.setValue(self.writer.side)
        self.size_spin.valueChanged.connect(set_capture_side)  # the next opening's too
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Saved images are JPEGs whose longer side is at most this "
                                  "(a smaller camera picture is kept as it is)")
        form.addRow("Image size:", self.size_spin)
        right.addLayout(form)
        self.capture_button = QPushButton("Hold to capture  (Space)")
        self.capture_button.setObjectName("primary")
        self.capture_button.setMinimumHeight(48)
        self.capture_button.setToolTip(f"Hold the button, or Space, to save {BURST_FPS} "
                                       "pictures a second into the class")
        self.capture_button.pressed.connect(self.start_burst)
        self.capture_button.released.connect(self.stop_burst)
        right.addWidget(self.capture_button)
        self.count_table = QTableWidget(0, 3)
        self.count_table.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
        self.count_table.setHorizontalHeaderLabels(["Class", "This session", "In folder"])
        self.count_table.verticalHeader().hide()
        self.count_table.setMinimumHeight(120)  # three rows at least, not one and a half
        header = self.count_table.horizontalHeader()  # the names get the room, not "In folder"
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        self.count_table.setEditTriggers(QTableWidget.NoEditTriggers)
        right.addWidget(self.count_table, 1)
        self.undo_button = QPushButton("Undo last burst")
        self.undo_button.setToolTip("Remove the pictures of the last burst from the folder")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo_last)
        right.addWidget(self.undo_button)
        where = QLabel(f"Into: {self.writer.base}")
        where.setTextFormat(Qt.PlainText)  # the data folder's path, as written
        where.setObjectName("hint")
        where.setWordWrap(True)
        where.setTextInteractionFlags(Qt.TextSelectableByMouse)
        right.addWidget(where)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        right.addWidget(buttons)
        self._sync_buttons()
        return right

    # ------------------------------------------------------------------ source
    def play_file(self, path: str) -> None:
        """Play a video file as the camera (the "Play a video file…" choice)."""
        self.picker.play_file(path)

    def _play(self, source) -> None:
        if self.closed:  # the camera search ended after the dialog closed
            return
        self.frame = None
        self.image.show_image(None)
        self._status("", "info")
        self.feed.start(source)

    def _on_frame(self, image, frame) -> None:
        self.frame = frame
        self._frames += 1
        self.image.show_image(image)
        self._sync_buttons()

    def _on_failed(self, message: str) -> None:
        """The source did not open or stopped: no picture, nothing to capture."""
        self.stop_burst()
        self.frame = None
        self.image.show_image(None)
        self._status(message, "error")

    def _status(self, text: str, kind: str) -> None:
        self.status_label.setProperty("kind", kind)
        self.status_label.style().polish(self.status_label)
        self.status_label.setText(text)
        self._sync_buttons()

    # ------------------------------------------------------------------ classes
    def ask_new_class(self) -> None:
        name, ok = QInputDialog.getText(self, "New class", "Name of the new class:")
        if ok:
            self.add_class(name)

    def classes(self) -> list[str]:
        """The classes offered: the folder's and the ones made here."""
        return [self.class_combo.itemText(i) for i in range(self.class_combo.count())]

    def add_class(self, name: str) -> bool:
        """Add ``name`` to the choices (its folder is made with the first picture)."""
        from core.errors import UserError
        from core.label.capture import check_class_name

        try:
            name = check_class_name(name, self.classes())
        except UserError as exc:
            self._status(str(exc), "error")
            return False
        if self.class_combo.findText(name) < 0:
            self.class_combo.addItem(name)
        self.class_combo.setCurrentText(name)
        self._sync_buttons()
        return True

    # ------------------------------------------------------------------ capturing
    def start_burst(self) -> None:
        """Begin a burst into the chosen class (the button or Space went down)."""
        if self.burst is not None or self.frame is None or not self.class_combo.currentText():
            return
        from core.errors import UserError

        try:
            self.burst = self.writer.start_burst(self.class_combo.currentText(),
                                                 self.size_spin.value())
        except UserError as exc:  # it escaped the slot: the button did nothing, silently
            self._status(str(exc), "error")
            return
        self._status("", "info")  # an earlier burst's error stood over this one's pictures
        self._take()
        self.timer.start()

    def stop_burst(self) -> None:
        self.timer.stop()
        self.burst = None

    def _take(self) -> None:
        """Save the newest frame, once: a source slower than the burst (a 2 fps camera) gave
        the same picture five times, exact copies that split into train and validation."""
        if self.burst is None or self.frame is None or self._taken == self._frames:
            return
        self._taken = self._frames
        seen = hashlib.blake2b(np.ascontiguousarray(self.frame).tobytes(), digest_size=16)
        if seen.digest() in self._saved_pictures:  # a still scene, a video holding a picture:
            self._status("The picture is the same as one saved already: not saved again "
                         "(it would be a duplicate the data set leaves out).", "info")
            return  # the same bytes, counted twice and then dropped by the scan
        digest, burst = seen.digest(), self.burst
        self._saved_pictures.add(digest)
        self._burst_pictures.setdefault(burst, set()).add(digest)
        self._n += 1
        self.saver.submit(f"frame {self._n}", save_frame, (self.writer, self.frame, burst),
                          self._on_saved,
                          lambda message: self._on_save_failed(message, digest, burst))

    def _on_save_failed(self, message: str, digest: Optional[bytes] = None,
                        burst: Optional[str] = None) -> None:
        """A picture could not be written (disk full...): stop the burst, say why (on the
        page when the dialog has closed meanwhile).  The picture is not on disk, so it may be
        taken again once the cause is mended (it was refused as "saved already")."""
        if digest is not None:
            self._saved_pictures.discard(digest)
            self._burst_pictures.get(burst, set()).discard(digest)
        self.stop_burst()
        self._status(message, "error")
        if self.closed:
            self.failed_after_closing.emit(message)

    def _on_saved(self, saved) -> None:
        self.changed = True
        self.counts[saved.class_name] = self.counts.get(saved.class_name, 0) + 1
        self.total += 1
        self._show_counts()
        self.saved.emit(self.total)

    def undo_last(self) -> None:
        self.stop_burst()
        self.undo_button.setEnabled(False)
        self.saver.submit("undo", undo_burst, (self.writer,), self._on_undone,
                          lambda msg: self._status(msg, "error"))

    def _on_undone(self, result) -> None:
        class_name, outcome = result
        self.changed = True
        # what was undone may be taken again; the earlier bursts' pictures are still there
        self._saved_pictures -= self._burst_pictures.pop(outcome.batch, set())
        removed = len(outcome.moved)
        self.counts[class_name] = max(0, self.counts.get(class_name, 0) - removed)
        self.total -= removed
        self._show_counts()
        text = f"Removed {removed} picture{'s' if removed != 1 else ''} of {class_name}."
        if outcome.refused:
            text += " Left in place: " + "; ".join(f"{p} ({why})" for p, why in outcome.refused)
        self._status(text, "error" if outcome.refused else "info")

    def _show_counts(self) -> None:
        """Every class to choose from, with its counts: an empty class folder (made to be
        filled by the camera) or a new class was missing until a picture of it was saved."""
        known = self.folder_counts or {}
        names = sorted(set(self.counts) | set(known) | set(self.classes()), key=str.lower)
        self.count_table.setRowCount(len(names))
        for i, name in enumerate(names):
            self.count_table.setItem(i, 0, QTableWidgetItem(name))
            cells = (self.counts.get(name, 0),
                     "–" if self.folder_counts is None else known.get(name, 0)
                     + self.counts.get(name, 0))
            for col, value in enumerate(cells, start=1):
                item = QTableWidgetItem(str(value))
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.count_table.setItem(i, col, item)
            if name == self.class_combo.currentText():  # the class captured into stays in view
                self.count_table.scrollToItem(self.count_table.item(i, 0))
        self._sync_buttons()

    def in_folder(self, class_name: str) -> Optional[int]:
        """Images of ``class_name`` in the folder now, as the table shows (None: unknown)."""
        if self.folder_counts is None:
            return None
        return self.folder_counts.get(class_name, 0) + self.counts.get(class_name, 0)

    def count(self, class_name: str) -> int:
        return self.counts.get(class_name, 0)

    def _sync_buttons(self) -> None:
        self.capture_button.setEnabled(self.frame is not None
                                       and bool(self.class_combo.currentText()))
        self.undo_button.setEnabled(bool(self.writer.bursts) and self.total > 0)

    # ------------------------------------------------------------------ Space, closing
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Space held anywhere in this dialog captures (a focused button must not click)."""
        kind = event.type()
        if kind == QEvent.WindowDeactivate and obj is self or kind == QEvent.ApplicationDeactivate:
            self.stop_burst()  # Space released in another window never comes here
        if kind in (QEvent.KeyPress, QEvent.KeyRelease) and event.key() == Qt.Key_Space \
                and isinstance(obj, QWidget) and (obj is self or self.isAncestorOf(obj)):
            if not event.isAutoRepeat():
                self.start_burst() if kind == QEvent.KeyPress else self.stop_burst()
            return True
        return super().eventFilter(obj, event)

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name
        """Closing stops the camera; pictures still being written finish (``saver``)."""
        self.shutdown()
        super().done(result)

    def shutdown(self) -> None:
        """Stop the camera and the burst (the dialog closes, or the window does)."""
        self.closed = True
        self.stop_burst()
        self.feed.stop()
        QApplication.instance().removeEventFilter(self)


def close_all(parent: QWidget) -> None:
    """The window closes: every capture dialog of ``parent`` stops its camera and writes the
    pictures it has taken (closing before they were written lost them, and the app)."""
    for dialog in parent.findChildren(CaptureDialog):
        dialog.shutdown()
        dialog.saver.finish()
