"""The near-copy pixel search, kept between checks, against searching every pair again.

    python bench/bench_pixel_search.py [--images 20000] [--windows|--no-windows]

Every data check and training start looks for near-copies; its pixel search
compares each image's 32x32 view with every other image's 20 views.  Before,
it was done in full every time (the peer below: ``pixel_candidates``); now
(:mod:`core.features.pixel_neighbours`) it is kept by content and a later
search pays only for what changed.  Times, side by side, on one folder:

* full search (the first check; what every check cost before);
* the same images again (a second check, or the training start after a check);
* 1 % new images added (a new batch sorted in);
* 0.5 % of the images removed (an audit's fixes) and 1 % added.

Each kept answer is compared with a full search of the same images (the
neighbour sets must be equal).  The search's cost does not depend on what the
pictures show, so the signatures are random (as the store's 32x32 grey views).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.features.near_duplicates import NEIGHBOURS  # noqa: E402
from core.features.pixel_neighbours import NeighbourCache, cached_pixel_candidates  # noqa: E402
from core.features.pixels import pixel_candidates  # noqa: E402


def images(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    sigs = np.random.default_rng(seed).integers(0, 255, (n, 32, 32), dtype=np.uint8)
    return sigs, [hashlib.blake2b(s.tobytes(), digest_size=16).hexdigest() for s in sigs]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--windows", action=argparse.BooleanOptionalAction, default=True,
                    help="the 18 cropped views (the app uses them up to 20,000 images)")
    args = ap.parse_args()
    n = args.images
    sigs, digests = images(n + n // 100 * 2, 0)
    print(f"{n} images, {NEIGHBOURS} neighbours each, cropped views "
          f"{'on' if args.windows else 'off'}; {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cache = NeighbourCache(Path(tmp))
        steps = [("first check (full search, kept)", np.arange(n)),
                 ("the same images again", np.arange(n)),
                 ("1 % new images", np.arange(n + n // 100)),
                 ("0.5 % removed, 1 % more new", np.r_[np.arange(n // 200, n + n // 50)])]
        print(f"{'step':34} {'full search (before)':>20} {'kept search (now)':>18}  same")
        for name, rows in steps:
            s, d = sigs[rows], [digests[i] for i in rows]
            t0 = time.perf_counter()
            full, _ = pixel_candidates(s, NEIGHBOURS, args.windows)
            t_full = time.perf_counter() - t0
            t0 = time.perf_counter()
            kept, _ = cached_pixel_candidates(s, d, NEIGHBOURS, args.windows, cache)
            t_kept = time.perf_counter() - t0
            same = all(set(a) == set(b) for a, b in zip(full.tolist(), kept.tolist()))
            print(f"{name:34} {t_full:18.1f} s {t_kept:16.1f} s  {'yes' if same else 'NO'}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
