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
        model = load_model_file(folder.model_path)
        trust = fit_after_training(folder, model, cfg=cfg, listener=ConsoleListener(),
                                   refit=True)
        if trust is not None and folder.metrics_path.exists():
            _rescore(folder, model, cfg, trust)
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


def _rescore(folder, model, cfg, trust) -> None:
    """metrics.json scored again with the new calibration: its ECE, reliability bins and the
    mistakes' confidences are the calibrated probabilities', and kept the old temperature's
    after a refit.  Written only when every image it was scored on is still read: a
    temperature keeps each image's top class, so accuracy and the confusion matrix stay;
    with images moved or damaged since, they would quietly change, so the figures from
    training stay and the console says why."""
    from core.cli.console import ConsoleListener
    from core.errors import UserError
    from core.events import Log, emit
    from core.train.finish import record_metrics, score_validation

    try:
        old = folder.metrics()
    except UserError:  # hand-broken: calibration_entry's own update says nothing either
        old = None
    metrics = score_validation(model, folder, folder.split(cfg.data.data_dir), folder.labels(),
                               cfg.train.batch_size, trust)
    before = old.get("n_images") if isinstance(old, dict) else None
    if before is not None and metrics.n_images != before:  # None: nothing usable to keep
        emit(ConsoleListener(), Log(
            f"{folder.metrics_path} keeps the figures from training (scored on {before} "
            f"validation images; {metrics.n_images} can be read now), so its ECE and "
            "reliability are the old calibration's; 'evaluate' scores the run as it is now",
            "warning"))
        return
    record_metrics(folder, metrics)
