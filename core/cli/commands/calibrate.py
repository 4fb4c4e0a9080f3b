"""``python main.py calibrate RUN_DIR``: fit a run's calibration and its "unknown" threshold.

Temperature scaling on the run's validation images (so a "90%" is right about
90% of the time) and the unknown score's reference embeddings and threshold
(so that the stated share of known images keeps its class).  Afterwards
``predict``, ``evaluate``, ``serve`` and the window give calibrated
probabilities for this run and say "unknown" for images that fit none of its
classes.  See :mod:`core.trust`.
"""

from __future__ import annotations

import argparse

from core.cli.options import checked
from core.cli.terminal import name


def register(sub) -> None:
    p = sub.add_parser("calibrate", help="calibrate a run's confidence and its 'unknown' threshold",
                       description="Fit a temperature on the run's validation images and the "
                       "threshold of its unknown score; predict/evaluate/serve then use them.")
    p.add_argument("run", metavar="RUN_DIR", help="a finished run folder")
    p.add_argument("--unknown-keep", type=checked("trust.unknown_keep"), metavar="X",
                   help="the share of validation images the 'unknown' threshold keeps "
                   "(0.5 to 1; default: the share its calibration keeps now, else the "
                   "run's trust.unknown_keep)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from core.cli.console import ConsoleListener
    from core.errors import UserError
    from core.infer.loaders import export_metadata, no_model_text
    from core.runs.folder import RunFolder
    from core.trust.fit import MIN_IMAGES, fit_after_training

    folder = RunFolder(args.run)
    if export_metadata(folder.path) is not None and not folder.is_run_folder():
        raise UserError(f"{folder.path}: an export folder; calibrate the run folder it was "
                        "exported from (metadata.json names it as 'source'), then export again")
    folder.require_run_folder("give the run folder that trained the model")
    if not folder.model_path.is_file():
        raise UserError(no_model_text(folder))
    cfg = folder.load_config()
    folder.labels()  # a damaged labels.json is named before anything is written, not after
    data = cfg.data.data_dir
    if not data or not os.path.isdir(data):  # checked first: a failed fit used to delete the
        raise UserError(f"{folder.path}: its data folder {data or '(none)'} is not there, and "
                        "calibration needs the run's validation images; put the folder back "
                        "where it was (the run's calibration is unchanged)")
    cfg.trust.unknown_keep = _keep(folder, args.unknown_keep, cfg.trust.unknown_keep)
    from core.model.model_files import load_model_file
    from core.runs.lock import holding_lock

    # the run's lock: a trainer still finishing overwrote this calibration with its own, and
    # a folder that cannot be written is said so before the fit, not of a hidden temp file
    with holding_lock(folder, "calibrated", "calibrate the copy"):
        old = _old_metrics(folder)  # read before the fit copies its summary in
        model = load_model_file(folder.model_path)
        trust = fit_after_training(folder, model, cfg=cfg, listener=ConsoleListener(),
                                   refit=True)
        if trust is not None and folder.metrics_path.exists():
            _rescore(folder, model, cfg, trust, old)
    if trust is None:
        raise UserError(f"{folder.path}: the run has fewer than {MIN_IMAGES} readable validation "
                        "images to calibrate on (its calibration, if any, is unchanged); train "
                        "it with a larger validation share")
    print(f"calibrated {name(folder.path)}: see {folder.calibration_path.name} and "
          f"{folder.unknown_path.name}")
    return 0


def _keep(folder, asked, configured: float) -> float:
    """The share of validation images the threshold keeps: as asked, else as the run's
    calibration keeps it now (``--unknown-keep`` or the Predict page's slider chose it; a
    plain ``calibrate RUN`` put it back to config.json's), else as configured."""
    from core.errors import UserError
    from core.trust.store import read_record

    if asked is not None:
        return asked
    try:
        rec = read_record(folder)
    except UserError:  # damaged: this calibration fits it again
        rec = None
    keep = rec.unknown_keep if rec is not None else None
    return float(keep) if isinstance(keep, (int, float)) and 0.5 <= keep <= 1 else configured


def _old_metrics(folder):
    """metrics.json as training (or the last calibrate) wrote it; None when unreadable."""
    from core.errors import UserError

    try:
        old = folder.metrics() if folder.metrics_path.exists() else None
    except UserError:  # hand-broken: calibration_entry's own update says nothing either
        return None
    return old if isinstance(old, dict) else None


def changed_since(old: dict, metrics) -> str:
    """Why the validation images are not the ones ``old`` (metrics.json) was scored on, or
    "" when they are.  A temperature keeps each image's top class, so a rescore with the
    new calibration must give the same count and confusion matrix; any difference proves
    images were moved, damaged or replaced since (pictures replaced under the same names,
    all of one pixel size, passed the count check and rewrote the run's accuracy)."""
    before = old.get("n_images")
    if isinstance(before, int) and metrics.n_images != before:
        return (f"scored on {before} validation images; {metrics.n_images} can be read now")
    if "confusion" in old and old.get("confusion") != metrics.confusion:
        acc = old.get("accuracy")
        was = f"{acc:.1%}" if isinstance(acc, (int, float)) else "?"
        return (f"they are answered otherwise now, accuracy {metrics.accuracy:.1%} against "
                f"{was} when scored, so some were replaced or changed")
    return ""


def _rescore(folder, model, cfg, trust, old) -> None:
    """metrics.json scored again with the new calibration: its ECE, reliability bins and the
    mistakes' confidences are the calibrated probabilities', and kept the old temperature's
    after a refit.  Written only when the images it was scored on are still there as they
    were (:func:`changed_since`); otherwise the figures from training stay with the
    calibration they were scored with, the new one is recorded beside them under
    "calibrated_since" (the Evaluate page and the report say so) and the console says why."""
    from core.cli.console import ConsoleListener
    from core.events import Log, emit
    from core.train.finish import record_metrics, score_validation
    from core.trust.store import RECALIBRATED, read_record

    metrics = score_validation(model, folder, folder.split(cfg.data.data_dir), folder.labels(),
                               cfg.train.batch_size, trust)
    why = changed_since(old, metrics) if old is not None else ""
    if not why:
        record_metrics(folder, metrics)
        return
    kept = {k: v for k, v in old.items() if k != RECALIBRATED}
    record = read_record(folder)
    if record is not None:
        kept[RECALIBRATED] = {**record.summary(), "why": why}
    folder.write_metrics(kept)
    emit(ConsoleListener(), Log(
        f"the validation images changed since the run was scored ({why}): the calibration "
        f"above is fitted on them as they are now, and {folder.metrics_path} keeps the "
        "figures from training with the calibration they were scored with (the Evaluate page "
        "and the report say so); 'evaluate' scores the run as it is now", "warning"))
