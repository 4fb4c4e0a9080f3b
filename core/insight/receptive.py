"""Receptive-field bookkeeping for the layer walk (:mod:`core.insight.layers`).

Each tensor the walk meets gets a :class:`Field`: per spatial axis, how many
input pixels one of its values sees (r) and how far apart neighbouring values'
windows are (j).  Here: merging several inputs, choosing the inputs that carry
the spatial path, and giving a field to the outputs of Keras operations that
are not layers (the walk only meets layers).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from core.insight.graph import shape_of, spatial


class Field:
    """Receptive field (r) and jump (j) per spatial axis of one tensor; ``gated``: a
    squeeze-and-excitation gate was left out here or upstream (:func:`spatial_inputs`), so
    a value also depends a little on every pixel, which the page says."""

    __slots__ = ("r", "j", "gated")

    def __init__(self, r: tuple, j: tuple, gated: bool = False) -> None:
        self.r, self.j, self.gated = r, j, gated


def merge_fields(fields: list, rank: int) -> Field:
    """Several inputs (Add, Concatenate): take the largest r and j per axis.

    Along a branchy block (ResNet's shortcut, Inception's towers) each branch
    has its own receptive field; the output depends on all of them, so the
    widest one is the honest answer.  Jumps are normally equal; if not we keep
    the largest.  This is the approximation the docs promise.
    """
    fields = [f for f in fields if f is not None]
    if not fields:
        return Field((1,) * rank, (1,) * rank)
    n = max(len(f.r) for f in fields)
    fields = [f for f in fields if len(f.r) == n] or fields
    return Field(tuple(max(f.r[i] for f in fields) for i in range(n)),
                 tuple(max(f.j[i] for f in fields) for i in range(n)),
                 any(f.gated for f in fields))


def spatial_inputs(ins: Sequence[Any], df: str, fields: dict) -> list:
    """The fields of the inputs that carry the spatial path.

    A squeeze-and-excitation gate (EfficientNet, MobileNetV3) multiplies the map
    by a 1×1 vector made by global pooling.  That gate depends on the whole
    image, so counting it would make every later receptive field "the whole
    image" and hide how the convolutions grow it; like the published
    receptive-field tables we follow the spatial path and ignore broadcast
    1×1 inputs when a larger map is merged with them.
    """
    sized = []
    for t in ins:
        sp = spatial(shape_of(t), df)
        area = math.prod(d or 2 for d in sp) if sp else 1
        sized.append((area, fields.get(id(t))))
    if any(a > 1 for a, _ in sized):
        kept = [(a, f) for a, f in sized if a > 1]
        if len(kept) < len(sized):  # a gate left out: what the row's window leaves unsaid
            kept = [(a, Field(f.r, f.j, True) if f is not None else f) for a, f in kept]
        sized = kept
    return [f for _, f in sized]


def trace_field(tensor: Any, fields: dict, depth: int = 0) -> None:
    """Give ``tensor`` a field in ``fields`` when a Keras operation that is not a layer made it.

    ConvNeXt's residual ``inputs + x`` and MobileNetV3's hard sigmoid (``x + 3``,
    ``* (1/6)``) are such operations: the walk never meets them, so their outputs
    had no field and the next layer started again from 1 pixel (ConvNeXtTiny's
    pooled output "saw 3×3 pixels" instead of 1752×1752).  They act per position,
    so the output's field is the widest of their spatial inputs'.
    """
    if id(tensor) in fields or depth > 50:
        return
    import keras

    history = getattr(tensor, "_keras_history", None)
    op = history[0] if history else None
    if op is None or isinstance(op, keras.layers.Layer):
        return
    try:
        parents = list(op._inbound_nodes[history[1]].input_tensors)
    except (AttributeError, IndexError, TypeError):
        return
    for p in parents:
        trace_field(p, fields, depth + 1)
    found = spatial_inputs(parents, "channels_last", fields)
    if any(f is not None for f in found):
        fields[id(tensor)] = merge_fields(found, len(spatial(shape_of(tensor)) or ()))
