"""The model as tf2onnx can convert it: three Keras pieces traced into ops it cannot.

``Model.export(format="onnx")`` traces the model and hands the graph to tf2onnx.  Three
things in the catalogue's backbones came out as a file no runtime would open or run
(an every-backbone review: 11 of the 21 backbones' ONNX files failed):

* a ``Normalization`` layer built with a fixed mean and variance (EfficientNet and
  EfficientNetV2 inside the model, ConvNeXt's pre-stem, this app's own "torch"
  preprocessing for DenseNet) keeps them as eager tensors, which the trace captures as
  extra graph inputs: "Required inputs (['…/normalization/Sub/y:0', …]) are missing";
* a ``Conv2D`` with one group per channel (ConvNeXt's depthwise convolution) runs in
  Keras as an XLA-compiled function, left in the graph as a ``StatefulPartitionedCall``
  that ONNX has no operator for;
* the exact GELU (ConvNeXt) becomes TensorFlow's ``Erfc``, which tf2onnx does not map.

:func:`onnx_traceable` swaps each for the same arithmetic in ops tf2onnx maps (constants,
a depthwise convolution, ``Erf``) while the export traces, then puts the model back.  The
export's parity check runs the file against the app's model, so any difference shows.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator


def _layers(layer: Any) -> Iterator[Any]:
    yield layer
    for inner in getattr(layer, "layers", None) or []:
        yield from _layers(inner)


def _depthwise_call(layer: Any):
    """``layer`` (a Conv2D with one group per input channel) as a depthwise convolution."""
    import tensorflow as tf

    def call(inputs, *args, **kwargs):
        kernel = tf.transpose(layer.kernel, [0, 1, 3, 2])  # (kh, kw, 1, C) -> (kh, kw, C, 1)
        out = tf.nn.depthwise_conv2d(inputs, kernel, strides=[1, *layer.strides, 1],
                                     padding=layer.padding.upper(),
                                     dilations=layer.dilation_rate)
        if layer.use_bias:
            out = out + layer.bias
        return layer.activation(out)
    return call


def _erf_gelu(x, approximate: bool = False):
    """Keras' exact GELU, x·Φ(x), written with ``Erf`` (tf2onnx maps it; not ``Erfc``)."""
    import tensorflow as tf

    if approximate:
        return 0.5 * x * (1.0 + tf.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0)))


def _is_depthwise_group_conv(layer: Any) -> bool:
    import keras

    groups = getattr(layer, "groups", 1) or 1
    return (type(layer) is keras.layers.Conv2D and groups > 1
            and getattr(layer, "data_format", "channels_last") == "channels_last"
            and tuple(layer.kernel.shape[2:]) == (1, groups))


@contextlib.contextmanager
def onnx_traceable(model: Any) -> Iterator[Any]:
    """``model`` with the pieces above swapped for ONNX-friendly ops, restored on exit."""
    import keras
    import numpy as np

    undo: list = []  # (layer, attribute, what its instance held: _OWN when nothing)

    def swap(layer: Any, name: str, value: Any) -> None:
        undo.append((layer, name, layer.__dict__.get(name, _OWN)))
        setattr(layer, name, value)

    try:
        for layer in _layers(model):
            if isinstance(layer, keras.layers.Normalization) and hasattr(layer, "mean"):
                swap(layer, "mean", np.asarray(layer.mean))
                swap(layer, "variance", np.asarray(layer.variance))
            if _is_depthwise_group_conv(layer):
                swap(layer, "call", _depthwise_call(layer))
            if getattr(layer, "activation", None) is keras.activations.gelu:
                swap(layer, "activation", _erf_gelu)
        yield model
    finally:
        for layer, name, before in reversed(undo):
            if before is _OWN:
                del layer.__dict__[name]  # the class's own (``call``) is back
            else:
                setattr(layer, name, before)


#: Marks an attribute the layer's instance did not hold before a swap (a class method).
_OWN = object()
