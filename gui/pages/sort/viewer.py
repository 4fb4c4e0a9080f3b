"""The Sort step's one-image view: the current image large, its suggestion, the class buttons.

The picture decodes off the UI thread through a one-row
:class:`gui.thumbnails.ThumbnailModel` at the view's size, like every thumbnail.
Buttons do what the keys do (:mod:`gui.pages.sort.keys`) and name their key.
"""

from __future__ import annotations

import os
from html import escape
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from core.shown import isolated
from gui.keys import key_text
from gui.pages.sort.class_buttons import ClassButtons
from gui.pages.sort.review import NONE, SKIP
from gui.plain_text import plain_tip
from gui.thumbnails import ThumbnailModel, fitted_pixmap

VIEW_SIDE = 400


class ImageView(QWidget):
    """The current image, what the model suggests, and one button per decision."""

    chosen = Signal(str)  # a class, SKIP or NONE
    accept_requested = Signal()
    back_requested = Signal()

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.big = ThumbnailModel(self, side=VIEW_SIDE, threads=1, captions=False)
        self.big.thumbnail_ready.connect(lambda _row: self._paint())
        self.picture = QLabel("Choose a folder of new images to start.")
        self.picture.setAlignment(Qt.AlignCenter)
        self.picture.setWordWrap(True)
        self.picture.setMinimumSize(96, 96)
        self.picture.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        self.name_label = QLabel("")
        self.name_label.setObjectName("hint")
        self.name_label.setTextFormat(Qt.PlainText)  # a file name, not markup
        self.name_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.suggestion_label = QLabel("")
        self.suggestion_label.setWordWrap(True)
        self.suggestion_label.setTextFormat(Qt.RichText)  # names escaped: "a<b" is a class
        self.class_scroll = ClassButtons()
        self.class_scroll.chosen.connect(self.chosen)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.picture, 1)
        lay.addWidget(self.name_label)
        lay.addWidget(self.suggestion_label)
        lay.addWidget(self.class_scroll)
        lay.addLayout(self._build_actions())
        self.setEnabled(False)

    def _build_actions(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.accept_button = QPushButton("Accept ⏎")
        self.accept_button.setObjectName("primary")
        self.accept_button.setToolTip("Label the image as the model suggests and go on (Enter)")
        self.accept_button.clicked.connect(self.accept_requested)
        self.skip_button = QPushButton("Skip (S)")
        self.skip_button.setToolTip("Leave this image for later (Space works too)")
        self.skip_button.clicked.connect(lambda: self.chosen.emit(SKIP))
        self.none_button = QPushButton("None (N)")
        self.none_button.setToolTip("None of these: it belongs to no class and stays where it is "
                                    "(N or 0)")
        self.none_button.clicked.connect(lambda: self.chosen.emit(NONE))
        self.back_button = QPushButton("Back ⌫")
        self.back_button.setToolTip(f"Undo the last decision ({key_text('Backspace')} or "
                                    f"{key_text('Ctrl+Z')})")
        self.back_button.clicked.connect(self.back_requested)
        for w in (self.accept_button, self.skip_button, self.none_button, self.back_button):
            w.setFocusPolicy(Qt.NoFocus)  # the keys stay with the review
            row.addWidget(w)
        return row

    def set_classes(self, classes: list[str]) -> None:
        """One button per class, named with its key; rebuilt when a class is added."""
        self.class_scroll.set_classes(classes)

    @property
    def class_buttons(self) -> dict:
        return self.class_scroll.buttons

    def show_item(self, item, decision: str, added: bool) -> None:
        """Show ``item`` (a Suggestion; None: nothing to show) and what was decided for it."""
        self.setEnabled(item is not None)
        if item is None:
            self.big.set_items([])
            self.picture.clear()
            self.picture.setText("No image.")
            self.name_label.setText("")
            self.suggestion_label.setText("")
            return
        self.big.set_items([item.path])
        self.name_label.setText(os.path.basename(item.path))
        self.name_label.setToolTip(plain_tip(item.path))
        others = ", ".join(f"{escape(isolated(c))} {p * 100:.0f} %" for c, p in item.top[1:])
        text = (f"Suggested: <b>{escape(isolated(item.suggested))}</b> "
                f"({item.probability * 100:.0f} %)"
                + (f"; then {others}" if others else ""))
        if item.unknown:  # what Enter does here: the view showed the class highlighted
            text = (f"Suggested: <b>none of these</b> — <i>looks unlike every class</i> "
                    f"(nearest: {escape(isolated(item.suggested))} "
                    f"{item.probability * 100:.0f} %"
                    + (f"; then {others}" if others else "") + ")")
        if added:
            text += f"<br>Added to the data set as <b>{escape(decision)}</b>."
        elif decision:
            shown = {SKIP: "skipped", NONE: "none of these"}.get(decision, decision)
            text += f"<br>Decided: <b>{escape(shown)}</b>"
        self.suggestion_label.setText(text)
        self._fit_suggestion()
        accepted = NONE if item.unknown else item.suggested
        for name, button in self.class_buttons.items():
            button.setProperty("suggested", name == accepted)
            button.setDefault(name == accepted)
        self.none_button.setProperty("suggested", accepted == NONE)
        self.none_button.setDefault(accepted == NONE)
        self.class_scroll.show_suggested(accepted)  # among many classes, scrolled into view
        self.accept_button.setToolTip(
            "Enter: none of these — the model finds it unlike every class" if item.unknown
            else f"Label the image {item.suggested!r}, as the model suggests, and go on (Enter)")
        self._paint()

    def _paint(self) -> None:
        if not self.big.rowCount():
            return
        icon = self.big.data(self.big.index(0), Qt.DecorationRole)  # queues the decode
        if self.big.loaded_count():
            side = max(40, min(self.picture.width(), self.picture.height(), VIEW_SIDE))
            self.picture.setText("")
            # small images: crisp pixels; at 200 % the size on screen stays ``side``
            self.picture.setPixmap(fitted_pixmap(icon, side, side,
                                                 self.picture.devicePixelRatioF()))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_suggestion()
        self._paint()

    def shutdown(self) -> None:
        self.big.shutdown()

    def _fit_suggestion(self) -> None:
        """The suggestion as tall as its wrapped lines at its width: at 14 pt the layout gave
        three lines the height of two, the class buttons drawn over the last (a UI review);
        the picture shrinks, or the page scrolls, instead."""
        label = self.suggestion_label
        label.setMinimumHeight(label.heightForWidth(label.width()) if label.text() else 0)
