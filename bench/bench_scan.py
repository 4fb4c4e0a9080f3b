"""How fast is ``scan_dataset`` on a big folder?  Prints files/second and peak memory.

    python bench/bench_scan.py [--files 100000] [--classes 10] [--dir DIR] [--keep]

Writes N tiny PNGs (one 16x16 image, each copy with a different number in a
tEXt chunk, so none are duplicates yet all share one size: the worst case for
the duplicate check, which must then hash every file), then times one scan.
Without --dir the files go to a temporary folder that is deleted afterwards.
The second scan shows the warm-cache figure; the first includes reading the
directory entries and inodes from disk.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from core.data.dataset import scan_dataset  # noqa: E402
from core.events import Progress  # noqa: E402


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_files(root: Path, files: int, classes: int) -> float:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (40, 120, 200)).save(buf, "PNG")
    png = buf.getvalue()
    head, tail = png[:33], png[33:]  # signature + IHDR | IDAT + IEND
    start = time.perf_counter()
    for c in range(classes):
        (root / f"class_{c:02d}").mkdir(parents=True, exist_ok=True)
    for i in range(files):
        c = i % classes
        data = head + _chunk(b"tEXt", b"n\x00%010d" % i) + tail
        fd = os.open(root / f"class_{c:02d}" / f"img_{i:07d}.png",
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return time.perf_counter() - start


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def timed_scan(root: Path) -> None:
    phases: dict[str, float] = {}
    last = [time.perf_counter(), ""]

    def listener(event) -> None:
        if isinstance(event, Progress):
            now = time.perf_counter()
            key = event.message.split(" (")[0]
            if last[1]:
                phases[last[1]] = phases.get(last[1], 0.0) + now - last[0]
            last[0], last[1] = now, key

    start = time.perf_counter()
    report = scan_dataset(root, listener=listener)
    total = time.perf_counter() - start
    if last[1]:
        phases[last[1]] = phases.get(last[1], 0.0) + time.perf_counter() - last[0]
    n = len(report.records) + len(report.problems)
    print(f"  scanned {n} files ({len(report.records)} usable, {len(report.problems)} problems, "
          f"{len(report.classes)} classes) in {total:.2f} s = {n / total:,.0f} files/s")
    print("  phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
    print(f"  peak RSS so far: {peak_rss_mib():.0f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--dir", help="where to write the files (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the files afterwards")
    args = parser.parse_args()

    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_scan_"))
    root = base / f"scan_{args.files}"
    try:
        if root.exists() and sum(1 for _ in root.rglob("*.png")) == args.files:
            print(f"reusing {args.files} files in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
            secs = make_files(root, args.files, args.classes)
            print(f"wrote {args.files} files in {secs:.1f} s to {root}")
        print(f"peak RSS before scanning: {peak_rss_mib():.0f} MiB")
        for label in ("first scan", "second scan"):
            print(label + ":")
            timed_scan(root)
    finally:
        if not args.keep:
            shutil.rmtree(root if args.dir else base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
