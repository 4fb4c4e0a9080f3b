"""Keep widgets readable in a small window: combo boxes that shrink, images that scale.

A ``QComboBox`` asks for the width of its longest item ("Cosine — glide down
to 5 % of the rate by the end of the phase"), so one combo could make a whole
page wider than the window's minimum size.  :func:`compact_combos` lets every
combo box of a window shrink to a few characters; the full text of the chosen
item stays one hover away (its tooltip) and the drop-down list shows every
item whole.

:class:`FitImage` shows a picture at the largest size that fits its cell
(never larger than the picture's own ``side``), so a grid of previews or the
convolution playground's input and output shrink with the window instead of
pushing it wider.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QCoreApplication, QEvent, QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QLabel, QScrollArea, QSizePolicy, QTabWidget,
                               QWidget)

from gui.plain_text import plain_tip

COMBO_CHARS = 14  # the width a combo box shrinks to, in characters
_TIP = "_fts_compact_tip"  # the combo's own tooltip, kept under the current text


def compact_combo(combo: QComboBox, chars: int = COMBO_CHARS) -> None:
    """Let ``combo`` shrink to ``chars`` characters; its tooltip names the chosen item whole."""
    if combo.property(_TIP) is not None:
        return
    combo.setProperty(_TIP, combo.toolTip())
    combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(min(chars, combo.minimumContentsLength() or chars))
    combo.view().setTextElideMode(Qt.ElideNone)
    # QComboBox keeps the minimum size it computed before; a style change is what clears it.
    QCoreApplication.sendEvent(combo, QEvent(QEvent.StyleChange))
    combo.updateGeometry()
    combo.currentTextChanged.connect(lambda _t, c=combo: _update_tip(c))
    _update_tip(combo)


def _update_tip(combo: QComboBox) -> None:
    own = combo.property(_TIP) or ""
    text = combo.currentText()
    # the item may be a file's name ("Video: <b>x.mp4"): shown as written
    combo.setToolTip(plain_tip(f"{text}\n\n{own}" if own and text else own or text))


def compact_combos(root: QWidget, chars: int = COMBO_CHARS) -> None:
    """:func:`compact_combo` on every combo box inside ``root`` (call after building it)."""
    for combo in root.findChildren(QComboBox):
        compact_combo(combo, chars)


class ColumnScroll(QScrollArea):
    """A scroll area that scrolls up and down only, and is always as wide as its content needs.

    With its horizontal scroll bar off, a plain ``QScrollArea`` lets a splitter
    make it narrower than its content, which is then cut off at the right (the
    Train page's settings, the Augment page's controls).  This one asks for its
    content's minimum width, measured afresh whenever the layout asks.
    """

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFocusPolicy(Qt.NoFocus)  # a Tab stop drawn as nothing; its controls take Tab
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

    def setWidget(self, widget: QWidget) -> None:  # noqa: N802 - Qt's name
        super().setWidget(widget)
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        # Content filled in later (the Augment page's controls, built on first show) is
        # measured again: the splitter had kept the width measured on "Loading…".
        if watched is self.widget() and event.type() == QEvent.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is not None:
            width = (inner.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
                     + 2 * self.frameWidth())
            hint.setWidth(max(hint.width(), width))
        return hint


class WrapLabel(QLabel):
    """A word-wrapped label whose minimum height is what its text needs at its present width.

    Qt guesses a wrapped label's minimum height for a width of its own choosing;
    in a narrow column the text needs more lines than that, and the boxes
    around it were squeezed to make room.  This label tells the layout the
    truth, and asks again when its width changes.
    """

    def __init__(self, text: str = "", parent: Optional[QWidget] = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self._for_width = -1

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        if self.width() > 0 and self.text():
            hint.setHeight(max(hint.height(), self.heightForWidth(self.width())))
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if event.size().width() != self._for_width:
            self._for_width = event.size().width()
            self.updateGeometry()


class MinimumTabs(QTabWidget):
    """Tabs whose height is their minimum, not the tallest tab's preferred height-for-width.

    A ``QTabWidget`` reports the height-for-width of its tallest tab, shown or
    not, so a page in a scroll area scrolled even in a big window; the tab
    shown takes whatever room the page has.
    """

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return False


class FitImage(QWidget):
    """A picture scaled to fit the widget (aspect kept, at most ``side`` pixels), centred.

    ``frame`` draws a 2-pixel border of that colour round it; ``smooth=False``
    keeps pixels square (the playground shows exact pixel values).
    """

    def __init__(self, side: int = 112, minimum: int = 48, frame: Optional[str] = None,
                 smooth: bool = True, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.side, self.minimum, self.frame, self.smooth = side, minimum, frame, smooth
        self.image: Optional[QImage] = None
        policy = QSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_image(self, image: Optional[QImage]) -> None:
        self.image = image
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.side, self.side)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.minimum, self.minimum)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return max(self.minimum, min(width, self.side))

    def shown_rect(self) -> QRect:
        """Where the picture is drawn (the empty rect when there is none)."""
        if self.image is None or self.image.isNull():
            return QRect()
        box = min(self.width(), self.height(), self.side)
        size = self.image.size().scaled(box, box, Qt.KeepAspectRatio)
        rect = QRect(0, 0, size.width(), size.height())
        rect.moveCenter(self.rect().center())
        return rect

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        rect = self.shown_rect()
        if rect.isEmpty():
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, self.smooth)
        painter.drawImage(rect, self.image)
        if self.frame:
            painter.setPen(QPen(QColor(self.frame), 2))
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
        painter.end()
