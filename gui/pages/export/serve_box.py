"""The Export page's "Serve over HTTP" box: start and stop a local prediction server.

Production-line and lab software asks a model over HTTP.  The box serves the
page's model (a run folder or a ``.keras`` file) with
:func:`core.serve.server.start_server` -- the same server as ``python main.py
serve``, speaking TensorFlow Serving's REST API -- and shows its URL and a curl
command to paste.  Loading the model imports TensorFlow and takes seconds, so it
runs in its own :class:`gui.jobs.Job`, outside the window's one long-job slot:
a model can be served while another one trains.  Stopping waits for requests in
flight, so it runs in a job too.  The window serves on 127.0.0.1 only (this
machine); serving to the network needs a token, which the CLI's ``--host`` and
``--token`` give.  The server stops when the window closes.
"""

from __future__ import annotations

import os
import threading
from html import escape
from typing import Callable, Optional

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QWidget)

from core.path_names import same_path
from gui.jobs import Job
from gui.plain_text import plain_tip

START_TEXT = "Serve"
STOP_TEXT = "Stop serving"
RESTART = "restart"  # the status line's link that serves the page's model instead
START_TIP = ("Answer predictions over HTTP on this machine (127.0.0.1) with TensorFlow "
             "Serving's REST API, like 'python main.py serve'; for other machines use the CLI's "
             "--host with --token")


class LinkStatus(QLabel):
    """The status line (rich text, the caller escapes names): a Tab stop only while it holds
    a link; empty, as before a server starts, Tab stopped on it and showed nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.setTextFormat(Qt.RichText)
        self.setText("")

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self.setTextInteractionFlags(Qt.TextBrowserInteraction if "<a " in text
                                     else Qt.LinksAccessibleByMouse)


def start_job(model: str, port: int, listener=None, cancel=None):
    """Worker side: load the model (TensorFlow) and start serving it on 127.0.0.1:``port``."""
    from core.serve.server import ServeOptions, start_server

    return start_server(model, ServeOptions(port=port), listener=listener, cancel=cancel)


def stop_job(server, listener=None, cancel=None) -> None:
    """Worker side: stop accepting, finish the requests in flight."""
    server.stop()


class ServeBox(QGroupBox):
    """Serves ``source()`` (the page's model); says where and how to call it."""

    started = Signal(str)   # the model URL
    stopped = Signal()
    failed = Signal(str)    # a message for the user

    def __init__(self, source: Callable[[], Optional[str]], parent: Optional[QWidget] = None):
        super().__init__("Serve over HTTP", parent)
        self._source = source
        self.server = None  # core.serve.server.RunningServer while serving
        self.job: Optional[Job] = None
        self._closing = False
        self._loading = ""  # the run folder or file being (or last) served
        self._serving_text = ""  # what the status says while serving
        self._restart = False  # start the page's model once the old one has stopped
        grid = QGridLayout(self)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(0, 65535)
        self.port_spin.setValue(8501)
        self.port_spin.setSpecialValueText("any free")  # 0: the system picks one (shown in the URL)
        self.port_spin.setToolTip("TCP port (8501 is TensorFlow Serving's; 0 picks a free one)")
        port_label = QLabel("Port:")
        port_label.setBuddy(self.port_spin)
        self.button = QPushButton(START_TEXT)
        self.button.clicked.connect(self.toggle)
        self.status_label = LinkStatus()  # Tab reaches its links; the model's name escaped
        self.status_label.setObjectName("hint")
        self.status_label.setWordWrap(True)
        self.status_label.linkActivated.connect(self._on_link)  # the URL, or "serve this one"
        self.curl_edit = QLineEdit()
        self.curl_edit.setReadOnly(True)
        self.curl_edit.setToolTip("Paste into a terminal, with an image file's name for "
                                  "image.jpg, to try the server")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the curl command")
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.curl_edit.text()))
        grid.addWidget(port_label, 0, 0)
        grid.addWidget(self.port_spin, 0, 1)
        grid.addWidget(self.button, 0, 2)
        grid.addWidget(self.status_label, 0, 3)
        grid.addWidget(self.curl_edit, 1, 0, 1, 4)
        grid.addWidget(self.copy_button, 1, 4)
        grid.setColumnStretch(3, 1)
        self.refresh()

    # ------------------------------------------------------------------ state
    def busy(self) -> bool:
        return self.job is not None and self.job.is_running()

    def outdated(self) -> bool:
        """Whether the server answers with another model than the page's: after Update the
        model or opening another run it went on answering with the old one, unsaid."""
        source = self._source()
        return self.server is not None and source is not None and \
            not same_path(_served_as(source), _served_as(self._loading))

    def served_name(self) -> str:
        """The served run folder's or file's name; "" when nothing is served."""
        return _name(self._loading) if self.server is not None else ""

    def refresh(self) -> None:
        """Enable what can work now, and say why not when nothing can."""
        serving = self.server is not None
        if serving:
            self.status_label.setText(self._serving_text + (
                f"<br><b>The page's model is now {escape(_name(self._source()))}</b>: clients "
                f"still get the served one's answers. <a href='{RESTART}'>Serve it instead</a>"
                if self.outdated() else ""))
        self.button.setText(STOP_TEXT if serving else START_TEXT)
        self.button.setEnabled(not self.busy() and (serving or self._source() is not None))
        self.button.setToolTip("Stop the server; requests in flight are answered first"
                               if serving else START_TIP if self._source() is not None else
                               "Train a model first, or choose one")
        self.port_spin.setEnabled(not serving and not self.busy())
        self.curl_edit.setVisible(serving)
        self.copy_button.setVisible(serving)

    # ------------------------------------------------------------------ actions
    def toggle(self) -> Optional[Job]:
        return self.stop() if self.server is not None else self.start()

    def restart(self) -> Optional[Job]:
        """Serve the page's model instead of the one served (stopped first, same port:
        with "any free" the new server took another, and the clients' URL broke)."""
        if self.server is not None:
            self.port_spin.setValue(int(self.server.url.rsplit(":", 1)[1]))
        job = self.stop()
        self._restart = job is not None
        return job

    def _on_link(self, link: str) -> None:
        if link == RESTART:
            self.restart()
        else:  # the served URL: a browser shows its status
            QDesktopServices.openUrl(QUrl(link))

    def start(self) -> Optional[Job]:
        """Load and serve the page's model in a worker; ``started`` when it answers."""
        model = self._source()
        if model is None or self.busy() or self.server is not None:
            return None
        job = Job(start_job, model, self.port_spin.value(), name="Starting the server",
                  parent=self)
        job.finished.connect(self._on_started)
        job.failed.connect(lambda message, _tb: self._on_failed(message))
        job.done.connect(self.refresh)
        self.status_label.setText(f"Loading {escape(model)}…")
        self._loading = model
        return self._run(job)

    def stop(self) -> Optional[Job]:
        """Stop serving in a worker; ``stopped`` when the port is closed."""
        if self.server is None or self.busy():
            return None
        server, self.server = self.server, None
        job = Job(stop_job, server, name="Stopping the server", parent=self)
        job.finished.connect(lambda _r: self._on_stopped())
        job.failed.connect(lambda message, _tb: self._on_failed(message))
        job.done.connect(self.refresh)
        self.status_label.setText("Stopping…")
        return self._run(job)

    def _run(self, job: Job) -> Job:
        self.job = job
        job.start()
        self.refresh()
        return job

    def _on_started(self, server) -> None:
        if self._closing:  # the window closed while the model loaded
            stop_in_background(server)
            return
        self.server = server
        p = server.predictor
        # Which model: the page's model may change while this one is still served.
        self._serving_text = (f"Serving {escape(_name(self._loading))} ({len(p.classes)} "
                              f"classes) at <a href='{server.model_url}'>{server.model_url}</a>")
        self.status_label.setToolTip(plain_tip(self._loading))
        self.curl_edit.setText(server.curl_example())
        self.curl_edit.setCursorPosition(0)
        self.refresh()
        self.started.emit(server.model_url)

    def _on_stopped(self) -> None:
        self.status_label.setText("Stopped.")
        self.stopped.emit()
        if self._restart and not self._closing:
            self._restart = False
            self.start()  # the stop job has ended: its slot is free

    def _on_failed(self, message: str) -> None:
        self._restart = False  # a later plain Stop must not start a server unasked
        self.status_label.setText("")
        self.failed.emit(message)

    def shutdown(self) -> None:
        """The window closes: stop serving now (the requests in flight get a few seconds)."""
        self._closing = True
        if self.job is not None and self.job.is_running():
            self.job.cancel()
        if self.server is not None:
            server, self.server = self.server, None
            stop_in_background(server)


def _served_as(path: str) -> str:
    """The run folder for a run's own model.keras, which is served as that run (its
    calibration and "unknown" included); choosing it while its run was served said "clients
    still get the served one's answers" (a review)."""
    from core.runs.folder import run_of_model

    run = run_of_model(path)
    return str(run.path) if run is not None else path


def _name(path: str) -> str:
    return os.path.basename(os.path.normpath(path))


def stop_in_background(server) -> threading.Thread:
    """Stop ``server`` on a thread of its own: waiting for a slow client's request froze the
    closing window for 5 s.  The process ends when it has (the window is gone by then)."""
    thread = threading.Thread(target=server.stop, kwargs={"timeout": 5}, name="serve-stop")
    thread.start()
    return thread
