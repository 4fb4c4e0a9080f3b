"""The learning-rate finder's answer: loss against learning rate, the proposal, "Use it".

The range test (:mod:`core.train.lr_finder`) runs as the window's long job;
this dialog shows its curve on a log-scale x axis with the proposed rate
marked, and "Use it" hands the rate back to the Train page, which writes it to
``train.learning_rate`` like any edit.
"""

from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from gui.theme import ACCENT, MUTED

PROPOSAL_COLOR = "#7ddc7a"


def find_lr_job(cfg, report, listener=None, cancel=None):
    """Worker: the range test on the page's settings (imports the engine off the UI thread)."""
    from core.train.lr_finder import find_learning_rate

    return find_learning_rate(cfg, listener=listener, cancel=cancel, report=report)


def summary_text(result) -> str:
    """The line under the curve: the proposal, or why there is none."""
    steps = f"{len(result.rates)} steps, {result.seconds:.1f} s."
    if result.flat:
        return ("<b>No rate to propose:</b> the loss did not fall at any rate tried, so the "
                "lowest point is noise. Keep the learning rate you have; check that the "
                f"classes differ in the images and that the weights are pretrained. {steps}")
    return (f"Proposed learning rate: <b>{result.proposal:.2g}</b> (lowest loss at "
            f"{result.min_loss_rate:.2g}, steepest fall at {result.steepest:.2g}"
            + ("; the loss diverged at the end, as it should" if result.diverged else "")
            + f"). {steps}")


#: The dialog's least size (width, height).
MIN_SIZE = (540, 470)

class LearningRateFinderDialog(QDialog):
    """The finder's curve and proposal; ``use_rate(rate)`` when the user takes it."""

    use_rate = Signal(float)

    def __init__(self, result, parent: Optional[QWidget] = None) -> None:
        import pyqtgraph as pg

        super().__init__(parent)
        self.setWindowTitle("Learning-rate finder")
        self.result = result
        lay = QVBoxLayout(self)
        intro = QLabel(
            "The new head trained for a few batches while the learning rate grew from 1e-7 "
            "to 1. The loss falls where the rate is useful and shoots up where it is too "
            "high; the proposal is a tenth of the rate at the lowest loss.")
        intro.setWordWrap(True)
        intro.setObjectName("hint")
        lay.addWidget(intro)
        self.plot = pg.PlotWidget(background=None)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLogMode(x=True, y=False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("bottom", "learning rate")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setLabel("left", "loss (smoothed)")
        self.plot.setMinimumSize(420, 260)
        self.curve = self.plot.plot(result.rates, result.losses, pen=pg.mkPen(ACCENT, width=2))
        self.marker = None
        if not result.flat:
            self.marker = pg.InfiniteLine(pos=math.log10(result.proposal), angle=90,
                                          pen=pg.mkPen(PROPOSAL_COLOR, width=2),
                                          label=f"proposed {result.proposal:.2g}",
                                          labelOpts={"color": PROPOSAL_COLOR, "position": 0.9})
            self.plot.addItem(self.marker)
        lay.addWidget(self.plot, 1)
        self.summary = QLabel(summary_text(result))
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet(f"color: {MUTED}")
        lay.addWidget(self.summary)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.use_button = QPushButton(f"Use {result.proposal:.2g}")
        self.use_button.setObjectName("primary")
        self.use_button.setToolTip("Set learning rate 1 to the proposed rate")
        buttons.addButton(self.use_button, QDialogButtonBox.AcceptRole)
        self.use_button.setVisible(not result.flat)  # a flat curve proposes nothing
        self.use_button.clicked.connect(self._use)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        # The wrapped texts' heights are not in the layout's minimum: at 442 x 350 the
        # summary lay over the plot's axis.  Room for both at three lines each.
        self.setMinimumSize(MIN_SIZE[0], MIN_SIZE[1])

    def _use(self) -> None:
        self.use_rate.emit(float(f"{self.result.proposal:.2g}"))
        self.accept()
