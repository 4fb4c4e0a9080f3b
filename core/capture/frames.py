"""A camera or a video file as a stream of RGB frames (OpenCV, no Qt).

Why OpenCV and not Qt Multimedia: OpenCV (``opencv-python-headless``) is
already a dependency and opens cameras through the system's own interface
(V4L2 on Linux, AVFoundation on macOS, Media Foundation on Windows) as well as
video files, with the same ``read()``.  Qt Multimedia lives in the Qt add-ons wheel
(175 MB more) and needs PulseAudio's library even for video, which a plain
``pip install`` machine (our CI) does not have.

A :class:`FrameSource` is opened with a camera index or a video file path and
raises :class:`CaptureError` (a :class:`core.errors.UserError`) naming the
source when it cannot deliver a frame.  A video file plays in a loop at its own
speed (frames left out when it is shown at fewer frames a second than it has), so it
behaves like a camera: that is how the capture and the live prediction are tested
without a device.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Iterator, Optional, Union

import numpy as np

from core.errors import UserError
from core.events import CancelToken

#: Camera indices probed by :func:`list_cameras` (0..MAX_CAMERAS-1).
MAX_CAMERAS = 5
#: A video file without a usable frame rate plays at this many frames per second.
DEFAULT_FPS = 25.0
JPEG_QUALITY = 92

Source = Union[int, str, os.PathLike]


class CaptureError(UserError):
    """A camera or video file that cannot be opened or read; the message names it."""


_LOG_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own warnings ("can't open camera by index") while probing.

    They go straight to stderr from C++; the app says what matters in its own words.
    """
    import cv2

    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    with _LOG_LOCK:
        old = logging.getLogLevel()
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
        try:
            yield
        finally:
            logging.setLogLevel(old)


def describe(source: Source) -> str:
    """How the user knows the source: "camera 0" or the video file's path."""
    return f"camera {source}" if isinstance(source, int) else os.fspath(source)


# Where each system lets a program use the camera.  A camera the system refuses looks to
# OpenCV exactly like no camera at all, so the message names the switch as well.
PERMISSION_HINTS = {
    "darwin": "If one is connected, macOS may not allow this program to use it: System "
              "Settings → Privacy & Security → Camera, turn it on for the Terminal (or the "
              "app that started Fine-Tune Studio), then start the app again.",
    "win32": "If one is connected, Windows may not allow desktop apps to use it: Settings → "
             "Privacy & security → Camera, turn on \"Let desktop apps access your camera\".",
    "linux": "If one is connected, your user may lack access to it: check that /dev/video0 is "
             "readable (on most systems, join the \"video\" group and log in again).",
}


def permission_hint() -> str:
    """This system's camera permission, in one sentence ("" where unknown)."""
    return next((hint for prefix, hint in PERMISSION_HINTS.items()
                 if sys.platform.startswith(prefix)), "")


def no_camera_message(count: int = MAX_CAMERAS) -> str:
    return (f"No camera found (looked at cameras 0-{count - 1}). Connect one (and close other "
            "programs using it), then look again, or play a video file instead. "
            + permission_hint()).rstrip()


def list_cameras(count: int = MAX_CAMERAS) -> list[int]:
    """Indices of the cameras that open and deliver a frame; [] when there is none."""
    import cv2

    found = []
    with quiet_opencv():
        for index in range(count):
            cap = cv2.VideoCapture(index)
            try:
                if cap.isOpened() and cap.read()[0]:
                    found.append(index)
            finally:
                cap.release()
    return found


class FrameSource:
    """An open camera (``int`` index) or video file (path); frames are RGB ``uint8`` arrays.

    Use as a context manager or call :meth:`close`.  ``loop``: a video file
    starts again at its end (a camera never ends).
    """

    def __init__(self, source: Source, loop: bool = True) -> None:
        import cv2

        self.source = source if isinstance(source, int) else os.path.abspath(os.fspath(source))
        self.name = describe(self.source)
        self.is_camera = isinstance(source, int)
        self.loop = loop
        if not self.is_camera and not os.path.isfile(self.source):
            raise CaptureError(f"{self.name}: no such video file; choose an existing video "
                               "(.avi, .mp4, .mkv...)")
        with quiet_opencv():
            self._cap = cv2.VideoCapture(self.source)
        if not self._cap.isOpened():
            self._cap.release()
            raise CaptureError(self._unopened())
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 240.0 else DEFAULT_FPS
        self._first: Optional[np.ndarray] = self._grab()
        if self._first is None:
            self.close()
            raise CaptureError(f"{self.name}: opened but gave no picture; "
                               + ("check that no other program uses the camera. "
                                  + permission_hint() if self.is_camera
                                  else "the video may be empty or damaged").rstrip())
        self.size = (int(self._first.shape[1]), int(self._first.shape[0]))  # (width, height)

    def _unopened(self) -> str:
        if self.is_camera:
            return (f"No camera found at index {self.source}: it is not connected or another "
                    "program is using it. Connect a camera, or play a video file instead. "
                    + permission_hint()).rstrip()
        return (f"{self.name}: cannot be played as a video (OpenCV could not open it); use a "
                "video file such as .avi or .mp4, or convert it")

    def _grab(self) -> Optional[np.ndarray]:
        import cv2

        ok, bgr = self._cap.read()
        if not ok or bgr is None or bgr.size == 0:
            return None
        if bgr.ndim == 2:
            return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def read(self) -> Optional[np.ndarray]:
        """The next frame (H, W, 3) RGB ``uint8``; None when a video ended (without ``loop``)."""
        import cv2

        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        frame = self._grab()
        if frame is None and not self.is_camera and self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            frame = self._grab()
        if frame is None and self.is_camera:
            raise CaptureError(f"{self.name} stopped delivering pictures (unplugged?); "
                               "connect it again and restart the camera")
        return frame

    def frames(self, max_fps: float, cancel: Optional[CancelToken] = None
               ) -> Iterator[np.ndarray]:
        """Frames at most ``max_fps`` per second (a video file at most at its own rate).

        A camera's ``read`` waits for the next picture itself; a file is paced
        here so it plays at its speed, not as fast as it decodes.
        """
        rate = min(max_fps, self.fps) if not self.is_camera else max_fps
        gap = 1.0 / rate if rate > 0 else 0.0
        # a file faster than ``rate`` leaves frames out to keep its time (a 30 fps clip shown
        # at 15 played at half speed); a camera drops them itself
        owed, step = 0.0, (self.fps / rate - 1.0 if not self.is_camera and rate > 0 else 0.0)
        due = time.monotonic()
        while cancel is None or not cancel.cancelled:
            frame = self.read()
            if frame is None:
                return
            yield frame
            owed += step
            while owed >= 0.999:
                owed -= 1.0
                self._skip()
            due += gap
            wait = due - time.monotonic()
            if wait > 0:
                _pause(wait, cancel)
            else:
                due = time.monotonic()  # behind: do not try to catch up in a burst

    def _skip(self) -> None:
        """Pass over a file's next frame undecoded where the format allows (its end: the start
        again when looping, else the next read ends it)."""
        import cv2

        if not self._cap.grab() and self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pause(seconds: float, cancel: Optional[CancelToken]) -> None:
    """Wait ``seconds``, waking early when ``cancel`` is set."""
    if cancel is None:
        time.sleep(seconds)
        return
    end = time.monotonic() + seconds
    while not cancel.cancelled and time.monotonic() < end:
        time.sleep(min(0.02, max(0.0, end - time.monotonic())))


def fit_longest(frame: np.ndarray, side: int) -> np.ndarray:
    """``frame`` with its longer side at most ``side`` (aspect kept, never enlarged)."""
    import cv2

    h, w = frame.shape[:2]
    if max(h, w) <= side:
        return frame
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def squash(frame: np.ndarray, side: int) -> np.ndarray:
    """``frame`` resized to ``side`` x ``side`` as :func:`core.data.imageio.load_rgb` does
    (squashed, no crop; bilinear), so a live frame meets the model as a file would."""
    from PIL import Image

    if frame.shape[0] == side and frame.shape[1] == side:
        return frame
    img = Image.fromarray(np.ascontiguousarray(frame))
    return np.asarray(img.resize((side, side), Image.Resampling.BILINEAR, reducing_gap=3.0))


def encode_jpeg(frame: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """An RGB frame as JPEG bytes."""
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                           [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise CaptureError("the frame could not be encoded as JPEG")
    return buf.tobytes()
