"""Hints for a path that is not a model the app can open, beyond "not a model"."""

from __future__ import annotations

import os
from pathlib import Path

from core.data.folder_walk import looks_like_image_folder

#: Endings of model and weights files (this app's and other tools'): dropped on the Predict
#: page, such a file is a model to open, never an image to read (lower case).
MODEL_ENDINGS = (".h5", ".hdf5", ".keras", ".npz", ".pb", ".pbtxt", ".pt", ".pth", ".ckpt",
                 ".tflite", ".onnx", ".safetensors", ".pkl", ".joblib", ".mlmodel")


def images_hint(p: Path) -> str:
    """"; it looks like a folder of images..." for a data folder given where a model goes
    (predict's arguments swapped, Open model on the data folder); else ""."""
    return ("; it looks like a folder of images, not a model (a model is a run folder or an "
            "exported model file)") \
        if p.is_dir() and looks_like_image_folder(p) else ""


def weights_hint(p: Path) -> str:
    """"; it holds weights only..." for a ``.weights.h5`` file: a starting point for
    training, not a model that answers; for a run's own ``best.weights.npz``, the run
    folder to give instead (``train --weights`` refuses that file: it was recommended and
    then refused, a serve review); else ""."""
    name = p.name.lower()
    if name.endswith(".weights.npz"):
        from core.runs.folder import find_run_folder

        run = find_run_folder(p.parent)
        where = (f"give the run folder {run.path} instead" if run is not None else
                 "give the run folder it came from instead")
        return (f"; it is a run's best-epoch weights (no network): {where}, which holds "
                "model.keras; to train on from a run, use 'train --from-run RUN_DIR'")
    if name.endswith(".weights.h5"):
        return ("; it holds weights only, no network: use it as the starting point for "
                "training (the Model page's weights: your own file, or train --weights)")
    if name.endswith((".h5", ".hdf5")):  # save_weights' .h5: "No model config" (a review)
        from core.model.weights_only import (UNKNOWN, holds_text, train_from_text,
                                             weights_layout)

        layout = weights_layout(p)
        if layout and layout != UNKNOWN:
            return (f"; it holds {holds_text(layout)}: to train from these weights, "
                    f"{train_from_text(p, layout)}")
    return ""


def not_a_model(p: Path) -> str:
    """What is said of ``p`` given as a model when no loader opens it."""
    return (f"{p}: not a model this app can open (a run folder, .keras, SavedModel folder, "
            f".tflite or .onnx){weights_hint(p) or images_hint(p)}")


def is_model_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file named like a model or weights file (by its ending only)."""
    p = Path(path)
    return p.name.lower().endswith(MODEL_ENDINGS) and not p.is_dir()
