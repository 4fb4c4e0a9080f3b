"""``python main.py evaluate MODEL DATA_DIR``: accuracy, per-class scores, confusion matrix."""

from __future__ import annotations

from core.cli.options import add_setting
from core.cli.terminal import name, printable, warn_caution
from core.config import StudioConfig
from core.typed_json import json_text


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="score a run folder or exported model on a labelled folder")
    p.add_argument("model", metavar="MODEL", help="a run folder or an exported model")
    p.add_argument("data_dir", metavar="DATA_DIR", help="one sub-folder per class")
    add_setting(p, "--batch-size", "train.batch_size", purpose="Images predicted at once",
                default=StudioConfig().train.batch_size)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.cli.console import ConsoleListener
    from core.infer.evaluation import evaluate_labelled_folder, training_images
    from core.infer.loaders import load_predictor
    from core.train.near_copies import near_copy_groups

    predictor = load_predictor(args.model)
    warn_caution(predictor)
    listener = ConsoleListener()
    result = evaluate_labelled_folder(predictor, args.data_dir, listener=listener,
                                      batch_size=args.batch_size,
                                      trained_on=training_images(args.model, listener,
                                                                 near_copies=near_copy_groups))
    metrics = result.metrics
    # "unknown": what a calibrated model would hold back (the figures are every image's top
    # class; a teacher read 100 % here and then saw 13 of the 18 answered "unknown")
    share = result.unknown
    if args.json:  # what was left out, for a script: "6 scored" alone read as all of them
        print(json_text({**metrics.to_dict(), "left_out": result.left_out,
                         "unknown": share.to_dict() if share else None,
                         "training_images_unrecognised": result.unrecognised or None},
                        strict=True))
    else:
        print(printable(metrics.to_text(name)))
        for note in notes(metrics):
            print("\nnote: " + printable(note, keep_newlines=False))
        if share is not None:
            print("\n" + printable(share.text(), keep_newlines=False))  # a name's own line break
    return 0


def notes(metrics) -> list[str]:
    """What the Evaluate page says beside the figures, for the terminal too: a model no
    better than always answering one class (33 % on three equal classes read as a score), and
    figures that rest on few images (a review: the window warned, ``evaluate`` did not)."""
    from core.infer.uncertainty import cautions

    return cautions(metrics.confusion, metrics.classes, validation=False)
