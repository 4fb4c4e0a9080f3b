"""Running a TFLite file on uint8 images: its probabilities and its single-image latency.

Shared by the int8 export's selection (:mod:`core.export.int8`) and its bias
correction (:mod:`core.export.bias_correction`); a module of its own so that neither
imports the other.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

import numpy as np


def interpreter(content: bytes, **options):
    """``tf.lite.Interpreter`` of the file ``content`` with ``options``, without its
    warnings ("tf.lite.Interpreter is deprecated": it still works)."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(model_content=content, **options)


@contextlib.contextmanager
def converter_quiet() -> Iterator[None]:
    """The block's TFLite conversion without the converter's own lines on stderr (README
    review: every export printed "fully_quantize: 0, inference_type: 6, ..." once per int8
    file tried, the quantization debugger's "invalid value encountered in subtract" from its
    statistics of a layer that overflows, "tf.lite.Interpreter is deprecated").  ``-v`` or
    FTS_VERBOSE shows the native lines, as for TensorFlow's start-up."""
    from core.tfenv import native_chatter_hidden

    with native_chatter_hidden(), warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore")
        yield


def as_input(detail: dict, images: np.ndarray) -> np.ndarray:
    """uint8 pixels as the input ``detail`` (the interpreter's) takes them: quantized with
    its scale and zero point, or float."""
    x = images.astype(np.float32)
    scale, zero = detail["quantization"]
    if scale:
        info = np.iinfo(detail["dtype"])
        x = np.clip(np.round(x / scale + zero), info.min, info.max)
    return x.astype(detail["dtype"])


def run_tflite(content: bytes, images: np.ndarray, batch: int = 32) -> np.ndarray:
    """The probabilities of a TFLite model (float or quantized input/output) on uint8 images."""
    interp = interpreter(content)
    inp = interp.get_input_details()[0]
    out = next(o for o in interp.get_output_details() if len(o["shape"]) == 2)
    results = []
    for start in range(0, len(images), batch):
        x = images[start:start + batch]
        interp.resize_tensor_input(inp["index"], list(x.shape))
        interp.allocate_tensors()
        interp.set_tensor(inp["index"], as_input(inp, x))
        interp.invoke()
        y = interp.get_tensor(out["index"]).astype(np.float32)
        scale, zero = out["quantization"]
        results.append((y - zero) * scale if scale else y)
    return np.concatenate(results) if results else np.zeros((0, 0), np.float32)


def latency_ms(content: bytes, image: np.ndarray, runs: int = 10) -> float:
    """Median single-image latency (one thread) of a TFLite model, in ms."""
    import time

    interp = interpreter(content, num_threads=1)
    inp = interp.get_input_details()[0]
    interp.resize_tensor_input(inp["index"], [1] + list(image.shape))
    interp.allocate_tensors()
    x = image[None].astype(inp["dtype"])
    times = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]) * 1000)
