"""Reading a TFLite file's graph: its ops in order, their tensors, and where a constant
tensor's values lie in the file's bytes.

Why: the int8 export edits a converted file in place (the biases in
:mod:`core.export.bias_correction`, the weights in :mod:`core.export.weight_rounding`)
and matches its layers with the float model's by output tensor name.  Both read the
graph the same way, through the flatbuffer schema TensorFlow ships, so that one
reading of the format serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np


@dataclass(frozen=True)
class Op:
    """One operator: its kind (``CONV_2D``), position in the graph and tensor indices."""

    index: int
    kind: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    raw: object  # the schema's Operator, for its options


def schema():
    from tensorflow.lite.python import schema_py_generated

    return schema_py_generated


def op_names() -> dict[int, str]:
    """Builtin operator code -> its name (``3`` -> ``CONV_2D``)."""
    return {v: k for k, v in vars(schema().BuiltinOperator).items() if not k.startswith("_")}


def model_of(content: bytes):
    return schema().Model.GetRootAs(content, 0)


def operators(content: bytes) -> Iterator[Op]:
    """The first subgraph's operators, in execution order."""
    model = model_of(content)
    graph = model.Subgraphs(0)
    names = op_names()
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "")
        yield Op(i, kind, tuple(op.InputsAsNumpy().tolist()) if op.InputsLength() else (),
                 tuple(op.OutputsAsNumpy().tolist()) if op.OutputsLength() else (), op)


def tensor_name(content: bytes, index: int) -> str:
    return model_of(content).Subgraphs(0).Tensors(index).Name().decode("utf-8", "replace")


def tensor_names(content: bytes) -> dict[str, int]:
    """Tensor name -> index (the first of a name)."""
    graph = model_of(content).Subgraphs(0)
    names: dict[str, int] = {}
    for i in range(graph.TensorsLength()):
        names.setdefault(graph.Tensors(i).Name().decode("utf-8", "replace"), i)
    return names


def buffer_uses(content: bytes) -> dict[int, int]:
    """Buffer index -> how many tensors use it (an edit of a shared one moves them all)."""
    graph = model_of(content).Subgraphs(0)
    uses: dict[int, int] = {}
    for i in range(graph.TensorsLength()):
        b = graph.Tensors(i).Buffer()
        uses[b] = uses.get(b, 0) + 1
    return uses


def data_span(content: bytes, tensor_index: int) -> Optional[tuple[int, int]]:
    """(byte offset, byte length) of a constant tensor's values inside ``content``, or None
    when the tensor has no data of its own in the file."""
    model = model_of(content)
    tensor = model.Subgraphs(0).Tensors(tensor_index)
    buffer = model.Buffers(tensor.Buffer())
    field = buffer._tab.Offset(4)  # Buffer.data, the vector of bytes
    if not field:
        return None
    length = buffer._tab.VectorLen(field)
    return (buffer._tab.Vector(field), length) if length else None


def quantization(content: bytes, tensor_index: int) -> tuple[Optional[np.ndarray], np.ndarray, int]:
    """(scales or None, zero points, quantized dimension) of a tensor."""
    tensor = model_of(content).Subgraphs(0).Tensors(tensor_index)
    quant = tensor.Quantization()
    if quant is None or not quant.ScaleLength():
        return None, np.zeros(0, np.int64), 0
    zeros = quant.ZeroPointAsNumpy() if quant.ZeroPointLength() else np.zeros(0, np.int64)
    return (np.asarray(quant.ScaleAsNumpy(), np.float64), np.asarray(zeros, np.int64),
            quant.QuantizedDimension())


def tensor_type_and_shape(content: bytes, tensor_index: int) -> tuple[int, tuple[int, ...]]:
    tensor = model_of(content).Subgraphs(0).Tensors(tensor_index)
    shape = tuple(tensor.ShapeAsNumpy().tolist()) if tensor.ShapeLength() else ()
    return tensor.Type(), shape


def conv_options(op: Op) -> Optional[dict]:
    """Padding (``SAME``/``VALID``), strides, dilations and depth multiplier of a
    CONV_2D or DEPTHWISE_CONV_2D op; None for any other."""
    s = schema()
    if op.kind == "CONV_2D":
        options = s.Conv2DOptions()
    elif op.kind == "DEPTHWISE_CONV_2D":
        options = s.DepthwiseConv2DOptions()
    else:
        return None
    table = op.raw.BuiltinOptions()
    if table is None:
        return None
    options.Init(table.Bytes, table.Pos)
    return {"padding": "SAME" if options.Padding() == s.Padding.SAME else "VALID",
            "strides": (options.StrideH(), options.StrideW()),
            "dilations": (options.DilationHFactor(), options.DilationWFactor()),
            "multiplier": options.DepthMultiplier() if op.kind == "DEPTHWISE_CONV_2D" else 1}


def debug_interpreter(content: bytes):
    """An interpreter that keeps every tensor (its warning says: for debugging) and uses
    no delegate (XNNPACK would fuse the tensors away)."""
    import tensorflow as tf

    from core.export.tflite_run import interpreter

    return interpreter(content, experimental_preserve_all_tensors=True,
                       experimental_op_resolver_type=tf.lite.experimental.OpResolverType
                       .BUILTIN_WITHOUT_DEFAULT_DELEGATES)
