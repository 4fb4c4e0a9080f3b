"""Measure each catalog backbone's CPU inference speed: ``cpu_images_per_sec``.

Method (what the numbers in core/backbones.py mean):

* the backbone alone, ``include_top=False, weights=None`` (random weights run
  exactly as fast as ImageNet ones), at its default input size, float32;
* a batch of 16 random images (0-255), through ``model.predict_on_batch``
  (Keras' compiled predict function, as evaluation and ``predict`` use it);
* 2 warm-up batches (graph tracing, oneDNN kernel selection) are not timed;
  then batches are timed one by one until ``--seconds`` (default 5) have passed
  and at least 3 batches ran;
* reported: 16 / the fastest batch time (``images_per_sec``; the median is
  printed too).  The fastest, as ``timeit`` advises, because the development
  machine's 2 CPU cores are shared with other work: slower batches measure the
  neighbours, not the model.  Expect the median to be up to 2-3x lower on a
  busy machine; the ranking between backbones is what the GUI uses.

Run: ``python bench/bench_backbones.py [--names MobileNetV2 VGG16] [--seconds 5]
[--json out.json]``.  It prints one line per backbone and, at the end, the
``name: images/s`` pairs to copy into the catalog.  ``CUDA_VISIBLE_DEVICES=-1``
is set so a GPU machine still measures its CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.model.backbones import CATALOG  # noqa: E402

BATCH = 16


def measure(name: str, seconds: float) -> dict:
    import keras
    import numpy as np

    spec = CATALOG[name]
    keras.backend.clear_session()
    size = spec.default_size
    build_start = time.perf_counter()
    model = getattr(keras.applications, name)(include_top=False, weights=None,
                                              input_shape=(size, size, 3))
    build_s = time.perf_counter() - build_start
    x = np.random.default_rng(0).uniform(0, 255, (BATCH, size, size, 3)).astype("float32")
    for _ in range(2):
        model.predict_on_batch(x)
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t0 = time.perf_counter()
        model.predict_on_batch(x)
        times.append(time.perf_counter() - t0)
    median, best = statistics.median(times), min(times)
    return {"name": name, "size": size, "batches": len(times), "build_s": round(build_s, 2),
            "median_batch_s": round(median, 4), "best_batch_s": round(best, 4),
            "images_per_sec": round(BATCH / best, 1),
            "median_images_per_sec": round(BATCH / median, 1), "params": model.count_params()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", nargs="*", default=list(CATALOG))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, batch {BATCH}")
    results = []
    for name in args.names:
        r = measure(name, args.seconds)
        results.append(r)
        print(f"{name:18s} {r['size']:4d} px  {r['images_per_sec']:8.1f} img/s  "
              f"(median {r['median_images_per_sec']:.1f}; {r['batches']} batches, "
              f"params {r['params']:,}, built in {r['build_s']} s)", flush=True)
    print("\n# for core/backbones.py (cpu_images_per_sec)")
    for r in results:
        print(f"{r['name']}: {r['images_per_sec']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
