"""Print engine events on a terminal: a live progress bar on a TTY, plain lines otherwise.

Plain lines (one per epoch and per message) keep logs readable when the output
goes to a file or CI; the bar redraws in place only on an interactive terminal.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from core.cli.terminal import message_lines, name
from core.shown import metric_text, plural
from core.events import (BatchEnd, DeviceChosen, EpochEnd, FileSkipped, Log, PhaseStarted,
                         Progress, SkipCounter)


def _fmt_eta(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}:{seconds % 60:02d}"


#: The listener whose bar is on the terminal now (one terminal, one bar at a time).
_on_screen: "ConsoleListener | None" = None


def below_the_bar() -> None:
    """Move to a fresh line when a bar is on the terminal, for the command line's last word:
    "interrupted" and "error: ..." began right after "predicting 150/302" (a CLI review)."""
    if _on_screen is not None and _on_screen._bar_open:
        _on_screen._line_break()


class ConsoleListener:
    """Events as terminal lines: a live bar on a terminal, one line per epoch otherwise.

    Skipped files are listed up to a point, then counted (:class:`SkipCounter`).
    """

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._last = 0.0
        self._bar_open = False
        self._bar_width = 0  # characters the bar on screen takes, for a shorter one to cover
        self.skips = SkipCounter()

    def _line(self, text: str) -> None:
        if self._bar_open:
            self._line_break()
        self.stream.write(message_lines(text) + "\n")
        self.stream.flush()

    def __call__(self, event) -> None:
        if isinstance(event, FileSkipped):
            verdict = self.skips.verdict(event)
            if verdict == "show":
                # The whole line escaped as one name: the file's name (and a reason that
                # quotes one) is the user's, and a line break in it forged a line of output.
                # The event keeps the real name for the window's log.
                self._line("warning: " + name(event.message))
            elif verdict == "summary":
                self._line("warning: more files are skipped; they are not listed here "
                           "('python main.py inspect DATA_DIR --json' lists every one with "
                           "its reason)")
        elif isinstance(event, (Log, DeviceChosen)):
            prefix = {"warning": "warning: ", "error": "error: "}.get(getattr(event, "level", ""), "")
            self._line(prefix + event.message)
        elif isinstance(event, PhaseStarted):
            # Not "(backbone frozen)": without pretrained weights every layer learns.
            phase = "head" if event.phase == "head" else "fine-tuning"
            self._line(f"== {phase}: {plural(event.epochs, 'epoch')} x "
                       f"{plural(event.steps_per_epoch, 'step')}, lr {event.learning_rate:g}")
        elif isinstance(event, BatchEnd):
            if not self.tty:
                return
            now = time.time()
            if now - self._last < 0.1 and event.step != event.steps:
                return
            self._last = now
            width = 28
            filled = int(width * event.step / max(event.steps, 1))
            loss = event.metrics.get("loss")
            acc = event.metrics.get("accuracy")
            text = (f"{event.phase} {event.epoch}/{event.epochs} [{'#' * filled}{'.' * (width - filled)}]"
                    f" {event.step}/{event.steps} {event.images_per_second:6.1f} img/s "
                    f"ETA {_fmt_eta(event.eta_seconds)}")
            if loss is not None:
                text += f" loss {metric_text(loss)} acc {acc:.3f}"
            self._redraw(text)
        elif isinstance(event, EpochEnd):
            m = event.metrics
            parts = [f"{event.phase} epoch {event.epoch}/{event.epochs}"]
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                if m.get(key) is not None:
                    parts.append(f"{key} {metric_text(m[key])}")
            parts.append(f"{event.seconds:.1f}s")
            self._line("  ".join(parts))
        elif isinstance(event, Progress) and event.unit == "bytes":
            self._download(event)
        elif isinstance(event, Progress):
            if self.tty and event.total:
                self._redraw(f"{event.message} {event.done}/{event.total}")
                if event.done >= event.total:  # a finished step's line is cleared: the
                    self._erase()  # result printed next began right after it (a CLI review)

    def _line_break(self) -> None:
        """The bar stays as a line of its own; what comes next starts below it."""
        self.stream.write("\n")
        self.stream.flush()
        self._bar_open = False
        self._bar_width = 0

    def _redraw(self, text: str) -> None:
        """The bar redrawn in place as ``text``, blanks covering what a longer one left:
        "looking for duplicates 0/2" over "reading image headers 12/12" read "0/22"."""
        self.stream.write("\r" + text.ljust(self._bar_width))
        self.stream.flush()
        self._bar_width = len(text)
        self._bar_open = True
        global _on_screen
        _on_screen = self

    def _erase(self) -> None:
        self.stream.write("\r" + " " * self._bar_width + "\r")
        self.stream.flush()
        self._bar_width = 0
        self._bar_open = False

    def _download(self, event: Progress) -> None:
        """A download in MB and per cent on a terminal, redrawn at most 10 times a second; one
        line as it starts otherwise. It was "8056/9421704" on a terminal, and nothing at all in
        a log, however long the download took (a weights review)."""
        size = f"{event.total / 1e6:.1f} MB" if event.total else "size unknown"
        if not self.tty:
            if event.done == 0:
                self._line(f"{event.message} ({size})")
            return
        now = time.time()
        if now - self._last < 0.1 and event.done != event.total:
            return
        self._last = now
        text = f"{event.done / 1e6:.1f} MB"
        if event.total:
            text += f" of {size} ({100 * event.done // event.total} %)"
        self._redraw(f"{event.message}: {text}")
        if event.done == event.total:
            self._erase()
