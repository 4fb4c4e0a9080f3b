"""Does labelling in the app's order need fewer labels than labelling at random?

    python bench/bench_active_learning.py DATA_DIR --weights FILE --image-size N --json
                                          [--backbone MobileNetV2] [--seeds 0 1 2 3 4]
                                          [--elpv PER_CLASS [--elpv-classes C...] | --digits]

Simulates "Sort new images" on a labelled folder.  Its validation split (the
app's, config defaults) is held out as the test; the training split is the pool
of "unlabelled" images.  Each seed starts from 2 labelled images per class, then
labels the pool in rounds of 5 % of it, either the images the app would show
first (:func:`core.label.order.useful_order`: uncertainty with diversity, on the
current head's probabilities and the stored embeddings) or a random pick.  After
each round the head is retrained on the stored embeddings: a logistic regression
with the L2 strength that :func:`core.train.linear_head.fit_linear_head` chose
for the head trained on every label.  The figure is the number of labels each
needs before the test accuracy first reaches 95 % of that full head's.  Both
strategies share each seed's starting images; figures are means over seeds.

``--elpv PER_CLASS`` first fills a missing DATA_DIR with ELPV solar-cell images
(8 classes, or ``--elpv-classes``; bench/real_data.py), and ``--digits`` with
scikit-learn's handwritten digits (10 classes).  The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TARGET_SHARE = 0.95
ROUND_SHARE = 0.05
START_PER_CLASS = 2


def embeddings(data_dir: str, backbone: str, weights: str, size: int):
    """(pool x, pool y, test x, test y, classes) from the app's split and the feature store."""
    from core.config import StudioConfig
    from core.data.dataset import scan_dataset, split_dataset
    from core.features.extract import FeatureModel
    from core.features.store import FeatureStore

    cfg = StudioConfig()
    split = split_dataset(scan_dataset(data_dir), cfg.data.val_split, cfg.data.seed)
    model = FeatureModel(backbone, weights, size)
    store = FeatureStore()

    def xy(records):
        emb = store.embed([r.path for r in records], model)
        label = {os.path.abspath(r.path): r.label for r in records}
        return (np.asarray(emb.vectors, np.float32),
                np.asarray([label[p] for p in emb.paths], int))

    xp, yp = xy(split.train)
    xt, yt = xy(split.val)
    return xp, yp, xt, yt, split.classes


def fit(x, y, strength: float):
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return LogisticRegression(C=strength, max_iter=500).fit(x, y)


def full_probs(clf, x, n_classes: int) -> np.ndarray:
    """Probabilities over every class (sklearn leaves out classes absent from training)."""
    out = np.zeros((len(x), n_classes))
    out[:, clf.classes_] = clf.predict_proba(x)
    return out


def simulate(strategy: str, seed: int, xp, yp, xt, yt, n_classes: int, strength: float,
             target: float) -> dict:
    """Label rounds until the test accuracy reaches ``target``; returns the curve."""
    from core.label.order import useful_order

    rng = np.random.default_rng(seed)
    labelled = []
    for c in range(n_classes):
        members = np.flatnonzero(yp == c)
        labelled += list(rng.choice(members, min(START_PER_CLASS, len(members)), replace=False))
    step = max(1, math.ceil(ROUND_SHARE * len(yp)))
    pick_rng = np.random.default_rng(1000 + seed)
    curve = []
    while True:
        clf = fit(xp[labelled], yp[labelled], strength)
        acc = float((clf.predict(xt) == yt).mean())
        curve.append((len(labelled), round(acc, 4)))
        rest = np.setdiff1d(np.arange(len(yp)), labelled)
        if acc >= target or not len(rest):
            return {"labels": len(labelled), "curve": curve}
        if strategy == "useful":
            # The app's first batch (its order after that is not looked at before the next
            # update): a batch is the round, and the labelled images start it cold.
            order, _ = useful_order(full_probs(clf, xp[rest], n_classes), xp[rest],
                                    labelled=xp[labelled], batch=step, batches=1)
            chosen = rest[order[:step]]
        else:
            chosen = pick_rng.choice(rest, min(step, len(rest)), replace=False)
        labelled += list(chosen)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", metavar="DATA_DIR")
    ap.add_argument("--weights", required=True, help="the backbone's weights (.h5 or imagenet)")
    ap.add_argument("--image-size", type=int, required=True)
    ap.add_argument("--backbone", default="MobileNetV2")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--elpv", type=int, default=0, metavar="PER_CLASS",
                    help="fill a missing DATA_DIR with this many ELPV images per class")
    ap.add_argument("--elpv-classes", nargs="+", metavar="CLASS",
                    help="with --elpv: these ELPV classes only (default all 8)")
    ap.add_argument("--digits", action="store_true",
                    help="fill a missing DATA_DIR with scikit-learn's handwritten digits")
    ap.add_argument("--json", action="store_true", help="end with one JSON line")
    args = ap.parse_args()
    if args.digits and not Path(args.data_dir).exists():
        from real_data import digits_folder

        digits_folder(Path(args.data_dir))
    if args.elpv and not Path(args.data_dir).exists():
        from real_data import ELPV_CLASSES, elpv_folder

        elpv_folder(Path(args.data_dir), args.elpv_classes or ELPV_CLASSES, args.elpv, seed=0)
    from core.tfenv import start_tensorflow
    from core.train.linear_head import fit_linear_head

    start_tensorflow()
    t0 = time.time()
    xp, yp, xt, yt, classes = embeddings(args.data_dir, args.backbone, args.weights,
                                         args.image_size)
    print(f"{len(yp)} pool images, {len(yt)} test images, {len(classes)} classes; "
          f"embeddings in {time.time() - t0:.0f} s; {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    n = len(classes)
    head = fit_linear_head([(xp, np.eye(n)[yp])], n, None, 0)
    full_acc = float((np.argmax(xt @ head.kernel + head.bias, 1) == yt).mean())
    target = TARGET_SHARE * full_acc
    print(f"head on every label: accuracy {full_acc:.3f} (C={head.strength:g}); "
          f"target {target:.3f}", flush=True)
    runs = {"useful": [], "random": []}
    for seed in args.seeds:
        for strategy in runs:
            r = simulate(strategy, seed, xp, yp, xt, yt, n, head.strength, target)
            runs[strategy].append(r)
            print(f"seed {seed} {strategy:7} {r['labels']:5d} labels  curve {r['curve']}",
                  flush=True)
    useful = statistics.mean(r["labels"] for r in runs["useful"])
    rand = statistics.mean(r["labels"] for r in runs["random"])
    print(f"labels to reach {target:.3f}: app order {useful:.1f}, random {rand:.1f} "
          f"(ratio {useful / rand:.2f}; goal <= 0.70)", flush=True)
    if args.json:
        print(json.dumps({
            "labels_to_target_uncertainty": useful, "labels_to_target_random": rand,
            "ratio": round(useful / rand, 3), "target_accuracy": round(target, 4),
            "full_accuracy": round(full_acc, 4), "pool": len(yp), "test": len(yt),
            "classes": len(classes), "seeds": args.seeds,
            "per_seed_uncertainty": [r["labels"] for r in runs["useful"]],
            "per_seed_random": [r["labels"] for r in runs["random"]],
            "seconds": round(time.time() - t0, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
