"""int8 TFLite that agrees with the app: one calibration, then selective quantization.

Why: a fine-tuned MobileNetV2 quantized fully to int8 changes its top answer on
many images where the app's two best classes are close (on a real 8-class run,
three images in ten), although its accuracy barely moves.  Most of that error
comes from a few layers.  TensorFlow Lite's quantization debugger
(``tf.lite.experimental.QuantizationDebugger``) calibrates the model once on the
run's training images and measures every layer's quantization error (RMSE in
units of the layer's own quantization step).  The layers are then kept in
float, worst first and in growing groups (1, 2, 4, 8, ...), until the int8 file
gives the app's top answer on the check images (the calibration images
themselves: the validation images stay an independent judge for the parity
check) at least ``min_agreement`` of the time, or ``max_float`` layers are float.
A step is kept only when it agrees on clearly more images than the best before it
(the first step is the converter's own all-int8 file).
Every other layer stays int8 with per-channel weights, so the file stays small
and mostly integer; inputs and outputs stay uint8 as before.  Before a candidate is
judged, its weights are rounded for each layer's output (:mod:`core.export.weight_rounding`)
and its biases corrected for the shift 8-bit rounding gives each layer's mean output
(:mod:`core.export.bias_correction`), both through :mod:`core.export.int8_repair`: that,
more than any layer kept float, is what brings the file's answers back to the app's.

Only ``denylisted_nodes`` and the calibrated model come from the debugger; the
quantization itself is TFLite's ``mlir_quantize`` (what the debugger's
``get_nondebug_quantized_model`` calls), asked for uint8 input and output.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from core.events import Log, emit
from core.export.int8_repair import Repair, edits_details, edits_text, repair_if_better
from core.export.tflite_run import converter_quiet, latency_ms, run_tflite

#: Images the debugger runs to rank the layers (each runs the model twice, float and int8).
DEBUG_IMAGES = 32


@dataclass
class Int8Result:
    """The chosen file and how it was chosen (metadata.json records :meth:`details`)."""

    content: bytes
    float_layers: list[str] = field(default_factory=list)
    agreement: float = 1.0  # on the check images
    check_images: int = 0
    tried: list[dict] = field(default_factory=list)  # {"float_layers": k, "agreement": a}
    reached: bool = True
    ranked: list[str] = field(default_factory=list)  # every layer, least exact first
    integer_bytes: int = 0  # the same model with no layer in float
    integer_ms: float = 0.0  # its single-image latency, and this file's, measured alike
    latency_ms: float = 0.0
    corrected_layers: int = 0  # layers whose bias was corrected (core.export.bias_correction)
    rounded_layers: int = 0  # layers whose weights were rounded (core.export.weight_rounding)

    def cost_text(self) -> str:
        """``+312 KB (+11%), latency 9.1 -> 10.4 ms``: what the float layers cost."""
        extra = len(self.content) - self.integer_bytes
        share = extra / self.integer_bytes if self.integer_bytes else 0.0
        return (f"{extra / 1000:+,.0f} KB ({share:+.0%}), single-image latency "
                f"{self.integer_ms:.1f} -> {self.latency_ms:.1f} ms (1 thread)")

    def details(self) -> dict:
        return {"float_layers": short_names(self.float_layers),
                "float_layer_nodes": list(self.float_layers),
                "check_agreement": round(self.agreement, 4),
                "check_images": self.check_images,
                "check_source": "the calibration images (training images)",
                "selection": self.tried, "target_reached": self.reached,
                "least_exact_layers": short_names(self.ranked[:10]),
                "fully_integer_size_bytes": self.integer_bytes,
                "fully_integer_latency_ms": round(self.integer_ms, 3),
                "latency_ms_in_export": round(self.latency_ms, 3),
                "weights": "int8 per channel" + (", float in the float layers"
                                                 if self.float_layers else ""),
                **edits_details(self.rounded_layers, self.corrected_layers,
                                self.check_images)}


def short_name(node: str) -> str:
    """``backbone_1/block_13_project_1/BiasAdd;...`` -> ``backbone_1/block_13_project_1``:
    the layer a fused TFLite op came from, without the model's name and the op."""
    first = node.split(";")[0]
    parts = first.split("/")
    if len(parts) >= 3:
        parts = parts[1:-1]
    return "/".join(parts) or first


def short_names(nodes: Sequence[str]) -> list[str]:
    """:func:`short_name` of each node, with the op added where two nodes share a layer
    (the calibration's ``Log`` and ``truediv`` are both ``trust_1``): ``trust_1 (Log)``."""
    names = [short_name(n) for n in nodes]
    out = []
    for node, name in zip(nodes, names):
        if names.count(name) > 1:
            op = node.split(";")[0].rsplit("/", 1)[-1]
            name = f"{name} ({op})" if op and op != name else name
        out.append(name)
    return out


def rank_layers(debugger) -> list[str]:
    """The debugger's layers, largest quantization error (RMSE / scale) first."""
    buf = io.StringIO()
    debugger.layer_statistics_dump(buf)
    buf.seek(0)
    scored = []
    for row in csv.DictReader(buf):
        try:
            scale = float(row["scale"])
            err = math.sqrt(float(row["mean_squared_error"])) / scale if scale > 0 else 0.0
        except (KeyError, ValueError):
            continue
        scored.append((err if math.isfinite(err) else float("inf"), row["tensor_name"]))
    scored.sort(key=lambda t: -t[0])
    return [name for _, name in scored]


def clear_gain(hits: np.ndarray, best: np.ndarray) -> bool:
    """Whether a file that answers like the app on ``hits`` (one bool per check image) does
    clearly better than the best so far (``best``): by two images, 1% of them, and two
    standard errors of a sign test on the images where the two files differ.  Float layers
    cost size and speed; after the bias correction a step often gains two images on the
    check images and loses as many on others (measured on a real 4-class run: 95.5% against
    94.5% on the calibration images, 96.9% against 97.5% on the held-out ones)."""
    wins, losses = int(np.sum(hits & ~best)), int(np.sum(~hits & best))
    return wins - losses >= max(2.0, 0.01 * len(hits), 2 * math.sqrt(wins + losses))


def _steps(limit: int) -> list[int]:
    """How many layers to try in float: 0, 1, 2, 4, ... up to ``limit`` (always included)."""
    steps, k = [0], 1
    while k < limit:
        steps.append(k)
        k *= 2
    if limit > 0:
        steps.append(limit)
    return steps


def _calibrate(converter, images: np.ndarray, denylist: Sequence[str],
               cancel, listener=None) -> tuple[bytes, list[str]]:
    """The calibrated model (float, with each tensor's range) and its layers, least exact
    first (the debugger's ranking on :data:`DEBUG_IMAGES` images).

    The debugger runs a copy of the int8 model with a check after every op, and that
    check stops the run when an op's int8 output is further from the float one than its
    tolerance (on a real 4-class run: ``RuntimeError: std: 0.003393, ... max_diff:
    0.005798``).  The calibration is done by then, so the export goes on with no layer
    ranked: every layer stays int8 and the log says why."""
    import tensorflow as tf

    def dataset(n: Optional[int] = None):
        def gen():
            for img in images[:n]:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                yield [img[None].astype(np.float32)]
        return gen

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset()
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_nodes=list(denylist) or None)
    with converter_quiet():  # it converts when made, and runs an interpreter
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=dataset(DEBUG_IMAGES), debug_options=options)
    try:
        with converter_quiet():
            debugger.run()
    except RuntimeError as exc:
        emit(listener, Log(f"tflite-int8: TensorFlow Lite's quantization debugger could not "
                           f"rank the layers ({str(exc).strip()[:200]}); no layer is kept "
                           f"in float", "warning"))
        return debugger.calibrated_model, []
    ranked = [n for n in rank_layers(debugger) if n not in set(denylist)]
    return debugger.calibrated_model, ranked


def quantize_selectively(converter, images: np.ndarray, max_float: int, min_agreement: float,
                         denylist: Sequence[str] = (), listener=None, cancel=None,
                         all_int8: Optional[bytes] = None, correct: bool = True,
                         rounding: bool = True) -> Int8Result:
    """Calibrate ``converter``'s model on ``images`` (uint8 NHWC) and quantize it to int8,
    keeping in float the ``denylist`` nodes and as few of the worst layers (at most
    ``max_float``) as it takes to agree with the float model on ``min_agreement`` of
    ``images``.  The best file tried is returned even when the target is not reached.

    ``all_int8`` (the converter's own full-integer file, without a denylist) is the
    first candidate instead of the debugger's: on some models it agrees better, and a
    float layer is kept only when it beats that file.  With ``rounding`` each candidate's
    weights are rounded for their layer's output (:mod:`core.export.weight_rounding`), and
    with ``correct`` its biases are then corrected (:mod:`core.export.bias_correction`):
    the all-int8 file's layer by layer, the others' with the values measured on it
    (:mod:`core.export.int8_repair`)."""
    import tensorflow as tf
    from tensorflow.lite.python import convert

    calibrated, ranked = _calibrate(converter, images, denylist, cancel, listener)
    reference = run_tflite(calibrated, images).argmax(1)  # the float model's answers

    def build(nodes: list[str]) -> bytes:
        with converter_quiet():
            return convert.mlir_quantize(calibrated, disable_per_channel=False,
                                         fully_quantize=False, input_data_type=tf.uint8,
                                         output_data_type=tf.uint8,
                                         denylisted_nodes=nodes or None,
                                         disable_per_channel_for_dense_layers=False)

    best: Optional[Int8Result] = None
    best_hits = np.zeros(0, bool)
    repair = Repair(b"")
    tried: list[dict] = []
    for k in _steps(min(max_float, len(ranked))):
        if cancel is not None:
            cancel.raise_if_cancelled()
        nodes = list(denylist) + ranked[:k]
        content = all_int8 if all_int8 is not None and not nodes else build(nodes)
        if not tried:
            integer = content
            repair = repair_if_better(content, calibrated, images, rounding, correct, cancel,
                                      listener)
            content, rounded, corrected = repair.content, len(repair.rounded), len(repair.shifts)
        else:
            content, rounded, corrected = repair.apply_to(content)
        hits = run_tflite(content, images).argmax(1) == reference
        agree = float(np.mean(hits))
        tried.append({"float_layers": len(nodes), "agreement": round(agree, 4)})
        emit(listener, Log(f"tflite-int8: {len(nodes)} layer(s) in float"
                           f"{edits_text(rounded, corrected)}: the int8 file gives the app's top "
                           f"answer on {agree:.1%} of {len(images)} training images"))
        if best is None or clear_gain(hits, best_hits):
            best_hits = hits
            best = Int8Result(content, nodes, agree, len(images), corrected_layers=corrected,
                              rounded_layers=rounded)
        if agree >= min_agreement:
            break
    assert best is not None
    best.tried = tried
    best.ranked = ranked
    best.reached = best.agreement >= min_agreement
    best.integer_bytes = len(integer)
    best.integer_ms = latency_ms(integer, images[0])
    best.latency_ms = latency_ms(best.content, images[0])
    return best
