"""What ``train`` follows of its run while it trains: the run folder, and whether anyone
still reads the output.

A module of its own so that the command's ``run`` stays a page long.
"""

from __future__ import annotations

from typing import Optional

from core.cli.console import ConsoleListener
from core.events import CancelToken, RunStarted


class RunWatch:
    """The engine's listener for ``train``: shows each event on the console and keeps

    * ``started``: the run folder, once known (``--out`` or ``--resume`` until then);
    * ``began``: the run folder once training began in it, else "";
    * ``reader_left``: the output's reader went away (``train ... 2>&1 | head``).  The closed
      pipe raised through the batch and the run ended "failed", with no reason saved (a
      review): it now cancels the run, which stops after its batch as for Ctrl+C.
    """

    def __init__(self, cancel: CancelToken, started: str = "",
                 console: Optional[ConsoleListener] = None) -> None:
        self.cancel = cancel
        self.console = console or ConsoleListener()
        self.started, self.began, self.reader_left = started, "", False

    def __call__(self, event) -> None:
        if isinstance(event, RunStarted):
            self.started = self.began = event.run_dir
        if self.reader_left:
            return
        try:
            self.console(event)
        except BrokenPipeError:
            self.reader_left = True
            self.cancel.cancel()
