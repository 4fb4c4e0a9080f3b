"""The Sort step's model row and its grid-and-view splitter, built onto the page (the widgets
are the page's attributes, ``page.model_label``, ``page.thumbs``..., as in :mod:`.folder_row`)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSplitter

from gui.pages.sort.grid import SortGrid, SortThumbs
from gui.widgets.model_row import model_row


def model_choice_row(page) -> QHBoxLayout:
    row, page.model_label, page.open_model_button, _ = model_row(
        "Use another model for the suggestions: a run folder (which Update the model can "
        "retrain) or a model file",
        [("Run folder…", page.choose_model),
         ("Model file (.keras, .tflite, .onnx)…", page.choose_model_file),
         ("Use the current model", lambda: page.open_model(""))])
    page.model_label.setTextFormat(Qt.PlainText)  # "Model: <path>", the path as written
    return row


def review_splitter(page) -> QSplitter:
    """The grid of every image beside the one-image view; keys on the grid go to the page."""
    from gui.pages.sort.viewer import ImageView

    page.thumbs = SortThumbs(page)
    page.grid = SortGrid(page.thumbs)
    page.grid.row_chosen.connect(page._go_to)
    page.grid.installEventFilter(page)
    page.view = ImageView()
    page.view.chosen.connect(page.label_current)
    page.view.accept_requested.connect(lambda: page.apply_key("accept", ""))
    page.view.back_requested.connect(lambda: page.apply_key("back", ""))
    page.splitter = QSplitter(Qt.Horizontal)
    page.splitter.addWidget(page.grid)
    page.splitter.addWidget(page.view)
    page.splitter.setStretchFactor(0, 3)
    page.splitter.setStretchFactor(1, 2)
    page.splitter.setSizes([600, 400])
    page.splitter.setChildrenCollapsible(False)
    page.splitter.setMinimumHeight(200)  # the whole step fits a 900x600 window
    return page.splitter
