"""Live loss and accuracy curves that move during an epoch, not only after it.

An epoch on a large folder can take minutes; a chart that waits for its end
looks frozen.  So the training curve plots Keras' running batch metrics at
fractional epochs (epoch 2, step 3 of 10 is x = 1.3), and the validation curve
gets one point at each epoch's end (x = the epoch number).  x counts epochs
over both phases; a dashed line marks where fine-tuning starts, because the
jump in the curves there is expected, not a bug.  A star marks the best epoch
so far, ranked by the engine's own rule (:func:`core.train.schedule.score`:
validation accuracy, then validation loss), which is the epoch whose weights
the run keeps.  The legend is a line of text above the plots, not a box inside
them, so it can never cover the fine-tuning marker's label or the newest points.

The loss axis is not fitted to the largest value: the first batches of fine-tuning
can reach a loss of 40 when the rest of the run stays near 1, and a fitted axis
then flattens every later point onto the floor.  Its top
(:func:`loss_axis_top`) covers every validation point and nine training points in
ten; a rarer spike runs off the top of the plot.

The numbers are kept as plain lists (``train_x``, ``train_loss``, ...), so a
test can read what is plotted.  pyqtgraph is imported the first time the plots
are needed, keeping it out of the window's start-up.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.theme import ACCENT, MUTED

VALIDATION_COLOR = "#f0a04b"
BEST_COLOR = "#7ddc7a"
PHASE_LABELS = {"head": "new head only", "fine_tune": "fine-tuning"}
#: The share of training (batch) losses the loss axis always shows; rarer spikes are cut off.
LOSS_QUANTILE = 0.9
#: Batch points are drawn at most this often (ms): redrawing every curve on each of up to
#: 20 batch events a second took 80-400 ms each once a run had 5,000-100,000 points, and
#: the window (and its Stop button) fell behind.  Epoch points are drawn at once.
BATCH_REDRAW_MS = 250
STACK_BELOW = 560  # narrower than this (pixels), the two plots stand one above the other
def _legend_item(colour: str, mark: str, words: str) -> str:
    """One legend entry that never wraps inside itself (a dot ended one line and its words
    began the next at 900 px)."""
    return (f"<span style='white-space:nowrap'><span style='color:{colour}'>{mark}</span>"
            f"&nbsp;{words.replace(' ', '&nbsp;')}</span>")


LEGEND = " &nbsp; ".join((_legend_item(ACCENT, "━", "training images (within each epoch)"),
                          _legend_item(VALIDATION_COLOR, "●", "validation images"),
                          _legend_item(BEST_COLOR, "★", "best epoch (kept)"),
                          _legend_item(MUTED, "┆", "fine-tuning starts")))


def epoch_plot(title: str, min_height: int, legend_top: "bool | None"):
    """A themed pyqtgraph plot with epochs along x and a legend (top or bottom right, or none).

    Shared by the live training curves (legend None: theirs is a line of text
    above the plots) and the Runs page's comparison.
    """
    import pyqtgraph as pg

    plot = pg.PlotWidget(background=None)
    plot.setAccessibleName(title)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setTitle(title, color=MUTED, size="10pt")
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setLabel("bottom", "epoch")
    plot.setMinimumHeight(min_height)
    if legend_top is not None:
        legend = plot.addLegend(offset=(-10, 10) if legend_top else (-10, -10),
                                labelTextColor=MUTED)
        legend.setBrush(pg.mkBrush(30, 33, 37, 200))
    return plot


class TrainingCurves(QWidget):
    """Two plots (loss, accuracy), each with a training and a validation curve."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._empty = QLabel("Loss and accuracy appear here as soon as training starts: the blue "
                             "line follows the training images batch by batch, the orange "
                             "dots are the validation images after each epoch.")
        self._empty.setObjectName("hint")
        self._empty.setWordWrap(True)
        self._layout.addWidget(self._empty)
        self.legend = QLabel(LEGEND)
        self.legend.setObjectName("hint")
        self.legend.setWordWrap(True)
        self.legend.hide()
        self._layout.addWidget(self.legend)
        self._plots_host: Optional[QWidget] = None
        self.plots: dict[str, object] = {}
        self._train_items: dict[str, object] = {}
        self._val_items: dict[str, object] = {}
        self._best_items: dict[str, object] = {}
        self._markers: list[object] = []
        self._batch_timer = QTimer(self)
        self._batch_timer.setSingleShot(True)
        self._batch_timer.setInterval(BATCH_REDRAW_MS)
        self._batch_timer.timeout.connect(self._redraw)
        self.clear()

    # -- data -------------------------------------------------------------------
    def clear(self) -> None:
        self.train_x: list[float] = []
        self.train_loss: list[float] = []
        self.train_acc: list[float] = []
        self.val_x: list[float] = []
        self.val_loss: list[float] = []
        self.val_acc: list[float] = []
        self.phase_markers: list[tuple[float, str]] = []
        self.best_x: Optional[float] = None  # x of the best epoch so far (None: none yet)
        self._best_score: Optional[list] = None
        self._epochs_by_phase: dict[str, int] = {}
        self._offset = 0.0
        self._phase = ""
        if self._plots_host is not None:
            for plot in self.plots.values():
                for m in self._markers:
                    plot.removeItem(m)
            self._markers = []
            self._redraw()

    def epochs_done(self) -> int:
        return sum(self._epochs_by_phase.values())

    def start_phase(self, phase: str) -> None:
        """A phase begins: its epoch 1 starts after every epoch of the other phases."""
        self._phase = phase
        self._offset = float(sum(n for p, n in self._epochs_by_phase.items() if p != phase))
        if self._offset > 0 and not any(p == phase for _x, p in self.phase_markers):
            self._add_marker(self._offset, phase)

    def add_batch(self, phase: str, epoch: int, step: int, steps: int, metrics: dict) -> None:
        if phase != self._phase:
            self.start_phase(phase)
        x = self._offset + (epoch - 1) + step / max(steps, 1)
        loss, acc = metrics.get("loss"), metrics.get("accuracy")
        if loss is None and acc is None:
            return
        self.train_x.append(x)
        self.train_loss.append(_num(loss))
        self.train_acc.append(_num(acc))
        if not self._batch_timer.isActive():
            self._batch_timer.start()

    def add_epoch(self, phase: str, epoch: int, metrics: dict) -> None:
        if phase != self._phase:
            self.start_phase(phase)
        self._epochs_by_phase[phase] = max(self._epochs_by_phase.get(phase, 0), epoch)
        x = self._offset + epoch
        if metrics.get("val_loss") is not None or metrics.get("val_accuracy") is not None:
            self.val_x.append(x)
            self.val_loss.append(_num(metrics.get("val_loss")))
            self.val_acc.append(_num(metrics.get("val_accuracy")))
        self._rank(x, metrics)
        self._redraw()

    def _rank(self, x: float, metrics: dict) -> None:
        """Keep ``x`` as the best epoch when the engine's rule ranks it above the best so far."""
        from core.train.schedule import score  # plain Python: no TensorFlow

        epoch_score = score(metrics)
        if self._best_score is None or epoch_score > self._best_score:
            self._best_score, self.best_x = epoch_score, x

    def mark_best(self, x: Optional[float]) -> None:
        """Put the star on epoch ``x`` (the run's recorded best epoch, when it is known)."""
        self.best_x = x
        self._redraw()

    def load_history(self, rows: list[dict]) -> None:
        """Draw a run's finished epochs (``RunFolder.history()``): one point per epoch."""
        self.clear()
        for row in rows:
            phase = row.get("phase") or "head"
            if phase != self._phase:
                self.start_phase(phase)
            x = self._offset + int(row.get("epoch") or 0)
            if row.get("loss") is not None:
                self.train_x.append(x)
                self.train_loss.append(_num(row.get("loss")))
                self.train_acc.append(_num(row.get("accuracy")))
            self._epochs_by_phase[phase] = int(row.get("epoch") or 0)
            if row.get("val_loss") is not None:
                self.val_x.append(x)
                self.val_loss.append(_num(row.get("val_loss")))
                self.val_acc.append(_num(row.get("val_accuracy")))
            self._rank(x, {k: row.get(k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")
                           if row.get(k) is not None})
        self._redraw()

    # -- drawing ------------------------------------------------------------------
    def _ensure_plots(self) -> None:
        if self._plots_host is not None:
            return
        import pyqtgraph as pg

        self._plots_host = QWidget()
        row = QBoxLayout(QBoxLayout.LeftToRight, self._plots_host)
        row.setContentsMargins(0, 0, 0, 0)
        self._plots_row = row
        for key, title in (("loss", "Loss (lower is better)"),
                           ("accuracy", "Accuracy (higher is better)")):
            plot = epoch_plot(title, 150, legend_top=None)
            self._train_items[key] = plot.plot([], [], pen=pg.mkPen(ACCENT, width=2))
            # thousands of batch points: draw about one per pixel, only those in view
            self._train_items[key].setDownsampling(auto=True, method="peak")
            self._train_items[key].setClipToView(True)
            self._val_items[key] = plot.plot([], [], pen=pg.mkPen(VALIDATION_COLOR, width=2),
                                             symbol="o", symbolSize=7,
                                             symbolBrush=VALIDATION_COLOR, symbolPen=None)
            self._best_items[key] = pg.ScatterPlotItem(symbol="star", size=18,
                                                       brush=pg.mkBrush(BEST_COLOR),
                                                       pen=pg.mkPen("#1e2125", width=1))
            self._best_items[key].setZValue(10)
            plot.addItem(self._best_items[key])
            if key == "accuracy":
                plot.setYRange(0, 1.02, padding=0)
                plot.setMouseEnabled(x=False, y=False)
            else:
                plot.setMouseEnabled(x=False, y=False)
            self.plots[key] = plot
            row.addWidget(plot)
        self._layout.addWidget(self._plots_host, 1)
        self._arrange()
        for x, phase in self.phase_markers:
            self._draw_marker(x, phase)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """Side by side when there is room, one above the other in a narrow window."""
        if self._plots_host is None:
            return
        narrow = self.width() < STACK_BELOW
        self._plots_row.setDirection(QBoxLayout.TopToBottom if narrow else QBoxLayout.LeftToRight)

    def _add_marker(self, x: float, phase: str) -> None:
        self.phase_markers.append((x, phase))
        if self._plots_host is not None:
            self._draw_marker(x, phase)

    def _draw_marker(self, x: float, phase: str) -> None:
        import pyqtgraph as pg

        for plot in self.plots.values():
            line = pg.InfiniteLine(pos=x, angle=90, movable=False,
                                   pen=pg.mkPen(MUTED, width=1, style=pg.QtCore.Qt.DashLine),
                                   label=PHASE_LABELS.get(phase, phase),
                                   # near the floor, rising: hung from the top it ran off
                                   # the plot in a short window; loss is rarely near 0 and
                                   # accuracy rarely near 0 where fine-tuning starts
                                   labelOpts={"position": 0.04, "color": MUTED, "anchors":
                                              [(0, 1), (0, 1)]})
            plot.addItem(line)
            self._markers.append(line)

    def _redraw(self) -> None:
        self._batch_timer.stop()  # whatever was pending is drawn now
        has_data = bool(self.train_x or self.val_x)
        if not has_data and self._plots_host is None:
            return
        self._ensure_plots()
        self._empty.setVisible(not has_data)
        self.legend.setVisible(has_data)
        self._train_items["loss"].setData(self.train_x, self.train_loss)
        self._train_items["accuracy"].setData(self.train_x, self.train_acc)
        self._val_items["loss"].setData(self.val_x, self.val_loss)
        self._val_items["accuracy"].setData(self.val_x, self.val_acc)
        best = self.best_point()
        for key, item in self._best_items.items():
            if best is None:
                item.setData([], [])
            else:
                item.setData([best[0]], [best[1][key]])
        right = max(self.train_x[-1:] + self.val_x[-1:] + [1.0])
        for plot in self.plots.values():
            plot.setXRange(0, max(1.0, right), padding=0.02)
        top = loss_axis_top(self.train_loss, self.val_loss)
        if top is not None:
            self.plots["loss"].setYRange(0, top, padding=0)


    def best_point(self) -> Optional[tuple[float, dict]]:
        """(x, {"loss": y, "accuracy": y}) of the star: the best epoch's validation point."""
        if self.best_x is None:
            return None
        xs, loss, acc = ((self.val_x, self.val_loss, self.val_acc) if self.val_x
                         else (self.train_x, self.train_loss, self.train_acc))
        for i in range(len(xs) - 1, -1, -1):
            if abs(xs[i] - self.best_x) < 1e-9:
                return self.best_x, {"loss": loss[i], "accuracy": acc[i]}
        return None


def loss_axis_top(train: list[float], val: list[float]) -> Optional[float]:
    """Top of the loss axis: above every validation loss and :data:`LOSS_QUANTILE` of the
    training losses, with a margin; None when there is no finite loss yet."""
    import numpy as np

    t = np.asarray(train, np.float64)
    v = np.asarray(val, np.float64)
    t, v = t[np.isfinite(t)], v[np.isfinite(v)]
    if not len(t) and not len(v):
        return None
    high = float(v.max()) if len(v) else 0.0
    if len(t):  # the element a full sort would put at LOSS_QUANTILE, without the sort
        k = min(len(t) - 1, int(LOSS_QUANTILE * len(t)))
        high = max(high, float(np.partition(t, k)[k]))
    return max(high * 1.1, 1e-3)


def _num(v) -> float:
    return float("nan") if v is None else float(v)
