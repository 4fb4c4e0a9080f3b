"""The Evaluate page's results: accuracy, per-class table, confusion matrix, image galleries.

:class:`ResultsView` only shows a :class:`core.infer.metrics.Metrics` and lists
images it is given; which images belong to a cell is the page's business.
Thumbnails come from :class:`gui.thumbnails.ThumbnailModel` (decoded off the
UI thread).  The accuracy comes with its 95 % interval, and with a caution in
words when the images are few (:mod:`core.infer.uncertainty`); the galleries
open on the one that has something to show (the mistakes, when there are any).
"""

from __future__ import annotations

import os
from typing import Optional

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListView,
                               QListWidget, QListWidgetItem, QStyle, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from core.infer.metrics import NO_MISTAKES, NO_VALUE, confused_pairs
from core.shown import isolated
from gui.pages.evaluate.confusion import ConfusionView
from gui.pages.evaluate.reliability import ConfidenceTab
from gui.plain_text import plain_tip
from gui.thumbnails import ThumbnailModel
from gui.widgets.turning_splitter import TurningSplitter

#: The most confused pairs listed beside a compact (many-class) matrix.
PAIRS = 20
#: Characters of a class name the per-class table always has room for.
NAME_CHARS = 12
CELL_HINT = "Click a cell of the confusion matrix to see its images here."
CLASS_TIPS = ["", "Of the images the model called this class, the share that really are",
              "Of the images of this class, the share the model found",
              "One number balancing precision and recall (their harmonic mean)",
              "Images of this class that were evaluated"]
#: A "–" cell's tooltip: [the class has images, none taken for it; the class has none].
NO_VALUE_TIPS = ["No value: the model took no image for this class, so there is no share "
                 "of them to be right",
                 "No value: no image of this class was evaluated (macro F1 leaves it out)"]


class CaptionedThumbnails(ThumbnailModel):
    """Thumbnails with room for a two-line caption (confidence, then the file name)."""

    def data(self, index, role=Qt.DisplayRole):
        if role == Qt.SizeHintRole:
            return QSize(self.side + 72, self.side + 44)
        return super().data(index, role)


def pct(v: float) -> str:
    return f"{v:.1%}"


def before_text(calibration: Optional[dict]) -> str:
    """", 0.194 before calibration" when the run was calibrated ("" when not)."""
    if not calibration or "ece_before" not in calibration:
        return ""
    return f" ({calibration['ece_before']:.3f} before calibration)"


def changed_images_text(recorded, fresh, n_read: int) -> str:
    """The banner when the validation images as they are now do not give the matrix shown
    (``recorded``, metrics.json's; ``fresh``, the page's own predictions of them): a cell
    counting 0 listed 2 images after pictures were replaced under the same names."""
    shown = recorded.n_images if recorded is not None else n_read
    if n_read < shown:
        return (f"{shown - n_read} of the {shown} validation images cannot be read now "
                "(deleted, moved or damaged since training): the cells list only the images "
                "still there.")
    if recorded is not None and fresh is not None and fresh.confusion != recorded.confusion:
        return ("The validation images changed since the run was scored: the model answers "
                f"some of them otherwise now (accuracy {fresh.accuracy:.1%} on them as they "
                f"are, {recorded.accuracy:.1%} when scored). The matrix and the figures are "
                "from training; the cells list the images as they are now, so a cell may "
                "list more or fewer images than it counts. Evaluate on another folder (the "
                "run's data folder) for today's figures.")
    return ""


def folder_notes(evaluation) -> list[str]:
    """What a folder's figures leave out, sentence by sentence: folders named like no class
    (a "Dark" folder for the class "dark" was dropped with one log line), copies of other
    files (they were called unreadable), files that could not be read, and the images a
    model calibrated for it would answer "unknown"."""
    notes = []
    unrecognised = getattr(evaluation, "unrecognised", "")
    if unrecognised:  # the figures may count training images: said first
        notes.append(unrecognised[0].upper() + unrecognised[1:] + ".")
    subset = getattr(evaluation, "subset", "")
    if subset == "train":
        notes.append("The folder holds train/ only: its training images were scored, which "
                     "flatters a model that learnt from them.")
    elif subset:  # the heading's count was all a user saw of 90 images (a review)
        notes.append(f"Only its {subset}/ images were scored: the folder is split into "
                     f"subsets, and the {evaluation.subset_left} image(s) of its other "
                     "subsets were not (train/ is most likely what the model learnt from).")
    classes = {c.casefold(): c for c in evaluation.metrics.classes}
    if evaluation.unmatched:
        near = [f"“{u}” (the class is “{classes[u.casefold()]}”)" if u.casefold() in classes
                else f"“{u}”" for u in evaluation.unmatched]
        notes.append(f"Not scored: the folder(s) {', '.join(near)} are named like none of the "
                     "model's classes; rename a folder to its class's exact name to score it.")
    kinds = [c.get("kind") for c in evaluation.left_out]
    crossed, learnt = kinds.count("cross_class_duplicate"), kinds.count("trained_on")
    if learnt:
        notes.append(f"{learnt} image(s) the model trained on were not scored (they would "
                     "flatter every figure).")
    if len(kinds) > crossed + learnt:
        notes.append(f"{len(kinds) - crossed - learnt} copies of other files in the same "
                     "class were not scored.")
    if crossed:
        notes.append(f"{crossed} images filed under two classes were not scored.")
    if evaluation.metrics.skipped:
        notes.append(f"{len(evaluation.metrics.skipped)} file(s) could not be read and were "
                     "skipped.")
    share = getattr(evaluation, "unknown", None)
    if share is not None and share.n_unknown:  # the figures are every image's top class
        notes.append(share.text())
    return notes


def right_answers(metrics) -> int:
    return sum(r[i] for i, r in enumerate(metrics.confusion))


def gallery(model: ThumbnailModel, name: str) -> QListView:
    """An icon view of ``model`` called ``name``; double-clicking an image opens it."""
    view = QListView()
    view.setAccessibleName(name)
    view.setViewMode(QListView.IconMode)
    view.setResizeMode(QListView.Adjust)
    view.setMovement(QListView.Static)
    view.setUniformItemSizes(True)
    view.setWordWrap(True)
    view.setSpacing(6)
    view.setIconSize(QSize(model.side, model.side))
    view.setModel(model)
    view.setToolTip("Double-click an image to open it")
    view.doubleClicked.connect(lambda idx, m=model: QDesktopServices.openUrl(
        QUrl.fromLocalFile(m.path(idx.row()))))
    return view


class ResultsView(QWidget):
    """Summary line, confusion matrix and class table on the left, galleries on the right."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._build_summary())
        split = TurningSplitter(collapsible=True, roomy=True,  # stacked if both do not fit
                                least_height=420)  # a small window scrolls, no squashing
        split.addWidget(self._build_matrix_side())
        split.addWidget(self._build_galleries())
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        lay.addWidget(split, 1)

    def _build_summary(self) -> QVBoxLayout:
        box = QVBoxLayout()
        summary = QHBoxLayout()
        self.accuracy_label = QLabel()
        big = QFont()
        big.setPointSize(20)
        big.setBold(True)
        self.accuracy_label.setFont(big)
        self.accuracy_label.setToolTip("Share of the images whose predicted class is right")
        summary.addWidget(self.accuracy_label)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextFormat(Qt.PlainText)  # class names are shown as written
        summary.addWidget(self.summary_label, 1)
        box.addLayout(summary)
        self.caution_label = QLabel()
        self.caution_label.setObjectName("caution")
        self.caution_label.setTextFormat(Qt.PlainText)  # class names: "<none>" is no tag
        self.caution_label.setWordWrap(True)
        self.caution_label.setStyleSheet("QLabel#caution { color: #f0c36b; }")
        self.caution_label.hide()
        box.addWidget(self.caution_label)
        return box

    def _build_matrix_side(self) -> QWidget:
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        title = QLabel("<b>Confusion matrix</b> — rows: the true class; columns: what the "
                       "model said. Click a cell to see its images.")
        title.setWordWrap(True)
        ll.addWidget(title)
        self.confusion = ConfusionView()
        self.confusion.setAccessibleName("Confusion matrix")
        ll.addWidget(self.confusion)
        ll.addWidget(QLabel("<b>Per class</b>"))
        self.class_table = QTableWidget(0, 5)
        self.class_table.setAccessibleName("Per class")
        self.class_table.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
        self.class_table.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1",
                                                    "Images"])
        for i, tip in enumerate(CLASS_TIPS):
            if tip:
                self.class_table.horizontalHeaderItem(i).setToolTip(tip)
        self.class_table.verticalHeader().hide()
        self.class_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.class_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        header = self.class_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        ll.addWidget(self.class_table, 1)
        return left

    def _gallery_tab(self, title: str) -> tuple[QLabel, CaptionedThumbnails, QListView]:
        tab = QWidget()
        lay = QVBoxLayout(tab)
        lay.setContentsMargins(4, 4, 4, 4)
        label = QLabel()
        label.setObjectName("hint")
        label.setTextFormat(Qt.PlainText)  # it names classes: "<none>" is no tag
        label.setWordWrap(True)
        lay.addWidget(label)
        thumbs = CaptionedThumbnails(self)
        view = gallery(thumbs, title)
        lay.addWidget(view, 1)
        self.tabs.addTab(tab, title)
        return label, thumbs, view

    def _build_galleries(self) -> QTabWidget:
        self.tabs = QTabWidget()
        self.cell_label, self.cell_thumbs, self.cell_view = self._gallery_tab("Chosen cell")
        self.tabs.setTabToolTip(0, "The images of the confusion-matrix cell you click")
        self.cell_label.setText(CELL_HINT)
        self.mistakes_label, self.mistake_thumbs, self.mistakes_view = self._gallery_tab(
            "Mistakes")
        self.tabs.setTabToolTip(1, "Images the model got wrong, most confident first")
        self.confidence = ConfidenceTab()
        self.tabs.addTab(self.confidence, "Confidence")
        self.pairs_list = QListWidget()  # many classes: the worst cells without scrolling
        self.pairs_list.setAccessibleName("Most confused")
        self.pairs_list.itemClicked.connect(self._on_pair)
        self.pairs_list.itemActivated.connect(self._on_pair)  # Enter, as a click
        self.pairs_tab = self.tabs.addTab(self.pairs_list, "Most confused")
        self.tabs.setTabToolTip(self.pairs_tab, "The largest cells outside the matrix's "
                                "diagonal: click one to see its images")
        self.tabs.setTabVisible(self.pairs_tab, False)
        self.tabs.setTabToolTip(2, "How sure the model says it is vs how often it is right "
                                   "(calibration and its reliability diagram)")
        return self.tabs

    # ------------------------------------------------------------------ filling
    def clear(self) -> None:
        self.confusion.set_matrix([], [])
        self.class_table.setRowCount(0)
        self.mistake_thumbs.set_items([])
        self.cell_thumbs.set_items([])

    def show_metrics(self, metrics, calibration: Optional[dict] = None,
                     validation: bool = True) -> None:
        """Show ``metrics``; ``calibration`` is the run's metrics.json "calibration" (or None).

        ``validation`` False: the figures are another folder's, and the ECE "before
        calibration" the run recorded is its validation set's, not this folder's.
        """
        from core.infer.uncertainty import cautions, wilson_interval

        right = right_answers(metrics)
        lo, hi = wilson_interval(right, metrics.n_images)
        self.accuracy_label.setText(pct(metrics.accuracy))
        skipped = (f" {len(metrics.skipped)} unreadable file(s) were skipped."
                   if metrics.skipped else "")
        self.summary_label.setText(
            f"accuracy — {right} of {metrics.n_images} images right (95 % interval "
            f"{lo:.0%}–{hi:.0%}).  Macro F1 {metrics.macro_f1:.3f} "
            f"({metrics.macro_f1_words()}).  Calibration error (ECE) "
            + ("not recorded" if metrics.ece is None else f"{metrics.ece:.3f}")
            + f"{before_text(calibration if validation else None)}, see Confidence.{skipped}")
        caution = " ".join(cautions(metrics.confusion, metrics.classes, validation))
        self.caution_label.setText(f"⚠ {caution}" if caution else "")
        self.caution_label.setVisible(bool(caution))
        self.confusion.set_matrix(metrics.classes, metrics.confusion)
        self._fill_pairs(metrics)
        self.confidence.show_metrics(metrics, calibration)
        self._fill_class_table(metrics)
        self._fill_mistakes(metrics)
        self.cell_thumbs.set_items([])
        self.cell_label.setText(CELL_HINT)
        # Open on the gallery that has something in it: the mistakes, when there are any.
        self.tabs.setCurrentIndex(1 if metrics.n_images > right else 0)

    def _fill_pairs(self, metrics) -> None:
        """The largest mistaken cells, listed when the matrix is too big to take in."""
        self.pairs_list.clear()
        shown = self.confusion.matrix.compact
        self.tabs.setTabVisible(self.pairs_tab, shown)
        if not shown:
            return
        index = {name: i for i, name in enumerate(metrics.classes)}
        for n, true, predicted in confused_pairs(metrics.classes, metrics.confusion)[:PAIRS]:
            item = QListWidgetItem(f"{n} × {isolated(true)} → {isolated(predicted)}")
            item.setData(Qt.UserRole, (index[true], index[predicted]))
            item.setToolTip(plain_tip(f"{n} “{true}” image(s) taken for “{predicted}”"))
            self.pairs_list.addItem(item)
        if not self.pairs_list.count():
            self.pairs_list.addItem("none: every image is in its own class")

    def _on_pair(self, item: QListWidgetItem) -> None:
        cell = item.data(Qt.UserRole)
        if cell:  # "none: ..." is no cell
            self.confusion.cell_clicked.emit(*cell)

    def _fill_class_table(self, metrics) -> None:
        self.class_table.setRowCount(len(metrics.per_class))
        for r, score in enumerate(metrics.per_class):
            p, rc, f1 = metrics.score_values(r)
            cells = [score.name, *(NO_VALUE if v is None else pct(v) for v in (p, rc)),
                     NO_VALUE if f1 is None else f"{f1:.3f}", str(score.support)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if text == NO_VALUE:  # said nowhere on the page (a review)
                    item.setToolTip(NO_VALUE_TIPS[not score.support])
                self.class_table.setItem(r, c, item)
        self._fit_class_table()

    def _fit_class_table(self) -> None:
        """The table as wide as its number columns and NAME_CHARS characters of name: at 14 pt
        the numbers took all of its 270 px and the names read "He…" (a UI review)."""
        table, header = self.class_table, self.class_table.horizontalHeader()
        numbers = sum(max(header.sectionSizeHint(c), table.sizeHintForColumn(c))
                      for c in range(1, table.columnCount()))
        edges = 2 * table.frameWidth() + table.verticalScrollBar().sizeHint().width()
        name = max(header.sectionSizeHint(0), table.fontMetrics().horizontalAdvance(
            "n" * NAME_CHARS) + 2 * table.style().pixelMetric(QStyle.PM_FocusFrameHMargin) + 8)
        table.setMinimumWidth(numbers + name + edges)

    def _fill_mistakes(self, metrics) -> None:
        mistakes = metrics.mistakes
        captions = [f"{m.true_label} → {m.predicted_label} {m.confidence:.0%}\n"
                    f"{os.path.basename(m.path)}" for m in mistakes]
        self.mistake_thumbs.set_items([m.path for m in mistakes], captions)
        self.mistake_thumbs.prefetch(24)
        wrong = metrics.n_images - right_answers(metrics)
        if not wrong:
            self.mistakes_label.setText(NO_MISTAKES)
        else:
            more = (f" (the {len(mistakes)} most confident are listed)"
                    if len(mistakes) < wrong else "")
            self.mistakes_label.setText(
                f"{wrong} image(s) got the wrong class{more}. Captions read true → predicted, "
                "then how sure the model was: a confident mistake often means a mislabelled "
                "image or a class the pictures cannot tell apart.")
        self.tabs.setTabText(1, f"Mistakes ({wrong})")

    def list_cell(self, items: list[tuple[str, float]], text: str) -> None:
        """Show ``(path, confidence)`` items, most confident first, under ``text``."""
        captions = [f"{c:.0%} sure\n{os.path.basename(p)}" for p, c in items]
        self.cell_thumbs.set_items([p for p, _c in items], captions)
        self.cell_thumbs.prefetch(48)
        self.cell_label.setText(text)

    def shutdown(self) -> None:
        self.cell_thumbs.shutdown()
        self.mistake_thumbs.shutdown()
