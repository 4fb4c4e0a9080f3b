"""The Evaluate page's "Confidence" tab: how sure the model says it is vs how often it is right.

A reliability diagram (Guo et al., 2017): the images are put in 15 bins by the
confidence of their answer; each bar is the share of a bin's images answered
right.  On the diagonal the model is honest ("80% sure" is right 80% of the
time); a bar below it means over-confidence, above it under-confidence.  The
red part of a bar is that gap.  Under the bars, a strip shows how many images
fall in each bin, since a bin of two images says little.

The bins come from :class:`core.infer.metrics.Metrics` (``reliability``), computed
once in :mod:`core.trust.calibration`; this widget only paints them.  The text
above gives the expected calibration error (ECE) before and after the run's
temperature scaling, from ``metrics.json``'s ``"calibration"``.
"""

from __future__ import annotations

from html import escape
from typing import Optional

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.theme import ACCENT, ERROR, MUTED

HISTOGRAM_SHARE = 0.16  # of the plot's height, for the image-count strip


class ReliabilityChart(QWidget):
    """Bars of accuracy per confidence bin, the diagonal, the gaps, the image counts."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.bins: list[dict] = []
        self.setMinimumSize(220, 180)
        self.setToolTip("Each bar: of the images the model was this sure about, the share it "
                        "got right. On the dashed diagonal, its confidence is honest; red shows "
                        "how far off it is.")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(420, 300)

    def set_bins(self, bins: list[dict]) -> None:
        """``low``, ``high``, ``count``, ``confidence``, ``accuracy`` per bin (Metrics.reliability)."""
        self.bins = [dict(b) for b in bins]
        self.update()

    def plot_rect(self) -> QRectF:
        fm = QFontMetrics(self.font())
        left = fm.horizontalAdvance("100%") + 10
        bottom = 2 * fm.height() + 8
        right = fm.horizontalAdvance("100%") // 2 + 6  # room for the last axis label
        return QRectF(left, 8, max(10, self.width() - left - right),
                      max(10, self.height() - bottom - 8))

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        try:  # a painter left active when painting stops took the whole app down (SIGSEGV)
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.Antialiasing, True)
        rect = self.plot_rect()
        fm = QFontMetrics(self.font())
        hist_h = rect.height() * HISTOGRAM_SHARE
        plot = QRectF(rect.left(), rect.top(), rect.width(), rect.height() - hist_h - 6)
        painter.fillRect(plot, QColor("#23272c"))
        grid = QPen(QColor("#3a4048"), 1)
        text = self.palette().text().color()
        for v in (0.0, 0.25, 0.5, 0.75, 1.0):
            y = plot.bottom() - v * plot.height()
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(QColor(MUTED))
            painter.drawText(QRectF(0, y - fm.height() / 2, plot.left() - 6, fm.height()),
                             Qt.AlignRight | Qt.AlignVCenter, f"{v:.0%}")
            x = plot.left() + v * plot.width()
            painter.drawText(QRectF(x - 30, rect.bottom() + 2, 60, fm.height()),
                             Qt.AlignHCenter | Qt.AlignTop, f"{v:.0%}")
        painter.drawText(QRectF(plot.left(), rect.bottom() + fm.height() + 4, plot.width(),
                                fm.height()), Qt.AlignHCenter | Qt.AlignTop,
                         "how sure the model said it was (confidence)")
        total = sum(int(b.get("count", 0)) for b in self.bins) or 1
        most = max([int(b.get("count", 0)) for b in self.bins] + [1])
        for b in self.bins:
            n = int(b.get("count", 0))
            x0 = plot.left() + float(b["low"]) * plot.width() + 1
            w = max(1.0, (float(b["high"]) - float(b["low"])) * plot.width() - 2)
            if n:
                acc, conf = float(b["accuracy"]), float(b["confidence"])
                top = plot.bottom() - acc * plot.height()
                painter.fillRect(QRectF(x0, top, w, plot.bottom() - top), QColor(ACCENT))
                gap_top = plot.bottom() - max(acc, conf) * plot.height()
                gap_h = abs(conf - acc) * plot.height()
                gap = QColor(ERROR)
                gap.setAlpha(120)
                painter.fillRect(QRectF(x0, gap_top, w, gap_h), gap)
            h = (hist_h - 2) * n / most
            painter.fillRect(QRectF(x0, rect.bottom() - h, w, h), QColor("#6f7f90"))
        painter.setPen(QPen(text, 1, Qt.DashLine))
        painter.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.top()))
        painter.setPen(QColor(MUTED))
        painter.drawText(QRectF(plot.left() + 4, rect.bottom() - hist_h, plot.width(),
                                fm.height()), Qt.AlignLeft | Qt.AlignTop,
                         f"images per bin ({total} in all)")


def ece_text(metrics, calibration: Optional[dict]) -> str:
    """The words above the diagram: ECE, and what calibration changed when it ran.

    ``calibration`` is :func:`core.trust.store.figures_calibration`'s: the one the figures
    were scored with, and under ``RECALIBRATED`` one fitted since on changed images (then
    what the app's probabilities are now is said of that one, not of the first)."""
    from core.trust.calibration import ece_rose_note
    from core.trust.store import NOT_YET, NOT_YET_TEXT, RECALIBRATED, since_text

    since, not_yet = ((calibration or {}).get(k) for k in (RECALIBRATED, NOT_YET))
    calibration = {k: v for k, v in (calibration or {}).items()
                   if k not in (RECALIBRATED, NOT_YET)} or None
    if metrics.ece is None:
        text = ("<b>Expected calibration error: not recorded</b> (these results were saved by "
                "an earlier version; evaluate the run again to measure it).")
    else:
        text = (f"<b>Expected calibration error {metrics.ece:.3f}</b>: on average the "
                f"confidence shown is {metrics.ece * 100:.1f} points away from how often the "
                "answers are right (0 is perfect).")
    if calibration and calibration.get("temperature", 1) == 1.0:
        text += (f"<br>Calibration after training changed nothing: the model got all "
                 f"{calibration.get('n_images', '?')} of its validation images right, which "
                 "leaves no mistake to fit a temperature on (temperature 1.00; there, ECE "
                 f"{calibration.get('ece_before', 0):.3f} before and "
                 f"{calibration.get('ece_after', 0):.3f} after).")
        if not since:
            text += (" Its probabilities are its own: on these images it was right more often "
                     "than its confidence says. More validation images would let it be "
                     "calibrated.")
    elif calibration:
        text += (f"<br>Calibrated after training on its {calibration.get('n_images', '?')} "
                 f"validation images (temperature {calibration.get('temperature', 1):.2f}): "
                 f"there, ECE {calibration.get('ece_before', 0):.3f} before and "
                 f"{calibration.get('ece_after', 0):.3f} after.")
        rose = ece_rose_note(calibration)
        text += f" {escape(rose)}" if rose else ""
        if not since:
            text += " Every probability the app shows for this run is the calibrated one."
    elif since:
        text += "<br>No calibration was recorded when these figures were scored."
    elif not_yet:
        text += (f"<br>{NOT_YET_TEXT}. Resume it (on the Train step, or "
                 "<tt>python main.py train --resume RUN</tt>); until then its probabilities "
                 "are its own.")
    else:
        text += ("<br>No calibration is recorded for this model (too few validation images, "
                 "or trained before calibration existed): its probabilities are its own.")
    if since:
        text += "<br>" + escape(since_text(since, calibration)).replace(
            "Calibrated again since", "<b>Calibrated again since</b>", 1)
    return text


class ConfidenceTab(QWidget):
    """The tab: the ECE text above the reliability diagram."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        lay.addWidget(self.label)
        self.chart = ReliabilityChart()
        self.chart.setAccessibleName("Reliability diagram")
        lay.addWidget(self.chart, 1)

    def show_metrics(self, metrics, calibration: Optional[dict] = None) -> None:
        """``calibration``: metrics.json's "calibration" of the run (None: none recorded)."""
        self.label.setText(ece_text(metrics, calibration))
        self.chart.set_bins(metrics.reliability)
