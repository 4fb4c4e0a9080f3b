"""Ctrl+C as the window's Stop button: the first press stops at the end of the batch.

Python turns Ctrl+C into a ``KeyboardInterrupt`` wherever the program happens to
be, so a training run interrupted that way ended as "failed", in the middle of
whatever it was writing, with nothing saved since the last epoch.  While a
command holds :func:`stop_on_interrupt`, the first Ctrl+C only sets its cancel
token (the same stop the window's button sends: the run ends "stopped" with its
best epoch saved and resumable); a second one interrupts at once, as before.

``timeout``, ``docker stop``, systemd and a closed terminal end a program with
SIGTERM or SIGHUP instead; those stop it the same way (a run killed by them
stayed "running" with nothing saved since its last epoch), and a second one ends
it at once.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator

from core.events import CancelToken

#: The signals that stop a command as the window's Stop button does (SIGHUP: not on Windows;
#: SIGBREAK: Windows only, Ctrl+Break and a closed console window, which had killed the run).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
                     if hasattr(signal, name))


@contextlib.contextmanager
def stop_on_interrupt(cancel: CancelToken, what: str = "training",
                      kept: str = "a run keeps its best epoch, saved at the end of this batch",
                      ) -> Iterator[None]:
    """Within the block, the first SIGINT (or SIGTERM, SIGHUP) cancels ``cancel``; a second one
    raises KeyboardInterrupt (SIGINT) or ends the program (the others).  ``kept``: what the
    stop keeps, said when it begins.

    Outside the main thread (where Python allows no signal handler) the block
    runs with Python's default Ctrl+C.
    """
    def first_press(signum, frame) -> None:
        cancel.cancel()
        if signum == signal.SIGINT:
            print(f"\nstopping {what}: {kept} (Ctrl+C again to stop at once)",
                  file=sys.stderr, flush=True)
        else:
            print(f"\nstopping {what} ({signal.Signals(signum).name}): {kept}",
                  file=sys.stderr, flush=True)
        for sig in STOP_SIGNALS:  # a second signal of any kind: at once
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT
                          else signal.SIG_DFL)

    with _handling(STOP_SIGNALS, first_press):
        yield


@contextlib.contextmanager
def _handling(signals, handler) -> Iterator[None]:
    """``handler`` for ``signals`` within the block, the ones before given back after it (in
    the main thread only: elsewhere Python allows no signal handler, so nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # A signal the command was started ignoring stays ignored: `nohup` ignores SIGHUP so
    # that logging out does not end the command, and a handler would have ended it.
    previous = {sig: signal.signal(sig, handler) for sig in signals
                if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)


@contextlib.contextmanager
def termination_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP (SIGBREAK on Windows) raise KeyboardInterrupt,
    as Ctrl+C does, so a command cleans up the way Ctrl+C has it do: ``export`` killed by
    ``timeout`` or a CI cancel had left its parity process running for up to 10 minutes,
    a temporary folder in /tmp, a half-made export folder and its lock (a scripting
    review).  Commands that stop more gently (:func:`stop_on_interrupt`) set their own."""
    def interrupt(signum, frame) -> None:
        raise KeyboardInterrupt

    with _handling([sig for sig in STOP_SIGNALS if sig != signal.SIGINT], interrupt):
        yield


@contextlib.contextmanager
def interrupt_kept() -> Iterator[None]:
    """Within the block a stop signal raises KeyboardInterrupt as ever, and one that a
    library's import turned into an ImportError is raised as the KeyboardInterrupt it was.

    Ctrl+C while TensorFlow loads can strike inside numpy's C extension, which reports
    "Importing the numpy C-extensions failed ... could not import module 'datetime'": the
    command said "TensorFlow could not be loaded ... reinstall" and exited 2 (a CLI review).
    """
    stopped = []

    def note(signum, frame) -> None:
        stopped.append(signum)
        raise KeyboardInterrupt

    try:
        with _handling(STOP_SIGNALS, note):
            yield
    except ImportError as exc:
        if stopped:
            raise KeyboardInterrupt from exc
        raise
