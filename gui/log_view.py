"""The log panel: where details and tracebacks go, out of the user's way.

Errors reach the user as one readable sentence on the page; the full story
(tracebacks, job logs, warnings) is written to Python logging and shown here,
in a dock the user opens with View → Log (Ctrl+L) when they or a helper want to
know more.  Records can come from worker threads, so they cross to the UI
thread through a queued signal.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Qt, Signal, Slot

from gui.widgets.following_log import FollowingLog

LOGGER_NAME = "finetune_studio"


class _Emitter(QObject):
    line = Signal(str)


class QtLogHandler(logging.Handler):
    """A logging handler that forwards formatted records through a Qt signal."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.emitter = _Emitter()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.emitter.line.emit(self.format(record))
        except RuntimeError:  # the panel is gone (window closed): drop the line
            pass


class LogView(FollowingLog):
    """Read-only, bounded log text that follows new lines, attached to the app's logger."""

    def __init__(self, parent=None) -> None:
        super().__init__(5000, parent)
        self.setAccessibleName("App log")  # the View › Log panel; a screen reader said nothing
        self.handler = QtLogHandler()
        self.handler.emitter.line.connect(self.append_line, Qt.QueuedConnection)
        logger = logging.getLogger(LOGGER_NAME)
        logger.addHandler(self.handler)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)

    @Slot(str)
    def append_line(self, text: str) -> None:
        self.appendPlainText(text)

    def add_event_line(self, message: str, level: str = "info") -> None:
        self.appendPlainText(f"{time.strftime('%H:%M:%S')} {level.upper()} {message}")

    def detach(self) -> None:
        logging.getLogger(LOGGER_NAME).removeHandler(self.handler)
