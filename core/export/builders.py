"""One builder per export format, and :data:`BUILDERS`, keyed by the format table's names.

A builder takes the export's shared :class:`Build` state and a private empty
work folder, writes its file (or folder) there and returns its path plus the
details metadata.json records.  It never touches the export folder itself:
the exporter moves the finished file into place (see ``core.export.exporter``).
Every format takes raw RGB pixels 0-255, NHWC, at the model's size;
preprocessing is inside the model.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from core.config import ExportConfig
from core.errors import UserError
from core.events import Log, emit
from core.export.source import Source, decode_records, sample_records, synthetic_images
from core.formats import BY_NAME


class Build:
    """Shared state of one export: the model, sample images, cached intermediates."""

    def __init__(self, src: Source, cfg: ExportConfig, stage: Path, listener, cancel,
                 parity_images: np.ndarray, out: Optional[Path] = None):
        self.src = src
        self.cfg = cfg
        self.stage = stage
        self.out = out or stage.parent  # the export folder, named by its messages
        self.listener = listener
        self.cancel = cancel
        self.parity_images = parity_images
        self._folded = None
        self._trusted: dict[bool, object] = {}
        self._float_savedmodels: dict[bool, Path] = {}
        self.savedmodel_ok = False

    def folded(self):
        """The BN-folded model, kept only if it matches the original within 1e-5."""
        if self._folded is None:
            from core.model.bn_fold import fold_if_equal

            sample = self.parity_images[:8] if len(self.parity_images) else \
                synthetic_images(4, self.src.image_size)
            self._folded = fold_if_equal(self.src.model, sample.astype(np.float32), atol=1e-5)
            info = self._folded[1]
            if info.get("applied"):
                emit(self.listener, Log(f"folded {info['folded_batchnorm_layers']} BatchNorm "
                                        f"layers into their convolutions ({info['layers_before']}"
                                        f" → {info['layers_after']} layers)"))
        return self._folded

    def model_for(self, fmt: str):
        """(model to convert, folding info) for ``fmt``: the BN-folded model, with the run's
        calibration and unknown score (:func:`core.trust.graph.trusted_model`) as far as the
        format table says the format carries them."""
        model, fold = self.folded()
        spec = BY_NAME[fmt]
        if self.src.trust is None or not spec.calibrated:
            return model, fold
        if spec.unknown_score not in self._trusted:
            from core.trust.graph import trusted_model

            self._trusted[spec.unknown_score] = trusted_model(model, self.src.trust,
                                                              spec.unknown_score)
        return self._trusted[spec.unknown_score], fold

    def float_savedmodel(self, fmt: str) -> Path:
        """A SavedModel of ``fmt``'s model for the TFLite converter: the exported one when it
        passed parity and has the same outputs (its serving_default is float32), else a
        float32 one written once, here."""
        key = self.src.trust is not None and BY_NAME[fmt].unknown_score
        same = key == (self.src.trust is not None and BY_NAME["savedmodel"].unknown_score)
        if self.savedmodel_ok and same:
            return self.stage / BY_NAME["savedmodel"].artifact
        if key not in self._float_savedmodels:
            tmp = Path(tempfile.mkdtemp(prefix=".tflite-src.", dir=self.stage))
            write_savedmodel(self.model_for(fmt)[0], tmp / "sm", self.src.image_size,
                             uint8=False)
            self._float_savedmodels[key] = tmp / "sm"
        return self._float_savedmodels[key]

    def cleanup(self) -> None:
        for path in self._float_savedmodels.values():
            shutil.rmtree(path.parent, ignore_errors=True)


def write_savedmodel(model, path: Path, size: int, uint8: bool = True) -> None:
    """SavedModel whose signatures take raw RGB 0-255 NHWC: float32, and uint8 if asked."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)

    def outputs(image):
        """``{"probabilities": ...}``, plus ``"unknown_score"`` for a model with a trust head."""
        out = model(image, training=False)
        return dict(out) if isinstance(out, dict) else {"probabilities": out}

    def serve_float(image):
        return outputs(image)

    archive.add_endpoint("serving_default", serve_float,
                         input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32,
                                                         name="image")])
    if uint8:
        def serve_uint8(image):
            return outputs(tf.cast(image, tf.float32))

        archive.add_endpoint("serving_uint8", serve_uint8,
                             input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8,
                                                            name="image")])
    archive.write_out(str(path), verbose=False)


def _artifact(work: Path, fmt: str) -> Path:
    return work / BY_NAME[fmt].artifact


def _build_keras(b: Build, work: Path) -> tuple[Path, dict]:
    from core.model.keras_archive import CALIBRATION_MEMBER, embed_calibration

    out = _artifact(work, "keras")
    shutil.copyfile(b.src.model_path, out)
    note = ("the run's model.keras, unchanged (BatchNorm not folded, so it can be fine-tuned "
            "further)")
    if b.src.trust is not None:  # a copy of the file alone still answers like the app
        embed_calibration(out, b.src.trust.temperature)
        note += f"; the calibration's temperature added as {CALIBRATION_MEMBER}"
    return out, {"note": note}


def output_names(b: Build, fmt: str) -> list[str]:
    """The outputs ``fmt``'s file has for this export (the unknown score when it carries it)."""
    spec = BY_NAME[fmt]
    score = b.src.trust is not None and spec.calibrated and spec.unknown_score
    return ["probabilities", "unknown_score"] if score else ["probabilities"]


def _build_savedmodel(b: Build, work: Path) -> tuple[Path, dict]:
    model, fold = b.model_for("savedmodel")
    out = _artifact(work, "savedmodel")
    write_savedmodel(model, out, b.src.image_size, uint8=True)
    (out / "labels.txt").write_text("\n".join(b.src.classes) + "\n", encoding="utf-8")
    return out, {"signatures": {"serving_default": "float32 image", "serving_uint8": "uint8 image"},
                 "output": "probabilities", "outputs": output_names(b, "savedmodel"),
                 "batchnorm_folding": fold}


def _converter(b: Build, fmt: str):
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_saved_model(str(b.float_savedmodel(fmt)),
                                                     signature_keys=["serving_default"])
    return conv, tf


def _build_tflite(b: Build, work: Path) -> tuple[Path, dict]:
    conv, _ = _converter(b, "tflite")
    out = _artifact(work, "tflite")
    out.write_bytes(_converted(conv))
    return out, {"input_dtype": "float32", "output_dtype": "float32",
                 "outputs": output_names(b, "tflite"),
                 "batchnorm_folding": "done by the TFLite converter"}


def _build_tflite_fp16(b: Build, work: Path) -> tuple[Path, dict]:
    conv, tf = _converter(b, "tflite-fp16")
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    out = _artifact(work, "tflite-fp16")
    out.write_bytes(_converted(conv))
    return out, {"input_dtype": "float32", "output_dtype": "float32",
                 "weights": "float16 (dequantized to float32 on CPU)",
                 "outputs": output_names(b, "tflite-fp16"),
                 "batchnorm_folding": "done by the TFLite converter"}


def _build_tflite_int8(b: Build, work: Path) -> tuple[Path, dict]:
    """int8 calibrated on the run's training images; with ``int8_max_float_layers`` > 0 the
    least exact layers stay float until the file agrees with the app (:mod:`core.export.int8`)."""
    records = sample_records(b.src.train_records, b.cfg.int8_calibration_images, seed=7)
    if not records:
        raise UserError("int8 calibration needs the run's own training images; export from the "
                        "run folder (with split.json and its data folder present)")
    images, _ = decode_records(records, b.src.image_size, b.listener)
    if not len(images):
        raise UserError("none of the run's training images could be read for int8 calibration; "
                        "is the data folder still where the run recorded it?")
    conv, tf = _converter(b, "tflite-int8")
    out = _artifact(work, "tflite-int8")
    selection: dict = {}
    if b.cfg.int8_max_float_layers > 0:
        from core.export.int8 import quantize_selectively

        all_int8 = _full_integer(conv, tf, images, b.cancel)
        chosen = quantize_selectively(_converter(b, "tflite-int8")[0], images,
                                      b.cfg.int8_max_float_layers, b.cfg.int8_min_agreement,
                                      listener=b.listener, cancel=b.cancel, all_int8=all_int8,
                                      correct=b.cfg.int8_bias_correction,
                                      rounding=b.cfg.int8_weight_rounding)
        out.write_bytes(chosen.content)
        selection = chosen.details()
        names = ", ".join(selection["float_layers"]) or "none"
        emit(b.listener, Log(f"tflite-int8: {len(chosen.float_layers)} layer(s) kept in float "
                             f"({names}); cost {chosen.cost_text()}; agreement on "
                             f"{chosen.check_images} training images {chosen.agreement:.1%}",
                             "info" if chosen.reached else "warning"))
    else:
        content = _full_integer(conv, tf, images, b.cancel)
        if b.cfg.int8_bias_correction or b.cfg.int8_weight_rounding:
            content, selection = _repaired(b, content, images)
        out.write_bytes(content)
    with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated" (still works)
        warnings.simplefilter("ignore")
        interp = tf.lite.Interpreter(model_path=str(out))
    inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
    return out, {"input_dtype": "uint8", "output_dtype": "uint8",
                 "outputs": output_names(b, "tflite-int8"),
                 "input_quantization": {"scale": float(inp["quantization"][0]),
                                        "zero_point": int(inp["quantization"][1])},
                 "output_quantization": {"scale": float(outp["quantization"][0]),
                                         "zero_point": int(outp["quantization"][1])},
                 "calibration_images": int(len(images)),
                 "calibration_source": "the run's training images (split.json)",
                 "selective_quantization": selection or {"float_layers": [],
                                                         "note": "every layer int8"},
                 "how_to_feed": "q = clip(round(pixel / scale + zero_point), 0, 255) as uint8; "
                                "probability = (q_out - zero_point) * scale"}


def _repaired(b: Build, content: bytes, images: np.ndarray) -> tuple[bytes, dict]:
    """The fully-integer file with its weights rounded and its biases corrected against the
    float conversion (every op stays int8), and what metadata.json says about it."""
    from core.export.int8_repair import edits_details, edits_text, repair_if_better

    reference = _converted(_converter(b, "tflite-int8")[0])
    repair = repair_if_better(content, reference, images, b.cfg.int8_weight_rounding,
                              b.cfg.int8_bias_correction, b.cancel, b.listener)
    rounded, shifted = len(repair.rounded), len(repair.shifts)
    emit(b.listener, Log(f"tflite-int8: every layer int8{edits_text(rounded, shifted)}"))
    return repair.content, {"float_layers": [], "note": "every layer int8",
                            **edits_details(rounded, shifted, len(images))}


def _full_integer(conv, tf, images: np.ndarray, cancel) -> bytes:
    """Every op int8 (TFLITE_BUILTINS_INT8), uint8 in and out: what an Edge TPU needs."""
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
    return _converted(conv)


def _converted(conv) -> bytes:
    """``conv.convert()``, without the converter's lines on stderr (:func:`converter_quiet`)."""
    from core.export.tflite_run import converter_quiet

    with converter_quiet():
        return conv.convert()


def _build_onnx(b: Build, work: Path) -> tuple[Path, dict]:
    model, fold = b.model_for("onnx")
    size = b.src.image_size
    with warnings.catch_warnings():  # Keras: "The structure of `inputs` doesn't match the
        warnings.simplefilter("ignore", UserWarning)  # expected structure" (a README review)
        model(np.zeros((1, size, size, 3), np.float32), training=False)  # export needs a call
    out = _artifact(work, "onnx")
    # tf2onnx logs a traceback when one of its optional graph optimisers gives up;
    # the graph stays valid (the parity check proves it), so keep the log quiet.
    tf2onnx_log = logging.getLogger("tf2onnx")
    level = tf2onnx_log.level
    tf2onnx_log.setLevel(logging.CRITICAL)
    try:
        import tensorflow as tf

        from core.export.onnx_graph import onnx_traceable

        spec = [tf.TensorSpec([None, size, size, 3], tf.float32, name="image")]
        with onnx_traceable(model), warnings.catch_warnings():  # (EfficientNet, ConvNeXt, ...)
            warnings.simplefilter("ignore", UserWarning)  # as above, and tf2onnx's "In the
            warnings.simplefilter("ignore", FutureWarning)  # future `np.object` will be ..."
            model.export(str(out), format="onnx", input_signature=spec, verbose=False)
    finally:
        tf2onnx_log.setLevel(level)
    import onnx

    proto = onnx.load(str(out))
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    return out, {"input_name": proto.graph.input[0].name, "input_dtype": "float32",
                 "outputs": [o.name for o in proto.graph.output], "opset": int(opset),
                 "converter": "keras Model.export(format='onnx') (tf2onnx)",
                 "batchnorm_folding": fold}


#: The builder of every format in core.formats.FORMATS (a test checks the keys match).
BUILDERS: dict[str, Callable[[Build, Path], tuple[Path, dict]]] = {
    "keras": _build_keras,
    "savedmodel": _build_savedmodel,
    "tflite": _build_tflite,
    "tflite-fp16": _build_tflite_fp16,
    "tflite-int8": _build_tflite_int8,
    "onnx": _build_onnx,
}
