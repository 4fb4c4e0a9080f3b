"""The Predict page's picture view: one card per image with its answer.

A card shows the thumbnail (or its Grad-CAM overlay when that is switched on),
the file name, the predicted class with its confidence (or "unknown", in amber;
the bars still say what it resembles), and one bar per class of the top k, so a glance tells how sure the model is and what it hesitated
between.  A file that could not be read gets a crossed-out card with its
reason instead.

It is a plain list model plus a painting delegate rather than a widget per
image: a folder of thousands of images then costs one row of data each, and
only the visible cards are painted.  The images arrive as JPEG bytes (made in
the job's worker thread; :mod:`gui.pages.predict.packed`) and are decoded to a
``QImage`` when painted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from core.shown import cut_distinct, fixed, isolated, one_line, shown_text
from gui.pages.predict.packed import Packed, image_of
from gui.plain_text import plain_tip
from gui.theme import ACCENT, ERROR, MUTED
from gui.thumbnails import screen_ratio

UNKNOWN = "#f0c36b"  # the answer "unknown": amber, like the app's cautions
#: Text on a card, which is dark in either theme (the light theme's black text was unreadable).
CARD_TEXT = "#e8eaed"

CARD_WIDTH = 320  # two a row in the smallest window (900 px: 662 px for the cards)
IMAGE_SIDE = 112  # logical pixels; decoded at every device pixel (image_pixels)
BAR_HEIGHT = 16
MIN_BAR = 40  # the shortest probability bar, however long the class names
PAD = 8
NAME_ROOM_CHARS = 12  # a card is widened (big fonts) to keep this many average characters


def bar_height(fm: QFontMetrics) -> int:
    """A bar row's height: BAR_HEIGHT, or a line of text in a bigger font."""
    return max(BAR_HEIGHT, fm.height() + 2)


def card_width(fm: QFontMetrics) -> int:
    """CARD_WIDTH, or wider in a bigger font: at 14 pt the 320 px card left the class names
    beside the bars 50 px, "B…)" (a UI review); room for NAME_ROOM_CHARS characters."""
    text = (NAME_ROOM_CHARS * fm.averageCharWidth() + MIN_BAR
            + fm.horizontalAdvance("100.0%") + 4 + 8)
    return max(CARD_WIDTH, 4 + 2 * PAD + IMAGE_SIDE + 12 + text + 2)


def image_pixels() -> int:
    """How many pixels a card's picture and its Grad-CAM are made with: at 200 % the
    112-pixel picture was stretched to 224 device pixels and soft."""
    return round(IMAGE_SIDE * screen_ratio())


@dataclass
class CardRow:
    """One image: its prediction (``core.infer.predictor.Prediction``) and pictures."""

    prediction: Any
    thumbnail: Optional[Packed] = None  # JPEG bytes, decoded when painted (packed.py)
    overlay: Optional[Packed] = None
    stamp: Any = None  # the file's (size, mtime) when predicted: changed since, asked again


class PredictionModel(QAbstractListModel):
    """Rows of :class:`CardRow`; ``top_k`` and ``show_overlay`` steer what is drawn."""

    PredictionRole = Qt.UserRole + 1
    ThumbnailRole = Qt.UserRole + 2
    OverlayRole = Qt.UserRole + 3
    ImageRole = Qt.UserRole + 4  # what the card shows now: overlay if on and present
    OverlayShownRole = Qt.UserRole + 5  # the picture drawn is the Grad-CAM

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._rows: list[CardRow] = []
        self._row_of: dict[str, int] = {}
        self.top_k = 3
        self.show_overlay = False

    # -- content ------------------------------------------------------------
    def clear(self) -> None:
        self.beginResetModel()
        self._rows, self._row_of = [], {}
        self.endResetModel()

    def add_rows(self, rows: Sequence[CardRow]) -> int:
        """Append new images; an image already shown is replaced in place.  Returns how many
        were replaced."""
        fresh, replaced = [], 0
        for r in rows:
            i = self._row_of.get(r.prediction.path)
            if i is None:
                fresh.append(r)
            else:
                self._rows[i], replaced = r, replaced + 1
                idx = self.index(i)
                self.dataChanged.emit(idx, idx)
        if fresh:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            for r in fresh:
                self._row_of[r.prediction.path] = len(self._rows)
                self._rows.append(r)
            self.endInsertRows()
        return replaced

    def set_overlays(self, overlays: dict) -> None:
        for path, image in overlays.items():
            i = self._row_of.get(path)
            if i is not None:
                self._rows[i].overlay = image
        self._repaint_all()

    def set_top_k(self, k: int) -> None:
        self.top_k = max(1, int(k))
        self.layoutChanged.emit()  # card heights depend on k

    def set_show_overlay(self, on: bool) -> None:
        self.show_overlay = bool(on)
        self._repaint_all()

    def rows(self) -> list[CardRow]:
        return list(self._rows)

    def predictions(self) -> list:
        return [r.prediction for r in self._rows]

    def paths(self) -> list[str]:
        return [r.prediction.path for r in self._rows]

    def stamps(self) -> dict:
        """``{path: file stamp when predicted}`` (see core.fsutil.file_stamp)."""
        return {r.prediction.path: r.stamp for r in self._rows}

    def relabel(self, threshold: Optional[float]) -> tuple[int, int]:
        """Mark each image "unknown" by its kept score and ``threshold`` (None: none is);
        returns (images now "unknown", images with a score).  Nothing is predicted again."""
        unknown = scored = 0
        for r in self._rows:
            p = r.prediction
            if p.error or p.unknown_score is None:
                continue
            scored += 1
            p.unknown = threshold is not None and p.unknown_score > threshold
            unknown += p.unknown
        self._repaint_all()
        return unknown, scored

    def missing_overlays(self) -> list:
        """Readable images that have no Grad-CAM overlay yet."""
        return [r.prediction for r in self._rows if not r.prediction.error and r.overlay is None]

    def _repaint_all(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    # -- Qt model API ----------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        p = row.prediction
        # a name that is not UTF-8 shown by its bytes (\xff), as the CLI prints it: Qt
        # dropped them, naming (and copying) a file that does not exist (a review)
        if role == Qt.DisplayRole:
            return shown_text(p.path.replace("\\", "/").rsplit("/", 1)[-1])
        if role == Qt.ToolTipRole:  # the file's and the classes' names as written
            if p.error:
                return plain_tip(f"{shown_text(p.path)}\nCould not be read: {p.error}")
            why = (f"\nunknown: unlike the training images (score {fixed(p.unknown_score)})"
                   if p.unknown else "")
            return plain_tip(f"{shown_text(p.path)}{why}\n"
                             + "\n".join(f"{lbl}: {prob:.1%}" for lbl, prob in p.top))
        if role == self.PredictionRole:
            return p
        if role == self.ThumbnailRole:
            return image_of(row.thumbnail)
        if role == self.OverlayRole:
            return image_of(row.overlay)
        if role == self.OverlayShownRole:
            return bool(self.show_overlay and row.overlay is not None)
        if role == self.ImageRole:
            if self.show_overlay and row.overlay is not None:
                return image_of(row.overlay)
            return image_of(row.thumbnail)
        return None


def label_width(fm: QFontMetrics, labels: list, room: int) -> int:
    """The class-name column of a card's bars: the names' own width, up to all of ``room``
    but a short bar.  A fixed 90 px had cut "mono_100" to "mono_1…" at any window size, so
    "crack_10" and "crack_100" read alike (a Predict review)."""
    longest = max((fm.horizontalAdvance(isolated(label)) for label in labels), default=0)
    return max(40, min(longest + 2, room - MIN_BAR))


def card_names(fm: QFontMetrics, labels: list, width: int) -> list[str]:
    """A card's class names, each cut to ``width`` pixels, told apart: eliding each name on
    its own cut five different long names to the same "class…name_" (a Predict review);
    those are cut together around the part where they differ (:func:`cut_distinct`)."""
    shown = [fm.elidedText(isolated(label), Qt.ElideMiddle, width) for label in labels]
    if len(set(shown)) == len(set(labels)):
        return shown
    longest = max(len(label) for label in labels)
    start = min(longest, width // max(1, fm.averageCharWidth()) + 4)
    for limit in range(start, 2, -1):
        cut = [isolated(c) for c in cut_distinct(list(labels), limit)]
        if len(set(cut)) == len(set(labels)) and \
                all(fm.horizontalAdvance(c) <= width for c in cut):
            return cut
    return shown


def answer_text(fm: QFontMetrics, p, width: int) -> str:
    """A card's bold answer in ``width`` pixels: "unknown", or the class and its confidence.
    A long class name is cut in its middle and the confidence kept: cutting the line at its
    right end dropped the confidence and the name's end (a review); the card's tooltip
    names the class whole."""
    if p.unknown:
        return fm.elidedText("unknown", Qt.ElideRight, width)
    sure = f"  {p.confidence:.1%}"
    room = max(fm.horizontalAdvance("…"), width - fm.horizontalAdvance(sure))
    return isolated(fm.elidedText(p.label, Qt.ElideMiddle, room)) + sure


class PredictionDelegate(QStyledItemDelegate):
    """Paints a card: picture left; name, answer and top-k bars right."""

    @staticmethod
    def _paint_answer(painter: QPainter, option: QStyleOptionViewItem, p, at: QRect) -> int:
        """The answer in bold at ``at``'s top left: the class and its confidence, or "unknown"
        in amber (the bars below still say what it resembles); returns the next line's y."""
        bold = QFont(option.font)
        bold.setBold(True)
        size = option.font.pointSizeF()
        bold.setPointSizeF(size * 1.15 if size > 0 else 11)
        painter.setFont(bold)
        bfm = QFontMetrics(bold)
        painter.setPen(QColor(UNKNOWN if p.unknown else CARD_TEXT))
        painter.drawText(QRect(at.left(), at.top(), at.width(), bfm.height()),
                         Qt.AlignLeft | Qt.AlignVCenter, answer_text(bfm, p, at.width()))
        return at.top() + bfm.height() + 6

    @staticmethod
    def _paint_gradcam_caption(painter: QPainter, option: QStyleOptionViewItem, p,
                               at: QRect) -> None:
        """Which class the heat map is drawn for, on a strip at the picture's foot: it is
        the top class's, which an "unknown" card did not name (a Predict review)."""
        fm = QFontMetrics(option.font)
        strip = QRect(at.left(), at.bottom() - fm.height() - 2, at.width(), fm.height() + 3)
        painter.fillRect(strip, QColor(0, 0, 0, 170))
        painter.setPen(QColor(UNKNOWN if p.unknown else CARD_TEXT))
        text = f"for {isolated(p.top[0][0])}" if p.top else ""
        painter.drawText(strip.adjusted(3, 0, -3, 0), Qt.AlignLeft | Qt.AlignVCenter,
                         fm.elidedText(text, Qt.ElideMiddle, strip.width() - 6))

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        model = index.model()
        k = getattr(model, "top_k", 3)
        fm = QFontMetrics(option.font)
        text_h = 2 * fm.height() + 8 + k * (bar_height(fm) + 4)
        return QSize(card_width(fm), max(IMAGE_SIDE, text_h) + 2 * PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing, True)
        rect = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.State_Selected)
        painter.setPen(QPen(QColor(ACCENT) if selected else QColor("#3a4048"), 1))
        painter.setBrush(QColor("#2b3640") if selected else QColor("#23272c"))
        painter.drawRoundedRect(rect, 5, 5)

        p = index.data(PredictionModel.PredictionRole)
        image = index.data(PredictionModel.ImageRole)
        img_rect = QRect(rect.left() + PAD, rect.top() + PAD, IMAGE_SIDE, IMAGE_SIDE)
        painter.fillRect(img_rect, QColor("#33383e"))
        if isinstance(image, QImage) and not image.isNull():
            scaled = image.size().scaled(img_rect.size(), Qt.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(img_rect.center())
            painter.drawImage(target, image)
            if p is not None and index.data(PredictionModel.OverlayShownRole):
                self._paint_gradcam_caption(painter, option, p, img_rect)
        elif p is not None and p.error:
            painter.setPen(QPen(QColor(ERROR), 2))
            a = img_rect.adjusted(30, 30, -30, -30)
            painter.drawLine(a.topLeft(), a.bottomRight())
            painter.drawLine(a.topRight(), a.bottomLeft())

        x = img_rect.right() + 12
        width = rect.right() - PAD - x
        font = QFont(option.font)
        fm = QFontMetrics(font)
        y = rect.top() + PAD
        painter.setPen(QColor(MUTED))
        name = one_line(index.data(Qt.DisplayRole) or "")  # a "\n" in a name overlapped itself
        painter.drawText(QRect(x, y, width, fm.height()), Qt.AlignLeft | Qt.AlignVCenter,
                         fm.elidedText(name, Qt.ElideMiddle, width))
        y += fm.height() + 2
        if p is None:
            painter.restore()
            return
        if p.error:
            bold = QFont(font)
            bold.setBold(True)
            painter.setFont(bold)
            painter.setPen(QColor(ERROR))
            painter.drawText(QRect(x, y, width, fm.height()), Qt.AlignLeft, "Could not be read")
            painter.setFont(font)
            painter.setPen(QColor(CARD_TEXT))
            painter.drawText(QRect(x, y + fm.height() + 4, width, rect.bottom() - y - fm.height()),
                             Qt.AlignLeft | Qt.AlignTop | Qt.TextWordWrap, p.error)
            painter.restore()
            return
        y = self._paint_answer(painter, option, p, QRect(x, y, width, 0))
        painter.setFont(font)
        k = getattr(index.model(), "top_k", 3)
        bar_h = bar_height(fm)
        pct_w = fm.horizontalAdvance("100.0%") + 4
        label_w = label_width(fm, [label for label, _ in p.top[:k]], width - pct_w - 8)
        bar_w = max(10, width - label_w - pct_w - 8)
        names = card_names(fm, [label for label, _ in p.top[:k]], label_w)
        for rank, (shown, (_label, prob)) in enumerate(zip(names, p.top[:k])):
            painter.setPen(QColor(CARD_TEXT))
            painter.drawText(QRect(x, y, label_w, bar_h), Qt.AlignLeft | Qt.AlignVCenter,
                             shown)
            track = QRect(x + label_w + 4, y + (bar_h - BAR_HEIGHT) // 2 + 3, bar_w,
                          BAR_HEIGHT - 6)
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor("#3a4048"))
            painter.drawRoundedRect(track, 3, 3)
            fill = QRect(track.left(), track.top(), max(1, round(bar_w * float(prob))),
                         track.height())
            painter.setBrush(QColor(ACCENT) if rank == 0 else QColor("#6f7f90"))
            painter.drawRoundedRect(fill, 3, 3)
            painter.setPen(QColor(CARD_TEXT))
            painter.drawText(QRect(track.right() + 4, y, pct_w, bar_h),
                             Qt.AlignRight | Qt.AlignVCenter, f"{prob:.1%}")
            y += bar_h + 4
        painter.restore()
