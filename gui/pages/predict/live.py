"""The Predict page's live camera: the picture and what the model says about it, live.

Switched on with the page's "Camera" button.  Frames come from
:class:`gui.widgets.camera.CameraFeed` (a worker reads the camera or a video
file; the UI thread only paints).  Predictions run on a worker too
(:func:`predict_frame`, the page's loaded predictor, the same resizing as a
file gets), one at a time and always on the newest frame: frames arriving
while the model is busy are skipped, so the window never stalls and the
answer is never more than one prediction old.  The answer lists the top
classes, or "unknown" when the model's unknown score says the picture is
unlike its training images (the page's "unknown" switch and threshold apply).

The camera stops when the page is hidden, when the button is switched off and
when the window closes (:meth:`LiveCamera.stop`, from the page's ``shutdown``).
"""

from __future__ import annotations

import html
import time
from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.jobs import Job
from gui.pages.predict.jobs import gradcam_job, load_model_job, predict_job
from gui.widgets.camera import CameraFeed, LiveImage, SourcePicker
from gui.steps import get_a_model


def predict_frame(predictor, frame, top_k: int, listener=None, cancel=None):
    """Worker: one RGB frame through ``predictor`` -> :class:`core.infer.predictor.Prediction`."""
    from core.capture.frames import squash

    x = squash(frame, predictor.image_size)[None]
    probs, scores = predictor.predict_scored(x)
    return predictor.to_prediction("camera", probs[0], None if scores is None else scores[0],
                                   top_k)


def answer_html(prediction) -> str:
    """The big answer and the top classes as rich text."""
    if prediction.unknown:
        head = ("<span style='font-size:20pt; font-weight:600'>unknown</span><br>"
                "<span>unlike the training images</span>")
    else:
        label = html.escape(prediction.label, quote=False)
        head = (f"<span style='font-size:20pt; font-weight:600'>{label}</span>"
                f"<br><span>{prediction.confidence:.0%}</span>")
    rows = "".join(f"<tr><td align='right'>{p:.1%}</td>"  # first: a long name may be cut,
                   f"<td>&nbsp;&nbsp;{html.escape(name, quote=False)}</td></tr>"  # not the %
                   for name, p in prediction.top)
    return f"{head}<br><br><table>{rows}</table>"


CAMERA_OFF, CAMERA_ON = "Live camera", "Stop camera"


#: The Predict page's jobs: they use the page's model, so live answers wait for them.
MODEL_JOBS = (predict_job, gradcam_job, load_model_job)


class LiveCamera(QWidget):
    """Source picker, live picture and answer; ``toggle`` (the page's "Camera" button)."""

    answered = Signal(object)  # a Prediction for the newest frame

    def __init__(self, page) -> None:
        super().__init__()
        self.page = page
        self.prediction: Any = None
        self.predictions = 0
        self.frame: Any = None  # newest frame not yet predicted
        self._job: Optional[Job] = None
        self._loading = False
        self._failed: Optional[tuple[str, str]] = None  # a model that did not load, and why
        self._rate: list[float] = []
        self.toggle = QPushButton(CAMERA_OFF)
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Show a camera's picture (or a video file) with what the model "
                               "says about it, live")
        self.toggle.toggled.connect(self._on_toggled)
        self.feed = CameraFeed(self)
        self.feed.frame.connect(self._on_frame)
        self.feed.failed.connect(self._on_failed)
        page.runner.busy_changed.connect(lambda busy: busy or self._loaded())
        for changed in (page.state.run_changed, page.state.model_changed):  # a run trained
            changed.connect(self._forget_failure)  # again may load now: try it once more
        self._build()
        self.hide()

    def _build(self) -> None:
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.picker = SourcePicker()
        self.picker.chosen.connect(self._play)
        self.picker.status.connect(self._status)
        box.addWidget(self.picker)
        self.status_label = QLabel("")
        self.status_label.setTextFormat(Qt.PlainText)  # "Loading <path>…", a video's name
        self.status_label.setObjectName("hint")
        self.status_label.setWordWrap(True)
        box.addWidget(self.status_label)
        row = QHBoxLayout()
        self.image = LiveImage("No picture yet.")
        self.feed.show_in(self.image)
        row.addWidget(self.image, 3)
        self.answer_label = QLabel("")
        self.answer_label.setObjectName("liveAnswer")
        self.answer_label.setTextFormat(Qt.RichText)
        self.answer_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.answer_label.setMinimumWidth(180)
        self.answer_label.setWordWrap(True)
        row.addWidget(self.answer_label, 1)
        box.addLayout(row, 1)

    # ------------------------------------------------------------------ on / off
    def _on_toggled(self, on: bool) -> None:
        self.toggle.setText(CAMERA_ON if on else CAMERA_OFF)
        if on:
            self.show()
            self._failed = None  # switched on again: a model that failed is tried again
            self.page.clear_message()
            self.picker.look(again=True)
        else:
            self.stop()

    def stop(self) -> None:
        """Stop the camera and hide; the button goes off (page hidden, window closing).

        The last picture and its answer go too: switched on again, they showed as if live."""
        self.feed.stop()
        self.frame = None
        self.image.show_image(None)
        self._clear_answer()
        self._set_toggle(False)
        self.hide()

    def _set_toggle(self, on: bool) -> None:
        """The button's state without starting or stopping anything."""
        self.toggle.blockSignals(True)
        self.toggle.setChecked(on)
        self.toggle.setText(CAMERA_ON if on else CAMERA_OFF)
        self.toggle.blockSignals(False)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """The page went away (another page shown): the camera is released."""
        super().hideEvent(event)
        if not event.spontaneous() and self.toggle.isChecked():
            self.stop()

    def play_file(self, path: str) -> None:
        """Play a video file instead of a camera (the "Play a video file…" choice)."""
        if not self.toggle.isChecked():
            self._set_toggle(True)
            self.show()
        self.picker.play_file(path)

    def _play(self, source) -> None:
        if not self.toggle.isChecked():
            return  # the camera search ended after the camera was switched off
        self.frame, self.prediction = None, None
        self.answer_label.setText("")
        self.image.show_image(None)
        self._status("", "info")
        self.feed.start(source)

    def _on_failed(self, message: str) -> None:
        self.image.show_image(None)
        self.answer_label.setText("")
        self._status(message, "error")

    def _status(self, text: str, kind: str) -> None:
        self.status_label.setProperty("kind", kind)
        self.status_label.style().polish(self.status_label)
        self.status_label.setText(text)

    # ------------------------------------------------------------------ predicting
    def _on_frame(self, image, frame) -> None:
        self.image.show_image(image)
        self.frame = frame
        self._predict_newest()

    def _predict_newest(self) -> None:
        """Predict the newest frame unless a prediction runs (then it waits, newer ones skip)."""
        if self.frame is None or (self._job is not None and self._job.is_running()):
            return
        job = self.page.runner.current
        if self.page.runner.is_busy() and job.fn in MODEL_JOBS:
            # the page's own jobs use the same model, which one thread uses at a time; other
            # pages' jobs (a training run, a data check) use their own and need no wait
            if not self._loading:
                self._status(f"Live answers wait while “{job.name if job else 'a job'}” "
                             "runs.", "info")
            return
        predictor = self._predictor()
        if predictor is None:
            return
        frame, self.frame = self.frame, None
        job = Job(predict_frame, predictor, frame, self.page.top_k(), name="Live prediction",
                  parent=self)
        job.finished.connect(lambda answer, p=predictor: self._on_answer(answer, p))
        job.failed.connect(lambda msg, _tb: self._status(msg, "error"))
        job.done.connect(self._predict_newest)
        self._job = job
        job.start()

    def _predictor(self) -> Any:
        """The page's model for the current model path, loaded when needed (None meanwhile)."""
        page = self.page
        path = page.current_model_path()
        if path is not None and page.predictor is not None and page.model_path_loaded() == path:
            return page.predictor
        self._clear_answer()  # it came from another model (or none is left): not this one's
        if path is None:
            self._status("There is no model to ask yet: " + get_a_model(
                "use Open model… to choose one. The picture is shown meanwhile."), "info")
            return None
        if self._failed is not None and self._failed[0] == path:  # loading it on every frame
            if self.status_label.text() != self._failed[1]:  # kept the window's one job slot
                self._status(self._failed[1], "error")  # busy; another model, or the camera
            return None  # switched off and on, tries again
        if not self._loading and not page.runner.is_busy():
            from gui.pages.predict.jobs import load_model_job

            job = page.runner.start(load_model_job, path, name="Loading the model")
            if job is not None:
                self._loading = True
                self._status(f"Loading {path}…", "info")
                job.finished.connect(lambda pred, p=path: page.use_predictor(pred, p))
                job.failed.connect(lambda msg, _tb, p=path: self._load_failed(p, msg))
                job.done.connect(self._loaded)
        elif not self._loading:  # the next frame after the other job tries again
            other = page.runner.current
            self._status(f"The model loads when “{other.name if other else 'a job'}” ends; "
                         "the picture is shown meanwhile.", "info")
        return None

    def _forget_failure(self, _value=None) -> None:
        self._failed = None

    def _load_failed(self, path: str, message: str) -> None:
        self._failed = (path, message)
        self._status(message, "error")

    def _loaded(self) -> None:
        self._loading = False
        if self.status_label.property("kind") != "error":
            self._status("", "info")

    def _clear_answer(self) -> None:
        if self.prediction is not None or self.answer_label.text():
            self.prediction = None
            self.answer_label.setText("")

    def _on_answer(self, prediction, predictor: Any = None) -> None:
        """``predictor``: the model that answered; the page's model changed meanwhile, the
        answer is not shown (it stayed beside the new model's name, or its error)."""
        if not self.feed.is_running() or predictor is not None \
                and predictor is not self.page.predictor:
            return
        self.prediction = prediction
        self.predictions += 1
        now = time.monotonic()
        self._rate = [t for t in self._rate if now - t < 2.0] + [now]
        self.answer_label.setText(answer_html(prediction))
        self.answered.emit(prediction)

    def per_second(self) -> float:
        """Predictions per second over the last two seconds (shown in the tooltip, tests)."""
        return len(self._rate) / 2.0
