"""Export a trained model to deployment formats that give the same answers as the app.

Layout of an export folder ``OUT`` (one folder, every requested format)::

    OUT/model.keras            keras        the run's model, byte for byte
    OUT/savedmodel/            savedmodel   signatures serving_default (float32)
                                            and serving_uint8 (uint8 pixels)
    OUT/model.tflite           tflite       float32
    OUT/model_fp16.tflite      tflite-fp16  float16 weights, float32 maths
    OUT/model_int8.tflite      tflite-int8  full integer, uint8 in / uint8 out
    OUT/model.onnx             onnx         float32, input "image"
    OUT/labels.txt             class names, one per line, in output order
    OUT/metadata.json          input contract, metrics, parity, size, latency
    OUT/README.txt             how to run each format without this app

Every format takes raw RGB pixels 0-255, NHWC, at the model's size (decoded,
squashed to S x S with bilinear resizing); preprocessing is inside the model.

Why the parity check exists: a converter can silently change a model (a
dropped op, a float16 overflow, a bad int8 calibration).  So after building
each format we load it with *its own* runtime in a *fresh process*
(``core/export/probe.py``, which imports nothing from the app), feed it
validation images the app decoded, and compare with the app's own answers
(:class:`core.infer.predictor.KerasPredictor` on the run's ``model.keras``).  A
format outside its bound is written but reported as FAILED parity.

Atomicity: the whole export is staged in a temporary folder beside ``OUT``
(:func:`core.fsutil.atomic_dir`) and swapped in at the end, so an existing
export is never half-overwritten; inside the stage each format is built in
its own temporary folder and moved into place only when complete, so one
failing format leaves no debris and does not stop the others.  An ``OUT``
that holds anything other than a previous export is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from core import __version__
from core.config import ExportConfig
from core.errors import ModelFileError, UserError
from core.events import CancelToken, Cancelled, FileSkipped, Log, Progress, emit
from core.fsutil import human_size

FORMATS: tuple[str, ...] = ("keras", "savedmodel", "tflite", "tflite-fp16", "tflite-int8", "onnx")

#: Where each format lands inside the export folder.
ARTIFACTS: dict[str, str] = {
    "keras": "model.keras",
    "savedmodel": "savedmodel",
    "tflite": "model.tflite",
    "tflite-fp16": "model_fp16.tflite",
    "tflite-int8": "model_int8.tflite",
    "onnx": "model.onnx",
}

#: The runtime the parity probe loads each format with.
PROBE_KIND: dict[str, str] = {"keras": "keras", "savedmodel": "savedmodel", "tflite": "tflite",
                              "tflite-fp16": "tflite", "tflite-int8": "tflite", "onnx": "onnx"}

#: Parity bounds: max |probability difference| for float formats; int8 is
#: judged on top-1 agreement and the accuracy drop instead (see _judge).
MAX_DIFF: dict[str, float] = {"keras": 1e-4, "savedmodel": 1e-4, "tflite": 1e-4, "onnx": 1e-4,
                              "tflite-fp16": 1e-2}
INT8_MIN_AGREEMENT = 0.97
INT8_MAX_ACCURACY_DROP = 0.02

METADATA_MARKER = "fine_tune_studio_export"
PROBE_SCRIPT = Path(__file__).resolve().parent / "probe.py"


# -- report ----------------------------------------------------------------


@dataclass
class FormatResult:
    """What happened to one format: ``status`` is ok, parity_failed or failed."""

    format: str
    status: str = "failed"
    path: str = ""
    size_bytes: int = 0
    latency_ms: Optional[float] = None
    parity: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class ExportReport:
    source: str
    out_dir: str
    classes: list[str]
    image_size: int
    backbone: str
    parity_images: int = 0
    parity_source: str = ""
    results: list[FormatResult] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    @property
    def failed(self) -> list[FormatResult]:
        return [r for r in self.results if not r.ok]

    def result(self, fmt: str) -> FormatResult:
        for r in self.results:
            if r.format == fmt:
                return r
        raise KeyError(fmt)

    def to_dict(self) -> dict:
        d = _finite(asdict(self))
        d["ok"] = self.ok
        return d

    def to_text(self) -> str:
        lines = [f"export of {self.source} ({self.backbone}, {self.image_size}x{self.image_size}, "
                 f"{len(self.classes)} classes)",
                 f"parity on {self.parity_images} {self.parity_source}", ""]
        lines.append(f"{'format':<12} {'status':<14} {'size':>9} {'latency':>10}  parity")
        for r in self.results:
            size = human_size(r.size_bytes) if r.size_bytes else "-"
            lat = f"{r.latency_ms:.2f} ms" if r.latency_ms is not None else "-"
            status = {"ok": "ok", "parity_failed": "FAILED parity", "failed": "FAILED"}[r.status]
            lines.append(f"{r.format:<12} {status:<14} {size:>9} {lat:>10}  {_parity_text(r)}")
        for r in self.results:
            if r.status == "failed":
                lines.append(f"  {r.format}: not exported: {r.error}")
            elif r.status == "parity_failed":
                lines.append(f"  {r.format}: written but its answers differ from the app's "
                             f"({r.parity.get('reason', '')}); do not trust it")
        lines.append("")
        if self.written:
            lines.append(f"wrote {self.out_dir}")
        else:
            lines.append(f"nothing written to {self.out_dir}: every format failed")
        return "\n".join(lines)


def _finite(obj):
    """JSON-safe copy: NaN/inf become None, numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _parity_text(r: FormatResult) -> str:
    p = r.parity
    if not p:
        return "-"
    if p.get("max_abs_diff") is None or not np.isfinite(p["max_abs_diff"]):
        return p.get("reason", "not checked")
    text = f"max diff {p['max_abs_diff']:.2g}, top-1 agreement {p['top1_agreement']:.1%}"
    if p.get("accuracy_export") is not None:
        text += (f", accuracy {p['accuracy_export']:.1%} (app {p['accuracy_app']:.1%})")
    return text


# -- inputs ------------------------------------------------------------------


def parse_formats(formats: Sequence[str] | str) -> list[str]:
    """``["tflite", "onnx"]``, ``"tflite,onnx"`` or ``"all"`` → a checked list, in FORMATS order."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    wanted: set[str] = set()
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        if name == "all":
            wanted.update(FORMATS)
        elif name in FORMATS:
            wanted.add(name)
        else:
            raise UserError(f"unknown export format {item!r}; choose from "
                            f"{', '.join(FORMATS)} or all")
    if not wanted:
        raise UserError(f"no export format given; choose from {', '.join(FORMATS)} or all")
    return [f for f in FORMATS if f in wanted]


@dataclass
class _Source:
    model_path: Path
    model: object
    classes: list[str]
    image_size: int
    backbone: str
    metrics: dict
    train_records: list
    val_records: list
    run_dir: Optional[Path]


def _open_source(path: Path) -> _Source:
    from core.model.build import backbone_name, load_model_file
    from core.infer.labels import labels_near
    from core.runs.folder import find_run_folder

    if not path.exists():
        raise ModelFileError(f"{path}: no such file or folder; give a run folder or a .keras file")
    path = path.resolve()
    run = find_run_folder(path)
    if path.is_dir():
        if run is None or not run.model_path.exists():
            raise ModelFileError(f"{path}: not a finished run folder (no model.keras); give a "
                                 "run folder or a .keras file")
        model_path = run.model_path
    elif path.suffix.lower() == ".keras":
        model_path = path
    else:
        raise ModelFileError(f"{path}: export starts from a run folder or a .keras model")
    model = load_model_file(model_path)
    n_out = int(model.outputs[0].shape[-1])
    size = int(model.inputs[0].shape[1])
    if run is not None and run.labels_path.exists() and run.model_path == model_path:
        classes = run.labels()
    else:
        classes = labels_near(model_path, n_out)
    if len(classes) != n_out:
        raise ModelFileError(f"{model_path}: the model has {n_out} outputs but the labels list "
                             f"{len(classes)} classes")
    metrics, train, val, backbone = {}, [], [], backbone_name(model)
    if run is not None and run.model_path == model_path:
        from core.data.dataset import Split

        if run.metrics_path.exists():
            metrics = run.read_json("metrics.json")
        if run.split_path.exists():
            root = None
            try:
                root = run.load_config().data.data_dir or None
            except UserError:
                pass
            split = Split.from_dict(run.read_json("split.json"), root)
            train, val = list(split.train), list(split.val)
        try:
            backbone = run.load_config().model.backbone or backbone
        except UserError:
            pass
    return _Source(model_path, model, classes, size, backbone, metrics, train, val,
                   run.path if run is not None else None)


def _sample(records: list, n: int, seed: int) -> list:
    """A seeded, class-stratified sample of ``n`` records (all when there are fewer)."""
    if n <= 0 or len(records) <= n:
        return list(records)
    rng = np.random.default_rng(seed)
    by_class: dict[int, list] = {}
    for r in records:
        by_class.setdefault(r.label, []).append(r)
    for group in by_class.values():
        rng.shuffle(group)
    # Round-robin over classes keeps every class represented.
    out: list = []
    while len(out) < n:
        for group in by_class.values():
            if group and len(out) < n:
                out.append(group.pop())
    return out


def _decode(records: list, size: int, listener) -> tuple[np.ndarray, np.ndarray]:
    from core.data.imageio import ImageError, load_rgb

    images, labels = [], []
    for r in records:
        try:
            images.append(load_rgb(r.path, size))
            labels.append(r.label)
        except (ImageError, OSError) as exc:
            emit(listener, FileSkipped(r.path, str(getattr(exc, "reason", exc)), "export"))
    if not images:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros((0,), np.int64)
    return np.stack(images), np.asarray(labels, np.int64)


def _synthetic_images(n: int, size: int) -> np.ndarray:
    """Deterministic varied images (gradients + noise) when no validation images exist."""
    rng = np.random.default_rng(1234)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    out = []
    for i in range(n):
        base = rng.uniform(0, 255, 3).astype(np.float32)
        grad = ramp[None, :, None] if i % 2 else ramp[:, None, None]
        img = 0.5 * base + 0.3 * grad + rng.normal(0, 40, (size, size, 3))
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(out)


# -- builders ------------------------------------------------------------------


class _Build:
    """Shared state of one export: the model, sample images, cached intermediates."""

    def __init__(self, src: _Source, cfg: ExportConfig, stage: Path, listener, cancel,
                 parity_images: np.ndarray):
        self.src = src
        self.cfg = cfg
        self.stage = stage
        self.listener = listener
        self.cancel = cancel
        self.parity_images = parity_images
        self._folded = None
        self._float_savedmodel: Optional[Path] = None
        self.savedmodel_ok = False

    def folded(self):
        """The BN-folded model, kept only if it matches the original within 1e-5."""
        if self._folded is None:
            from core.model.bn_fold import fold_if_equal

            sample = self.parity_images[:8] if len(self.parity_images) else \
                _synthetic_images(4, self.src.image_size)
            self._folded = fold_if_equal(self.src.model, sample.astype(np.float32), atol=1e-5)
            info = self._folded[1]
            if info.get("applied"):
                emit(self.listener, Log(f"folded {info['folded_batchnorm_layers']} BatchNorm "
                                        f"layers into their convolutions ({info['layers_before']}"
                                        f" → {info['layers_after']} layers)"))
        return self._folded

    def float_savedmodel(self) -> Path:
        """A SavedModel for the TFLite converter: the exported one when it passed parity
        (its serving_default is float32), else a float32 one written once, here."""
        if self._float_savedmodel is None:
            if self.savedmodel_ok:
                return self.stage / ARTIFACTS["savedmodel"]
            tmp = Path(tempfile.mkdtemp(prefix=".tflite-src.", dir=self.stage))
            _write_savedmodel(self.src.model, tmp / "sm", self.src.image_size, uint8=False)
            self._float_savedmodel = tmp / "sm"
        return self._float_savedmodel

    def cleanup(self) -> None:
        if self._float_savedmodel is not None:
            shutil.rmtree(self._float_savedmodel.parent, ignore_errors=True)


def _write_savedmodel(model, path: Path, size: int, uint8: bool = True) -> None:
    """SavedModel whose signatures take raw RGB 0-255 NHWC: float32, and uint8 if asked."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve_float(image):
        return {"probabilities": model(image, training=False)}

    archive.add_endpoint("serving_default", serve_float,
                         input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32,
                                                         name="image")])
    if uint8:
        def serve_uint8(image):
            return {"probabilities": model(tf.cast(image, tf.float32), training=False)}

        archive.add_endpoint("serving_uint8", serve_uint8,
                             input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8,
                                                            name="image")])
    archive.write_out(str(path), verbose=False)


def _build_keras(b: _Build, work: Path) -> tuple[Path, dict]:
    out = work / ARTIFACTS["keras"]
    shutil.copyfile(b.src.model_path, out)
    return out, {"note": "the run's model.keras, unchanged (BatchNorm not folded, so it can be "
                         "fine-tuned further)"}


def _build_savedmodel(b: _Build, work: Path) -> tuple[Path, dict]:
    model, fold = b.folded()
    out = work / ARTIFACTS["savedmodel"]
    _write_savedmodel(model, out, b.src.image_size, uint8=True)
    (out / "labels.txt").write_text("\n".join(b.src.classes) + "\n", encoding="utf-8")
    return out, {"signatures": {"serving_default": "float32 image", "serving_uint8": "uint8 image"},
                 "output": "probabilities", "batchnorm_folding": fold}


def _converter(b: _Build):
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_saved_model(str(b.float_savedmodel()),
                                                     signature_keys=["serving_default"])
    return conv, tf


def _build_tflite(b: _Build, work: Path) -> tuple[Path, dict]:
    conv, _ = _converter(b)
    out = work / ARTIFACTS["tflite"]
    out.write_bytes(conv.convert())
    return out, {"input_dtype": "float32", "output_dtype": "float32",
                 "batchnorm_folding": "done by the TFLite converter"}


def _build_tflite_fp16(b: _Build, work: Path) -> tuple[Path, dict]:
    conv, tf = _converter(b)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    out = work / ARTIFACTS["tflite-fp16"]
    out.write_bytes(conv.convert())
    return out, {"input_dtype": "float32", "output_dtype": "float32",
                 "weights": "float16 (dequantized to float32 on CPU)",
                 "batchnorm_folding": "done by the TFLite converter"}


def _build_tflite_int8(b: _Build, work: Path) -> tuple[Path, dict]:
    records = _sample(b.src.train_records, b.cfg.int8_calibration_images, seed=7)
    if not records:
        raise UserError("int8 calibration needs the run's own training images; export from the "
                        "run folder (with split.json and its data folder present)")
    images, _ = _decode(records, b.src.image_size, b.listener)
    if not len(images):
        raise UserError("none of the run's training images could be read for int8 calibration; "
                        "is the data folder still where the run recorded it?")
    conv, tf = _converter(b)
    cancel = b.cancel

    def representative():
        for img in images:
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield [img[None].astype(np.float32)]

    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.uint8
    out = work / ARTIFACTS["tflite-int8"]
    out.write_bytes(conv.convert())
    with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated" (still works)
        warnings.simplefilter("ignore")
        interp = tf.lite.Interpreter(model_path=str(out))
    inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
    return out, {"input_dtype": "uint8", "output_dtype": "uint8",
                 "input_quantization": {"scale": float(inp["quantization"][0]),
                                        "zero_point": int(inp["quantization"][1])},
                 "output_quantization": {"scale": float(outp["quantization"][0]),
                                         "zero_point": int(outp["quantization"][1])},
                 "calibration_images": int(len(images)),
                 "calibration_source": "the run's training images (split.json)",
                 "how_to_feed": "q = clip(round(pixel / scale + zero_point), 0, 255) as uint8; "
                                "probability = (q_out - zero_point) * scale"}


def _build_onnx(b: _Build, work: Path) -> tuple[Path, dict]:
    import logging

    model, fold = b.folded()
    size = b.src.image_size
    model(np.zeros((1, size, size, 3), np.float32), training=False)  # export needs a called model
    out = work / ARTIFACTS["onnx"]
    # tf2onnx logs a traceback when one of its optional graph optimisers gives up;
    # the graph stays valid (the parity check proves it), so keep the log quiet.
    tf2onnx_log = logging.getLogger("tf2onnx")
    level = tf2onnx_log.level
    tf2onnx_log.setLevel(logging.CRITICAL)
    try:
        import tensorflow as tf

        spec = [tf.TensorSpec([None, size, size, 3], tf.float32, name="image")]
        model.export(str(out), format="onnx", input_signature=spec, verbose=False)
    finally:
        tf2onnx_log.setLevel(level)
    import onnx

    proto = onnx.load(str(out))
    return out, {"input_name": proto.graph.input[0].name, "input_dtype": "float32",
                 "opset": int(next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
                                   0)),
                 "converter": "keras Model.export(format='onnx') (tf2onnx)",
                 "batchnorm_folding": fold}


BUILDERS: dict[str, Callable[[_Build, Path], tuple[Path, dict]]] = {
    "keras": _build_keras,
    "savedmodel": _build_savedmodel,
    "tflite": _build_tflite,
    "tflite-fp16": _build_tflite_fp16,
    "tflite-int8": _build_tflite_int8,
    "onnx": _build_onnx,
}


# -- parity ----------------------------------------------------------------------


def run_probe(kind: str, artifact: Path, images: np.ndarray, latency_runs: int = 20,
              timeout: float = 600, cancel: Optional[CancelToken] = None
              ) -> tuple[dict[str, np.ndarray], dict]:
    """Run ``core/export/probe.py`` in a fresh Python; return its arrays and info.

    The child is killed at once when ``cancel`` is set (raising :class:`Cancelled`)
    or after ``timeout`` seconds (raising ``RuntimeError``).
    """
    with tempfile.TemporaryDirectory(prefix="fts-probe-") as tmp:
        img_path = os.path.join(tmp, "images.npy")
        np.save(img_path, np.ascontiguousarray(images, dtype=np.uint8))
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        cmd = [sys.executable, str(PROBE_SCRIPT), kind, str(artifact), img_path, tmp,
               "--latency-runs", str(latency_runs)]
        log_path = os.path.join(tmp, "probe.log")
        with open(log_path, "w+", encoding="utf-8", errors="replace") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
            deadline = time.monotonic() + timeout
            try:
                while True:
                    try:
                        proc.wait(timeout=0.2)
                        break
                    except subprocess.TimeoutExpired:
                        if cancel is not None and cancel.cancelled:
                            raise Cancelled("cancelled by the user") from None
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"{kind} runtime did not finish within "
                                               f"{timeout:.0f} s") from None
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            log.seek(0)
            output = log.read()
        if proc.returncode != 0:
            tail = output.strip().splitlines()[-5:]
            raise RuntimeError(f"{kind} runtime could not run the file: " + " | ".join(tail))
        info = json.loads(Path(tmp, "probe.json").read_text(encoding="utf-8"))
        arrays = {name[:-4]: np.load(os.path.join(tmp, name))
                  for name in os.listdir(tmp) if name.startswith("probs") and name.endswith(".npy")}
    return arrays, info


def _judge(fmt: str, ref: np.ndarray, arrays: dict[str, np.ndarray],
           labels: Optional[np.ndarray]) -> dict:
    """Compare the runtime's probabilities with the app's; decide pass/fail."""
    worst_diff, worst_agree = 0.0, 1.0
    for name, probs in arrays.items():
        if probs.shape != ref.shape:
            return {"passed": False, "reason": f"{name}: output shape {probs.shape}, "
                    f"expected {ref.shape}", "max_abs_diff": float("inf"), "top1_agreement": 0.0,
                    "n_images": int(len(ref))}
        diff = float(np.max(np.abs(probs - ref))) if len(ref) else 0.0
        agree = float(np.mean(probs.argmax(1) == ref.argmax(1))) if len(ref) else 1.0
        worst_diff, worst_agree = max(worst_diff, diff), min(worst_agree, agree)
    probs = arrays["probs"]
    result: dict = {"n_images": int(len(ref)), "max_abs_diff": worst_diff,
                    "top1_agreement": worst_agree}
    if labels is not None and len(labels) == len(ref) and len(ref):
        result["accuracy_app"] = float(np.mean(ref.argmax(1) == labels))
        result["accuracy_export"] = float(np.mean(probs.argmax(1) == labels))
        result["accuracy_drop"] = result["accuracy_app"] - result["accuracy_export"]
    if fmt == "tflite-int8":
        result["bound"] = (f"top-1 agreement >= {INT8_MIN_AGREEMENT:.0%} and accuracy drop <= "
                           f"{INT8_MAX_ACCURACY_DROP * 100:.0f} points")
        passed = worst_agree >= INT8_MIN_AGREEMENT
        reasons = [] if passed else [f"top-1 agreement {worst_agree:.1%} < "
                                     f"{INT8_MIN_AGREEMENT:.0%}"]
        if "accuracy_drop" in result and result["accuracy_drop"] > INT8_MAX_ACCURACY_DROP + 1e-9:
            passed = False
            reasons.append(f"accuracy drops {result['accuracy_drop'] * 100:.1f} points")
    else:
        # float16 is judged on the difference alone: within 1e-2 a top-1 flip can only
        # happen between two near-tied classes, where either answer is as good.
        bound = MAX_DIFF[fmt]
        need_all_top1 = fmt != "tflite-fp16"
        result["bound"] = f"max abs difference <= {bound:g}" + \
            (" and 100% top-1 agreement" if need_all_top1 else "")
        passed = worst_diff <= bound and (worst_agree == 1.0 or not need_all_top1)
        reasons = []
        if not worst_diff <= bound:
            reasons.append(f"max difference {worst_diff:.3g} > {bound:g}")
        if need_all_top1 and worst_agree < 1.0:
            reasons.append(f"top-1 agreement {worst_agree:.1%}")
    result["passed"] = bool(passed)
    if reasons:
        result["reason"] = "; ".join(reasons)
    return result


# -- writing the folder -------------------------------------------------------------


def _check_out_dir(out: Path, src: _Source) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a folder for the export")
    if out.is_dir() and any(out.iterdir()):
        meta = out / "metadata.json"
        ours = False
        if meta.is_file():
            try:
                ours = METADATA_MARKER in json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                ours = False
        if not ours:
            raise UserError(f"{out} already holds files that are not a Fine-Tune Studio export; "
                            "choose an empty or new folder")
    resolved = out.resolve()
    for p in (src.model_path.resolve(), src.run_dir.resolve() if src.run_dir else None):
        if p is not None and (p == resolved or resolved in p.parents):
            raise UserError(f"{out}: the export folder cannot be (or contain) the model being "
                            "exported; choose another folder")


def _metadata(src: _Source, report: ExportReport, export_cfg: ExportConfig) -> dict:
    metrics = {}
    if src.metrics:
        for k in ("accuracy", "macro_f1", "n_images", "per_class"):
            if k in src.metrics:
                metrics[k] = src.metrics[k]
    return {
        METADATA_MARKER: True,
        "app_version": __version__,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "source": str(src.model_path),
        "backbone": src.backbone,
        "classes": list(src.classes),
        "input": {"shape": [None, src.image_size, src.image_size, 3], "layout": "NHWC",
                  "height": src.image_size, "width": src.image_size, "channel_order": "RGB",
                  "value_range": [0, 255], "preprocessing_inside": True,
                  "resize": "squash to size x size, bilinear (aspect ratio not kept)",
                  "dtype": "float32 (savedmodel also uint8 via serving_uint8; tflite-int8 uint8)"},
        "output": {"name": "probabilities", "shape": [None, len(src.classes)],
                   "meaning": "softmax probabilities in labels.txt order"},
        "training_metrics": metrics,
        "parity": {"images": report.parity_images, "source": report.parity_source,
                   "reference": "the app's prediction (KerasPredictor on the run's model.keras)",
                   "runtime": "each format's own runtime in a fresh process"},
        "export_config": {"int8_calibration_images": export_cfg.int8_calibration_images,
                          "parity_images": export_cfg.parity_images},
        "formats": {r.format: {"file": ARTIFACTS[r.format] if r.status != "failed" else None,
                               "status": r.status, "trust": r.ok,
                               "size_bytes": r.size_bytes, "latency_ms_cpu_1_image": r.latency_ms,
                               "parity": r.parity, "details": r.details, "error": r.error,
                               "seconds_to_export": r.seconds}
                    for r in report.results},
    }


README_TEMPLATE = """\
{title}
{underline}

Image classifier exported by Fine-Tune Studio {version} on {date}.
Backbone {backbone}; classes (labels.txt, output order): {classes}.

Input contract (every format): one RGB image, decoded, EXIF-rotated, squashed to
{size} x {size} pixels with bilinear resizing (aspect ratio NOT kept), raw pixel
values 0-255, shape (1, {size}, {size}, 3) NHWC.  Do NOT normalise: preprocessing
is inside the model.  Output: {n} softmax probabilities in labels.txt order.

Files: {files}
metadata.json holds the parity check (answers compared with the app's on
validation images), file sizes and single-image CPU latencies.

Common decoding (Pillow + NumPy):

    import numpy as np
    from PIL import Image, ImageOps
    labels = open("labels.txt", encoding="utf-8").read().splitlines()
    img = ImageOps.exif_transpose(Image.open("photo.jpg")).convert("RGB")
    x = np.asarray(img.resize(({size}, {size}), Image.BILINEAR), np.float32)[None]

TensorFlow, SavedModel (savedmodel/):

    import tensorflow as tf
    m = tf.saved_model.load("savedmodel")
    p = m.signatures["serving_default"](image=tf.constant(x))["probabilities"].numpy()[0]
    # uint8 pixels: m.signatures["serving_uint8"](image=tf.constant(x.astype("uint8")))
    print(labels[p.argmax()], p.max())

Keras (model.keras):

    import keras
    m = keras.saving.load_model("model.keras")
    p = m.predict(x)[0]; print(labels[p.argmax()], p.max())

TFLite (model.tflite, model_fp16.tflite: float32 input; model_int8.tflite: uint8):

    import tensorflow as tf   # or: from ai_edge_litert.interpreter import Interpreter
    it = tf.lite.Interpreter(model_path="model.tflite"); it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    xin = x
    if i["dtype"] != np.float32:          # int8 model: quantize the pixels
        s, z = i["quantization"]; xin = np.clip(np.round(x / s + z), 0, 255).astype(i["dtype"])
    it.set_tensor(i["index"], xin); it.invoke()
    p = it.get_tensor(o["index"])[0].astype(np.float32)
    if o["dtype"] != np.float32:
        s, z = o["quantization"]; p = (p - z) * s
    print(labels[p.argmax()], p.max())

onnxruntime (model.onnx):

    import onnxruntime as ort
    s = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    p = s.run(None, {{s.get_inputs()[0].name: x}})[0][0]
    print(labels[p.argmax()], p.max())
"""


def _readme(src: _Source, report: ExportReport, date: str) -> str:
    title = f"{src.backbone} classifier ({len(src.classes)} classes)"
    files = ", ".join(ARTIFACTS[r.format] for r in report.results if r.status != "failed")
    return README_TEMPLATE.format(title=title, underline="=" * len(title), version=__version__,
                                  date=date, backbone=src.backbone, classes=", ".join(src.classes),
                                  size=src.image_size, n=len(src.classes), files=files)


def _default_dir_mode(parent: Path) -> int:
    """The mode a plain ``mkdir`` gets here (honours the umask without changing it)."""
    probe = Path(tempfile.mktemp(prefix=".mode-probe.", dir=parent))
    try:
        os.mkdir(probe)
        return probe.stat().st_mode & 0o777
    except OSError:
        return 0o755
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def _size_of(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


class _NothingWritten(Exception):
    """Raised inside the staging block to discard it when every format failed."""


def export_model(model_path_or_run_dir: str | os.PathLike, formats: Sequence[str] | str,
                 out_dir: str | os.PathLike, export_cfg: Optional[ExportConfig] = None,
                 listener=None, cancel: Optional[CancelToken] = None,
                 latency_runs: int = 20) -> ExportReport:
    """Export a run folder's (or a .keras file's) model to ``formats`` in ``out_dir``.

    Returns the :class:`ExportReport`; a format that fails to build or to load
    in its runtime is recorded there and the others still complete.  Raises
    :class:`UserError` for unknown formats, a missing model or an unusable
    ``out_dir``; :class:`Cancelled` leaves any previous export untouched.
    """
    export_cfg = export_cfg or ExportConfig()
    cancel = cancel or CancelToken()
    fmts = parse_formats(formats)
    if not str(out_dir).strip():
        raise UserError("no output folder given for the export (--out)")
    src = _open_source(Path(model_path_or_run_dir).expanduser())
    out = Path(out_dir).expanduser()
    _check_out_dir(out, src)

    from core.fsutil import atomic_dir
    from core.infer.predictor import KerasPredictor

    # The app's answers on validation images are the reference for every format.
    val = _sample(src.val_records, export_cfg.parity_images, seed=11)
    images, labels = _decode(val, src.image_size, listener)
    if len(images):
        parity_source = "validation images of the run"
        parity_labels: Optional[np.ndarray] = labels
    else:
        images = _synthetic_images(max(4, export_cfg.parity_images), src.image_size)
        parity_source = "synthetic images (no validation images found beside the model)"
        parity_labels = None
        emit(listener, Log("no validation images: checking parity on synthetic images",
                           "warning"))
    reference = KerasPredictor(src.model, src.classes, str(src.model_path)).predict_arrays(images)

    report = ExportReport(str(src.model_path), str(out), list(src.classes), src.image_size,
                          src.backbone, int(len(images)), parity_source)
    try:
        with atomic_dir(out) as stage:
            # mkdtemp made the stage private (0700); an export is meant to be shared.
            os.chmod(stage, _default_dir_mode(stage.parent))
            build = _Build(src, export_cfg, stage, listener, cancel, images)
            try:
                for i, fmt in enumerate(fmts):
                    cancel.raise_if_cancelled()
                    emit(listener, Progress(i, len(fmts), f"exporting {fmt}"))
                    res = _export_one(fmt, build, images, reference, parity_labels,
                                      latency_runs)
                    report.results.append(res)
                    build.savedmodel_ok = build.savedmodel_ok or (fmt == "savedmodel" and res.ok)
                    cancel.raise_if_cancelled()
            finally:
                build.cleanup()
            emit(listener, Progress(len(fmts), len(fmts), "export finished"))
            if not any(r.status != "failed" for r in report.results):
                raise _NothingWritten()
            date = time.strftime("%Y-%m-%d %H:%M")
            (stage / "labels.txt").write_text("\n".join(src.classes) + "\n", encoding="utf-8")
            (stage / "README.txt").write_text(_readme(src, report, date), encoding="utf-8")
            report.written = True
            (stage / "metadata.json").write_text(
                json.dumps(_finite(_metadata(src, report, export_cfg)), indent=2,
                           ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    except _NothingWritten:
        report.written = False
    for r in report.results:
        if r.status != "failed":
            r.path = str(out / ARTIFACTS[r.format])
    if report.written:
        _record_in_history(src, report, listener)
    return report


def _record_in_history(src: _Source, report: ExportReport, listener) -> None:
    """List each exported format under its run in the run history (run-folder sources only).

    The export folder is already complete here, so a history problem (a locked
    or unwritable database) is a warning, never a failed export -- the same
    rule as :func:`core.runs.history.record_run_safely` for training.
    """
    from core.runs.folder import RunFolder

    if src.run_dir is None:
        return  # a loose .keras file has no run to list the export under
    if src.model_path.resolve() != RunFolder(src.run_dir).model_path.resolve():
        return  # another .keras kept in a run folder is not that run's model
    try:
        from core.runs.history import RunHistory

        history = RunHistory()
        for r in report.results:
            if r.status == "failed":
                continue
            history.record_export(src.run_dir, r.format, Path(r.path).resolve(), r.size_bytes,
                                  _finite({"status": r.status, "trusted": r.ok,
                                           "export_dir": str(Path(report.out_dir).resolve()),
                                           "latency_ms": r.latency_ms, "parity": r.parity}))
    except Exception as exc:  # noqa: BLE001 - the export itself succeeded, see above
        emit(listener, Log(f"the run history could not record this export ({exc}); the export "
                           f"in {report.out_dir} is complete", "warning"))


def _export_one(fmt: str, build: _Build, images: np.ndarray, reference: np.ndarray,
                labels: Optional[np.ndarray], latency_runs: int) -> FormatResult:
    """Build one format in its own temporary folder, move it into the stage, check parity."""
    listener = build.listener
    result = FormatResult(fmt)
    t0 = time.time()
    work = Path(tempfile.mkdtemp(prefix=f".{fmt}.", suffix=".partial", dir=build.stage))
    try:
        emit(listener, Log(f"{fmt}: building"))
        artifact, details = BUILDERS[fmt](build, work)
        final = build.stage / ARTIFACTS[fmt]
        os.replace(artifact, final)
        result.details = details
        result.size_bytes = _size_of(final)
        emit(listener, Log(f"{fmt}: checking parity in a fresh {PROBE_KIND[fmt]} process"))
        try:
            arrays, info = run_probe(PROBE_KIND[fmt], final, images, latency_runs,
                                     cancel=build.cancel)
        except RuntimeError as exc:
            result.status = "parity_failed"
            result.parity = {"passed": False, "reason": f"could not be run: {exc}",
                             "max_abs_diff": float("inf"), "top1_agreement": 0.0,
                             "n_images": int(len(images))}
            result.error = str(exc)
        else:
            result.latency_ms = float(info.pop("latency_ms"))
            result.details["runtime"] = info
            result.parity = _judge(fmt, reference, arrays, labels)
            result.status = "ok" if result.parity["passed"] else "parity_failed"
        level = "info" if result.ok else "warning"
        emit(listener, Log(f"{fmt}: {'ok' if result.ok else 'FAILED parity'}: "
                           f"{_parity_text(result)}", level))
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:  # one broken format must not stop the others
        result.status = "failed"
        from core.fsutil import _disk_full

        exc = _disk_full(build.stage.parent, exc)  # ENOSPC: say "the disk is full" plainly
        text = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        lines = text.strip().splitlines()
        result.error = lines[0][:500] if lines else type(exc).__name__
        emit(listener, Log(f"{fmt}: export failed: {result.error}", "error"))
        final = build.stage / ARTIFACTS[fmt]
        if final.is_dir():
            shutil.rmtree(final, ignore_errors=True)
        elif final.exists():
            final.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        result.seconds = round(time.time() - t0, 2)
    return result
