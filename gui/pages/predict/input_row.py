"""The Predict page's row of inputs: add images or a folder, clear, classes shown, CSV,
and under it the Grad-CAM and "unknown" bars.  Built here to keep the page's module to its
behaviour; the widgets are the page's attributes, as tests and screenshots read them."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from gui.pages.predict.gradcam_bar import GradCamBar
from gui.widgets.flow_layout import FlowLayout
from gui.pages.predict.unknown_bar import UnknownControl


#: The most classes an image's answer lists ("Classes shown").
TOP_K_MAX = 10


def build_input_row(page) -> QVBoxLayout:
    rows = QVBoxLayout()
    row = FlowLayout()  # on two lines when the page is too narrow for one (a big font)
    page.add_button = QPushButton("Add images…")
    page.add_button.setObjectName("primary")
    page.add_button.clicked.connect(page.choose_images)
    page.add_folder_button = QPushButton("Add folder…")
    page.add_folder_button.setToolTip("Every image in the folder and its sub-folders")
    page.add_folder_button.clicked.connect(page.choose_folder)
    page.clear_button = QPushButton("Clear")
    page.clear_button.clicked.connect(page.clear_results)
    page.topk_spin = QSpinBox()
    page.topk_spin.setRange(1, TOP_K_MAX)  # at most the model's classes, once it is known
    page.topk_spin.setValue(3)
    page.topk_spin.setToolTip("How many classes each image lists (and the CSV holds)")
    page.topk_spin.valueChanged.connect(page._on_top_k_changed)
    topk_label = QLabel("Classes shown:")
    topk_label.setBuddy(page.topk_spin)
    page.csv_button = QPushButton("Export CSV…")
    page.csv_button.setToolTip("path, label, confidence and the top classes, one row per "
                               "image (the same columns as 'python main.py predict --csv')")
    page.csv_button.clicked.connect(page.choose_csv)
    for w in (page.add_button, page.add_folder_button, page.clear_button):
        row.addWidget(w)
    row.addStretch(1)
    topk = QWidget()  # the label stays with its box when the row wraps
    topk_row = QHBoxLayout(topk)
    topk_row.setContentsMargins(0, 0, 0, 0)
    topk_row.setSpacing(10)  # the page's, as in the row before it could wrap
    topk_row.addWidget(topk_label)
    topk_row.addWidget(page.topk_spin)
    row.addWidget(topk)
    row.addWidget(page.csv_button)
    rows.addLayout(row)
    page.gradcam_bar = GradCamBar()
    page.gradcam_check = page.gradcam_bar.check
    page.gradcam_bar.switched.connect(page._on_gradcam_toggled)
    page.gradcam_bar.view_changed.connect(lambda show: page.cards.set_show_overlay(show))
    rows.addWidget(page.gradcam_bar)
    page.unknown = UnknownControl(page)  # "unknown": switch, threshold slider, count
    page.unknown_bar = page.unknown.bar
    rows.addWidget(page.unknown_bar)
    return rows
