"""``python main.py runs [--json] [--rebuild [FOLDER ...]]``: the run history.

Lists every indexed training run (GUI and CLI runs alike) newest first: when it
started, backbone, images, validation accuracy, duration, status and folder.
``--rebuild`` re-reads the run folders (the truth) into the index first, e.g.
after copying runs from another machine.  Reads SQLite only: no TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import sys

from core.cli.terminal import name
from core.runs.damaged import damage_note, damaged_text
from core.runs.folder import RunFolder
from core.runs.summary import SORT_KEYS
from core.shown import when_text
from core.typed_json import json_text


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "runs", help="list past training runs (the run history)",
        description="List the training runs recorded in the run history (newest first). The "
        "run folders are the truth; the history is an index that --rebuild re-creates.")
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects")
    parser.add_argument("--rebuild", nargs="*", metavar="FOLDER", default=None,
                        help="re-index the run folders first: those under FOLDER(s), the ones "
                        "already known, and the app's default runs folder")
    parser.add_argument("--filter", default="", metavar="TEXT",
                        help="only runs whose folder, backbone, status or classes contain TEXT")
    parser.add_argument("--sort", default="created", choices=SORT_KEYS, metavar="COLUMN",
                        help=f"sort column: {', '.join(SORT_KEYS)} (default: created, newest "
                        "first)")
    parser.add_argument("--ascending", action="store_true", help="sort smallest/oldest first")
    parser.set_defaults(func=run)


def _fmt_time(t) -> str:
    return when_text(t, "-")


def _fmt_pct(x) -> str:
    return f"{x * 100:.1f}%" if x is not None else "-"


def _fmt_seconds(s) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def run(args: argparse.Namespace) -> int:
    from core.runs.history import RunHistory

    history = RunHistory()
    if history.recovered_from is not None:
        print(f"note: the run history was damaged; kept as {name(history.recovered_from)} and "
              "rebuilt",
              file=sys.stderr)
    if args.rebuild is not None:
        from core.errors import UserError
        from core.events import Log

        missing = [r for r in args.rebuild if not os.path.isdir(r)]
        if missing:  # a file that exists was said to be "no such folder" (a CLI review)
            what = "a file, not a folder" if os.path.lexists(missing[0]) else "no such folder"
            raise UserError(f"--rebuild {missing[0]}: {what}; give run folders or folders "
                            "holding run folders")

        def say(event) -> None:  # skipped folders were dropped without a word
            if isinstance(event, Log) and event.level == "warning":
                print(f"warning: {name(event.message)}", file=sys.stderr)

        n = history.rebuild_index(args.rebuild, listener=say)
        if not args.json:
            print(f"re-indexed {n} run(s) into {name(history.db_path)}")
    runs = history.list_runs(args.sort, descending=not args.ascending, text=args.filter)
    if args.json:
        print(json_text([r.to_dict() for r in runs], strict=True))
        return 0
    if not runs and args.filter:
        print(f"no run matches {args.filter!r}; 'python main.py runs' lists them all")
        return 0
    if not runs:
        print("no runs yet: train one with 'python main.py train' or the app, or re-index "
              "existing run folders with 'python main.py runs --rebuild FOLDER'")
        return 0
    header = ("id", "started", "backbone", "images", "val acc", "duration", "status", "folder")
    # Each cell escaped as a name: a run folder's name (or a hand-edited record) with a
    # line break split the table, and an escape sequence in it recoloured the terminal.
    lines = [header] + [
        (str(r.id), _fmt_time(r.created), name(r.backbone or "-"), str(r.images or "-"),
         _fmt_pct(r.accuracy), _fmt_seconds(r.seconds), name(r.shown_status or "-"),
         name(r.path) + ("" if r.exists else "  (missing)")
         + (f"  ({damage_note(r.missing)})" if r.missing else ""))
        for r in runs]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.rjust(w) if i in (0, 3, 4, 5) else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(line, widths))).rstrip())
    for r in runs:  # what a damaged run lost, what still works and what to do
        if r.missing:
            print(f"note: {name(damaged_text(RunFolder(r.path), r.missing))}")
    return 0
