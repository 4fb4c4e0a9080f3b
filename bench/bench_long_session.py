"""Long session: does memory grow when one process trains for many epochs and predicts a lot?

    python bench/bench_long_session.py [--epochs 20] [--predictions 1000] [--size 32]
                                       [--per-class 24] [--backbone MobileNetV3Small]
                                       [--batch-size 8] [--work DIR]

What the GUI does in one sitting, in one process: a training run of
``--epochs`` epochs (half head phase, half fine-tuning, as the app schedules
them), then ``--predictions`` single-image predictions through the same
predictor the Predict page uses (one call per image, like a user clicking
through files).  The resident set size (psutil RSS) is printed after every
epoch and every 100 predictions, then the growth over each stretch *after*
its warm-up (epoch 2 on, and from prediction 100 on), because the first
epoch of each phase and the first predictions pay one-off costs (graph
tracing, allocator pools) that are not leaks.

Data: a generated 3-class shape dataset (core.data.sample_data).  Weights: a
BatchNorm-calibrated random backbone (tests/weights_fixture.py), since this
machine cannot download ImageNet weights; memory behaviour does not depend on
the weights' values.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2 ** 20


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20, help="total epochs, split over both phases")
    ap.add_argument("--predictions", type=int, default=1000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--per-class", type=int, default=24)
    ap.add_argument("--backbone", default="MobileNetV3Small")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--work", help="folder for data and the run (default: a temp folder)")
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="fts-long-session-"))
    work.mkdir(parents=True, exist_ok=True)

    from weights_fixture import calibrated_weights, tiny_config

    from core.events import EpochEnd
    from core.data.sample_data import generate_sample_dataset
    from core.train.engine import train

    print(f"work folder: {work}")
    print(f"RSS at start (TensorFlow not yet imported): {rss_mib():.0f} MiB")
    data = generate_sample_dataset(work / "data", per_class=args.per_class, size=args.size, seed=0)
    weights = calibrated_weights(args.backbone, args.size, work / "backbone.weights.h5")
    head = args.epochs - args.epochs // 2
    cfg = tiny_config(data, str(weights), epochs=head, fine_tune_epochs=args.epochs - head,
                      batch_size=args.batch_size)
    cfg.model.backbone = args.backbone
    cfg.model.image_size = args.size

    epoch_rss: list[float] = []
    phase_rss: dict[str, list[float]] = {}

    def listener(event):
        if isinstance(event, EpochEnd):
            epoch_rss.append(rss_mib())
            phase_rss.setdefault(event.phase, []).append(epoch_rss[-1])
            print(f"  epoch {len(epoch_rss):3d} ({event.phase:9s} {event.epoch}/{event.epochs}) "
                  f"val_acc {event.metrics.get('val_accuracy', float('nan')):.3f}  "
                  f"RSS {epoch_rss[-1]:7.1f} MiB", flush=True)

    print(f"training {args.backbone} at {args.size} px for {args.epochs} epochs "
          f"({head} head + {args.epochs - head} fine-tuning), batch {args.batch_size}")
    t0 = time.time()
    result = train(cfg, work / "run", listener=listener)
    print(f"training {result.status} in {time.time() - t0:.1f} s; RSS after saving the model and "
          f"validating: {rss_mib():.1f} MiB")

    from core.infer.loaders import load_predictor
    from core.infer.predictor import expand_image_paths

    predictor = load_predictor(result.run_dir)
    images = expand_image_paths([str(data)])
    pred_rss: list[tuple[int, float]] = [(0, rss_mib())]
    print(f"predicting {args.predictions} times, one image per call "
          f"(RSS after loading the predictor: {pred_rss[0][1]:.1f} MiB)")
    t0 = time.time()
    for i in range(1, args.predictions + 1):
        rows = predictor.predict_paths([images[i % len(images)]])
        assert rows and not rows[0].error, rows
        if i % 100 == 0:
            pred_rss.append((i, rss_mib()))
            print(f"  {i:5d} predictions  RSS {pred_rss[-1][1]:7.1f} MiB", flush=True)
    seconds = time.time() - t0

    print()
    print("summary")
    if epoch_rss:
        print(f"  training: RSS after epoch 1 {epoch_rss[0]:.1f} MiB, after epoch "
              f"{len(epoch_rss)} {epoch_rss[-1]:.1f} MiB ({epoch_rss[-1] - epoch_rss[0]:+.1f} MiB, "
              "including each phase's one-off set-up); peak "
              f"{max(epoch_rss):.1f} MiB")
    for phase, values in phase_rss.items():  # steady state: after the phase's first epoch
        if len(values) >= 2:
            grow = values[-1] - values[0]
            print(f"    {phase}: epoch 1 -> {len(values)} of the phase {values[0]:.1f} -> "
                  f"{values[-1]:.1f} MiB: {grow:+.1f} MiB "
                  f"({grow / (len(values) - 1):+.2f} MiB/epoch)")
    if len(pred_rss) >= 3:
        base_i, base = pred_rss[1]
        last_i, last = pred_rss[-1]
        print(f"  prediction: RSS after {base_i} {base:.1f} MiB, after {last_i} {last:.1f} MiB: "
              f"growth {last - base:+.1f} MiB "
              f"({(last - base) * 1024 / max(1, last_i - base_i):+.2f} KiB/prediction); "
              f"{seconds / args.predictions * 1000:.1f} ms per prediction")
    return 0


if __name__ == "__main__":
    sys.exit(main())
