"""Run a ``core`` function in a worker thread and hear about it through Qt signals.

``core`` reports through a plain ``listener(event)`` callable and polls a
:class:`core.events.CancelToken` (the Orange ``progress_callback`` idea).  A
:class:`Job` adapts that to Qt:

* the function runs in a ``QThread``; it never sees a widget;
* events cross to the UI thread through ONE queued connection and are re-emitted
  there, so every public signal (``progress``, ``finished``, ``failed``,
  ``cancelled``, ``done``) fires on the UI thread and any slot or lambda may touch
  widgets;
* frequent events (``Progress``, ``BatchEnd``) are throttled to ``max_rate`` per
  second, keeping only the newest, so a fast loop cannot flood the event queue;
  ``EpochEnd``, ``PhaseStarted``, ``Log`` and any other event always arrive, in
  order; the newest throttled event arrives once its gap has passed even when the
  function then waits (a stalled download), and before the job ends;
* a :class:`core.errors.UserError` becomes its own message, logged as one line; anything
  else becomes "Something went wrong: ..." with the traceback kept for the log.

:class:`JobRunner` holds the one long job (scan, download, training) the app
allows at a time; :class:`SerialJobs` runs a page's own small jobs one after
the other (a Keras model must not be used by two threads at once).  Every live
job is tracked so the window can cancel and wait for all of them when it
closes, and tests can fail on a job left running.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import warnings
import weakref
from collections import OrderedDict
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Qt, QTimer, Signal, Slot

from core.errors import UserError
from core.tfenv import missing_tensorflow
from core.write_errors import path_refusal
from core.events import BatchEnd, CancelToken, Cancelled, Progress

log = logging.getLogger("finetune_studio.gui")

#: Event types that may be dropped (only the newest kept) when they come too fast.
THROTTLED_TYPES: tuple[type, ...] = (Progress, BatchEnd)

_LIVE: "weakref.WeakSet[Job]" = weakref.WeakSet()
_KEEP: set = set()  # strong refs while running, so a fire-and-forget job is not collected


def live_jobs() -> list["Job"]:
    """Jobs started and not yet done."""
    return [j for j in list(_LIVE) if j.is_running()]


def cancel_all_jobs(wait_ms: int = 30000) -> bool:
    """Cancel every live job and wait for each; False if one did not stop in time."""
    jobs = live_jobs()
    for job in jobs:
        job.cancel()
    deadline = time.monotonic() + wait_ms / 1000
    ok = True
    for job in jobs:
        left = max(0, int((deadline - time.monotonic()) * 1000))
        ok = job.wait(left) and ok
    return ok


class _Thread(QThread):
    """The worker: calls the function, forwards events; touches no widget."""

    event = Signal(object)
    ended = Signal(str, object, str)  # kind (finished/failed/cancelled), payload, traceback

    def __init__(self, job: "Job") -> None:
        super().__init__()
        self._fn = job._fn
        self._args = job._args
        self._kwargs = job._kwargs
        self._token = job.token
        self._min_gap = 1.0 / job.max_rate if job.max_rate > 0 else 0.0
        self._last = 0.0
        self._pending: Any = None
        self._later: Optional[threading.Timer] = None  # sends ``_pending`` if nothing else does
        self._lock = threading.Lock()
        self.user_error = False

    def _listen(self, event: Any) -> None:
        # Called in the worker thread (or any thread the core function uses).
        with self._lock:
            if isinstance(event, THROTTLED_TYPES):
                now = time.monotonic()
                if now - self._last < self._min_gap:
                    self._pending = event
                    self._send_later(self._min_gap - (now - self._last))
                    return
                self._last = now
                self._pending = None
                self.event.emit(event)
                return
            if self._pending is not None:
                self.event.emit(self._pending)
                self._pending = None
            self.event.emit(event)

    def _send_later(self, delay: float) -> None:
        """Send the newest throttled event once its gap has passed, even when no other event
        follows: a download that stalled showed 0 % for 30 s with 3 MB in (a weights review)."""
        if self._later is None:
            self._later = threading.Timer(delay, self._send_pending)
            self._later.daemon = True
            self._later.start()

    def _send_pending(self) -> None:
        with self._lock:
            self._later = None
            if self._pending is not None:
                self._last = time.monotonic()
                self.event.emit(self._pending)
                self._pending = None

    def _flush(self) -> None:
        with self._lock:
            if self._later is not None:
                self._later.cancel()
                self._later = None
            if self._pending is not None:
                self.event.emit(self._pending)
                self._pending = None

    def run(self) -> None:  # noqa: D401 - QThread API
        try:
            result = self._fn(*self._args, listener=self._listen, cancel=self._token,
                              **self._kwargs)
        except Cancelled:
            self._flush()
            self.ended.emit("cancelled", None, "")
        except UserError as exc:
            self._flush()
            self.user_error = True  # read on the UI thread after the thread has ended
            self.ended.emit("failed", str(exc), traceback.format_exc())
        except OSError as exc:  # a path the system refused, unchecked: named, as the CLI does
            self._flush()
            self.ended.emit("failed", path_refusal(exc) or f"Something went wrong: "
                            f"{type(exc).__name__}: {exc}", traceback.format_exc())
        except BaseException as exc:  # a bug: readable message, traceback for the log
            self._flush()  # (or TensorFlow not installed properly: that, and what to do)
            self.ended.emit("failed", missing_tensorflow(exc) or
                            f"Something went wrong: {type(exc).__name__}: {exc}",
                            traceback.format_exc())
        else:
            self._flush()
            self.ended.emit("finished", result, "")


class Job(QObject):
    """One call of ``fn(*args, listener=..., cancel=..., **kwargs)`` in a worker thread."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)  # message for the user, traceback for the log
    cancelled = Signal()
    done = Signal()  # after finished, failed or cancelled
    #: Cancel was asked for (a Stop button, Esc, the status bar's Cancel): the job ends
    #: at its next check, maybe a batch later; pages say "stopping" meanwhile.
    cancel_requested = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "",
                 max_rate: float = 20.0, parent: Optional[QObject] = None, **kwargs: Any) -> None:
        super().__init__(parent)
        self.name = name or getattr(fn, "__name__", "job")
        self.max_rate = max_rate
        self.token = CancelToken()
        self.result: Any = None
        self.error: Optional[str] = None
        self.state = "new"  # new, running, finished, failed, cancelled
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._thread: Optional[_Thread] = None

    @property
    def fn(self) -> Callable[..., Any]:
        """The function the job runs (a page tells its own jobs from other pages' by it)."""
        return self._fn

    def start(self) -> "Job":
        if self._thread is not None:
            raise RuntimeError(f"job {self.name!r} was already started")
        self._thread = _Thread(self)
        self._thread.event.connect(self._on_event, Qt.QueuedConnection)
        self._thread.ended.connect(self._on_ended, Qt.QueuedConnection)
        self.state = "running"
        _LIVE.add(self)
        _KEEP.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the function to stop; it ends with ``cancelled`` at its next check."""
        first = not self.token.cancelled
        self.token.cancel()
        if first and self.state == "running":
            self.cancel_requested.emit()

    def is_running(self) -> bool:
        return self.state == "running"

    def wait(self, ms: int = 30000) -> bool:
        """Block until the worker thread has ended (queued signals still pending)."""
        if self._thread is None:
            return True
        return self._thread.wait(ms)

    @Slot(object)
    def _on_event(self, event: Any) -> None:
        if self.state == "running":
            self.progress.emit(event)

    @Slot(str, object, str)
    def _on_ended(self, kind: str, payload: Any, tb: str) -> None:
        self.state = kind
        if self._thread is not None:
            self._thread.wait()
        _KEEP.discard(self)
        if kind == "finished":
            self.result = payload
            self.finished.emit(payload)
        elif kind == "failed":
            self.error = str(payload)
            if self._thread is not None and self._thread.user_error:
                # The user's mistake (a refused name, a missing folder): the page says it,
                # the log gets the one line; a traceback is for bugs (core.errors).
                log.warning("%s failed: %s", self.name, payload)
            else:
                log.error("%s failed: %s\n%s", self.name, payload, tb)
            self.failed.emit(str(payload), tb)
        else:
            log.info("%s cancelled", self.name)
            self.cancelled.emit()
        self.done.emit()
        QTimer.singleShot(0, self._release)  # after the slots queued by these signals

    def _release(self) -> None:
        """Drop what ties a finished job to memory: the slots connected to it (a lambda
        holding the job, kept by Qt, is a cycle Python's collector cannot see, so every
        scan's 20,000 records and every check's features stayed for the window's life, a
        review), its thread, and the arguments it ran with.  ``result`` stays for whoever
        still holds the job."""
        for signal in (self.progress, self.finished, self.failed, self.cancelled, self.done,
                       self.cancel_requested):
            _disconnect_all(signal)
        thread, self._thread = self._thread, None
        if thread is not None:
            _disconnect_all(thread.event)
            _disconnect_all(thread.ended)
            thread._fn = thread._args = thread._kwargs = None
        self._args, self._kwargs = (), {}


def _disconnect_all(signal) -> None:
    with warnings.catch_warnings():  # PySide warns when nothing is connected
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            signal.disconnect()
        except (RuntimeError, TypeError):
            pass


class JobRunner(QObject):
    """The single slot for long jobs: starting one while another runs is refused."""

    busy_changed = Signal(bool)
    job_started = Signal(object)  # the Job

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.current: Optional[Job] = None

    def is_busy(self) -> bool:
        return self.current is not None and self.current.is_running()

    def when_idle(self, fn: Callable[[], Any]) -> None:
        """Call ``fn`` the next time the runner turns idle (once)."""
        def go(busy: bool) -> None:
            if not busy:
                self.busy_changed.disconnect(go)
                fn()
        self.busy_changed.connect(go)

    def start(self, fn: Callable[..., Any], *args: Any, name: str = "",
              **kwargs: Any) -> Optional[Job]:
        """Start ``fn`` as the long job; returns None (nothing started) when busy."""
        if self.is_busy():
            return None
        job = Job(fn, *args, name=name, **kwargs)
        self.current = job
        job.done.connect(lambda j=job: self._on_done(j))
        job.start()
        self.job_started.emit(job)
        self.busy_changed.emit(True)
        return job

    def cancel(self) -> None:
        if self.current is not None:
            self.current.cancel()

    def wait(self, ms: int = 30000) -> bool:
        return self.current.wait(ms) if self.current is not None else True

    def _on_done(self, job: Job) -> None:
        if job is self.current:
            self.busy_changed.emit(False)


class SerialJobs(QObject):
    """Run a page's work one job at a time; per kind, only the newest request matters.

    ``submit(kind, fn, args, on_result, on_error)`` queues ``fn(*args)`` as a
    :class:`Job`.  A second request of the same kind replaces the one still
    waiting, and an answer is dropped when a newer request of its kind is
    waiting (it would be overwritten a moment later anyway).  ``idle`` fires
    when nothing is running or waiting.  A page whose jobs share one Keras model
    submits them all here, so the model is never used by two threads at once.
    """

    idle = Signal()

    def __init__(self, parent: Optional[QObject] = None, name: str = "") -> None:
        super().__init__(parent)
        self.name = name
        self._pending: "OrderedDict[str, tuple]" = OrderedDict()
        self._running: Optional[Job] = None
        self._generation = 0

    def submit(self, kind: str, fn: Callable, args: tuple, on_result: Callable[[Any], None],
               on_error: Callable[[str], None], kwargs: Optional[dict] = None) -> None:
        self._pending.pop(kind, None)
        self._pending[kind] = (fn, args, kwargs or {}, on_result, on_error)
        if self._running is None:
            self._next()

    def busy(self) -> bool:
        return self._running is not None or bool(self._pending)

    def clear(self) -> None:
        """Forget waiting requests and ignore the running one's answer."""
        self._pending.clear()
        self._generation += 1
        if self._running is not None:
            self._running.cancel()

    def shutdown(self) -> None:
        self.clear()

    def finish(self, ms: int = 30000) -> bool:
        """Run everything queued to its end, now (the window is closing and the work is
        the user's: captured pictures).  The running job is waited for and the waiting
        ones run here, on this thread: a new worker started as the app quits was
        destroyed while it ran (SIGABRT, pictures lost).  Answers are not delivered.
        False when the running job did not end within ``ms``."""
        if self._running is not None and not self._running.wait(ms):
            return False
        waiting = list(self._pending.values())
        self._pending.clear()
        self._generation += 1
        for fn, args, kwargs, _on_result, on_error in waiting:
            try:
                fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - said, and the rest still run
                log.error("%s: %s", self.name, exc)
                on_error(str(exc))
        return True

    def _next(self) -> None:
        if not self._pending:
            self.idle.emit()
            return
        kind, (fn, args, kwargs, on_result, on_error) = self._pending.popitem(last=False)
        job = Job(fn, *args, name=f"{self.name}: {kind}" if self.name else kind, **kwargs)
        self._running = job
        gen = self._generation
        job.finished.connect(lambda result, k=kind, g=gen: self._deliver(k, g, on_result, result))
        job.failed.connect(lambda msg, _tb, k=kind, g=gen: self._deliver(k, g, on_error, msg))
        job.done.connect(self._on_done)
        job.start()

    def _deliver(self, kind: str, generation: int, callback: Callable, payload: Any) -> None:
        if generation == self._generation and kind not in self._pending:
            callback(payload)

    def _on_done(self) -> None:
        self._running = None
        self._next()
