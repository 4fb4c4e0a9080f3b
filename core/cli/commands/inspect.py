"""``python main.py inspect DATA_DIR [--json]``: check a data folder before training.

Prints the classes with their image counts, every file that will be left out
and why, and warnings (tiny or imbalanced classes).  Exit status 0 when the
folder can be trained on, 2 (one line on stderr) when it cannot, so scripts
can gate a training job on it.  Only image headers are read, so this is fast
even for very large folders.
"""

from __future__ import annotations

import argparse
import sys

from core.cli.terminal import name, printable
from core.typed_json import json_text


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "inspect", help="check a data folder: classes, counts, broken files, duplicates",
        description="Check a data folder (one sub-folder per class, or train/ val/ [test/] "
        "with the same class sub-folders) and report classes, counts, problem files "
        "and warnings. Exit status 0 when it can be trained on, 2 when not.")
    parser.add_argument("data_dir", metavar="DATA_DIR", help="the folder holding the class folders")
    parser.add_argument("--json", action="store_true",
                        help="print the full report as JSON (including every usable image)")
    parser.set_defaults(func=run)


class _StderrProgress:
    """A single self-overwriting progress line, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        from core.events import Progress

        if isinstance(event, Progress):
            text = (f"{event.message}: {event.done}/{event.total}" if event.total
                    else event.message)
            sys.stderr.write("\r" + text[:100].ljust(100))
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from core.data.dataset import require_usable, scan_dataset

    progress = _StderrProgress()
    try:
        report = scan_dataset(args.data_dir, listener=progress)
    finally:
        progress.clear()
    if args.json:
        print(json_text(report.to_dict(), strict=True))
    else:
        print(printable(report.to_text(shown=name)))
    if sys.stdout is not None:  # closed (`>&-`): the report has nowhere to go, the check stays
        sys.stdout.flush()
    require_usable(report)  # DataError -> one line on stderr, exit 2
    return 0
