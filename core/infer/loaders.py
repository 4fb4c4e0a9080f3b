"""Open exported models (SavedModel, TFLite, ONNX, an export folder) as Predictors.

:func:`load_predictor` is the one entry point: ``predict``, ``evaluate``, the
export parity reference and the GUI open every model through it, and it picks
the class from one table (:data:`LOADERS`), so every format ``export`` writes is
accepted and decoded exactly like the app does (:func:`core.data.imageio.load_rgb`).
Class names come from ``labels.txt`` (or ``labels.json``) beside the model;
for a ``savedmodel/`` folder the export folder around it is looked at too.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import ModelFileError
from core.formats import BY_NAME, METADATA_UNFINISHED, OPEN_ORDER
from core.infer.export_meta import (export_calibration, export_metadata, parity_note,
                                    scored_export, unscored_note)
from core.infer.labels import check_label_count, labels_near
from core.infer.refusals import not_a_model
from core.infer.model_safety import check_onnx, check_savedmodel, check_tflite, unopenable
from core.infer.predictor import Predictor, load_keras_predictor
from core.runs.folder import RunFolder
from core.tfenv import native_chatter_hidden


def _labels(path: Path, n_outputs: int) -> list[str]:
    folder = path if path.is_dir() else path.parent
    for candidate in (folder, folder.parent):
        if (candidate / "labels.json").exists() or (candidate / "labels.txt").exists():
            labels = labels_near(candidate)
            break
    else:
        candidate, labels = folder, labels_near(folder, n_outputs)  # class_0, class_1, ...
    check_label_count(path, labels, n_outputs, candidate)
    return labels


class SavedModelPredictor(Predictor):
    """A TF SavedModel whose ``serving_default`` takes raw RGB 0-255 float32 NHWC.

    Its graph is read and checked (:func:`check_savedmodel`) before TensorFlow
    loads it: loading and calling a SavedModel runs whatever ops its author put in.
    """

    kind = "savedmodel"

    def __init__(self, path: Path) -> None:
        check_savedmodel(path)
        import tensorflow as tf

        try:
            loaded = tf.saved_model.load(str(path))
        except Exception as exc:
            raise unopenable(path, "a SavedModel", exc, f"{type(exc).__name__}: ") from None
        if "serving_default" not in loaded.signatures:
            raise ModelFileError(f"{path}: the SavedModel has no 'serving_default' signature")
        self._loaded = loaded  # keeps the variables alive
        self._fn = loaded.signatures["serving_default"]
        specs = self._fn.structured_input_signature[1]
        if len(specs) != 1:
            raise ModelFileError(f"{path}: expected one image input, found {len(specs)}")
        self._input_name, spec = next(iter(specs.items()))
        shape = spec.shape.as_list()
        if len(shape) != 4 or shape[1] is None or shape[3] != 3:
            raise ModelFileError(f"{path}: input shape {shape} is not (N, S, S, 3)")
        self._dtype = spec.dtype
        out_spec = self._fn.structured_outputs
        self._output_name = "probabilities" if "probabilities" in out_spec else \
            next(iter(out_spec))
        self._score_name = "unknown_score" if "unknown_score" in out_spec else None
        n_out = int(out_spec[self._output_name].shape[-1])
        super().__init__(_labels(path, n_out), int(shape[1]), str(path))
        if self._score_name:
            scored_export(self, path)

    def predict_arrays(self, images: np.ndarray) -> np.ndarray:
        return self.predict_scored(images)[0]

    def predict_scored(self, images: np.ndarray):
        """The file's probabilities, and its unknown_score output when it has one."""
        import tensorflow as tf

        x = tf.constant(np.asarray(images, dtype=self._dtype.as_numpy_dtype))
        out = self._fn(**{self._input_name: x})
        scores = None if self._score_name is None else \
            np.asarray(out[self._score_name], dtype=np.float32)
        return np.asarray(out[self._output_name], dtype=np.float32), scores


class TFLitePredictor(Predictor):
    """A .tflite model; quantized (int8/uint8) inputs and outputs are converted here."""

    kind = "tflite"

    def __init__(self, path: Path) -> None:
        check_tflite(path)  # no custom ops: TensorFlow's interpreter would run "Flex" ones
        import tensorflow as tf

        try:
            with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated" (still works)
                warnings.simplefilter("ignore")
                # From bytes, not model_path: a mapped file cannot be replaced on Windows,
                # so exporting again beside an open Predict page or server failed.
                self._interp = tf.lite.Interpreter(model_content=path.read_bytes())
        except Exception as exc:
            raise unopenable(path, "a TFLite model", exc) from None
        self._in = self._interp.get_input_details()[0]
        outs = self._interp.get_output_details()  # told apart by shape: (N, C) and (N,)
        self._out = next((o for o in outs if len(o["shape"]) == 2), outs[0])
        self._score = next((o for o in outs if len(o["shape"]) == 1), None)
        shape = [int(v) for v in self._in["shape"]]
        if len(shape) != 4 or shape[3] != 3:
            raise ModelFileError(f"{path}: input shape {shape} is not (N, S, S, 3)")
        self._batch = 0
        self._lock = threading.Lock()  # an interpreter is not thread-safe
        n_out = int(self._out["shape"][-1])
        super().__init__(_labels(path, n_out), shape[1], str(path))
        if self._score is not None:
            scored_export(self, path)

    @staticmethod
    def _quantize(x: np.ndarray, detail) -> np.ndarray:
        scale, zero = detail["quantization"]
        if not scale:
            return x.astype(detail["dtype"])
        info = np.iinfo(detail["dtype"])
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])

    @staticmethod
    def _dequantize(y: np.ndarray, detail) -> np.ndarray:
        scale, zero = detail["quantization"]
        if not scale:
            return y.astype(np.float32)
        return ((y.astype(np.float32) - zero) * scale).astype(np.float32)

    def predict_arrays(self, images: np.ndarray) -> np.ndarray:
        return self.predict_scored(images)[0]

    def predict_scored(self, images: np.ndarray):
        """The file's probabilities, and its unknown_score output when it has one."""
        x = np.asarray(images, dtype=np.float32)
        n = int(x.shape[0])
        if n == 0:
            return np.zeros((0, len(self.classes)), np.float32), \
                (None if self._score is None else np.zeros(0, np.float32))
        with self._lock:
            if n != self._batch:
                self._interp.resize_tensor_input(self._in["index"], [n, *x.shape[1:]])
                with native_chatter_hidden():  # XNNPACK's "INFO: Created ..." line
                    self._interp.allocate_tensors()
                self._batch = n
            self._interp.set_tensor(self._in["index"], self._quantize(x, self._in))
            self._interp.invoke()
            y = self._interp.get_tensor(self._out["index"])
            s = None if self._score is None else self._interp.get_tensor(self._score["index"])
        return self._dequantize(y, self._out), \
            (None if s is None else self._dequantize(s, self._score))


class OnnxPredictor(Predictor):
    """An .onnx model run by onnxruntime on the CPU."""

    kind = "onnx"

    def __init__(self, path: Path) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelFileError(f"{path}: opening .onnx models needs onnxruntime "
                                 "(pip install onnxruntime)") from None
        check_onnx(path)  # standard operators only
        try:
            self._sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise unopenable(path, "an ONNX model", exc) from None
        inp = self._sess.get_inputs()[0]
        shape = inp.shape
        if len(shape) != 4 or not isinstance(shape[1], int) or shape[3] != 3:
            raise ModelFileError(f"{path}: input shape {shape} is not (N, S, S, 3)")
        self._input_name = inp.name
        self._dtype = np.uint8 if inp.type == "tensor(uint8)" else np.float32
        outs = self._sess.get_outputs()  # told apart by shape: (N, C) and (N,)
        self._probs_at = next((i for i, o in enumerate(outs) if len(o.shape) == 2), 0)
        self._score_at = next((i for i, o in enumerate(outs) if len(o.shape) == 1), None)
        n_out = outs[self._probs_at].shape[-1]
        if not isinstance(n_out, int):
            raise ModelFileError(f"{path}: the output has no fixed number of classes")
        super().__init__(_labels(path, n_out), int(shape[1]), str(path))
        if self._score_at is not None:
            scored_export(self, path)

    def predict_arrays(self, images: np.ndarray) -> np.ndarray:
        return self.predict_scored(images)[0]

    def predict_scored(self, images: np.ndarray):
        """The file's probabilities, and its unknown_score output when it has one."""
        outs = self._sess.run(None, {self._input_name: np.asarray(images, dtype=self._dtype)})
        scores = None if self._score_at is None else \
            np.asarray(outs[self._score_at], dtype=np.float32)
        return np.asarray(outs[self._probs_at], dtype=np.float32), scores


# -- export folders ------------------------------------------------------------


def load_export_folder(p: Path) -> Predictor:
    """The folder's first present file that metadata.json lists as trusted; for a calibrated
    run the formats that carry its calibration and unknown score come first (model.keras
    keeps the run's own output, so it came first and the folder said no "unknown")."""
    meta = export_metadata(p) or {}
    if meta.get(METADATA_UNFINISHED):
        raise ModelFileError(f"{p}: an export into this folder did not finish (it was "
                             "stopped, or a file in it could not be replaced); export again")
    formats = meta.get("formats", {})
    calibrated = isinstance(meta.get("calibration"), dict)
    order = sorted(OPEN_ORDER, key=lambda f: (
        calibrated and not (BY_NAME[f].calibrated and BY_NAME[f].unknown_score),
        BY_NAME[f].open_rank))
    for fmt in order:
        artifact = p / BY_NAME[fmt].artifact
        entry = formats.get(fmt) if isinstance(formats, dict) else None
        trusted = isinstance(entry, dict) and entry.get("trust") is True
        if artifact.exists() and trusted:
            return load_artifact(artifact)
    raise ModelFileError(f"{p}: this export folder holds no model that passed its parity check; "
                         "export again")


def _is_savedmodel(p: Path) -> bool:
    return p.is_dir() and (p / "saved_model.pb").is_file()


def load_artifact(p: Path) -> Predictor:
    """Open one exported file or SavedModel folder by its kind."""
    if _is_savedmodel(p):
        return SavedModelPredictor(p)
    suffix = p.suffix.lower()
    if suffix == ".tflite":
        return TFLitePredictor(p)
    if suffix == ".onnx":
        return OnnxPredictor(p)
    if suffix == ".keras":
        return load_exported_keras(p)
    raise ModelFileError(f"{p}: not an exported model")


def load_exported_keras(p: Path) -> Predictor:
    """A .keras file; an export of a calibrated run with the temperature it carries (or,
    from earlier versions, its folder's metadata.json gives), so it answers with the
    calibrated probabilities like the other formats (its unknown score needs the reference
    images only those formats carry)."""
    from core.model.keras_archive import embedded_temperature

    t = embedded_temperature(p)
    if t is None:
        t = export_calibration(export_metadata(p.parent))[0]
    if t is not None:
        from core.trust.unknown import TrustModel

        return load_keras_predictor(p, TrustModel(temperature=float(t)))
    return load_keras_predictor(p)


def _is_run_folder(p: Path) -> bool:
    return p.is_dir() and RunFolder(p).is_run_folder()


def _load_run_folder(p: Path) -> Predictor:
    run = RunFolder(p)
    if not os.path.isfile(run.model_path):
        raise ModelFileError(no_model_text(run))
    from core.trust.store import check_reference, load_trust

    trust = load_trust(run)
    predictor = load_keras_predictor(run.model_path, trust)  # calibrated, with "unknown"
    check_reference(run, trust, getattr(predictor, "embedding_size", None))
    if _status(run) == "running":  # a resumed run's earlier model.keras answered unmarked
        predictor.caution = (f"{run.path.name} is still training: its {run.model_path.name} is "
                             "the one saved before, not the model this run will end with; "
                             "ask again when it ends")
    return predictor


def _status(run: RunFolder):
    """The run's status as the Runs page shows it ("running" only while a live process
    holds its lock); None when its run.json cannot be read."""
    from core.errors import UserError
    from core.runs.lock import shown_status

    try:
        return shown_status(run, run.run_info().status)
    except UserError:
        return None


def no_model_text(run: RunFolder) -> str:
    """Why a run folder has no model file, and the way on that its status allows: "finish
    it with train --resume" was also said of a completed run (which resume refuses) and of
    one still training."""
    name = run.model_path.name
    status = _status(run)
    if status == "running":
        return (f"{run.path}: this run is still training; its {name} is written when it "
                "ends: wait for it, or stop it first")
    if status == "completed":
        return (f"{run.path}: its {name} is missing although the run completed (deleted or "
                "moved?): put it back, or train a new run")
    return (f"{run.path}: this run has no {name} yet; finish it with Resume on the Train page "
            f"(or 'python main.py train --resume {run.path}')")


def _is_run_model(p: Path) -> bool:
    """A run folder's own model.keras: it gets the run's calibration, like the folder does."""
    run = RunFolder(p.parent)
    return p.is_file() and p.name == run.model_path.name and run.is_run_folder()


def _is_file(suffix: str):
    return lambda p: p.is_file() and p.suffix.lower() == suffix


#: (accepts, load) pairs, tried in order; the first that accepts the path opens it.
LOADERS: tuple[tuple[Callable[[Path], bool], Callable[[Path], Predictor]], ...] = (
    (_is_run_folder, _load_run_folder),
    (_is_run_model, lambda p: _load_run_folder(p.parent)),
    (_is_file(".keras"), load_exported_keras),
    (lambda p: export_metadata(p) is not None, load_export_folder),
    (_is_savedmodel, SavedModelPredictor),
    (_is_file(".tflite"), TFLitePredictor),
    (_is_file(".onnx"), OnnxPredictor),
)


def opens(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a model :func:`load_predictor` opens (by its name and a few small
    files, nothing loaded): what a file dropped on the window is taken as."""
    p = Path(path)
    try:
        return os.path.exists(p) and any(accepts(p) for accepts, _load in LOADERS)
    except OSError:  # unreadable: the loader says so when asked
        return False


def partial_run_folder_error(p: Path) -> None:
    """A folder with a run's model.keras but without its config or class names is a damaged
    run folder: say which file is missing (it was "not a model this app can open")."""
    run = RunFolder(p)
    meta = p / "metadata.json"
    if p.is_dir() and meta.is_file() and not run.config_path.exists() \
            and export_metadata(p) is None:  # it was called a run folder missing its config
        raise ModelFileError(f"{meta}: damaged, or not written by this app, so this export "
                             "folder cannot be opened; export the model again")
    if p.is_dir() and run.model_path.is_file() and not run.is_run_folder():
        missing = [f.name for f in (run.config_path, run.labels_path) if not f.exists()]
        raise ModelFileError(f"{p}: a run folder without its {' and '.join(missing)}; put the "
                             "file(s) back from a copy of the run, or open "
                             f"{run.model_path} itself (its classes then need a labels.json "
                             "or labels.txt beside it)")


def load_predictor(path: str | os.PathLike) -> Predictor:
    """Open a run folder or any model file the app can write; ModelFileError when it can't."""
    p = Path(path)
    if not os.path.exists(p):
        raise ModelFileError(f"{p}: no such file or folder; give a run folder or an exported model")
    if os.path.isdir(p) and not os.access(p, os.R_OK | os.X_OK):
        raise ModelFileError(f"{p}: this folder cannot be read (permission denied); make it "
                             "readable, or give another model")
    for accepts, load in LOADERS:
        if accepts(p):
            predictor = load(p)
            predictor.caution = predictor.caution or parity_note(p)
            if not predictor.has_unknown_score and not predictor.unknown_note:
                predictor.unknown_note = unscored_note(p)  # int8, .keras of a calibrated run
            return predictor
    partial_run_folder_error(p)
    raise ModelFileError(not_a_model(p))
