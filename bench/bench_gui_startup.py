"""How long until the main window is on screen, and until TensorFlow is ready.

    QT_QPA_PLATFORM=offscreen python bench/bench_gui_startup.py [RUNS]

Each run is a fresh process (imports are what cost time): it records the time
from interpreter start-up to ``window.show()`` returning plus one event-loop
pass, then to the window's ``tensorflow_ready`` signal.  The goal is a window
within 2 s on a 2-core machine; TensorFlow loads in the background after it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from gui.app import create_app
app = create_app([])
from gui.main_window import MainWindow
w = MainWindow()
w.show()
app.processEvents()
shown = time.perf_counter() - t0
ready = []
w.tensorflow_ready.connect(lambda d: ready.append(time.perf_counter() - t0))
while not ready:
    app.processEvents()
    time.sleep(0.01)
w.shutdown()
print(json.dumps({"shown_s": shown, "tf_ready_s": ready[0]}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="?", type=int, default=3,
                    help="fresh processes to time (default 3)")
    runs = ap.parse_args().runs
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT)], capture_output=True,
                             text=True, env=env, timeout=600)
        line = [l for l in out.stdout.splitlines() if l.startswith("{")]
        if out.returncode != 0 or not line:
            print(out.stderr[-2000:], file=sys.stderr)
            return 1
        results.append(json.loads(line[-1]))
    shown = [r["shown_s"] for r in results]
    ready = [r["tf_ready_s"] for r in results]
    print(f"runs: {runs} (cpus: {os.cpu_count()})")
    print(f"window shown:       median {statistics.median(shown):.2f} s  "
          f"(min {min(shown):.2f}, max {max(shown):.2f})")
    print(f"TensorFlow ready:   median {statistics.median(ready):.2f} s  "
          f"(min {min(ready):.2f}, max {max(ready):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
