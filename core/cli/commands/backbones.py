"""``python main.py backbones [--json]``: the backbones to choose from.

One line per backbone: parameters (without the classifier), default input size
and the allowed range, ImageNet top-1 accuracy, the preprocessing the model
applies inside, and the measured CPU speed (``bench/bench_backbones.py``).
The catalog is static data, so this answers instantly without TensorFlow.
"""

from __future__ import annotations

import argparse
import dataclasses

from core.typed_json import json_text


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "backbones", help="list the pretrained backbones: size, accuracy, speed",
        description="List the keras.applications backbones Fine-Tune Studio can fine-tune, "
        "with parameters, input sizes, ImageNet top-1 accuracy, preprocessing and measured "
        "CPU speed (forward pass, batch 16, default size, 2 CPU cores).")
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects")
    parser.set_defaults(func=run)


def _fmt_params(n: int) -> str:
    return f"{n / 1e6:.1f} M"


def run(args: argparse.Namespace) -> int:
    from core.model.backbones import CATALOG

    if args.json:
        rows = []
        for spec in CATALOG.values():
            row = dataclasses.asdict(spec)
            row["imagenet_sizes"] = list(spec.imagenet_sizes)
            rows.append(row)
        print(json_text(rows, strict=True))
        return 0
    header = ("backbone", "params", "size (range)", "top-1", "preproc", "CPU img/s")
    lines = [header]
    for s in CATALOG.values():
        size = f"{s.default_size} ({s.size_range()})"
        if s.imagenet_fixed_size:
            size += f", ImageNet {s.imagenet_fixed_size} only"
        lines.append((s.name, _fmt_params(s.params), size, f"{s.top1:.1f}%", s.preprocessing,
                      f"{s.cpu_images_per_sec:.1f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.rjust(w) if i in (1, 3, 5) else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(line, widths))).rstrip())
    return 0
