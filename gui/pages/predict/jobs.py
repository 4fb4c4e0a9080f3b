"""The Predict page's worker functions: they call ``core`` and hand back finished pictures.

Predictions come from :meth:`core.infer.predictor.Predictor.predict_paths`
(the CLI's ``predict`` path), Grad-CAM overlays from
:func:`core.insight.gradcam.overlays_for_files`; these functions only gather
the files, make the thumbnails the cards show and pack arrays into JPEG bytes
(:mod:`gui.pages.predict.packed`), so the UI thread only decodes what it paints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from gui.pages.predict.cards import IMAGE_SIDE, CardRow

GRADCAM_ALPHA = 0.45
GRADCAM_BATCH = 16


@dataclass
class PredictOutcome:
    """What a prediction job hands back to the page (built in the worker)."""

    predictor: Any
    rows: list  # core.infer.predictor.Prediction, in input order, errors included
    thumbnails: dict = field(default_factory=dict)  # path -> Packed (JPEG bytes)
    overlays: dict = field(default_factory=dict)  # path -> Packed (Grad-CAM)
    replace: bool = False  # True: these rows are the whole result (model changed)
    stamps: dict = field(default_factory=dict)  # path -> file_stamp when it was read

    def card_rows(self) -> list:
        """The cards of these answers, each with its pictures and file stamp."""
        return [CardRow(r, self.thumbnails.get(r.path), self.overlays.get(r.path),
                        self.stamps.get(r.path)) for r in self.rows]


def load_model_job(path: str, listener=None, cancel=None):
    """Open a model in the worker (TensorFlow / TFLite / onnxruntime load there)."""
    from core.events import Progress, emit
    from core.infer.loaders import load_predictor

    emit(listener, Progress(0, 0, "Loading the model…"))
    return load_predictor(path)


def thumbnail_arrays(paths: Sequence[str], side: int, listener=None, cancel=None) -> dict:
    """``{path: uint8 RGB}`` thumbnails (longer side ``side``) of the readable files."""
    from core.data.imageio import ImageError, load_thumbnail
    from core.events import Progress, emit

    out = {}
    for i, p in enumerate(paths):
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            out[p] = load_thumbnail(p, side)
        except (ImageError, OSError):
            pass  # it was readable a moment ago; the card shows no picture
        emit(listener, Progress(i + 1, len(paths), "Making thumbnails"))
    return out


def gradcam_images(predictor: Any, paths: Sequence[str], thumbnails: dict, listener=None,
                   cancel=None) -> dict:
    """``{path: Packed}``: Grad-CAM over each thumbnail, for the class the model predicted."""
    from core.insight.gradcam import overlays_for_files
    from gui.pages.predict.packed import pack

    arrays = overlays_for_files(predictor.model, paths, predictor.image_size, thumbnails,
                                GRADCAM_ALPHA, GRADCAM_BATCH, listener, cancel)
    return {p: pack(a) for p, a in arrays.items()}


def new_image_paths(inputs: Sequence[str], known, listener=None) -> list[str]:
    """Image files in ``inputs`` (folders searched), absolute, minus those already ``known``.

    ``known`` may map each listed path to its :func:`core.fsutil.file_stamp` when it was
    predicted: a listed image changed on disk since (edited, or replaced by a file of the same name)
    is predicted again.  Adding it said "already in the list" and kept the old answer (a
    review)."""
    from core.errors import UserError
    from core.infer.predictor import expand_image_paths

    found = list(dict.fromkeys(os.path.abspath(x) for x in expand_image_paths(inputs, listener)))
    if not found and any(os.path.isdir(x) for x in inputs):  # not "already in the list"
        raise UserError("no images found in " + ", ".join(inputs) +
                        " (looked for JPEG, PNG, BMP, GIF, WebP and TIFF files)")
    from core.fsutil import file_stamp

    stamps = known if isinstance(known, dict) else dict.fromkeys(known)
    return [p for p in found if p not in stamps
            or (stamps[p] is not None and file_stamp(p) != stamps[p])]


def predict_job(model_path: str, predictor: Any, inputs: Sequence[str], known: Sequence[str],
                gradcam: bool, replace: bool = False, side: int = IMAGE_SIDE,
                listener=None, cancel=None) -> PredictOutcome:
    """Gather new images, load the model if needed, predict, make thumbnails and overlays.

    Every class's probability is kept (top_k = number of classes) so the page
    can show any k without predicting again.
    """
    from core.events import Cancelled, Log, Progress, emit
    from core.infer.loaders import load_predictor
    from core.infer.predictor import KerasPredictor
    from gui.pages.predict.packed import pack

    emit(listener, Progress(0, 0, "Finding images…"))
    paths = new_image_paths(inputs, known, listener)
    if not paths:
        return PredictOutcome(predictor, [], replace=replace)
    if predictor is None:
        emit(listener, Progress(0, 0, "Loading the model…"))
        predictor = load_predictor(model_path)
    from core.fsutil import file_stamp

    stamps = {p: file_stamp(p) for p in paths}  # before reading: a later change is seen
    rows = predictor.predict_paths(paths, top_k=len(predictor.classes), listener=listener,
                                   cancel=cancel)
    ok = [r.path for r in rows if not r.error]
    arrays, overlays = {}, {}
    try:  # Stop now keeps the answers (they were thrown away with the pictures)
        arrays = thumbnail_arrays(ok, side, listener, cancel)
        if gradcam and isinstance(predictor, KerasPredictor):
            overlays = gradcam_images(predictor, ok, arrays, listener, cancel)
    except Cancelled:
        emit(listener, Log("stopped: the answers are kept; "
                           + ("the Grad-CAM overlays" if arrays else "the pictures")
                           + " were left out", "warning"))
    thumbs = {p: pack(a) for p, a in arrays.items()}
    return PredictOutcome(predictor, rows, thumbs, overlays, replace, stamps)


def gradcam_job(predictor: Any, paths: Sequence[str], side: int = IMAGE_SIDE,
                listener=None, cancel=None) -> dict:
    """Overlays for images already shown (Grad-CAM switched on afterwards)."""
    return gradcam_images(predictor, paths, thumbnail_arrays(paths, side, None, cancel),
                          listener, cancel)


def save_csv(path: str, rows, top_k: int) -> str:
    """Write the predictions as the CLI's CSV (marked UTF-8 for spreadsheets): "" when
    written, else why not (naming the file).

    The name is checked as ``predict --csv`` checks it: a .csv or .txt name, never one of a
    run folder's own files (a typed ``model.keras`` was overwritten with CSV rows).  A place
    that takes no file comes as a UserError, a refused write as an OSError.  An image name
    that is not UTF-8 is written by its bytes on disk, as the command does (it raised).
    """
    from core.cli.commands.predict import CSV_SUFFIXES, CSV_WHAT, rows_to_csv
    from core.cli.output_path import check_output_file
    from core.errors import UserError
    from core.fsutil import atomic_write_text

    try:
        check_output_file(path, CSV_WHAT, CSV_SUFFIXES)
        # with a byte-order mark: Excel, double-clicked, reads a CSV without one in the
        # system's code page and garbled every accented or Japanese name (a Predict review);
        # ``predict --csv`` stays without, for scripts
        atomic_write_text(path, rows_to_csv(rows, top_k), encoding="utf-8-sig",
                          errors="surrogateescape")
    except UserError as exc:
        return str(exc)
    except OSError as exc:
        return f"{path}: cannot be written ({exc.strerror or exc}); choose another folder."
    return ""


def start_dir(candidates) -> str:
    """Where a file dialog opens: the first of ``candidates`` that exists (its folder, for a
    file), else the home folder."""
    import os
    from pathlib import Path

    for p in candidates:
        if p and os.path.exists(p):
            return p if os.path.isdir(p) else os.path.dirname(p)
    return str(Path.home())
