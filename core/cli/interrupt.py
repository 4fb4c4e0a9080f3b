"""Ctrl+C as the window's Stop button: the first press stops at the end of the batch.

Python turns Ctrl+C into a ``KeyboardInterrupt`` wherever the program happens to
be, so a training run interrupted that way ended as "failed", in the middle of
whatever it was writing, with nothing saved since the last epoch.  While a
command holds :func:`stop_on_interrupt`, the first Ctrl+C only sets its cancel
token (the same stop the window's button sends: the run ends "stopped" with its
best epoch saved and resumable); a second one interrupts at once, as before.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator

from core.events import CancelToken


@contextlib.contextmanager
def stop_on_interrupt(cancel: CancelToken, what: str = "training") -> Iterator[None]:
    """Within the block, the first SIGINT cancels ``cancel``; the second raises KeyboardInterrupt.

    Outside the main thread (where Python allows no signal handler) the block
    runs with Python's default Ctrl+C.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def first_press(signum, frame) -> None:
        cancel.cancel()
        print(f"\nstopping {what}: a run keeps its best epoch, saved at the end of this batch "
              "(Ctrl+C again to stop at once)", file=sys.stderr, flush=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first_press)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
