"""The Model page's "Starting weights" box, and the two jobs it starts.

ImageNet (downloaded once into the Keras cache), a weights file (checked
against the chosen backbone in a worker before it is used), or none.  The box
shows ``config.model.weights``; the page writes it.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import (QButtonGroup, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QRadioButton, QVBoxLayout, QWidget)

from gui.plain_text import plain_tip

IMAGENET, FILE, NONE = 0, 1, 2


def weights_job(model_cfg, listener=None, cancel=None):
    """Worker: make sure the ImageNet file is in the Keras cache (downloads once)."""
    from core.model.weights import fetch_imagenet_for

    return fetch_imagenet_for(model_cfg, listener=listener, cancel=cancel)


def check_file_job(model_cfg, path: str, listener=None, cancel=None):
    """Worker: check that a weights file fits the chosen backbone."""
    from core.model.weights import check_weights_file_for

    return check_weights_file_for(model_cfg, path)


class WeightsBox(QGroupBox):
    """Three choices; ``w_group.idClicked`` says which (IMAGENET, FILE or NONE)."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Starting weights", parent)
        lay = QVBoxLayout(self)
        self.w_imagenet = QRadioButton("ImageNet (recommended)")
        self.w_imagenet.setToolTip("Weights learned from 1.2 million photos, downloaded once into "
                                   "the Keras cache")
        self.w_file = QRadioButton("From a file:")
        self.w_file.setToolTip("A .weights.h5 or .h5 file of this backbone, e.g. copied from a "
                               "machine that could download it")
        self.w_none = QRadioButton("None (random start)")
        self.w_none.setToolTip("Random weights: the model must learn everything from your images, "
                               "which needs far more of them")
        self.w_group = QButtonGroup(self)
        for i, b in ((IMAGENET, self.w_imagenet), (FILE, self.w_file), (NONE, self.w_none)):
            self.w_group.addButton(b, i)
        lay.addWidget(self.w_imagenet)
        row = QHBoxLayout()
        row.addWidget(self.w_file)
        self.w_path = QLineEdit()
        self.w_path.setPlaceholderText("a .weights.h5 or .h5 file")
        self.w_path.setMinimumWidth(80)
        self.w_path.textChanged.connect(lambda text: self.w_path.setToolTip(plain_tip(text)))
        row.addWidget(self.w_path, 1)
        self.w_browse = QPushButton("Browse…")
        row.addWidget(self.w_browse)
        lay.addLayout(row)
        lay.addWidget(self.w_none)
        row = QHBoxLayout()
        self.download_button = QPushButton("Download now")
        self.download_button.setToolTip("Download the ImageNet weights of this backbone now; "
                                        "otherwise they are downloaded when training starts")
        row.addWidget(self.download_button)
        self.weights_status = QLabel("")
        self.weights_status.setWordWrap(True)
        self.weights_status.setObjectName("hint")
        row.addWidget(self.weights_status, 1)
        lay.addLayout(row)

    def show_weights(self, weights: str) -> None:
        """Reflect ``config.model.weights`` ("imagenet", "none"/"" or a file path)."""
        w = (weights or "").strip()
        if w.lower() == "imagenet":
            self.w_imagenet.setChecked(True)
        elif w.lower() in ("none", ""):
            self.w_none.setChecked(True)
        else:
            self.w_file.setChecked(True)
            self.w_path.setText(w)
        self.w_path.setEnabled(self.w_file.isChecked())
        self.w_browse.setEnabled(True)
        self.download_button.setVisible(self.w_imagenet.isChecked())

    def typed_path(self) -> str:
        return self.w_path.text().strip()
