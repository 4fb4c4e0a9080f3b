"""The Model page's weights actions: choose, check and download the starting weights.

A mixin of :class:`gui.pages.model.page.ModelPage` (it uses the page's ``state``,
``runner``, messages and the :class:`~gui.pages.model.weights_box.WeightsBox`
widgets).  A weights file is checked in a worker before it becomes
``config.model.weights``; each check is numbered, and an answer arriving after the
user chose something else (another file, None, another backbone or size) is dropped.
"""

from __future__ import annotations

import copy
import os

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog

from core.model.build import names_weights_file
from gui.jobs import Job
from gui.pages.model.weights_box import FILE, IMAGENET, NONE, check_file_job, weights_job


#: The weights check's name in the status bar and in Start's "Please wait" message.
CHECK_NAME = "Checking the weights file"

#: How long the backbone and size must stay unchanged before a weights file is checked again.
RECHECK_MS = 400


class WeightsActions:
    """Weights choices of the Model page (see the module docstring)."""

    _weights_asked = 0  # the number of the latest weights choice (checks carry theirs)
    _recheck_path = ""  # the file to check again when the backbone and size settle
    _checking = ""  # the file chosen and being checked, not yet the config's
    _recheck_on_show = False  # the chosen file waits for the page to be shown to be checked
    _refused_file = ""  # the banner that refused a weights file (gone with another choice)

    def forget_weights_checks(self) -> None:
        """Answers of checks under way or waiting are moot (another choice, another project:
        a check of project A's file set it into project B)."""
        self._weights_asked += 1
        self._checking = ""
        self._stop_recheck()

    def _on_weights_kind(self, kind: int) -> None:
        self.forget_weights_checks()  # a check still running is moot now
        if kind in (IMAGENET, NONE):
            self.weights_status.setText("")
            self.clear_message(only=self._refused_file)  # it stayed beside "ImageNet" ticked
        if kind == IMAGENET:
            self.state.set("model.weights", "imagenet")
        elif kind == NONE:
            self.state.set("model.weights", "none")
        elif kind == FILE and self.weights_box.typed_path():
            self.set_weights_file(self.weights_box.typed_path())
        else:
            self.choose_weights_file()

    def _on_weights_path_edited(self) -> None:
        path = self.weights_box.typed_path()
        if path and self.w_file.isChecked():
            self.set_weights_file(path)

    def choose_weights_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a weights file", "",
                                              "Keras weights (*.weights.h5 *.h5);;All files (*)")
        if path:
            self.set_weights_file(path)
        else:
            self._sync_from_config()

    def set_weights_file(self, path: str) -> bool:
        """Check ``path`` in a worker; it becomes the weights only if it fits."""
        self._stop_recheck()
        path = self._checking = os.path.abspath(os.path.expanduser(path))  # as train does
        model = copy.deepcopy(self.state.config.model)
        self._weights_asked = asked = self._weights_asked + 1
        self.weights_status.setText("Checking the file…")
        self._start_check(model, path, asked)
        return True

    def _start_check(self, model, path: str, asked: int) -> None:
        """Run the check as the window's long job, so Start waits for it: pressed during
        "Checking the file…", it trained from the weights before, the file became the
        setting only afterwards (a review).  Behind an older check, it waits for that one;
        during training (Start is off until it ends) it runs beside it."""
        if asked != self._weights_asked:
            return  # another choice since
        current = self.runner.current if self.runner.is_busy() else None
        if current is not None and current.fn is check_file_job:
            self.runner.when_idle(lambda: self._start_check(model, path, asked))
            return
        job = None if current is not None else self.runner.start(
            check_file_job, model, path, name=CHECK_NAME, parent=self)
        if job is None:
            job = Job(check_file_job, model, path, name=CHECK_NAME, parent=self).start()
        job.finished.connect(lambda _r, p=path, n=asked, m=model: self._weights_ok(p, n, m))
        job.failed.connect(lambda msg, _tb, p=path, n=asked, m=model:
                           self._weights_bad(msg, p, n, m))
        job.cancelled.connect(lambda n=asked: self._check_cancelled(n))

    def _check_cancelled(self, asked: int) -> None:
        """Cancel in the status bar: the file stays unchosen."""
        if asked == self._weights_asked:
            self._checking = ""
            self.weights_status.setText("")
            self._sync_from_config()

    def weights_config_changed(self, path: str) -> None:
        """What a change of ``config.model`` (``path``) means for the starting weights."""
        weights = self.state.config.model.weights
        if path in ("", "model"):  # another project: its own weights, none of the old checks
            self.forget_weights_checks()
            if names_weights_file(weights) and not os.path.isfile(weights):
                self._refused_file = (f"The project's weights file {weights} is not there "
                                      "(moved or deleted?): choose it again, or other weights.")
                self.show_error(self._refused_file)
        if path in ("model.backbone", "model.image_size"):
            self.weights_status.setText("")  # "ImageNet weights are ready" was the old one's
            if names_weights_file(weights):  # a file fitted the old backbone: check it again, on
                self._recheck_on_show = not self.isVisible()  # the page in view only (a
                if self.isVisible():  # check builds the backbone)
                    self.recheck_weights_file()

    def recheck_weights_file(self, path: str = "") -> None:
        """Check ``path`` (default: the chosen file) again once the backbone or size has
        stopped changing: each step of the size box started its own check (six builds at
        once for six clicks)."""
        weights = self.state.config.model.weights
        self._recheck_path = path or self._checking or (weights if names_weights_file(weights)
                                                        else "")
        timer = getattr(self, "_recheck_timer", None)
        if timer is None:
            timer = self._recheck_timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(RECHECK_MS)
            timer.timeout.connect(self._recheck_now)
        self._weights_asked += 1  # a check under way answers for settings now changed
        self.weights_status.setText("Checking the file…")
        timer.start()

    def _stop_recheck(self) -> None:
        timer = getattr(self, "_recheck_timer", None)
        if timer is not None:
            timer.stop()

    def _recheck_now(self) -> None:
        if self._recheck_path:
            self.set_weights_file(self._recheck_path)
        else:
            self.weights_status.setText("")

    def _answer_applies(self, path: str, asked: int, model) -> bool:
        """A check's answer counts only while nothing was chosen since: a slow check set the
        file back after the user chose None, or said "fits" of the backbone chosen before.
        (Checked against another backbone or size since: the file is checked again.)"""
        if asked != self._weights_asked:
            return False
        m = self.state.config.model
        if (m.backbone, m.image_size) != (model.backbone, model.image_size):
            self.recheck_weights_file(path)
            return False
        return True

    def _weights_ok(self, path: str, asked: int, model) -> None:
        if self._answer_applies(path, asked, model):
            self._checking = ""  # only the weights' own message: the note that ticked layers
            self.clear_message(only=self._refused_file)  # went back to the top N stays
            self.weights_status.setText("The file fits this backbone.")
            self.state.set("model.weights", path)

    def _weights_bad(self, message: str, path: str, asked: int, model) -> None:
        if self._answer_applies(path, asked, model):
            self._checking = ""
            self.weights_status.setText("")
            self.show_error(message)
            self._refused_file = message
            self._sync_from_config()

    def _imagenet_file(self) -> str:
        """The ImageNet file the settings need ("" for a backbone the catalogue lacks)."""
        from core.model.backbones import get_backbone
        from core.model.imagenet_download import imagenet_weights_path

        model = self.state.config.model
        try:
            return str(imagenet_weights_path(get_backbone(model.backbone), model.image_size))
        except Exception:  # noqa: BLE001 - a name no longer in the catalogue: no file
            return ""

    def download_weights(self) -> None:
        job = self.runner.start(weights_job, copy.deepcopy(self.state.config.model),
                                name="Downloading ImageNet weights")
        if job is None:
            self.show_error("Please wait for the running job to finish (or cancel it).")
            return
        self.weights_status.setText("Downloading…")
        # the backbone and size it fetched for: MobileNetV2 has a file per size, and the page
        # said "ready" for a size changed while the 96 px file came (a weights review)
        name, wanted = self.state.config.model.backbone, self._imagenet_file()
        job.finished.connect(lambda _p, n=name, w=wanted: self.weights_status.setText(
            f"{n}'s ImageNet weights are ready (kept in the Keras cache)."
            if w == self._imagenet_file() else
            f"The download was {n}'s for other settings; these need another file (Download "
            "again, or it is fetched when training starts)."))
        job.failed.connect(lambda msg, _tb: (self.weights_status.setText(""),
                                             self.show_error(msg)))
        job.cancelled.connect(lambda: self.weights_status.setText("Download cancelled."))
