"""A camera (or a video file) on a worker thread, delivered to the UI as ``QImage``s.

:class:`CameraFeed` runs :func:`read_frames` as a :class:`gui.jobs.Job`, so the
window's shutdown cancels it with every other job and tests fail on one left
running.  The worker opens the source (:class:`core.capture.frames.FrameSource`),
paces it, and turns each frame into a ``QImage`` there; the UI thread only paints.

Frames never queue up: the worker leaves the newest frame in a one-slot
:class:`FrameMailbox` and signals only when the slot was empty, so at most one
"frame ready" is ever waiting in the event loop.  When the UI is slow (a big
repaint, a busy machine) older frames are simply replaced: the picture stays
live instead of lagging further and further behind.
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any, Optional, Union

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QWidget)

from gui.jobs import Job
from gui.thumbnails import fitted_pixmap

#: Frames per second shown at most (a camera may deliver more; they are dropped).
SHOW_FPS = 15.0
VIDEO_FILTER = "Videos (*.avi *.mp4 *.mkv *.mov *.webm *.mpg *.wmv);;All files (*)"


class FrameReady:
    """Event: a new frame waits in the mailbox."""


class FrameMailbox:
    """One slot holding the newest (QImage, RGB array); see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: Optional[tuple[QImage, Any]] = None
        self._signalled = False
        self.dropped = 0  # frames replaced before the UI took them

    def put(self, image: QImage, frame: Any) -> bool:
        """Leave a frame; True when the UI must be told (it was not told already)."""
        with self._lock:
            self.dropped += self._item is not None
            self._item = (image, frame)
            tell, self._signalled = not self._signalled, True
            return tell

    def take(self) -> Optional[tuple[QImage, Any]]:
        with self._lock:
            item, self._item, self._signalled = self._item, None, False
            return item


class ViewSize:
    """The device pixels the picture is shown in, set on the UI thread, read by the worker
    (one tuple, replaced whole); (0, 0): not shown yet, the frame goes at its own size."""

    def __init__(self) -> None:
        self.size = (0, 0)

    def set(self, width: int, height: int) -> None:
        self.size = (int(width), int(height))

    def longest_side(self, width: int, height: int) -> int:
        """The longer side of a ``width`` x ``height`` frame fitted in the view (0: as is)."""
        view_w, view_h = self.size
        if view_w <= 0 or view_h <= 0:
            return 0
        return math.ceil(max(width, height) * min(view_w / width, view_h / height))


def read_frames(source: Union[int, str], mailbox: FrameMailbox, max_fps: float,
                view: Optional[ViewSize] = None, listener=None, cancel=None) -> int:
    """Play ``source`` into ``mailbox`` until cancelled; returns the frames read.

    The picture shown is made at ``view``'s size here: scaling a 1280x720 frame on the UI
    thread took 10-16 ms, fifteen times a second.  The frame itself stays whole (captured).
    """
    from core.capture.frames import FrameSource, fit_longest
    from core.events import emit
    from gui.thumbnails import array_to_qimage

    n = 0
    with FrameSource(source) as src:
        for frame in src.frames(max_fps, cancel):
            n += 1
            side = view.longest_side(frame.shape[1], frame.shape[0]) if view else 0
            shown = fit_longest(frame, side) if side > 0 else frame
            if mailbox.put(array_to_qimage(shown), frame):
                emit(listener, FrameReady())
    return n


def find_cameras(listener=None, cancel=None) -> list[int]:
    """The camera indices that deliver a picture (probing can take a moment: a worker)."""
    from core.capture.frames import list_cameras

    return list_cameras()


class CameraFeed(QObject):
    """Start and stop one source; ``frame`` fires on the UI thread with (QImage, RGB array)."""

    frame = Signal(QImage, object)
    failed = Signal(str)  # the source could not be opened or stopped working
    running_changed = Signal(bool)

    def __init__(self, parent: Optional[QObject] = None, max_fps: float = SHOW_FPS) -> None:
        super().__init__(parent)
        self.max_fps = max_fps
        self.job: Optional[Job] = None
        self.mailbox = FrameMailbox()
        self.source: Optional[Union[int, str]] = None
        self.frames_shown = 0
        self.view = ViewSize()

    def show_in(self, image: "LiveImage") -> None:
        """Make the pictures (on the worker) at the size ``image`` shows them."""
        image.resized.connect(self.view.set)

    def start(self, source: Union[int, str]) -> None:
        """Play ``source`` (a camera index or a video file), stopping the current one first."""
        self.stop()
        self.source, self.mailbox = source, FrameMailbox()
        job = Job(read_frames, source, self.mailbox, self.max_fps, self.view, name="Camera",
                  parent=self)
        job.progress.connect(self._on_event)
        job.failed.connect(lambda msg, _tb, j=job: self._on_failed(j, msg))
        job.done.connect(lambda j=job: self._on_done(j))
        self.job = job
        job.start()
        self.running_changed.emit(True)

    def stop(self) -> None:
        """Stop reading (the camera is released by the worker as it ends)."""
        job, self.job = self.job, None
        if job is not None and job.is_running():
            job.cancel()
            self.running_changed.emit(False)

    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def _on_event(self, event) -> None:
        if isinstance(event, FrameReady) and self.job is not None:
            item = self.mailbox.take()
            if item is not None:
                self.frames_shown += 1
                self.frame.emit(*item)

    def _on_failed(self, job: Job, message: str) -> None:
        if job is self.job:
            self.failed.emit(message)

    def _on_done(self, job: Job) -> None:
        if job is self.job:
            self.job = None
            self.running_changed.emit(False)
            if job.state == "finished":  # not stopped, not failed: the source ran dry (a
                self.failed.emit(ended_message(self.source))  # still image, a camera gone)


def ended_message(source: Union[int, str, None]) -> str:
    """What to say when a source stops giving pictures by itself."""
    name = f"Camera {source}" if isinstance(source, int) else os.path.basename(str(source))
    return (f"{name} stopped giving pictures; choose it again, or another source, to go on "
            "(the last picture is not captured again)")


class LiveImage(QLabel):
    """The live picture, scaled to fit (aspect kept); a hint when there is none."""

    resized = Signal(int, int)  # the device pixels it shows a picture in

    def __init__(self, hint: str = "", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveImage")
        self.setAlignment(Qt.AlignCenter)
        self.setMinimumSize(QSize(240, 180))
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setWordWrap(True)
        self.image: Optional[QImage] = None
        self.hint = hint
        self.setText(hint)

    def show_image(self, image: Optional[QImage]) -> None:
        self.image = image
        if image is None:
            self.clear()
            self.setText(self.hint)
            return
        self._paint()

    def _paint(self) -> None:
        if self.image is not None and self.width() > 1 and self.height() > 1:
            # every device pixel: at 200 % it was soft
            self.setPixmap(fitted_pixmap(self.image, self.width(), self.height(),
                                         self.devicePixelRatioF(), Qt.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        ratio = max(1.0, self.devicePixelRatioF())
        self.resized.emit(round(self.width() * ratio), round(self.height() * ratio))
        self._paint()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(480, 360)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - not the pixmap's size: no growth loop
        return QSize(240, 180)


def narrow_combo(combo: QComboBox, letters: int = 12) -> None:
    """``combo`` as wide as ``letters`` letters at least, not as its longest item (its list
    still opens as wide as that): a long class or video name made the capture dialog wider
    than the window it opened over, and the screen."""
    combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(letters)


class SourcePicker(QWidget):
    """Which camera, or "Play a video file…"; looks for cameras on a worker.

    ``chosen`` fires with a camera index or a video path; ``status`` with a line
    for the user ("No camera found ..." when there is none: nothing else changes).
    """

    chosen = Signal(object)
    status = Signal(str, str)  # text, kind ("error" or "info")
    FILE = "file"

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setToolTip("The camera to use, or a video file played as if it were one")
        narrow_combo(self.combo)
        self.combo.activated.connect(self._on_activated)
        self.look_button = QPushButton("Look again")
        self.look_button.setToolTip("Look for cameras again (after connecting one)")
        self.look_button.clicked.connect(self.look)
        row.addWidget(QLabel("Source:"))
        row.addWidget(self.combo, 1)
        row.addWidget(self.look_button)
        self.cameras: list[int] = []
        self.videos: list[str] = []
        self._job: Optional[Job] = None
        self._playing: Union[int, str, None] = None  # the source last chosen
        self._again = False  # the search ending plays a chosen video file again
        self._fill([])

    def look(self, again: bool = False) -> None:
        """Probe the cameras (a job); the first one found starts playing.

        ``again``: the source was stopped (the live camera switched off and on), so a video
        file chosen before plays again once the search ends; otherwise a video playing
        meanwhile is left alone.  Left stopped, its last picture stayed under "Stop camera"
        with no word, as if the camera were live.
        """
        self._again = bool(again)
        if self._job is not None and self._job.is_running():
            return
        self.look_button.setEnabled(False)
        self.status.emit("Looking for cameras…", "info")
        self._job = Job(find_cameras, name="Looking for cameras", parent=self)
        self._job.finished.connect(self._on_found)
        self._job.failed.connect(lambda msg, _tb: self.status.emit(msg, "error"))
        self._job.done.connect(lambda: self.look_button.setEnabled(True))
        self._job.start()

    def _on_found(self, cameras: list) -> None:
        from core.capture.frames import no_camera_message

        playing = self._playing
        self._fill(list(cameras))
        self.status.emit("", "info")
        if isinstance(playing, str):
            self.combo.setCurrentIndex(self.combo.findData(playing))
            if self._again:  # stopped meanwhile: it plays again
                self._emit(playing)
            return  # a video file plays meanwhile: leave it
        if playing in cameras:  # the chosen camera, started again (it may have stopped)
            self.combo.setCurrentIndex(self.combo.findData(playing))
            self._emit(playing)
        elif cameras:
            self._emit(self.cameras[0])
        else:
            self.status.emit(no_camera_message(), "error")

    def _fill(self, cameras: list[int]) -> None:
        self.cameras = cameras
        self.combo.clear()
        for index in cameras:
            self.combo.addItem(f"Camera {index}", index)
        if not cameras:
            self.combo.addItem("No camera found", None)
        for path in self.videos:
            self.combo.addItem(f"Video: {os.path.basename(path)}", path)
        self.combo.addItem("Play a video file…", self.FILE)

    def _on_activated(self, row: int) -> None:
        data = self.combo.itemData(row)
        if data == self.FILE:
            path, _ = QFileDialog.getOpenFileName(self, "Play a video file", "",
                                                  VIDEO_FILTER)
            if path:
                self.play_file(path)
            elif self.combo.findData(self._playing) >= 0:  # cancelled: what plays is shown
                self.combo.setCurrentIndex(self.combo.findData(self._playing))
        elif data is not None:
            self._emit(data)

    def _emit(self, source) -> None:
        self._playing = source
        self.chosen.emit(source)

    def play_file(self, path: str) -> None:
        """Use a video file as the source (it plays in a loop, like a camera)."""
        at = self.combo.findData(path)
        if at < 0:
            self.videos.append(path)
            self.combo.insertItem(self.combo.count() - 1, f"Video: {os.path.basename(path)}",
                                  path)
            at = self.combo.findData(path)
        self.combo.setCurrentIndex(at)
        self._emit(path)

    def busy(self) -> bool:
        return self._job is not None and self._job.is_running()
