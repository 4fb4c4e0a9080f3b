"""The Train page's settings column: every field of ``config.train`` the window edits.

Each control is made for one setting and takes its range, unit, label and
tooltip from the setting's declaration in :mod:`core.config`
(:func:`gui.widgets.setting_widgets.bind_spin`), so the window, the CLI and
``StudioConfig.validate()`` always agree.  The panel reports edits with
:attr:`SettingsPanel.changed`; the page writes them to the config.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QLabel,
                               QPushButton, QVBoxLayout, QWidget)

from core.shown import plural
from core.train.linear_head import planned_epochs
from gui.durations import format_duration
from gui.pages.train.lr_spin import LearningRateSpin
from gui.widgets.compact import ColumnScroll
from gui.widgets.setting_widgets import SettingSpin, bind_spin, setting_info, setting_tooltip
from gui.widgets.decimal_spin import DecimalSpin

SCHEDULES = [("cosine", "Cosine — glide down to 5 % by the end of the phase (recommended)"),
             ("plateau", "On plateau — divide by 5 when validation stalls for 2 epochs"),
             ("constant", "Constant — the same all phase")]
#: Why phase 1's epochs box is off: the exact fit has no epochs.
EXACT_FIT_TIP = ("The head is fitted exactly, in one step (Fine points → Head: Exact fit): "
                 "it has no epochs to set. Choose Adam there to train the head for epochs.")
HEAD_SOLVERS = [("logistic", "Exact fit — a regularised logistic regression (recommended)"),
                ("adam", "Epochs — phase 1's epochs at learning rate 1")]
SWITCHES = [("auto", "Auto (on for GPU, off for CPU)"), ("on", "On"), ("off", "Off")]


class SettingsPanel(ColumnScroll):
    """Three groups of settings; ``changed(name, value)`` after every edit by the user."""

    changed = Signal(str, object)  # field of config.train, new value

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, QWidget] = {}
        self._showing = False
        self.host = QWidget()
        lay = QVBoxLayout(self.host)
        lay.setContentsMargins(0, 0, 4, 0)
        lay.addWidget(self._build_phases())
        lay.addWidget(self._build_fine_points())
        lay.addWidget(self._build_speed())
        lay.addStretch(1)
        self.setWidget(self.host)

    def _build_phases(self) -> QGroupBox:
        box = QGroupBox("How long and how fast")
        form = QFormLayout(box)
        self.epochs_spin = self._spin(form, "epochs")
        self.ft_epochs_spin = self._spin(form, "fine_tune_epochs")
        self.batch_spin = self._spin(form, "batch_size")
        self.lr_spin = self._spin(form, "learning_rate", LearningRateSpin())
        self.find_lr_button = QPushButton("Find learning rate")
        self.find_lr_button.setToolTip("Run the range test on your images: the head trains a "
                                       "few batches at growing rates; see the loss and take "
                                       "the proposed rate")
        form.addRow("", self.find_lr_button)
        self.ft_lr_spin = self._spin(form, "fine_tune_learning_rate", LearningRateSpin())
        self.budget_spin = self._spin(form, "time_budget")
        self.steps_hint = QLabel()
        self.steps_hint.setObjectName("hint")
        self.steps_hint.setWordWrap(True)
        form.addRow(self.steps_hint)
        return box

    def _build_fine_points(self) -> QGroupBox:
        box = QGroupBox("Fine points")
        form = QFormLayout(box)
        self.head_combo = self._combo(form, "head_solver", HEAD_SOLVERS)
        self.schedule_combo = self._combo(form, "lr_schedule", SCHEDULES)
        self.smoothing_spin = self._spin(form, "label_smoothing", DecimalSpin())
        self.patience_spin = self._spin(form, "early_stopping_patience")
        # the shuffle order, augmentation draws and head start: the CLI's --seed set it, the
        # window had no control for it (the Data page's seed is the split's)
        self.seed_spin = self._spin(form, "seed")
        return box

    def _build_speed(self) -> QGroupBox:
        box = QGroupBox("Speed")
        form = QFormLayout(box)
        self.mixed_combo = self._combo(form, "mixed_precision", SWITCHES)
        self.xla_combo = self._combo(form, "xla", SWITCHES)
        return box

    def _spin(self, form: QFormLayout, name: str, spin: Any = None):
        spin = spin if spin is not None else SettingSpin()
        bind_spin(spin, f"train.{name}")
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(lambda v, n=name: self._emit(n, v))
        self.fields[name] = spin
        form.addRow(setting_info(f"train.{name}").label + ":", spin)
        return spin

    def _combo(self, form: QFormLayout, name: str, items) -> QComboBox:
        combo = QComboBox()
        # Long labels must not widen the settings column: the popup still shows them whole.
        combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(11)
        for value, label in items:
            combo.addItem(label, value)
        info = setting_info(f"train.{name}")
        combo.setToolTip(setting_tooltip(info))
        combo.setProperty("setting", f"train.{name}")
        combo.currentIndexChanged.connect(lambda _i, n=name, c=combo: self._emit(n, c.currentData()))
        self.fields[name] = combo
        form.addRow(info.label + ":", combo)
        return combo

    def _emit(self, name: str, value: Any) -> None:
        if not self._showing:
            self.changed.emit(name, value)

    def show_config(self, train_cfg) -> None:
        """Show ``config.train`` without reporting it back as edits."""
        self._showing = True
        try:
            for name, widget in self.fields.items():
                value = getattr(train_cfg, name)
                widget.blockSignals(True)
                if isinstance(widget, QComboBox):
                    widget.setCurrentIndex(max(widget.findData(value), 0))
                else:
                    widget.setValue(value)
                widget.blockSignals(False)
            # Stepping phase 2 up from "auto" starts where auto is: a tenth of phase 1.
            self.ft_lr_spin.first_rate = train_cfg.learning_rate / 10
        finally:
            self._showing = False

    def show_exact_fit(self, exact: bool) -> None:
        """Phase 1's epochs box, off while the head is fitted exactly in one step: it stayed
        on, so 10 + 10 epochs read "11 epochs at most" and more head epochs did nothing (a
        novice review)."""
        self.epochs_spin.setEnabled(not exact)
        own = setting_tooltip(setting_info("train.epochs"))
        self.epochs_spin.setToolTip(f"{EXACT_FIT_TIP}\n\n{own}" if exact else own)


def steps_text(config, n_train: int) -> str:
    """The hint under the settings: the time budget's plan, or the steps and epochs of a run
    on ``n_train`` training images (0: none scanned yet)."""
    t = config.train
    if t.time_budget:
        return (f"Time budget {format_duration(t.time_budget)}: when training starts the app "
                "times this machine and plans the cached views and phase 2's epochs to fit, "
                "and keeps the best model found in the time.")
    if n_train:
        steps = math.ceil(n_train / t.batch_size)
        epochs = sum(planned_epochs(config).values())
        return (f"{n_train} training images in batches of {t.batch_size}: "
                f"{steps} step{'s' if steps != 1 else ''} per epoch, "
                f"{plural(epochs, 'epoch')} at most.")
    return "Choose an image folder on the Data page to see how many steps an epoch has."
