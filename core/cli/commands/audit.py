"""``python main.py audit DATA_DIR``: near-duplicates, likely wrong labels and outliers.

The backbone features come from the feature store in the app's data folder,
so a second audit of the same folder computes only new or changed images
(TensorFlow is not even started when nothing is new).  ``--json`` prints
``label_issues`` (likeliest first: path, given, suggested, score, conflict, kept),
``near_duplicates`` (groups of paths; ``near_duplicates_kept``, one flag per group),
``outliers`` (path, score, kept) and ``left_out``, paths relative to DATA_DIR with "/";
the text summary lists the images and groups kept in the window
(:mod:`core.audit.kept`) after the others, marked.  ``--undo`` reverses the
last batch of fixes made in DATA_DIR (from the window), using the folder's journal.
Ctrl+C stops cleanly; the features computed so far are kept (with ``--weights none``
none are: random features are never stored).
"""

from __future__ import annotations

import argparse
import sys

from core.cli.options import add_setting
from core.cli.terminal import name, printable
from core.typed_json import json_text


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "audit", help="find near-duplicates, likely wrong labels and outliers in DATA_DIR",
        description="Audit a data folder with a pretrained backbone's features (kept in the "
        "app's feature store): groups of near-copies (re-encoded, resized, cropped, "
        "brightened, flipped), images whose class is likely wrong with the class they look "
        "like, and images far from every other. Changes nothing in DATA_DIR.")
    p.add_argument("data_dir", metavar="DATA_DIR", help="the folder holding the class folders")
    p.add_argument("--backbone", default="MobileNetV2", metavar="NAME",
                   help="a keras.applications name (see 'backbones'); default MobileNetV2")
    p.add_argument("--weights", default="imagenet",
                   help="imagenet (default), none (random: tells little), or a .h5/.weights.h5 file")
    add_setting(p, "--image-size", "model.image_size")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--undo", action="store_true",
                   help="undo the last batch of fixes made in DATA_DIR, then exit")
    p.set_defaults(func=run)


def run_undo(data_dir: str) -> int:
    """``audit DATA_DIR --undo`` and ``label --undo --into DATA_DIR``: one journal, one Undo."""
    import os

    from core.audit.fixes import FixJournal, damaged_text
    from core.errors import UserError

    if not os.path.isdir(data_dir):  # a mistyped name is not "nothing to undo"
        raise UserError(f"{data_dir}: no such data folder; give the folder the fixes or labels "
                        "were made in")
    try:
        outcome = FixJournal(data_dir).undo_last()
    except KeyboardInterrupt:  # "interrupted" alone left a half-undone batch unsaid (a review)
        print("undo stopped part-way: the files it put back stay back; give the same --undo "
              "command again to put back the rest of the batch", file=sys.stderr)
        raise
    if not outcome.batch:
        print("nothing to undo in " + name(data_dir))
        if outcome.damaged_lines:
            print(damaged_text(outcome.damaged_lines), file=sys.stderr)
        return 0
    print(printable(outcome.describe()))
    return 0 if not outcome.refused else 1


def run(args: argparse.Namespace) -> int:
    if args.undo:
        if args.json:  # it printed text on stdout and undid the batch all the same
            from core.errors import UserError

            raise UserError("--undo reverses the last batch of fixes and says so in words; "
                            "leave out --json")
        return run_undo(args.data_dir)
    from core.audit.audit import run_audit
    from core.audit.result import AuditStage
    from core.cli.console import ConsoleListener
    from core.cli.options import check_image_size_flag
    from core.events import CancelToken, Log
    from core.features.extract import FeatureModel

    console = ConsoleListener()

    def listener(event) -> None:
        console(Log(event.message) if isinstance(event, AuditStage) else event)

    check_image_size_flag(args.backbone, args.weights, args.image_size)
    cancel = CancelToken()
    model = FeatureModel(args.backbone, args.weights, int(args.image_size or 0))
    try:
        result = run_audit(args.data_dir, model, listener=listener, cancel=cancel)
    except KeyboardInterrupt:
        cancel.cancel()
        # Random weights' features are never stored: "kept" and "continue" were not true.
        kept = ("nothing is kept (features from random weights are never stored)"
                if model.random_weights else "the features computed so far are kept; run "
                "the audit again to continue")
        print(f"\ninterrupted: {kept}", file=sys.stderr)
        return 130
    from core.audit.kept import kept_sets

    kept = kept_sets(result.root)
    if args.json:
        print(json_text(result.to_dict(kept), strict=True))
    else:
        print(printable(result.to_text(shown=name, kept=kept)))
    return 0
