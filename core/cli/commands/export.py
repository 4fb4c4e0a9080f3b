"""``python main.py export MODEL --format FMT --out PATH``: deployable files + parity report."""

from __future__ import annotations

import argparse
import sys

from core.cli.options import add_setting
from core.cli.terminal import name, printable
from core.formats import AGREEMENT_SAMPLE_CAP, DEFAULT_FORMATS, NAMES, cli_help
from core.typed_json import json_text


def _format_list(text: str) -> list[str]:
    """One --format value ("tflite" or "tflite,onnx"), checked against the format table."""
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    for item in items:
        if item not in NAMES and item != "all":
            raise argparse.ArgumentTypeError(f"unknown export format {item!r}; choose from "
                                             f"{cli_help()}")
    return items


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="write the model as Keras/SavedModel/TFLite/ONNX and check each one",
        description="Export a run folder's model (or a .keras file) and check every exported "
        "file in a fresh process with its own runtime against the app's predictions on "
        "validation images. Exit 0 when every format passed, 1 when one failed or missed its "
        "parity bound (the report says which and why), 2 for a mistake in the command.")
    p.add_argument("model", metavar="MODEL", help="a run folder or a .keras file")
    p.add_argument("--format", "-f", action="append", metavar="FMT", type=_format_list,
                   help=f"{cli_help()}; repeat or comma-separate for several (default: the "
                   f"run's export settings, else {','.join(DEFAULT_FORMATS)})")
    p.add_argument("--out", "-o", metavar="PATH",
                   help="export folder to create or update: the formats exported now replace "
                   "their files there; your own files stay")
    add_setting(p, "--calibration-images", "export.int8_calibration_images")
    add_setting(p, "--int8-float-layers", "export.int8_max_float_layers")
    add_setting(p, "--int8-agreement", "export.int8_min_agreement")
    add_setting(p, "--int8-bias-correction", "export.int8_bias_correction")
    add_setting(p, "--int8-weight-rounding", "export.int8_weight_rounding")
    add_setting(p, "--parity-images", "export.parity_images",
                "(the float32 formats; float16 and int8 are judged on top-1 agreement, on "
                f"every validation image up to {AGREEMENT_SAMPLE_CAP}, or N if larger)")
    p.add_argument("--latency-runs", type=int, default=20, metavar="N",
                   help="warm single-image runs for the latency median (default 20)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def _export_config(model_path: str):
    """The run's saved export settings when MODEL is a run folder, else the defaults."""
    from core.config import ExportConfig
    from core.errors import UserError
    from core.runs.folder import find_run_folder

    run = find_run_folder(model_path)
    if run is not None and run.config_path.exists():
        try:
            return run.load_config().export
        except UserError:
            pass
    return ExportConfig()


def run(args) -> int:
    from core.cli.console import ConsoleListener
    from core.errors import UserError
    from core.export.exporter import export_model, parse_formats

    cfg = _export_config(args.model)
    chosen = [f for group in args.format for f in group] if args.format else cfg.formats
    formats = parse_formats(chosen)
    out = args.out or cfg.out_dir
    if not out:
        raise UserError("give the export folder with --out PATH")
    if args.calibration_images is not None:
        cfg.int8_calibration_images = args.calibration_images
    if args.parity_images is not None:
        cfg.parity_images = args.parity_images
    if args.int8_float_layers is not None:
        cfg.int8_max_float_layers = args.int8_float_layers
    if args.int8_agreement is not None:
        cfg.int8_min_agreement = args.int8_agreement
    if args.int8_bias_correction is not None:
        cfg.int8_bias_correction = args.int8_bias_correction
    if args.int8_weight_rounding is not None:
        cfg.int8_weight_rounding = args.int8_weight_rounding
    if args.latency_runs < 1:
        raise UserError("--latency-runs must be at least 1")
    report = export_model(args.model, formats, out, cfg, listener=ConsoleListener(),
                          latency_runs=args.latency_runs)
    if args.json:
        print(json_text(report.to_dict(), strict=True))
    else:
        print(printable(report.to_text(name)))
    if not report.ok:
        print("some formats failed; see the report above", file=sys.stderr)
    return 0 if report.ok else 1
