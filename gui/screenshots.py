"""Save a screenshot of every page with real content: ``python -m gui.screenshots OUTDIR``.

Runs offscreen (no display needed): makes a small sample dataset (plus one
damaged file, so the Problems tab has something to show) in a temporary
folder, opens it, waits for the real work -- the scan, thumbnails, TensorFlow,
the layer tree, the augmentation previews -- and writes ``NN-<page>.png`` for
each page.  The README's pictures come from here, so they show the app as it
is, not as it was drawn.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def _wait(app, done, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        app.processEvents()
        time.sleep(0.02)


def take_screenshots(out_dir: str | Path, size: tuple[int, int] = (1280, 820)) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from gui.app import create_app

    app = create_app([sys.argv[0]])
    from core.sample_data import generate_sample_dataset
    from gui.main_window import MainWindow

    work = Path(tempfile.mkdtemp(prefix="fts-shots-"))
    os.environ.setdefault("FTS_DATA_DIR", str(work / "app-data"))
    root = generate_sample_dataset(work / "shapes", classes=["circle", "square", "triangle"],
                                   per_class=40, size=128, seed=0)
    (root / "square" / "scan_0041.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)

    window = MainWindow()
    window.resize(*size)
    window.show()
    scanned = []
    window.data_page.scan_finished.connect(scanned.append)
    window.data_page.open_folder(str(root))
    _wait(app, lambda: scanned, 120, "the scan")
    _wait(app, lambda: window.data_page.thumbs.loaded_count() >= 30, 120, "thumbnails")
    _wait(app, lambda: window.tf_device is not None, 300, "TensorFlow")
    window.state.mark_saved()

    paths = []

    def shot(index: int, name: str) -> None:
        window.show_page(index)
        for _ in range(10):
            app.processEvents()
            time.sleep(0.02)
        path = out / f"{index + 1:02d}-{name}.png"
        window.grab().save(str(path))
        paths.append(path)

    shot(0, "data")
    page = window.data_page
    page.tabs.setCurrentIndex(1)
    if page.problem_tree.topLevelItemCount():
        page.problem_tree.setCurrentItem(page.problem_tree.topLevelItem(0))
    shot(0, "data-problems")
    paths[-1] = paths[-1].rename(out / "01b-data-problems.png")
    page.tabs.setCurrentIndex(0)

    window.model_page.select_backbone("MobileNetV2")
    built = []
    window.model_page.layers_ready.connect(built.append)
    window.show_page(1)
    _wait(app, lambda: built, 300, "the layer tree")
    tree = window.model_page.tree
    for i in range(tree.topLevelItemCount() - 4, tree.topLevelItemCount()):
        if i >= 0:
            tree.topLevelItem(i).setExpanded(True)
    tree.scrollToBottom()
    shot(1, "model")

    shown = []
    window.augment_page.previews_updated.connect(shown.append)
    window.show_page(2)
    _wait(app, lambda: shown, 120, "augmentation previews")
    shot(2, "augmentation")
    for i, name in enumerate(("train", "evaluate", "predict", "export"), start=3):
        shot(i, name)

    window.state.mark_saved()
    window.close()
    return paths


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m gui.screenshots OUTDIR", file=sys.stderr)
        return 2
    for p in take_screenshots(argv[0]):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
