"""Export a MobileNetV2 at 224 px in every format; print parity, sizes, latencies, build times.

    python bench/bench_export.py [--work DIR] [--per-class 24] [--epochs 3]
                                 [--parity-images 32] [--calibration-images 100]
                                 [--latency-runs 20] [--formats all]

Method: a generated 3-class shape dataset (core.data.sample_data) at 224 px; a
MobileNetV2 run folder is made with the app's own building blocks
(core.model.build.build_model, weights=None because this machine cannot download
ImageNet weights).  A random network either loses its signal through the
default BatchNorm statistics (every image gets the same answer) or, with
statistics measured on data, is chaotic; neither is a fair parity subject.  So
the BatchNorm statistics are measured on the training images and every layer
is then trained for a few epochs (BatchNorm frozen, as the app does).  On this
2-core CPU that budget does not teach a from-scratch MobileNetV2 the shapes
(accuracy stays near chance), but its outputs vary from image to image, which
is what the parity figures need; with ImageNet weights the accuracy columns
become meaningful too.
Then :func:`core.export.exporter.export_model` writes every format and checks each in
a fresh process with its own runtime on the run's validation images.
Latency: single image, CPU, one thread, median of N warm runs in the probe.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import numpy as np  # noqa: E402
from weights_fixture import calibrate_batchnorm  # noqa: E402


def make_run(work: Path, per_class: int, epochs: int, size: int = 224) -> Path:
    import keras

    from core.config import FreezeConfig, StudioConfig
    from core.data.dataset import scan_dataset, split_dataset
    from core.data.imageio import load_rgb
    from core.infer.metrics import compute_metrics
    from core.model.build import apply_freeze, backbone_of, build_model
    from core.infer.predictor import KerasPredictor
    from core.runs.folder import RunFolder
    from core.data.sample_data import generate_sample_dataset

    data = generate_sample_dataset(work / "data", per_class=per_class, size=size, seed=0)
    cfg = StudioConfig()
    cfg.data.data_dir = str(data)
    cfg.model.backbone = "MobileNetV2"
    cfg.model.weights = "none"
    cfg.model.image_size = size
    report = scan_dataset(data)
    split = split_dataset(report, cfg.data.val_split, seed=1)
    run = RunFolder(work / "run")
    run.path.mkdir(parents=True)
    run.save_config(cfg)
    run.write_json("split.json", split.to_dict())
    run.write_json("labels.json", list(report.classes))
    model = build_model(cfg.model, len(report.classes), size, None, seed=0)
    x = np.stack([load_rgb(r.path, size) for r in split.train]).astype(np.float32)
    y = np.array([r.label for r in split.train])
    backbone = backbone_of(model)
    # the backbone sees the output of the preprocessing layers in front of it
    prep = x[:32]
    for layer in model.layers[1:model.layers.index(backbone)]:
        prep = layer(prep)
    calibrate_batchnorm(backbone, prep)
    apply_freeze(model, FreezeConfig(mode="all"), "fine_tune")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    t = time.time()
    hist = model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    print(f"trained {epochs} epochs on {len(x)} images in {time.time() - t:.0f} s "
          f"(train accuracy {hist.history['accuracy'][-1]:.2f})")
    model.save(str(run.model_path))
    probs, ok, _ = KerasPredictor(model, report.classes, "m").predict_files(
        [r.path for r in split.val])
    metrics = compute_metrics([r.label for r in split.val], probs, report.classes, ok)
    run.write_json("metrics.json", metrics.to_dict())
    print(f"validation accuracy {metrics.accuracy:.3f} on {metrics.n_images} images")
    return run.path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", help="folder for the data, run and export (default: a temp dir)")
    ap.add_argument("--per-class", type=int, default=24)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--parity-images", type=int, default=32)
    ap.add_argument("--calibration-images", type=int, default=100)
    ap.add_argument("--latency-runs", type=int, default=20)
    ap.add_argument("--formats", default="all")
    args = ap.parse_args(argv)

    from core.config import ExportConfig
    from core.events import Log
    from core.export.exporter import export_model
    from core.export.report import agreement_text

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-export-"))
    run = work / "run"
    if not (run / "model.keras").exists():
        run = make_run(work, args.per_class, args.epochs)
    cfg = ExportConfig(int8_calibration_images=args.calibration_images,
                       parity_images=args.parity_images)

    def listener(event):
        if isinstance(event, Log):
            print(f"  [{time.strftime('%H:%M:%S')}] {event.message}", flush=True)

    t = time.time()
    report = export_model(run, args.formats, work / "export", cfg, listener=listener,
                          latency_runs=args.latency_runs)
    print()
    print(report.to_text())
    print()
    print(f"{'format':<12} {'build+check s':>13} {'max diff':>10} {'top-1':>16} {'int8/fp acc':>12}")
    for r in report.results:
        p = r.parity
        acc = (f"{p['accuracy_export']:.3f}/{p['accuracy_app']:.3f}"
               if p.get("accuracy_export") is not None else "-")
        diff = f"{p['max_abs_diff']:.2e}" if p.get("max_abs_diff") is not None else "-"
        agree = agreement_text(p) or "-"
        print(f"{r.format:<12} {r.seconds:>13.1f} {diff:>10} {agree:>16} {acc:>12}")
        fold = r.details.get("batchnorm_folding")
        if isinstance(fold, dict) and fold.get("applied"):
            print(f"{'':<12} BN folded: {fold['folded_batchnorm_layers']} layers "
                  f"({fold['layers_before']} -> {fold['layers_after']}), "
                  f"diff {fold['max_abs_difference']:.1e}")
    print(f"\ntotal export time {time.time() - t:.0f} s; files in {work / 'export'}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
