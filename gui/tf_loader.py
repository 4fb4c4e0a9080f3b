"""Import TensorFlow in the background once the window is on screen.

``import tensorflow`` takes several seconds on a small machine; doing it before
``show()`` would make the app look dead.  The window starts this thread right
after it appears and shows "Loading TensorFlow..." until ``ready`` arrives with
the device in words ("CPU" or the GPU's name).  Later imports of TensorFlow
anywhere in the app are then instant.

The import goes through :func:`core.tfenv.start_tensorflow`, the CLI's way in:
TensorFlow's C++ start-up lines ("failed call to cuInit: CUDA error", which
reads like a crash to a CPU user) are left out of the terminal the app was
started from; ``FTS_VERBOSE=1`` keeps them.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QThread, Signal


def describe_devices() -> str:
    """'CPU' or 'GPU: <name>' (several GPUs are counted); starts TensorFlow quietly."""
    from core.tfenv import start_tensorflow

    tf = start_tensorflow()

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    try:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "")
    except Exception:  # details are optional; the count is what matters
        name = ""
    label = name or gpus[0].name
    return f"GPU: {label}" + (f" ×{len(gpus)}" if len(gpus) > 1 else "")


class TensorFlowLoader(QThread):
    """Imports TensorFlow; emits ``ready(device)`` or ``failed(message, traceback)``."""

    ready = Signal(str)
    failed = Signal(str, str)

    def run(self) -> None:
        try:
            # The other heavy imports first (under a second; TensorFlow takes several), so
            # no page pays for them on the UI thread: the Augmentation page, opened while
            # TensorFlow loaded, imported albumentations and OpenCV itself (0.7-0.9 s).
            import core.data.augment  # noqa: F401
        except Exception:  # the page that needs it will report the problem itself
            pass
        try:
            device = describe_devices()
        except BaseException as exc:  # TensorFlow missing or broken: say so, keep the app
            from core.tfenv import tensorflow_failed_text

            self.failed.emit(tensorflow_failed_text(exc), traceback.format_exc())
            return
        self.ready.emit(device)


# One import per process, shared by every window.
_loader: "TensorFlowLoader | None" = None
_outcome: "tuple[str, str, str] | None" = None  # ("ready", device, "") or ("failed", msg, tb)


def _remember_ready(device: str) -> None:
    global _outcome
    _outcome = ("ready", device, "")


def _remember_failed(message: str, tb: str) -> None:
    global _outcome
    _outcome = ("failed", message, tb)


def outcome() -> "tuple[str, str, str] | None":
    """None while loading (or not started), else ("ready", device, "") / ("failed", msg, tb)."""
    return _outcome


def start_loading() -> TensorFlowLoader:
    """Start the background import once; later calls return the same loader."""
    global _loader
    if _loader is None:
        from core.tfenv import imports_wait_for_tensorflow

        imports_wait_for_tensorflow()  # a worker's "import keras" meanwhile waits for it
        _loader = TensorFlowLoader()
        # Direct connections: these only store a tuple, from the worker thread.
        from PySide6.QtCore import Qt

        _loader.ready.connect(_remember_ready, Qt.DirectConnection)
        _loader.failed.connect(_remember_failed, Qt.DirectConnection)
        _loader.start()
    return _loader


def wait_loaded(ms: int = 120000) -> bool:
    """Block until the import ended (an import cannot be interrupted)."""
    return _loader is None or _loader.wait(ms)
