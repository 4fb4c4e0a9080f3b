"""``python main.py suggest MODEL UNLABELLED_DIR``: a class for each new image, most useful first.

Predicts every image under UNLABELLED_DIR (any nesting) with a run folder or an
exported model and prints, one per line in the chosen order: path, suggested
class, calibrated probability, usefulness score and "unknown" when the image fits
none of the classes.  ``--order useful`` (default) puts first the images whose
label would teach the model most (uncertain ones, without runs of near-copies);
``--order confident`` the surest, for accepting in bulk.  ``--csv OUT`` writes a
CSV to review (its ``label`` column starts as the suggestion, empty for unknown
images) and give to ``label --from``; ``--json [OUT]`` writes JSON (to stdout
without OUT).  The images of the run's data folder, when UNLABELLED_DIR holds it, are left
out (they are labelled already).  Nothing in UNLABELLED_DIR is changed.
"""

from __future__ import annotations

import argparse
import sys

from core.cli.terminal import name


def register(sub) -> None:
    p = sub.add_parser("suggest", help="suggest a class for each image of a folder of new "
                       "images, most useful to label first",
                       description=__doc__.split("\n\n")[1].replace("``", "'"))
    p.add_argument("model", metavar="MODEL", help="a run folder or an exported model")
    p.add_argument("folder", metavar="UNLABELLED_DIR", help="the folder of new images")
    p.add_argument("--order", choices=("useful", "confident"), default="useful",
                   help="useful: most useful to label first (default); confident: surest first")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="OUT.csv", help="write the suggestions as a CSV to review "
                     "and give to 'label --from'")
    out.add_argument("--json", metavar="OUT", nargs="?", const="-",
                     help="write the suggestions as JSON to OUT (to stdout without OUT)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.cli.console import ConsoleListener
    from core.cli.output_path import check_output_file
    from core.events import CancelToken
    from core.label.suggestions import suggest, write_suggestions

    if args.csv:
        check_output_file(args.csv, "the suggestions CSV", (".csv", ".txt"))
    elif args.json not in (None, "-"):
        check_output_file(args.json, "the suggestions JSON", (".json", ".txt"))
    cancel = CancelToken()
    try:
        result = suggest(args.model, args.folder, args.order, listener=ConsoleListener(),
                         cancel=cancel, data_dirs=[_run_data_folder(args.model)])
    except KeyboardInterrupt:
        cancel.cancel()
        print("\ninterrupted: nothing was changed", file=sys.stderr)
        return 130
    if args.json == "-":
        print(result.to_json())
        return 0
    # The file first, the listing after: a reader that closes the pipe early
    # (`| head`) ended the command before its CSV or JSON was written.
    path = write_suggestions(result, args.csv or args.json, as_json=bool(args.json)) \
        if args.csv or args.json else None
    print(f"# {len(result.items)} image(s), order: {args.order}, predicted from "
          f"{result.how}; columns: path, suggested class, probability, usefulness, unknown")
    for s in result.items:
        print(f"{name(s.path)}\t{name(s.suggested)}\t{s.probability:.3f}\t{s.usefulness:.3f}"
              + ("\tunknown" if s.unknown else ""))
    if path is not None:
        print(f"wrote {name(str(path))}", file=sys.stderr)
        if args.csv:
            print(f"review its label column, then: python main.py label --from "
                  f"{name(str(path))} --into DATA_DIR", file=sys.stderr)
    return 0


def _run_data_folder(model: str) -> str:
    """The data folder the run ``model`` trained on: a run folder's, or an exported model's
    source run's (its metadata.json names it); "" when unknown."""
    from core.errors import UserError
    from core.infer.trained_on import source_run

    run, _ = source_run(model)
    try:
        return run.load_config().data.data_dir if run is not None else ""
    except (UserError, OSError, ValueError, KeyError):  # suggest names it itself, or needs none
        return ""
