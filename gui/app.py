"""Start the desktop app: create the QApplication and show the main window fast."""

from __future__ import annotations

import sys


def run_app(argv=None) -> int:
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(list(argv or sys.argv))
    app.setApplicationName("Fine-Tune Studio")
    app.setOrganizationName("FineTuneStudio")
    window = MainWindow()
    window.show()
    return app.exec()
