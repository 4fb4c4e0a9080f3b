"""Fold BatchNormalization into the convolution before it, for inference exports.

At inference a BatchNormalization layer is a fixed per-channel affine map
``y = γ·(x − μ)/√(σ² + ε) + β``.  When it directly follows a Conv2D or
DepthwiseConv2D (with no activation in between) it can be absorbed into that
convolution's weights::

    w' = w · γ/√(σ² + ε)          (per output channel)
    b' = (b − μ) · γ/√(σ² + ε) + β

which removes one full read and write of every feature map per BN layer.  The
TFLite converter does this on its own; the SavedModel and ONNX paths get the
graph as Keras builds it (Keras 3 computes BN as separate multiply/add ops),
so :mod:`core.export.exporter` folds before those exports -- and only keeps the folded
model when a numerical check shows it gives the same outputs.

The rewrite walks a Functional model's graph node by node (recursing into
nested Functional models such as the app's ``backbone``), rebuilding it with
the same input names.  Unchanged layers are *shared* with the original model
(no weight copies); only the convolutions that absorbed a BN are new objects.
The result is meant for export/inference only; do not train either model
after folding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class FoldResult:
    model: object          # the new keras.Model (or the original when nothing folded)
    folded: int            # how many BN layers were absorbed
    layers_before: int     # layers counted through nested models
    layers_after: int


def count_layers(model) -> int:
    """Layers of ``model``, counting through nested models (InputLayers excluded)."""
    import keras

    n = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model) and hasattr(layer, "_nodes_by_depth"):
            n += count_layers(layer)
        else:
            n += 1
    return n


def _is_functional(op) -> bool:
    import keras

    return isinstance(op, keras.Model) and hasattr(op, "_nodes_by_depth") and \
        hasattr(op, "inputs") and op.inputs is not None


def _foldable_conv(op) -> bool:
    import keras

    if type(op) not in (keras.layers.Conv2D, keras.layers.DepthwiseConv2D):
        return False
    cfg = op.get_config()
    return (cfg.get("activation") in ("linear", None)
            and cfg.get("data_format", "channels_last") == "channels_last")


def _foldable_bn(op, channels: int) -> bool:
    import keras

    if type(op) is not keras.layers.BatchNormalization:
        return False
    axis = op.axis if isinstance(op.axis, int) else (op.axis[0] if len(op.axis) == 1 else None)
    return axis in (-1, 3) and int(op.moving_mean.shape[0]) == channels


def _bn_scale_shift(bn) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(scale, shift)`` with ``bn(x) == x*scale + shift`` at inference."""
    mean = np.asarray(bn.moving_mean.numpy(), np.float64)
    var = np.asarray(bn.moving_variance.numpy(), np.float64)
    gamma = np.asarray(bn.gamma.numpy(), np.float64) if bn.scale else np.ones_like(mean)
    beta = np.asarray(bn.beta.numpy(), np.float64) if bn.center else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + float(bn.epsilon))
    return scale, beta - mean * scale


def _folded_conv(conv, bn):
    """A new convolution layer equal to ``bn(conv(x))`` (not built yet) and its weights."""
    import keras

    kernel = np.asarray(conv.kernel.numpy(), np.float64)
    bias = np.asarray(conv.bias.numpy(), np.float64) if conv.use_bias else 0.0
    scale, shift = _bn_scale_shift(bn)
    if isinstance(conv, keras.layers.DepthwiseConv2D):
        # kernel (kh, kw, in, multiplier); output channel c = in_index*multiplier + m
        k = kernel * scale.reshape(kernel.shape[2], kernel.shape[3])
    else:
        k = kernel * scale  # (kh, kw, in/groups, out): scale the output axis
    b = bias * scale + shift
    cfg = conv.get_config()
    cfg["use_bias"] = True
    cfg.pop("bias_initializer", None)
    new = type(conv).from_config(cfg)
    dtype = conv.kernel.dtype
    return new, [k.astype(dtype), np.broadcast_to(b, scale.shape).astype(dtype)]


def _rebuild(model, counter: list[int]):
    """A Functional copy of ``model`` with Conv→BN pairs folded; nested models recursed."""
    import keras

    # How many times each symbolic tensor is consumed inside this graph.
    uses: dict[int, int] = {}
    depth_keys = sorted(model._nodes_by_depth.keys(), reverse=True)
    nodes = [n for d in depth_keys for n in model._nodes_by_depth[d]]
    for node in nodes:
        if node.operation is None or node.is_input:
            continue
        for t in node.arguments.keras_tensors:
            uses[id(t)] = uses.get(id(t), 0) + 1
    output_ids = {id(t) for t in model.outputs}
    # conv node -> the BN node that consumes its only use
    consumer: dict[int, object] = {}
    for node in nodes:
        if node.operation is None or node.is_input:
            continue
        kts = node.arguments.keras_tensors
        if len(kts) == 1 and isinstance(node.operation, keras.layers.BatchNormalization):
            src = kts[0]
            producer = src._keras_history[0] if getattr(src, "_keras_history", None) else None
            if producer is not None and uses.get(id(src)) == 1 and id(src) not in output_ids \
                    and _foldable_conv(producer) and \
                    _foldable_bn(node.operation, int(src.shape[-1])):
                consumer[id(src)] = node.operation

    tensors: dict[int, object] = {}
    new_inputs = []
    for x in model.inputs:
        layer = x._keras_history[0]
        nx = keras.Input(shape=x.shape[1:], dtype=x.dtype, name=layer.name)
        tensors[id(x)] = nx
        new_inputs.append(nx)
    skip_bn: dict[int, object] = {}  # id(BN output tensor) is mapped when its conv was folded
    pending_weights = []
    for node in nodes:
        op = node.operation
        if op is None or node.is_input:
            continue
        if any(id(x) not in tensors for x in node.input_tensors):
            continue
        args, kwargs = node.arguments.fill_in(tensors)
        out_ids = [id(t) for t in node.outputs]
        if isinstance(op, keras.layers.BatchNormalization) and \
                id(node.input_tensors[0]) in skip_bn:
            tensors[out_ids[0]] = skip_bn[id(node.input_tensors[0])]
            counter[0] += 1
            continue
        if len(out_ids) == 1 and out_ids[0] in consumer:
            new_conv, weights = _folded_conv(op, consumer[out_ids[0]])
            y = new_conv(*args, **kwargs)
            pending_weights.append((new_conv, weights))
            tensors[out_ids[0]] = y
            skip_bn[out_ids[0]] = y
            continue
        if _is_functional(op):
            op = _rebuild(op, counter)
        outputs = op(*args, **kwargs)
        flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for x, y in zip(node.outputs, flat):
            tensors[id(x)] = y
    for layer, weights in pending_weights:
        layer.set_weights(weights)
    outs = [tensors[id(t)] for t in model.outputs]
    return keras.Model(new_inputs if len(new_inputs) > 1 else new_inputs[0],
                       outs if len(outs) > 1 else outs[0], name=model.name)


def fold_batchnorm(model) -> FoldResult:
    """Return an equivalent model with every foldable Conv→BatchNorm pair merged.

    Raises ``ValueError`` for a model that is not Functional (a subclassed
    model has no graph to rewrite); callers treat that as "cannot fold".
    """
    if not _is_functional(model):
        raise ValueError("only Functional models can be folded")
    counter = [0]
    new = _rebuild(model, counter)
    return FoldResult(new, counter[0], count_layers(model), count_layers(new))


def max_output_difference(a, b, images: np.ndarray) -> float:
    """Largest absolute difference between two models' outputs on ``images``."""
    x = np.asarray(images, np.float32)
    ya = np.asarray(a(x, training=False))
    yb = np.asarray(b(x, training=False))
    return float(np.max(np.abs(ya - yb))) if ya.size else 0.0


def fold_if_equal(model, images: np.ndarray, atol: float = 1e-5) -> tuple[object, dict]:
    """Fold BN, keep the folded model only when its outputs match within ``atol``.

    Returns ``(model_to_export, info)``; ``info`` says what happened (folded
    count, layer counts, measured difference, or why folding was skipped) and
    goes into the export's metadata.
    """
    try:
        res = fold_batchnorm(model)
    except Exception as exc:  # any graph the rewrite cannot handle: export unfolded
        return model, {"applied": False, "reason": f"cannot fold: {exc}"}
    if res.folded == 0:
        return model, {"applied": False, "reason": "no Conv→BatchNorm pairs"}
    diff = max_output_difference(model, res.model, images)
    info = {"folded_batchnorm_layers": res.folded, "layers_before": res.layers_before,
            "layers_after": res.layers_after, "max_abs_difference": diff, "tolerance": atol}
    if not np.isfinite(diff) or diff > atol:
        info.update(applied=False, reason=f"outputs differ by {diff:.3g} > {atol:g}")
        return model, info
    info["applied"] = True
    return res.model, info
