"""Start the desktop app: create the QApplication and show the main window fast.

Only Qt and the light parts of ``core`` are imported before ``show()``;
TensorFlow, albumentations and pyqtgraph load later (``gui.tf_loader``, or
the page that needs them), so the window appears within about a second even on
a 2-core machine.
"""

from __future__ import annotations

import sys


def create_app(argv=None):
    """The QApplication with the app's names, high-DPI policy and theme."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from gui.theme import apply_theme

    app = QApplication.instance()
    if app is None:
        # Fractional scaling (125 %, 150 %) renders crisply instead of rounding.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv if argv is not None else sys.argv))
    app.setApplicationName("Fine-Tune Studio")
    app.setOrganizationName("FineTuneStudio")
    apply_theme(app)
    return app


def run_app(argv=None, project: str | None = None) -> int:
    """Show the window (opening ``project``, a project file, when given) and run the app."""
    app = create_app(argv)
    from gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if project:
        window.open_project(project)  # a file it cannot use is said so, naming it
    code = app.exec()
    # Tear the window down while the interpreter is still whole, so no Qt
    # object is destroyed during interpreter finalisation, when Python objects
    # its slots still refer to may already be gone (tests/test_app_exit.py).
    import gc

    del window
    gc.collect()
    return code
