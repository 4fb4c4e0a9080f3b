"""``python main.py label --from CSV --into DATA_DIR``: put reviewed images into their classes.

Reads a CSV with the columns ``path`` and ``label`` (as ``suggest --csv`` writes
it, after a person reviewed the label column) and copies each image into
``DATA_DIR/<label>/`` (``--move`` moves it instead), never overwriting: a name
already taken gets a suffix, ``name (2).jpg``.  An empty label or "skip" leaves
the image out; "unknown" or "none" too, and they are counted.  A label that is
not a class folder is refused unless ``--new-classes``.  Every batch goes to
the data folder's journal: ``label --undo --into DATA_DIR`` (or ``audit DATA_DIR
--undo``, the same journal) reverses the last one.  ``--from -`` reads the CSV from
standard input.
"""

from __future__ import annotations

import argparse

from core.cli.terminal import name, printable


def register(sub) -> None:
    p = sub.add_parser("label", help="copy (or move) the images of a reviewed CSV into the "
                       "data set's class folders; undoable",
                       description=__doc__.split("\n\n")[1].replace("``", "'"))
    p.add_argument("--from", dest="csv", metavar="CSV", help="the reviewed CSV (path,label); "
                   "'-' reads it from standard input (relative paths from the working folder)")
    p.add_argument("--into", dest="data_dir", metavar="DATA_DIR", required=True,
                   help="the data folder holding the class folders")
    p.add_argument("--move", action="store_true",
                   help="move the images instead of copying them (the default leaves the "
                   "source folder untouched)")
    p.add_argument("--new-classes", action="store_true",
                   help="create a class folder for a label that is not a class yet")
    p.add_argument("--undo", action="store_true",
                   help="undo the last batch (labels or audit fixes) in DATA_DIR, then exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.cli.commands.audit import run_undo
    from core.cli.interrupt import stop_on_interrupt
    from core.errors import UserError
    from core.events import CancelToken
    from core.label.apply import apply_labels
    from core.label.label_csv import read_label_csv, source_name

    if args.undo:
        if args.csv:
            raise UserError("--undo reverses the last batch and --from labels a new one: give "
                            "one of them")
        if args.move or args.new_classes:  # accepted and ignored before: undo takes neither
            raise UserError("--undo puts the last batch back as it was placed; give it "
                            "without --move or --new-classes")
        return run_undo(args.data_dir)
    if not args.csv:
        raise UserError("give the reviewed CSV with --from CSV (or --undo to reverse the last "
                        "batch)")
    rows = read_label_csv(args.csv)
    cancel = CancelToken()
    # Ctrl+C stops after the file being placed and the batch is told, with its Undo: it ended
    # with "interrupted" alone, a thousand images moved into the data set without a word (a
    # CLI review).  A second Ctrl+C stops at once (the journal still holds what was placed).
    with stop_on_interrupt(cancel, "labelling", kept="the images placed so far are listed, "
                           "and 'label --undo' puts them back"):
        outcome = apply_labels(rows, args.data_dir, move=args.move,
                               new_classes=args.new_classes, source=source_name(args.csv),
                               first_line=2, cancel=cancel)
    # A tab in a file name shown as \t, as predict and suggest show it: the text holds no
    # tab of its own (a CLI review).
    print(printable(outcome.describe()).replace("\t", "\\t"))
    if outcome.placed:
        print(f"to undo: python main.py label --undo --into {name(args.data_dir)}")
    if outcome.not_tried:
        return 130
    return 0 if not outcome.refused else 1
