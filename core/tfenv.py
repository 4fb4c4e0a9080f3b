"""Start TensorFlow without its C++ start-up chatter (unless the user asks for it).

On a machine without a GPU, ``import tensorflow`` and the first device query
print lines such as "failed call to cuInit: CUDA error", "Could not find cuda
drivers" and "All log messages before absl::InitializeLog()..." straight to the
process's stderr (file descriptor 2, below Python).  To a CPU user that reads
like a crash.  :func:`start_tensorflow` sets TensorFlow's own log level and runs
the import and the first device query with descriptor 2 captured; afterwards
the captured text is written back to stderr with those start-up lines left out,
so anything else (a real import error) is still seen.  ``--verbose`` on the
command line or ``FTS_VERBOSE=1`` keeps everything.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading

#: Lines TensorFlow/absl print at start-up that are not the user's business.
CHATTER = re.compile(
    r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"  # absl C++ log line
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions:"
    r"|.*oneDNN custom operations are on"
    r"|.*This TensorFlow binary is optimized to use available CPU instructions"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU"  # a .tflite's first run
    r"|fully_quantize: \d+, inference_type: \d+, input_inference_type: )")  # each int8 file

_lock = threading.Lock()
_started = False
_importer: "int | None" = None  # the thread importing TensorFlow under _lock


def verbose_requested(argv=()) -> bool:
    return bool(os.environ.get("FTS_VERBOSE")) or "-v" in argv or "--verbose" in argv


def quiet_by_default(argv=()) -> None:
    """Set TensorFlow's C++ log level before it is imported (call first thing in main)."""
    if not verbose_requested(argv):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def filter_chatter(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not CHATTER.match(line))


def start_tensorflow(verbose: bool | None = None):
    """Import TensorFlow and enumerate its devices once, quietly; returns the module."""
    global _started
    if verbose is None:
        verbose = verbose_requested(sys.argv)
    global _importer
    with _lock:
        _importer = threading.get_ident()
        try:
            with native_chatter_hidden(verbose or _started):
                import tensorflow as tf

                _first_device_query(tf)
        finally:
            _importer = None
        _started = True
        return tf


#: Top-level packages whose import imports TensorFlow.
TENSORFLOW_PACKAGES = frozenset({"tensorflow", "keras", "tf_keras", "tf2onnx", "tensorboard"})


def imports_wait_for_tensorflow() -> None:
    """From now on, an ``import`` of TensorFlow (or Keras, which imports it) in one thread
    while another thread imports it waits for that import instead of running beside it.

    TensorFlow's import is not thread-safe: the window imports it in the background, and a
    model opened on the Predict page in its first seconds imported Keras in a worker at the
    same time; both got a half-made module ("partially initialized module ... (most likely
    due to a circular import)"), the status bar said "TensorFlow missing", and every later
    use failed until a restart (a review).  Wrapping ``__import__`` (not a meta-path
    finder) waits before Python takes the module's import lock, which the importing thread
    may need.  Installed once, by the window; the command line imports in one thread."""
    import builtins

    real = builtins.__import__
    if getattr(real, "waits_for_tensorflow", False):
        return

    def waiting_import(name, globals=None, locals=None, fromlist=(), level=0):
        if (not _started and level == 0 and name.partition(".")[0] in TENSORFLOW_PACKAGES
                and _importer != threading.get_ident()):
            try:  # waits while another thread imports it (or imports it here, quietly)
                start_tensorflow()
            except BaseException:  # noqa: BLE001 - the import below raises it for the caller
                pass
        return real(name, globals, locals, fromlist, level)

    waiting_import.waits_for_tensorflow = True
    builtins.__import__ = waiting_import


_capturing = threading.Lock()


@contextlib.contextmanager
def native_chatter_hidden(verbose: bool | None = None):
    """Run the block with descriptor 2 captured, then write back what it printed but
    TensorFlow's chatter: the start-up lines, and the "INFO: Created TensorFlow Lite
    XNNPACK delegate" line a .tflite model prints when it first runs (``predict`` on an
    export printed it, though the README says the start-up lines are hidden)."""
    if verbose is None:
        verbose = verbose_requested(sys.argv)
    with _capturing:  # descriptor 2 is the process's: one capture at a time
        saved = None if verbose else _saved_stderr()
        if saved is None:
            yield
            return
        with tempfile.TemporaryFile(mode="w+b") as capture:
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                rest = filter_chatter(capture.read().decode("utf-8", "replace"))
                if rest:
                    sys.stderr.write(rest)
                    sys.stderr.flush()


def _saved_stderr() -> int | None:
    """A copy of file descriptor 2, to put back after TensorFlow's chatter; None without one.

    A window started without a console (``pythonw``, a desktop shortcut on Windows) has
    no ``sys.stderr`` and no descriptor 2: ``os.dup(2)`` failed there, and TensorFlow
    "could not be loaded" at all.
    """
    if sys.stderr is None:
        return None
    try:
        sys.stderr.flush()
        return os.dup(2)
    except (OSError, ValueError):
        return None


def _first_device_query(tf) -> None:
    """Enumerate devices now (that prints the rest of the chatter) -- except for a
    multi-worker job (``TF_CONFIG`` set): its collective ops must be configured before
    TensorFlow's runtime starts, so there the device query waits for the strategy."""
    if not os.environ.get("TF_CONFIG"):
        tf.config.list_physical_devices()


#: The packages whose absence means "TensorFlow is not (properly) installed".
TF_PACKAGES = ("tensorflow", "keras", "tf_keras", "h5py")


def missing_tensorflow(exc: BaseException) -> str:
    """The sentence for TensorFlow that cannot be imported ("" when ``exc`` is about something
    else): every page said "Something went wrong: ModuleNotFoundError ..." instead."""
    name = getattr(exc, "name", None) or ""
    if not isinstance(exc, ImportError):
        return ""
    # a module TensorFlow itself needs (ml_dtypes, protobuf) is missing: raised in its code
    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename.replace("\\", "/"))
        tb = tb.tb_next
    inside = any(f"/{pkg}/" in f for f in frames for pkg in TF_PACKAGES)
    if name.split(".")[0] not in TF_PACKAGES and not inside:
        return ""
    return tensorflow_failed_text(exc)


def tensorflow_failed_text(exc: BaseException) -> str:
    """TensorFlow cannot be used (``exc`` is why), and what to do about it."""
    return (f"TensorFlow could not be loaded ({type(exc).__name__}: {exc}); training and "
            "prediction need it - reinstall with 'pip install -r requirements.txt'")
