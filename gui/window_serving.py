"""The window's side of the Export page's server: a note in the status bar while it serves
(on any other page nothing showed it), and a question before closing the window stops it
(closing stopped it silently, and the clients calling it failed from then on: a review)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox

from gui import plain_text
from gui.plain_text import plain_tip


class ServingNote:
    """Shows "Serving NAME at URL" in ``window``'s status bar while ``box`` serves."""

    def __init__(self, window: QMainWindow, box) -> None:
        self.window, self.box = window, box
        self.label = QLabel()
        self.label.setObjectName("hint")
        self.label.setTextFormat(Qt.PlainText)  # the model's name is the user's
        window.statusBar().addPermanentWidget(self.label)
        self.label.hide()
        box.started.connect(self._on_started)
        box.stopped.connect(self._update)
        box.failed.connect(lambda _message: self._update())

    def _on_started(self, url: str) -> None:
        self.label.setText(f"Serving {self.box.served_name()} at {url}")
        self.label.setToolTip(plain_tip(f"{self.label.text()}: the Export page stops it; "
                                        "closing the window stops it too"))
        self._update()

    def _update(self) -> None:
        self.label.setVisible(self.box.server is not None)

    def close_ok(self) -> bool:
        """True when nothing is served, or the user lets closing the window stop it."""
        server = self.box.server
        return server is None or plain_text.question(
            self.window, "The server is running",
            f"The server at {server.model_url} is answering requests. Stop it and close the "
            "window?", QMessageBox.Yes | QMessageBox.No, QMessageBox.No) == QMessageBox.Yes
