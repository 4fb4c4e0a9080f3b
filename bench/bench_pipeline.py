"""How fast the input pipeline turns files into batches (decode + resize + augment, no model).

    python bench/bench_pipeline.py [--dir DIR] [--images 500] [--size 224] [--batch 32]
                                   [--preset light] [--workers N]

Without ``--dir`` it writes ``--images`` realistic 640x480 JPEGs (noise, gradients
and shapes, quality 90) to a temporary folder first.  It prints images/second for:

* ``pipeline, no augmentation``     -- core.data.pipeline.make_dataset, cold (decodes every file)
* ``pipeline, augmented``           -- the same with the ``--preset`` augmentation, cold
* ``pipeline, augmented, cache warm`` -- a second epoch served from DecodedCache
* ``naive numpy_function per image`` -- the common tf.data recipe: one
  ``tf.numpy_function(decode+resize+augment)`` per file, ``map(num_parallel_calls=AUTOTUNE)``,
  then ``batch`` -- the baseline the threaded batch producer replaced
* ``naive, no augmentation``         -- that recipe without augmentation

Each figure is the best of ``--repeats`` full passes (timed from creating the
iterator to the last batch, so start-up costs count).  "CPU ms/image" is the
process's CPU time (all threads) per image: on a machine shared with other
work it is steadier than images/second.  A row "producer only" iterates
core.data.pipeline.BatchSource without tf.data, to show what the wrapping costs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402


def make_jpegs(folder: Path, n: int, seed: int = 0) -> list[tuple[str, int]]:
    """``n`` camera-sized JPEGs in 4 class folders; returns (path, label) pairs."""
    rng = np.random.default_rng(seed)
    out = []
    yy, xx = np.mgrid[0:480, 0:640]
    for i in range(n):
        label = i % 4
        d = folder / f"class{label}"
        d.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 160, size=3)
        grad = (xx[..., None] * rng.uniform(-0.15, 0.15, 3) + yy[..., None] * rng.uniform(-0.15, 0.15, 3))
        arr = np.clip(base + grad + rng.normal(0, 18, (480, 640, 3)), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr)
        draw = ImageDraw.Draw(img)
        for _ in range(6):
            x0, y0 = int(rng.integers(0, 560)), int(rng.integers(0, 400))
            w, h = int(rng.integers(30, 200)), int(rng.integers(30, 200))
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x0 + w, y0 + h],
                                                                      fill=color)
        path = d / f"img_{i:05d}.jpg"
        img.save(path, quality=90)
        out.append((str(path), label))
    return out


def scan(folder: Path) -> list[tuple[str, int]]:
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    out = []
    for label, name in enumerate(classes):
        for p in sorted((folder / name).iterdir()):
            if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp"):
                out.append((str(p), label))
    return out


def _cpu_seconds() -> float:
    """CPU time of every thread of this process (user + system)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def time_pass(ds) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, images) for one full pass over ``ds``."""
    t0, c0 = time.perf_counter(), _cpu_seconds()
    n = 0
    for x, _ in ds:
        n += int(x.shape[0])
    return time.perf_counter() - t0, _cpu_seconds() - c0, n


def naive_dataset(items, num_classes, size, batch, augment_cfg):
    """One tf.numpy_function per image, parallel map: the usual tf.data + albumentations recipe."""
    import tensorflow as tf

    from core.data.augment import build_augmenter
    from core.data.imageio import load_rgb

    aug = build_augmenter(augment_cfg, size) if augment_cfg is not None else None

    def load(path, label):
        img = load_rgb(path.decode(), size)
        if aug is not None:
            img = aug(img)
        return img, np.int32(label)

    def tf_load(path, label):
        img, lab = tf.numpy_function(load, [path, label], [tf.uint8, tf.int32])
        img.set_shape((size, size, 3))
        return tf.cast(img, tf.float32), tf.one_hot(lab, num_classes)

    paths = [p for p, _ in items]
    labels = np.array([l for _, l in items], np.int32)
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    ds = ds.shuffle(len(paths)).map(tf_load, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch).prefetch(tf.data.AUTOTUNE)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", help="folder of class subfolders with images (default: generate)")
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--preset", default="light", help="augmentation preset (none/light/medium/heavy)")
    ap.add_argument("--workers", type=int, default=0, help="decode threads (0: one per core)")
    ap.add_argument("--repeats", type=int, default=2, help="passes per figure; the best counts")
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args(argv)

    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    import tensorflow as tf

    from core.data.augment import preset_config
    from core.data.dataset_report import ImageRecord
    from core.data.pipeline import BatchSource, DecodedCache, default_workers, make_dataset

    tmp = None
    if args.dir:
        items = scan(Path(args.dir))[: args.images]
    else:
        tmp = Path(tempfile.mkdtemp(prefix="fts-bench-"))
        t0 = time.perf_counter()
        items = make_jpegs(tmp, args.images)
        print(f"wrote {len(items)} 640x480 JPEGs in {time.perf_counter() - t0:.1f}s to {tmp}")
    try:
        n_classes = len({l for _, l in items})
        records = [ImageRecord(p, l, f"class{l}", 0, 0) for p, l in items]
        workers = args.workers or default_workers()
        aug = preset_config(args.preset)
        print(f"{len(records)} images -> {args.size}px, batch {args.batch}, preset {args.preset!r}, "
              f"{workers} workers, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}")

        def best(make, warm_first=False):
            """(images/s, CPU ms per image) of the fastest of ``--repeats`` passes."""
            ds = make()
            if warm_first:
                time_pass(ds)
            secs, cpu, n = min(time_pass(ds) for _ in range(args.repeats))
            return n / secs, cpu / n * 1e3

        rows = []
        common = dict(num_classes=n_classes, image_size=args.size, batch_size=args.batch,
                      workers=workers, seed=0)
        rows.append(("pipeline, no augmentation", best(
            lambda: make_dataset(records, training=True, augment=None, **common))))
        rows.append(("pipeline, augmented", best(
            lambda: make_dataset(records, training=True, augment=aug, **common))))
        cache = DecodedCache(4096)
        rows.append(("pipeline, augmented, cache warm", best(
            lambda: make_dataset(records, training=True, augment=aug, cache=cache, **common),
            warm_first=True)))
        rows.append(("pipeline, no aug, cache warm", best(
            lambda: make_dataset(records, training=False, cache=cache, **common))))
        # The producer alone, without tf.data: what the TensorFlow wrapping costs.
        rows.append(("producer only (no tf.data), warm", best(
            lambda: BatchSource(records, training=True, augment=aug, cache=cache, **common))))
        if not args.skip_naive:
            rows.append(("naive numpy_function per image", best(
                lambda: naive_dataset(items, n_classes, args.size, args.batch, aug))))
            rows.append(("naive, no augmentation", best(
                lambda: naive_dataset(items, n_classes, args.size, args.batch, None))))
        print(f"{'variant':36s} {'images/s':>10s} {'CPU ms/image':>13s}")
        for name, (ips, cpu_ms) in rows:
            print(f"{name:36s} {ips:10.1f} {cpu_ms:13.2f}")
        print(cache.stats().describe())
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
