"""Huge images (20 to 600 megapixels) decode shrunk, in bounded memory, and train.

    python bench/bench_huge_images.py [--keep DIR] [--skip-train] [--max-mp 600]

1. Writes 12 images of 20 to 600 megapixels -- PNG, TIFF (tiled and striped),
   JPEG and WebP -- in two class folders ("stripes", "rings") to a temporary
   folder.  The content is generated with structure (a colour field with the
   class's shape, plus a fine texture) and written by libvips a strip at a
   time, so this script stays in bounded memory too -- except WebP, whose
   encoder holds the whole image (WebP's limit is 16383 x 16383, 268 MP).
2. Per image, in a fresh child process: format, megapixels, file size, the time
   to probe and decode it to 224x224 through ``core.data.imageio.load_rgb`` (the
   app's one decoder), and the child's peak RSS and its growth over the child's
   own baseline (Python, numpy, Pillow and libvips loaded).  Linux only (it
   reads the peak from /proc).
3. ``python main.py train`` (MobileNetV3Small, 96 px, weights none, 1+0
   epochs, batch 4) on that folder, then on a folder of as many small 640x480
   PNGs; the RSS of the child is sampled with psutil every 50 ms.  Prints each
   peak and the difference, the files the scan or the training skipped, and
   the goal: none skipped, the difference under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

GOAL_MB = 2048

#: (class, file name, width, height, libvips save options).  WebP stays <= 268 MP.
IMAGES = [
    ("stripes", "a_020mp.png", 5480, 3650, {"compression": 3}),
    ("rings", "b_040mp.jpg", 7750, 5170, {"Q": 90}),
    ("stripes", "a_060mp.tif", 9490, 6330, {"compression": "deflate", "tile": True}),
    ("rings", "b_100mp.webp", 12250, 8170, {"Q": 85, "effort": 0}),
    ("stripes", "a_150mp.jpg", 15000, 10000, {"Q": 90}),
    ("rings", "b_200mp.png", 17320, 11550, {"compression": 3}),
    ("stripes", "a_250mp.webp", 16383, 15260, {"Q": 85, "effort": 0}),
    ("rings", "b_300mp.tif", 21210, 14140, {"compression": "lzw"}),
    ("stripes", "a_400mp.png", 24500, 16330, {"compression": 3}),
    ("rings", "b_600mp.png", 30000, 20000, {"compression": 3}),
    ("stripes", "a_600mp.tif", 30000, 20000, {"compression": "deflate", "tile": True}),
    ("rings", "b_600mp.jpg", 30000, 20000, {"Q": 90}),
]


def scene(width: int, height: int, kind: str, seed: int, block: int = 64):
    """A lazy libvips image: a blocky colour field with the class's shape, plus texture.

    Everything is built from small arrays (``zoom``/``replicate``), so writing it
    streams at any size.
    """
    import pyvips

    rng = np.random.default_rng(seed)
    sw, sh = -(-width // block), -(-height // block)
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float64)
    y /= sh
    x /= sw
    if kind == "stripes":
        shape = (np.sin(y * 2 * np.pi * rng.uniform(6, 12)) > 0) * 90.0
    else:
        r = np.hypot(x - rng.uniform(0.3, 0.7), y - rng.uniform(0.3, 0.7))
        shape = (np.sin(r * 2 * np.pi * rng.uniform(6, 12)) > 0) * 90.0
    c = rng.uniform(40, 160, 3)
    field = np.stack([c[0] + 50 * x + shape, c[1] + 50 * y, c[2] - shape / 2 + 30 * x * y], -1)
    small = pyvips.Image.new_from_array(np.clip(field, 0, 255).astype(np.uint8))
    big = small.copy(interpretation="srgb").zoom(block, block).crop(0, 0, width, height)
    ty, tx = np.mgrid[0:256, 0:256]
    tile = pyvips.Image.new_from_array(((tx ^ ty) & 31).astype(np.uint8))
    texture = tile.replicate(-(-width // 256), -(-height // 256)).crop(0, 0, width, height)
    return (big + texture - 16).cast("uchar")


def write_images(folder: Path, max_mp: float) -> list[Path]:
    out = []
    for seed, (cls, name, w, h, options) in enumerate(IMAGES):
        if w * h / 1e6 > max_mp + 1:
            continue
        path = folder / cls / name
        path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        scene(w, h, cls, seed).write_to_file(str(path), **options)
        print(f"  wrote {name:14s} {w}x{h} in {time.perf_counter() - t0:5.1f} s", flush=True)
        out.append(path)
    return out


def write_small(folder: Path, like: list[Path]) -> None:
    """As many 640x480 PNGs as ``like``, in the same class folders."""
    for seed, path in enumerate(like):
        dest = folder / path.parent.name / (path.stem + ".png")
        dest.parent.mkdir(parents=True, exist_ok=True)
        scene(640, 480, path.parent.name, seed, block=8).write_to_file(str(dest))


# The child's peak RSS is its VmHWM, reset after warming up (``ru_maxrss`` would
# carry over the parent's peak through fork and exec on Linux).
_DECODE = """
import json, sys, time
from core.data import huge, imageio, probe

def status(key):
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) / 1024 for ln in f if ln.startswith(key))

huge.can_stream("PNG")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # peak RSS := current RSS
base = status("VmRSS:")
t0 = time.perf_counter()
info = probe.probe_image(sys.argv[1])
arr = imageio.load_rgb(sys.argv[1], 224)
seconds = time.perf_counter() - t0
print(json.dumps({"format": info.format, "w": info.width, "h": info.height,
                  "seconds": seconds, "base_mb": base, "peak_mb": status("VmHWM:"),
                  "shape": list(arr.shape)}))
"""


def decode_table(paths: list[Path]) -> list[dict]:
    print(f"\n{'image':16s} {'format':6s} {'MP':>5s} {'file MB':>8s} {'decode s':>9s} "
          f"{'peak RSS MB':>12s} {'growth MB':>10s}")
    rows = []
    for path in paths:
        proc = subprocess.run([sys.executable, "-c", _DECODE, str(path)], cwd=ROOT,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{path.name:16s} FAILED: {proc.stderr.strip().splitlines()[-1]}")
            rows.append({"name": path.name, "failed": True})
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r.update(name=path.name, mb=path.stat().st_size / 1e6, mp=r["w"] * r["h"] / 1e6)
        rows.append(r)
        print(f"{path.name:16s} {r['format']:6s} {r['mp']:5.0f} {r['mb']:8.1f} "
              f"{r['seconds']:9.2f} {r['peak_mb']:12.0f} {r['peak_mb'] - r['base_mb']:10.0f}",
              flush=True)
    return rows


def train_peak(data: Path, out: Path) -> dict:
    """Run ``main.py train`` on ``data``; peak RSS of the child (and its children) in MB."""
    import psutil

    cmd = [sys.executable, str(ROOT / "main.py"), "train", str(data), "--backbone",
           "MobileNetV3Small", "--weights", "none", "--image-size", "96", "--epochs", "1",
           "--fine-tune-epochs", "0", "--batch-size", "4", "--out", str(out), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    watched = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = watched.memory_info().rss + sum(c.memory_info().rss
                                                  for c in watched.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    stdout, stderr = proc.communicate()
    warnings = [ln for ln in stderr.splitlines() if ln.startswith("warning:")]
    return {"peak_mb": peak / 2**20, "seconds": time.perf_counter() - t0,
            "returncode": proc.returncode, "warnings": warnings,
            "tail": stderr.strip().splitlines()[-3:] if proc.returncode else [],
            "result": json.loads(stdout) if proc.returncode == 0 else None}


def report_train(label: str, r: dict) -> None:
    print(f"train on {label:22s} peak RSS {r['peak_mb']:7.0f} MB   {r['seconds']:6.1f} s   "
          f"exit {r['returncode']}   warnings {len(r['warnings'])}")
    for line in r["warnings"][:10] + r["tail"]:
        print("    " + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the images here and keep them")
    parser.add_argument("--skip-train", action="store_true", help="only the decode table")
    parser.add_argument("--max-mp", type=float, default=600, help="leave out bigger images")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fts-huge-"))
    os.environ.setdefault("FTS_DATA_DIR", str(work / "studio-data"))  # keep the user's history
    huge_dir = args.keep or work / "huge"
    try:
        print(f"writing images to {huge_dir}")
        paths = write_images(huge_dir, args.max_mp)
        rows = decode_table(paths)
        from core.data.dataset import scan_dataset

        problems = scan_dataset(huge_dir).problems
        failed = [r["name"] for r in rows if r.get("failed")]
        print(f"\nscan: {len(problems)} problems"
              + "".join(f"\n    {p.path}: {p.kind}: {p.reason}" for p in problems))
        growth = max((r["peak_mb"] - r["base_mb"] for r in rows if not r.get("failed")),
                     default=0)
        print(f"decode: {len(rows) - len(failed)} of {len(rows)} decoded; "
              f"max growth {growth:.0f} MB")
        if args.skip_train:
            return 0
        small_dir = work / "small"
        write_small(small_dir, paths)
        print()
        small = train_peak(small_dir, work / "run-small")
        report_train(f"{len(paths)} small images", small)
        big = train_peak(huge_dir, work / "run-huge")
        report_train(f"{len(paths)} huge images", big)
        diff = big["peak_mb"] - small["peak_mb"]
        skips = [w for w in big["warnings"] if str(huge_dir) in w or "skip" in w]
        skipped = len(problems) + len(failed) + len(skips)
        ok = skipped == 0 and diff < GOAL_MB and big["returncode"] == 0
        print(f"\npeak RSS difference (huge - small): {diff:+.0f} MB  "
              f"(goal < {GOAL_MB} MB);  skipped: {skipped}  -> {'OK' if ok else 'NOT MET'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
