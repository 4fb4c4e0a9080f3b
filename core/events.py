"""Progress events and cancellation, with no dependency on any UI toolkit.

Long work in ``core`` (scans, downloads, training, exports) takes a ``listener``
callable and a :class:`CancelToken`.  It calls ``listener(event)`` with one of the
small frozen dataclasses below and checks the token often (within one batch for
training).  The CLI prints events; ``gui/`` turns them into Qt signals.  This is
the Orange ``progress_callback`` / Keras ``Callback`` idea without the coupling.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


class Cancelled(Exception):
    """Raised inside a job when its token was cancelled; the job stops cleanly."""


class CancelToken:
    """A thread-safe flag a UI sets and a worker polls."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


@dataclass(frozen=True)
class Progress:
    """Generic progress of a job: ``done`` of ``total`` units (total 0 = unknown); ``unit``
    "bytes" for a download (the command line shows MB), else "" (files, images, steps)."""

    done: int
    total: int
    message: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Log:
    """A line for the user's log; level is 'info', 'warning' or 'error'."""

    message: str
    level: str = "info"


@dataclass(frozen=True)
class FileSkipped:
    """A file that could not be used and was left out; the job goes on without it.

    ``stage`` says when it was found ("scan", "training", "prediction",
    "calibration", ...); ``reason`` says why, in words a person can act on.
    Listeners decide how many to show (:class:`SkipCounter`); every one is sent.
    """

    path: str
    reason: str
    stage: str = ""

    @property
    def message(self) -> str:
        during = f" during {self.stage}" if self.stage and self.stage != "scan" else ""
        return f"skipped {self.path}{during}: {self.reason}"


@dataclass(frozen=True)
class DeviceChosen:
    """Where and how a job computes: ``info`` is a :class:`core.train.device.DeviceInfo`."""

    info: Any

    @property
    def message(self) -> str:
        return f"device: {self.info.describe()}"


@dataclass(frozen=True)
class RunStarted:
    """Training has begun in ``run_dir`` (a new run's folder exists from now on)."""

    run_dir: str
    resumed: bool = False


@dataclass(frozen=True)
class ImagesLeftOut:
    """A resume goes on without ``count`` images added to its data folder since the run
    started (a warning says which, in words; the window's banner says it as it starts)."""

    count: int


@dataclass(frozen=True)
class PhaseStarted:
    """A training phase begins ('head' or 'fine_tune')."""

    phase: str
    epochs: int
    steps_per_epoch: int
    learning_rate: float
    trainable_params: int = 0


@dataclass(frozen=True)
class BatchEnd:
    """One training batch finished; ``metrics`` holds running loss/accuracy."""

    phase: str
    epoch: int
    epochs: int
    step: int
    steps: int
    images_per_second: float
    eta_seconds: float
    metrics: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EpochEnd:
    """One epoch finished; ``metrics`` has loss, accuracy, val_loss, val_accuracy."""

    phase: str
    epoch: int
    epochs: int
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class BudgetPlanned:
    """A run with a time budget planned its work from a short probe of this machine."""

    budget_seconds: float
    cached_views: int
    fine_tune_epochs: int
    message: str


Listener = Callable[[Any], None]


def emit(listener: Optional[Listener], event: Any) -> None:
    """Send ``event`` to ``listener`` if there is one."""
    if listener is not None:
        listener(event)


class SkipCounter:
    """Decides how a log shows :class:`FileSkipped` events: the first few, then one line.

    A folder of ten thousand broken files would otherwise bury a run's log in
    ten thousand lines.  Every file is still named once in the events (a
    listener can collect them all); the Data page and ``inspect DATA_DIR --json``
    list every one.  :meth:`verdict` answers "show", "summary" (the one line
    that says more are hidden, given once) or "hide"; other events are "show".
    """

    def __init__(self, shown: int = 20) -> None:
        self.shown = shown
        self.count = 0

    def verdict(self, event) -> str:
        if not isinstance(event, FileSkipped):
            return "show"
        self.count += 1
        if self.count <= self.shown:
            return "show"
        return "summary" if self.count == self.shown + 1 else "hide"

