"""How long the window freezes while a model trains, and how fast Stop acts.

    QT_QPA_PLATFORM=offscreen python bench/bench_gui_stall.py [--size 32] [--per-class 24]
                                                              [--epochs 3] [--fine-tune 1]

Opens the real main window (TensorFlow loaded in the background, as the app
does), scans a small bright/dark dataset on the Data page and presses Start on
the Train page.  A QTimer on the UI thread ticks every 10 ms during the run;
any gap well over 10 ms is time the UI could not respond.  It prints the
largest gap, the 99th percentile, and the five worst gaps with the training
event that came just before each, so a stall can be traced to its cause.

A second run is stopped with the Stop button just after its first epoch; it
prints the time from the click to the training loop's "stopped" log line (the
promise: within one batch) and to the end of the job (which also saves the
best model and scores the validation images).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32, help="image side in pixels")
    ap.add_argument("--per-class", type=int, default=24, help="images per class")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--fine-tune", type=int, default=1)
    ap.add_argument("--backbone", default="MobileNetV3Small")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="fts-stall-"))
    os.environ["FTS_DATA_DIR"] = str(work / "app-data")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from PySide6.QtCore import QElapsedTimer, QTimer

    from core.events import BatchEnd, EpochEnd, Log, PhaseStarted
    from gui.app import create_app
    from gui.main_window import MainWindow
    from weights_fixture import make_bright_dark, tiny_config

    app = create_app([sys.argv[0]])
    window = MainWindow()
    window.show()

    def wait(done, timeout, what):
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up waiting for {what}")
            app.processEvents()
            time.sleep(0.005)

    wait(lambda: window.tf_device is not None, 300, "TensorFlow")
    data = make_bright_dark(work / "data", per_class=args.per_class, size=max(args.size, 8))
    cfg = tiny_config(data, "none", epochs=args.epochs, fine_tune_epochs=args.fine_tune)
    cfg.model.backbone = args.backbone
    cfg.model.image_size = args.size
    scanned = []
    window.data_page.scan_finished.connect(scanned.append)
    window.state.replace_config(cfg)
    wait(lambda: scanned, 120, "the scan")
    window.show_page(3)
    page = window.pages[3]

    clock = QElapsedTimer()
    clock.start()
    ticks: list[int] = []
    events: list[tuple[int, str]] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(clock.elapsed()))

    def describe(ev) -> str:
        if isinstance(ev, BatchEnd):
            return f"batch {ev.phase} e{ev.epoch} s{ev.step}/{ev.steps}"
        if isinstance(ev, EpochEnd):
            return f"epoch end {ev.phase} {ev.epoch}"
        if isinstance(ev, PhaseStarted):
            return f"phase {ev.phase} starts"
        if isinstance(ev, Log):
            return f"log: {ev.message[:60]}"
        return type(ev).__name__

    def on_start(job):
        job.progress.connect(lambda ev: events.append((clock.elapsed(), describe(ev))))

    page.run_started.connect(on_start)
    finished = []
    page.run_finished.connect(finished.append)

    # -- run 1: a whole run, the UI thread ticking -------------------------------------------
    ticks.append(clock.elapsed())
    timer.start()
    t0 = time.monotonic()
    page.start_button.click()
    wait(lambda: finished, 900, "training")
    timer.stop()
    seconds = time.monotonic() - t0
    gaps = sorted(((b - a, a) for a, b in zip(ticks, ticks[1:])), reverse=True)
    values = sorted(g for g, _ in gaps)
    p99 = values[int(0.99 * (len(values) - 1))] if values else 0
    print(f"cpus: {os.cpu_count()}; {args.backbone} {args.size} px, {2 * args.per_class} images, "
          f"{args.epochs}+{args.fine_tune} epochs; run took {seconds:.1f} s")
    print(f"UI timer: {len(ticks)} ticks of 10 ms; longest gap {values[-1] if values else 0} ms, "
          f"99th percentile {p99} ms, median {values[len(values) // 2] if values else 0} ms")
    for gap, start in gaps[:5]:
        before = [name for t, name in events if t <= start + gap]
        print(f"  gap {gap:4d} ms at {start / 1000:6.2f} s; last event before its end: "
              f"{before[-1] if before else '(none yet)'}")

    # -- run 2: press Stop just after the first epoch ----------------------------------------
    finished.clear()
    events.clear()
    marks = {}

    def watch(ev):
        if isinstance(ev, EpochEnd):
            marks.setdefault("epoch", True)
        elif isinstance(ev, BatchEnd) and "epoch" in marks and "click" not in marks:
            marks["click"] = time.monotonic()
            page.stop_button.click()
        elif isinstance(ev, Log) and ev.message.startswith("stopped") and "click" in marks:
            marks["loop_stopped"] = time.monotonic()

    window.state.set("train.epochs", max(args.epochs, 20))
    page.run_started.connect(lambda job: job.progress.connect(watch))
    page.start_button.click()
    wait(lambda: finished, 900, "the stopped run")
    end = time.monotonic()
    result = finished[0]
    if "click" in marks:
        loop = marks.get("loop_stopped", end) - marks["click"]
        print(f"Stop: status {result.status}; training loop stopped {loop:.2f} s after the click, "
              f"job ended (best model saved, validation scored) {end - marks['click']:.2f} s "
              "after it")
    window.state.mark_saved()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
