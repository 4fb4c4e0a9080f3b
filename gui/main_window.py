"""The main window (a first frame; the pages arrive with the GUI issue)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Fine-Tune Studio")
        self.resize(1200, 800)
        label = QLabel("Fine-Tune Studio\n\nUse `python main.py --help` for the command line.")
        label.setMargin(40)
        self.setCentralWidget(label)
