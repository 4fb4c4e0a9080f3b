"""``python main.py predict MODEL PATH...``: classify images or folders (recursively)."""

from __future__ import annotations

import csv
import io
import math
import sys

from core.cli.options import add_setting
from core.cli.terminal import name, printable, warn_caution
from core.config import StudioConfig
from core.csv_cells import safe_cell


def register(sub) -> None:
    p = sub.add_parser("predict", help="classify images or folders with a run folder or exported model")
    p.add_argument("model", metavar="MODEL", help="a run folder or an exported model")
    p.add_argument("paths", metavar="PATH", nargs="+", help="image files or folders")
    p.add_argument("--top-k", type=int, default=3, metavar="K",
                   help="how many classes to list (default 3)")
    p.add_argument("--csv", metavar="OUT.csv", help="write path,label,confidence,top-k to a CSV")
    unknown = p.add_mutually_exclusive_group()  # both given, --no-unknown won silently
    unknown.add_argument("--threshold", type=float, metavar="F",
                         help="unknown-score threshold: images scoring above it are labelled "
                              "'unknown' (default: the run's own, chosen to keep 95%% of "
                              "validation images)")
    unknown.add_argument("--no-unknown", action="store_true",
                         help="never label an image 'unknown' (always name the most likely "
                              "class)")
    add_setting(p, "--batch-size", "train.batch_size", purpose="Images predicted at once",
                default=StudioConfig().train.batch_size)
    p.set_defaults(func=run)


#: What the predictions CSV is called in messages, and the endings its name may have
#: (the command and the Predict page's "Export CSV…" check a name the same way).
CSV_WHAT = "the predictions CSV"
CSV_SUFFIXES = (".csv", ".txt")


def rows_to_csv(rows, top_k: int) -> str:
    """The predictions as CSV, lines ended by "\n" as ``suggest``'s (csv's "\r\n" left a
    "\r" in every last field for awk and cut: a scripting review).  ``confidence`` is the
    label's: empty for "unknown", whose top class's probability had read as how sure the
    model was of "unknown"; ``unknown_score`` is the score the threshold judged (empty for
    a model without one), so a near miss can be told apart later (a Predict review).  A
    name starting = + - @ gets a ' before it, so a spreadsheet shows it and runs no formula
    (CSV injection, OWASP's advice; ``label --from`` takes the ' off again)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["path", "label", "confidence"]
    for i in range(1, top_k + 1):
        header += [f"top{i}_label", f"top{i}_confidence"]
    writer.writerow(header + ["unknown_score", "error"])
    for r in rows:
        known = not r.error and not getattr(r, "unknown", False)
        line = [safe_cell(r.path), safe_cell(r.shown_label),
                f"{r.confidence:.6f}" if known else ""]
        for i in range(top_k):
            if i < len(r.top):
                line += [safe_cell(r.top[i][0]), f"{r.top[i][1]:.6f}"]
            else:
                line += ["", ""]
        score = getattr(r, "unknown_score", None)
        writer.writerow(line + ["" if score is None or r.error else f"{score:.4f}",
                                safe_cell(r.error)])
    return buf.getvalue()


def apply_unknown_options(predictor, args) -> None:
    """``--no-unknown`` turns the flag off; ``--threshold F`` replaces the run's threshold.

    Only a calibrated run's model (and its SavedModel, TFLite and ONNX exports) has an
    unknown score; for other models the threshold has nothing to apply to, and saying so
    beats a silent no-op.
    """
    if args.no_unknown:
        predictor.unknown_threshold = None
    elif args.threshold is None and predictor.unknown_note:  # a copy out of its folder,
        hint = " (or give --threshold)" if predictor.has_unknown_score else ""  # or no score
        print(f"warning: {printable(predictor.unknown_note)}{hint}", file=sys.stderr)
    elif args.threshold is not None:
        if not predictor.has_unknown_score:
            from core.trust.missing import not_calibrated

            why = not_calibrated(args.model)  # a completed run: too few images, files gone
            because = (why.text(cli=True) if why else "this model has no unknown score (a "
                       "run folder calibrated after training has one, and its exports but "
                       "model.keras and int8)")
            print(f"warning: {name(args.model)}: {printable(because)}; --threshold is ignored",
                  file=sys.stderr)
        predictor.unknown_threshold = float(args.threshold)


def _rows_name_unreadable_files(listener):
    """``listener`` without the files prediction skips: each one's line below (and the
    CSV's ``error`` column) names it with its reason, and a warning up front said the
    same sentence again (a review)."""
    from core.events import FileSkipped

    def forward(event) -> None:
        if not (isinstance(event, FileSkipped) and event.stage == "prediction"):
            listener(event)
    return forward


def run(args) -> int:
    from core.cli.console import ConsoleListener
    from core.cli.output_path import check_output_file
    from core.errors import UserError
    from core.fsutil import atomic_write_text
    from core.infer.loaders import load_predictor
    from core.infer.predictor import expand_image_paths

    if args.top_k < 1:
        raise UserError(f"--top-k {args.top_k}: give 1 or more")
    if args.threshold is not None and not math.isfinite(args.threshold):
        raise UserError(f"--threshold {args.threshold}: give a number (--no-unknown turns "
                        "'unknown' off)")
    if args.csv:
        check_output_file(args.csv, CSV_WHAT, CSV_SUFFIXES)
    listener = ConsoleListener()
    paths = expand_image_paths(args.paths, listener)
    if not paths:
        raise UserError("no images found in " + ", ".join(args.paths))
    predictor = load_predictor(args.model)
    warn_caution(predictor)
    apply_unknown_options(predictor, args)
    rows = predictor.predict_paths(paths, top_k=args.top_k, batch_size=args.batch_size,
                                   listener=_rows_name_unreadable_files(listener))
    k = max(1, min(args.top_k, len(predictor.classes)))
    none_read = all(r.error for r in rows)
    if args.csv and not none_read:
        # Written before the lines below, so a reader that stops early (`| head`) cannot
        # lose it.  A file name that is not valid UTF-8 is written back as the bytes it has
        # on disk (surrogateescape), so the CSV names the very file and no result is lost.
        atomic_write_text(args.csv, rows_to_csv(rows, k), errors="surrogateescape")
        print(f"wrote {name(args.csv)}", file=sys.stderr)
    for r in rows:
        if r.error:  # on stderr: on stdout its reason sat where a script reads the label
            print(f"warning: {name(r.path)}: skipped: {name(r.error)}", file=sys.stderr)
        else:
            listed = r.top if r.unknown else r.top[1:]  # "unknown": say what it resembles
            others = ", ".join(f"{name(lbl)} {p:.3f}" for lbl, p in listed)
            # "unknown" has no confidence (as in the CSV): its top class's read as how sure
            # the model was of "unknown" (a Predict review)
            sure = "–" if r.unknown else f"{r.confidence:.3f}"
            print(f"{name(r.path)}\t{name(r.shown_label)}\t{sure}"
                  + (f"\t({others})" if others else ""))
    if none_read:
        raise UserError(f"none of the {len(rows)} image(s) could be read (see the reasons "
                        "above); give image files the app can open")
    return 0
