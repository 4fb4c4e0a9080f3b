"""The Data page's "Validation split" box: share held back, seed, cache, near-copies together.

Each spin box takes its range, unit and tooltip from the setting it edits in
``config.data`` (:func:`gui.widgets.setting_widgets.bind_spin`); the share is
shown in percent.  The box shows the config (``show_config``); the page writes
edits back.  The note under the spin boxes gives the exact numbers of the
split training will make: :func:`core.data.dataset.split_dataset` itself runs
on the scanned images (it only sorts and shuffles names), so "41 held back,
168 for training" is what the run will use, not an estimate -- with the
near-copy groups kept together once "Check data" has found them
(:meth:`gui.state.AppState.planned_split`); before that the note says the run
will find them.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import (QCheckBox, QGroupBox, QHBoxLayout, QLabel, QSizePolicy,
                               QVBoxLayout, QWidget)

from gui.widgets.decimal_spin import DecimalSpin
from gui.widgets.flow_layout import FlowLayout
from gui.widgets.setting_widgets import SettingSpin, bind_spin, setting_info, setting_tooltip


class SplitBox(QGroupBox):
    """Three spin boxes, the near-copies switch and a note on what the split will do."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Validation split", parent)
        box = QVBoxLayout(self)
        row = FlowLayout()  # its three settings on more lines when the page is narrow
        row.setSpacing(16)  # as the row's 6 px and a 10 px gap were
        self.val_spin = DecimalSpin()  # whole percent shown; 12.5 % as 12.5, not 12
        self.val_spin.setDecimals(0)
        bind_spin(self.val_spin, "data.val_split", scale=100, suffix=" %")
        self.seed_spin = SettingSpin()
        bind_spin(self.seed_spin, "data.seed")
        self.cache_spin = SettingSpin()
        bind_spin(self.cache_spin, "data.cache_mb")
        self.cache_spin.setSingleStep(256)
        self.cache_spin.setSpecialValueText("off")
        for text, spin, width in (("Hold back for validation:", self.val_spin, 70),
                                  ("Split seed:", self.seed_spin, 70),
                                  ("Image cache:", self.cache_spin, 90)):
            label = QLabel(text)
            label.setBuddy(spin)
            label.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
            spin.setMinimumWidth(width)
            spin.setMaximumWidth(160)
            spin.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
            pair = QWidget()  # a label stays with its box when the row wraps
            pair_row = QHBoxLayout(pair)
            pair_row.setContentsMargins(0, 0, 0, 0)
            pair_row.setSpacing(6)
            pair_row.addWidget(label)
            pair_row.addWidget(spin, 1)
            row.addWidget(pair, 1)
        self.together_check = QCheckBox(setting_info("data.keep_duplicates_together").label)
        self.together_check.setToolTip(setting_tooltip(
            setting_info("data.keep_duplicates_together")))
        self.together_check.setProperty("setting", "data.keep_duplicates_together")
        row.addStretch(1)
        box.addLayout(row)
        box.addWidget(self.together_check)
        self.split_note = QLabel("")
        self.split_note.setObjectName("hint")
        self.split_note.setWordWrap(True)
        box.addWidget(self.split_note)

    def show_config(self, data_cfg) -> None:
        for spin, value in ((self.val_spin, data_cfg.val_split * 100),  # 12.5 %, not 12 %
                            (self.seed_spin, int(data_cfg.seed)),
                            (self.cache_spin, int(data_cfg.cache_mb))):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.together_check.blockSignals(True)
        self.together_check.setChecked(bool(data_cfg.keep_duplicates_together))
        self.together_check.blockSignals(False)

    def show_note(self, report, split, data_cfg, checked: bool) -> None:
        """What ``split`` -- the one a run would make of ``report`` (None: nothing scanned) -- does.

        ``checked``: a data check of this folder found its near-copy groups, so
        ``split`` keeps them together already; otherwise the run finds them at its start.
        """
        if split is None:
            self.split_note.setText("")
            return
        n_train, n_val = len(split.train), len(split.val)
        carved = report.layout == "split" and report.val_from_train  # train/ + test/
        if report.layout == "split" and not carved:
            self.split_note.setText(f"This folder already has train/ and val/ sub-folders: "
                                    f"{n_train} images train and {n_val} validate; the "
                                    "percentage is ignored.")
            return
        text = (f"{n_val} of {n_train + n_val} images will be held back for validation and "
                f"{n_train} used for training, the same share from every class.")
        if carved:
            text = ("This folder has train/ but no val/: validation comes from train/. "
                    f"{text} Its test/ images stay apart, for Evaluate.")
        if not data_cfg.keep_duplicates_together:
            text += " Near-copies are not kept together: a copy may validate its own twin."
        elif checked and split.kept_together:
            text += (f" {split.kept_together} group(s) of near-copies found by “Check data” "
                     "stay wholly on one side.")
        elif checked:
            text += " “Check data” found no near-copies to keep together."
        else:
            text += (" Near-copies are found when training starts and each group is kept on "
                     "one side (“Check data” shows them now).")
        self.split_note.setText(text)
