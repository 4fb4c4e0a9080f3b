"""The Data page's "Validation split" box: share held back, split seed, image cache.

Each spin box takes its range, unit and tooltip from the setting it edits in
``config.data`` (:func:`gui.widgets.setting_widgets.bind_spin`); the share is
shown in percent.  The box shows the config (``show_config``); the page writes
edits back.  The note under the spin boxes gives the exact numbers of the
split training will make: :func:`core.data.dataset.split_dataset` itself runs
on the scanned images (it only sorts and shuffles names), so "41 held back,
168 for training" is what the run will use, not an estimate.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui.widgets.setting_widgets import SettingSpin, bind_spin


class SplitBox(QGroupBox):
    """Three spin boxes and a note on what the split will do with the scanned images."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Validation split", parent)
        box = QVBoxLayout(self)
        row = QHBoxLayout()
        self.val_spin = SettingSpin()
        bind_spin(self.val_spin, "data.val_split", scale=100, suffix=" %")
        self.seed_spin = SettingSpin()
        bind_spin(self.seed_spin, "data.seed")
        self.cache_spin = SettingSpin()
        bind_spin(self.cache_spin, "data.cache_mb")
        self.cache_spin.setSingleStep(256)
        self.cache_spin.setSpecialValueText("off")
        for text, spin, width in (("Hold back for validation:", self.val_spin, 70),
                                  ("Shuffle seed:", self.seed_spin, 70),
                                  ("Image cache:", self.cache_spin, 90)):
            label = QLabel(text)
            label.setBuddy(spin)
            spin.setMinimumWidth(width)
            spin.setMaximumWidth(160)
            spin.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
            row.addWidget(label)
            row.addWidget(spin, 1)
            row.addSpacing(10)
        row.addStretch(1)
        box.addLayout(row)
        self.split_note = QLabel("")
        self.split_note.setObjectName("hint")
        self.split_note.setWordWrap(True)
        box.addWidget(self.split_note)

    def show_config(self, data_cfg) -> None:
        for spin, value in ((self.val_spin, round(data_cfg.val_split * 100)),
                            (self.seed_spin, data_cfg.seed), (self.cache_spin, data_cfg.cache_mb)):
            spin.blockSignals(True)
            spin.setValue(int(value))
            spin.blockSignals(False)

    def show_note(self, report, data_cfg) -> None:
        """What the split does with the scanned images of ``report`` (None: nothing scanned)."""
        counts = split_counts(report, data_cfg)
        if counts is None:
            self.split_note.setText("")
            return
        n_train, n_val = counts
        if report.layout == "split":
            self.split_note.setText(f"This folder already has train/ and val/ sub-folders: "
                                    f"{n_train} images train and {n_val} validate; the "
                                    "percentage is ignored.")
        else:
            self.split_note.setText(f"{n_val} of {n_train + n_val} images will be held back "
                                    f"for validation and {n_train} used for training, the same "
                                    "share from every class.")


def split_counts(report, data_cfg) -> "tuple[int, int] | None":
    """(training, validation) images of the split training will make; None without images."""
    if report is None or not getattr(report, "records", None):
        return None
    from core.data.dataset import split_dataset  # already loaded by the scan's worker

    split = split_dataset(report, data_cfg.val_split, data_cfg.seed)
    return len(split.train), len(split.val)
