"""Predicting with a trained model, whatever form it is in.

A :class:`Predictor` knows its class names and input size and turns images
into probabilities.  The app, ``predict``, ``evaluate`` and the export parity
check all go through this one interface, so "the app's answer" is defined in
exactly one place: decode with :func:`core.data.imageio.load_rgb` at the model's
size, feed raw RGB 0-255 float32 NHWC, read the softmax.

Which class opens which kind of file is decided in one table,
:data:`core.infer.loaders.LOADERS` (``load_predictor`` there is the entry point).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from core.errors import UserError
from core.infer.labels import check_label_count, labels_near
from core.events import CancelToken, FileSkipped, Progress, emit
from core.path_names import is_within


@dataclass
class Prediction:
    path: str
    label: str = ""
    confidence: float = 0.0
    top: list[tuple[str, float]] = field(default_factory=list)
    error: str = ""
    unknown: bool = False  # the image fits none of the classes (score above the threshold)
    unknown_score: Optional[float] = None  # None: the model has no unknown score

    @property
    def shown_label(self) -> str:
        """What a person is told: the class, or "unknown" (the top-k still lists the classes)."""
        return UNKNOWN_LABEL if self.unknown else self.label


#: The label column's word for an image that fits none of the classes.
UNKNOWN_LABEL = "unknown"


class Predictor:
    """Base class: subclasses implement :meth:`predict_arrays`."""

    kind = "abstract"

    def __init__(self, classes: Sequence[str], image_size: int, source: str) -> None:
        self.classes = list(classes)
        self.image_size = int(image_size)
        self.source = source
        #: Scores above it are "unknown"; None turns the flag off (``--no-unknown``).
        self.unknown_threshold: Optional[float] = None
        #: Whether :meth:`predict_scored` gives unknown scores (a calibrated run's model,
        #: or an export of one with the unknown_score output).
        self.has_unknown_score = False
        #: Why the unknown check is off though the model has a score ("" when it is not).
        self.unknown_note = ""
        #: The share of validation images an export's threshold keeps (its metadata.json's
        #: calibration), when known: a run's model says it through ``trust`` instead.
        self.unknown_keep: Optional[float] = None
        #: Why this model may not answer as the app does ("" when nothing says so): an
        #: export that failed its parity check (:func:`core.infer.export_meta.parity_note`),
        #: a run that is still training.
        self.caution = ""

    def predict_arrays(self, images: np.ndarray) -> np.ndarray:
        """``images``: (N, S, S, 3) raw RGB 0-255 (uint8 or float) → (N, C) probabilities."""
        raise NotImplementedError

    def predict_scored(self, images: np.ndarray):
        """``(probabilities, unknown scores or None)``; only a run's model has scores."""
        return self.predict_arrays(images), None

    def load_images(self, paths: Sequence[str], workers: int = 2):
        """Decode ``paths`` at the model's size; returns (array, ok_indices, errors)."""
        from core.data.imageio import ImageError, load_rgb

        def one(p):
            try:
                return load_rgb(p, self.image_size), None
            except ImageError as exc:
                return None, exc.reason
            except OSError as exc:  # vanished between listing and reading
                return None, f"cannot be read ({exc.strerror or exc})"

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, paths))
        ok = [i for i, (img, _) in enumerate(results) if img is not None]
        errors = {i: err for i, (img, err) in enumerate(results) if img is None}
        if ok:
            arr = np.stack([results[i][0] for i in ok])
        else:
            arr = np.zeros((0, self.image_size, self.image_size, 3), np.uint8)
        return arr, ok, errors

    def predict_files(self, paths: Sequence[str], batch_size: int = 32, listener=None,
                      cancel: Optional[CancelToken] = None):
        """Probabilities for every readable file.

        Returns ``(probs (n_ok, C), ok_paths, skipped)`` where ``skipped`` is a
        list of ``{"path", "reason"}`` for files that could not be decoded; one
        bad file never stops the rest.
        """
        probs, _, ok_paths, skipped = self.predict_files_scored(paths, batch_size, listener,
                                                                cancel)
        return probs, ok_paths, skipped

    def predict_files_scored(self, paths: Sequence[str], batch_size: int = 32, listener=None,
                             cancel: Optional[CancelToken] = None):
        """Like :meth:`predict_files` with the unknown scores: ``(probs, scores or None,
        ok_paths, skipped)``.

        The next chunk is decoded in a background thread while the model runs
        on the current one: decoding then hides behind the forward pass instead
        of adding to it (a folder went from 87% to 95% of the model's
        forward-pass rate on 2 CPU cores; bench/bench_speed.py section 7).
        """
        probs, scores, ok_paths, skipped = [], [], [], []
        total = len(paths)
        chunks = [list(paths[s:s + batch_size]) for s in range(0, total, batch_size)]
        with ThreadPoolExecutor(max_workers=1) as ahead:
            pending = ahead.submit(self.load_images, chunks[0]) if chunks else None
            for n, chunk in enumerate(chunks):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                arr, ok, errors = pending.result()
                if n + 1 < len(chunks):
                    pending = ahead.submit(self.load_images, chunks[n + 1])
                for i, reason in errors.items():
                    skipped.append({"path": chunk[i], "reason": reason})
                    emit(listener, FileSkipped(chunk[i], reason, "prediction"))
                if len(ok):
                    p, sc = self.predict_scored(arr)
                    probs.append(p)
                    scores.append(sc)
                    ok_paths.extend(chunk[i] for i in ok)
                emit(listener, Progress(min((n + 1) * batch_size, total), total, "predicting"))
        out = np.concatenate(probs) if probs else np.zeros((0, len(self.classes)), np.float32)
        has_scores = bool(scores) and all(sc is not None for sc in scores)
        return out, (np.concatenate(scores) if has_scores else None), ok_paths, skipped

    def predict_paths(self, paths: Sequence[str], top_k: int = 3, batch_size: int = 32,
                      listener=None, cancel=None) -> list[Prediction]:
        """One :class:`Prediction` per input file, in input order (errors included)."""
        probs, scores, ok_paths, skipped = self.predict_files_scored(paths, batch_size, listener,
                                                                     cancel)
        by_path = {p: self.to_prediction(p, row, None if scores is None else scores[n], top_k)
                   for n, (p, row) in enumerate(zip(ok_paths, probs))}
        for s in skipped:
            by_path[s["path"]] = Prediction(s["path"], error=s["reason"])
        return [by_path[p] for p in paths if p in by_path]

    def to_prediction(self, path: str, probs: np.ndarray, score, top_k: int) -> Prediction:
        """One image's probabilities (and unknown score or None) as a :class:`Prediction`:
        the top ``top_k`` classes, "unknown" when the score is above the threshold."""
        k = max(1, min(top_k, len(self.classes)))
        top = [(self.classes[i], float(probs[i])) for i in np.argsort(-probs)[:k]]
        score = None if score is None else float(score)
        threshold = self.unknown_threshold
        flagged = score is not None and threshold is not None and score > threshold
        return Prediction(path, top[0][0], top[0][1], top, unknown=flagged, unknown_score=score)


class KerasPredictor(Predictor):
    """A Keras model called through one compiled function (no per-call retracing)."""

    kind = "keras"

    def __init__(self, model, classes: Sequence[str], source: str, trust=None) -> None:
        """``trust``: a run's :class:`core.trust.unknown.TrustModel` (calibration and the
        unknown score), or None for the raw softmax."""
        size = int(model.inputs[0].shape[1])
        super().__init__(classes, size, source)
        import tensorflow as tf

        from core.model.model_files import ends_in_softmax
        from core.trust.fit import embedding_width, two_output_model

        self.model = model
        self.raw_scores = not ends_in_softmax(model)  # made probabilities below
        self.trust = trust
        both = two_output_model(model) if trust is not None else None
        if both is not None:
            call = (lambda x: both(x, training=False))
        elif self.raw_scores:
            call = (lambda x: tf.nn.softmax(model(x, training=False), axis=-1))
        else:
            call = (lambda x: model(x, training=False))
        spec = tf.TensorSpec([None, size, size, 3], tf.float32)
        self._fn = tf.function(call, input_signature=[spec], reduce_retracing=True)
        self._with_embeddings = both is not None
        #: The width of the embedding the unknown score compares (None: no such output).
        self.embedding_size = embedding_width(model) if both is not None else None
        if trust is not None:  # a temperature alone (an exported .keras) gives no score
            self.unknown_threshold = trust.threshold
            self.has_unknown_score = trust.threshold is not None or trust.reference.size > 0

    def predict_arrays(self, images: np.ndarray) -> np.ndarray:
        return self.predict_scored(images)[0]

    def predict_scored(self, images: np.ndarray):
        """Calibrated probabilities and unknown scores when the run has them."""
        out = self._fn(np.asarray(images, dtype=np.float32))
        if not self._with_embeddings and self.trust is None:
            return np.asarray(out, dtype=np.float32), None
        probs, emb = (out if self._with_embeddings else (out, None))
        probs = self.trust.calibrate(np.asarray(probs, dtype=np.float32))
        emb = None if emb is None else np.asarray(emb, dtype=np.float32)
        return probs, (self.trust.scores(probs, emb) if self.has_unknown_score else None)



def load_keras_predictor(path: Path, trust=None) -> Predictor:
    from core.model.model_files import classifier_outputs, load_model_file

    model = load_model_file(path)
    n_out = classifier_outputs(model, path)
    labels = labels_near(path, n_out)
    check_label_count(path, labels, n_out)
    return KerasPredictor(model, labels, str(path), trust)



def expand_image_paths(inputs: Iterable[str], listener=None) -> list[str]:
    """Files as given, folders searched recursively for images (hidden entries skipped).

    Links to folders are followed, each folder read once (a link loop ends), but not
    a link to a folder that holds the one searched (a link to ``/`` would read the
    disk).  A link whose target is missing is kept, so the reader names it; so is a file
    given that is not there (deleted since it was shown), unless nothing else is.  A
    folder that cannot be read is refused when it is all there is; beside other inputs
    that hold images it is reported (a :class:`FileSkipped`) and the rest go on.  Each
    file comes once, under the name it was first given.
    """
    from core.data.imageio import IMAGE_EXTENSIONS

    out: list[str] = []
    unreadable: list[tuple[str, str]] = []
    missing: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            top, seen, errors, before = os.path.realpath(p), set(), [], len(out)
            for root, dirs, files in os.walk(p, followlinks=True, onerror=errors.append):
                st = os.stat(root)
                if (st.st_dev, st.st_ino) in seen:
                    dirs[:] = []
                    continue
                seen.add((st.st_dev, st.st_ino))
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and not is_within(top, os.path.realpath(os.path.join(root, d))))
                for f in sorted(files):
                    full = Path(root) / f
                    if not f.startswith(".") and full.suffix.lower() in IMAGE_EXTENSIONS \
                            and (full.is_file() or not full.exists()):  # no pipes or devices
                        out.append(str(full))
            if errors and len(out) == before:  # said "no images found" for a locked folder
                e = errors[0]
                unreadable.append((str(e.filename or p), f"cannot read this folder "
                                                         f"({e.strerror or e})"))
        elif p.exists():
            out.append(str(p))
        else:  # gone since it was shown or dropped: its row says so, the others go on
            missing.append(str(p))
            out.append(str(p))
    if missing and len(missing) == len(out):
        raise UserError(f"{missing[0]}: no such file or folder")
    if unreadable and not out:
        folder, reason = unreadable[0]
        raise UserError(f"{folder}: {reason}; make it readable")
    for folder, reason in unreadable:
        emit(listener, FileSkipped(folder, reason + "; make it readable to include its images"))
    # each file once, as given first: a file named twice, or given and inside a folder given,
    # was predicted and written to the CSV twice (the Predict page listed it once; a review)
    first = {}
    for path in out:
        first.setdefault(os.path.abspath(path), path)
    return list(first.values())
