"""Empirical bias correction of an int8 TFLite file: each layer's mean output, channel by
channel, made equal to the float model's, one layer after another.

Why: rounding a layer's weights and activations to 8 bits does not only add noise, it
shifts the mean of the layer's output (a rounded weight meets a ReLU6 input that is never
negative, so its error has the same sign on every pixel), and the shifts add up through
fifty layers.  On a real 8-class MobileNetV2 run the all-int8 file gave the app's top
answer on 70.8% of the held-out images; its weights alone (float activations) on 71.7%.
Correcting the shifts lifts the all-int8 file to 93.3%, and a 4-class run's from 85.9% to
98.1%, where keeping layers in float had reached 83.8% and 92.8% (``bench/bench_int8.py``).
This is the empirical variant of bias correction (Nagel et al. 2019, "Data-Free
Quantization Through Weight Equalization and Bias Correction", section 4.2; Finkelstein
et al. 2019, "Fighting Quantization Bias With Bias"): the means are measured, not derived
from BatchNorm statistics, so the activations' rounding and clipping are corrected too.

Only the biases change (int32 in an int8 layer, float in a layer kept float): every op
keeps its type, so a fully integer file stays fully integer (Edge TPU, microcontrollers).
Layer by layer in graph order, the file is run on the images with every tensor kept and no
delegate (XNNPACK would fuse the tensors away), the mean of one layer's output per channel
is compared with the float model's tensor of the same name, and the difference is folded
into that layer's bias; the next layer is measured with the ones before it corrected
(correcting all at once from one measurement over-corrects: each later layer's shift is
mostly its inputs').  The biases are edited in place in the file's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from core.export.tflite_graph import debug_interpreter, tensor_names
from core.export.tflite_run import as_input

#: The first calibration images each layer's mean is measured on.  32 and 160 gave the
#: same agreement on a real 8-class run (93.3%), 64 a third of a point more on a 4-class
#: one; each layer costs one run of the file on them.
CORRECTION_IMAGES = 32
#: Ops with a bias of their own that the correction adjusts.
_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass(frozen=True)
class _Bias:
    """One layer's output tensor and where its bias lies in the file's bytes."""

    output: int  # tensor index of the layer's output
    name: str
    start: int  # byte offset of the bias values
    channels: int
    integer: bool  # int32 (scaled by ``scale``) or float32
    scale: Optional[np.ndarray]


def _biases(content: bytearray) -> list[_Bias]:
    """Each conv/depthwise/dense op's bias (in graph order) that belongs to it alone."""
    from core.export import tflite_graph as g

    data = bytes(content)  # one copy: the reads below parse it, never change it
    kinds = g.schema().TensorType
    uses = g.buffer_uses(data)
    graph = g.model_of(data).Subgraphs(0)
    out = []
    for op in g.operators(data):
        if op.kind not in _OPS or len(op.inputs) < 3 or op.inputs[2] < 0:
            continue
        tensor = graph.Tensors(op.inputs[2])
        kind = tensor.Type()
        if kind not in (kinds.INT32, kinds.FLOAT32):
            continue
        if uses.get(tensor.Buffer(), 0) != 1:  # shared: one edit would move two layers
            continue
        span = g.data_span(data, op.inputs[2])
        if span is None:
            continue
        start, length = span
        channels = length // 4
        integer = kind == kinds.INT32
        scale = None
        if integer:
            scale, _, _ = g.quantization(data, op.inputs[2])
            if scale is None or len(scale) not in (1, channels):
                continue
            scale = np.broadcast_to(scale, (channels,))
        output = op.outputs[0]
        out.append(_Bias(output, g.tensor_name(data, output), start, channels,
                         integer, scale))
    return out


#: Images run at once when measuring: every tensor of the batch is kept (float32 in the
#: reference), about 14 MB per image for MobileNetV2 at 160 px and 80 MB for EfficientNetB0
#: at 224, so a few at a time keep the export's memory near what it was without it.
_BATCH = 4


def channel_means(content: bytes, tensors: Sequence[int], images: np.ndarray) -> list:
    """The mean of each tensor (index) per channel, dequantized, over ``images`` (uint8)."""
    interp = debug_interpreter(content)
    inp = interp.get_input_details()[0]
    details: dict = {}
    sums: list = [0.0] * len(tensors)
    counts = [0] * len(tensors)
    for start in range(0, len(images), _BATCH):
        batch = images[start:start + _BATCH]
        interp.resize_tensor_input(inp["index"], [len(batch)] + list(images.shape[1:]))
        interp.allocate_tensors()
        interp.set_tensor(inp["index"], as_input(inp, batch))
        interp.invoke()
        details = details or {d["index"]: d for d in interp.get_tensor_details()}
        for i, index in enumerate(tensors):
            value = interp.get_tensor(index).astype(np.float64)
            scale, zero = details[index]["quantization"]
            if scale:
                value = (value - zero) * scale
            rows = value.reshape(-1, value.shape[-1])
            sums[i] = sums[i] + rows.sum(0)
            counts[i] += len(rows)
    return [total / max(n, 1) for total, n in zip(sums, counts)]


def correct_biases(content: bytes, reference: bytes, images: np.ndarray,
                   cancel=None) -> tuple[bytes, dict[str, np.ndarray]]:
    """``content`` (a quantized TFLite file) with its biases corrected so that each layer's
    mean output on ``images`` matches the float ``reference`` (a TFLite file of the same
    model: its float or calibrated conversion, whose tensors have the same names).  Returns
    the corrected file and each corrected layer's change (by output name, in the units of
    its output), which :func:`shift_biases` applies to another quantization of the model."""
    data = bytearray(content)
    theirs = tensor_names(reference)
    layers = [b for b in _biases(data) if b.name in theirs]
    if not layers or not len(images):
        return bytes(data), {}
    images = images[:CORRECTION_IMAGES]
    wanted = channel_means(reference, [theirs[b.name] for b in layers], images)
    shifts: dict[str, np.ndarray] = {}
    for layer, want in zip(layers, wanted):
        if cancel is not None:
            cancel.raise_if_cancelled()
        got = channel_means(bytes(data), [layer.output], images)[0]
        if got.shape != want.shape or got.shape != (layer.channels,):
            continue
        shifts[layer.name] = want - got
        _add(data, layer, shifts[layer.name])
    return bytes(data), shifts


def shift_biases(content: bytes, shifts: dict[str, np.ndarray]) -> tuple[bytes, int]:
    """``content`` with the changes :func:`correct_biases` measured on another quantization
    of the same model added to its int8 layers of the same name.  Measured layer after
    layer, each change is that layer's own rounding error (the ones before it were already
    corrected), so it holds when a few other layers are kept float, and a float layer has
    none; this costs no run of the model (the caller judges the result).  Returns the file
    and how many layers changed."""
    data = bytearray(content)
    done = 0
    for layer in _biases(data):
        shift = shifts.get(layer.name) if layer.integer else None
        if shift is not None and shift.shape == (layer.channels,):
            _add(data, layer, shift)
            done += 1
    return bytes(data), done


def _add(data: bytearray, layer: _Bias, shift: np.ndarray) -> None:
    """Add ``shift`` (output units) to ``layer``'s bias, in place in the file's bytes."""
    end = layer.start + 4 * layer.channels
    if layer.integer:
        bias = np.frombuffer(data, "<i4", layer.channels, layer.start).astype(np.float64)
        info = np.iinfo(np.int32)
        fixed = np.clip(bias + np.round(shift / layer.scale), info.min, info.max)
        data[layer.start:end] = fixed.astype("<i4").tobytes()
    else:
        bias = np.frombuffer(data, "<f4", layer.channels, layer.start).astype(np.float64)
        data[layer.start:end] = (bias + shift).astype("<f4").tobytes()
