"""The Data page's "Validation split" box: share held back, split seed, image cache.

Each spin box takes its range, unit and tooltip from the setting it edits in
``config.data`` (:func:`gui.widgets.setting_widgets.bind_spin`); the share is
shown in percent.  The box shows the config (``show_config``); the page writes
edits back.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.widgets.setting_widgets import SettingSpin, bind_spin


class SplitBox(QGroupBox):
    """Three spin boxes and a note on what the split will do with the scanned images."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Validation split", parent)
        grid = QVBoxLayout(self)
        row = QHBoxLayout()
        self.val_spin = SettingSpin()
        bind_spin(self.val_spin, "data.val_split", scale=100, suffix=" %")
        self.seed_spin = SettingSpin()
        bind_spin(self.seed_spin, "data.seed")
        self.cache_spin = SettingSpin()
        bind_spin(self.cache_spin, "data.cache_mb")
        self.cache_spin.setSingleStep(256)
        self.cache_spin.setSpecialValueText("off")
        for text, spin, width in (("Hold back for validation:", self.val_spin, 90),
                                  ("Shuffle seed:", self.seed_spin, 120),
                                  ("Image cache:", self.cache_spin, 120)):
            label = QLabel(text)
            label.setBuddy(spin)
            spin.setMinimumWidth(width)
            row.addWidget(label)
            row.addWidget(spin)
            row.addSpacing(18)
        row.addStretch(1)
        grid.addLayout(row)
        self.split_note = QLabel("")
        self.split_note.setObjectName("hint")
        self.split_note.setWordWrap(True)
        grid.addWidget(self.split_note)

    def show_config(self, data_cfg) -> None:
        for spin, value in ((self.val_spin, round(data_cfg.val_split * 100)),
                            (self.seed_spin, data_cfg.seed), (self.cache_spin, data_cfg.cache_mb)):
            spin.blockSignals(True)
            spin.setValue(int(value))
            spin.blockSignals(False)

    def show_note(self, records: list, val_split: float) -> None:
        """What the split does with ``records`` (the scanned images)."""
        presplit = any(getattr(r, "subset", "") in ("val", "validation") for r in records)
        if presplit:
            self.split_note.setText("This folder already has train/ and val/ sub-folders; "
                                    "that split is used and the percentage is ignored.")
        elif records:
            n_val = round(len(records) * val_split)
            self.split_note.setText(f"About {n_val} of {len(records)} images will be held back, "
                                    "the same share from every class.")
        else:
            self.split_note.setText("")
