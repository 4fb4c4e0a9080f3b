"""Receptive-field bookkeeping for the layer walk (:mod:`core.insight.layers`).

Each tensor the walk meets gets a :class:`Field`: per spatial axis, how many
input pixels one of its values sees (r) and how far apart neighbouring values'
windows are (j).  Here: merging several inputs, choosing the inputs that carry
the spatial path, and giving a field to the outputs of Keras operations that
are not layers (the walk only meets layers).
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from core.insight.graph import shape_of, spatial


class Field:
    """Receptive field (r) and jump (j) per spatial axis of one tensor; ``gated``: a
    squeeze-and-excitation gate was left out here or upstream (:func:`spatial_inputs`), so
    a value also depends a little on every pixel, which the page says.

    ``c``: where the first (top-left) value's window is centred, in image pixels; ``lo``,
    ``hi``: the first and last image pixel any value depends on.  A window wider than the
    image is centred on its output, so a corner value sees only about half of it, and
    "valid" windows can leave the last pixels out altogether (the page had said "it sees
    all of it" of both).  None where the sizes are not known."""

    __slots__ = ("r", "j", "gated", "c", "lo", "hi", "whole")

    def __init__(self, r: tuple, j: tuple, gated: bool = False, c: Optional[tuple] = None,
                 lo: Optional[tuple] = None, hi: Optional[tuple] = None,
                 whole: bool = False) -> None:
        self.r, self.j, self.gated = r, j, gated
        self.c, self.lo, self.hi = c, lo, hi
        #: Past a global pooling of a map of unknown size: the whole image, whatever its size.
        self.whole = whole

    def but(self, **changes) -> "Field":
        values = {k: getattr(self, k) for k in self.__slots__}
        values.update(changes)
        return Field(**values)


def image_field(sizes: Sequence) -> Field:
    """The input image's own field: one pixel, every pixel seen (sizes None: not known)."""
    rank = len(sizes)
    known = all(isinstance(w, int) for w in sizes)
    return Field((1,) * rank, (1,) * rank, False, (0,) * rank if known else None,
                 (0,) * rank if known else None,
                 tuple(w - 1 for w in sizes) if known else None)


def slid(f: Field, k_eff: tuple, s: tuple, before: Optional[tuple], n_in, n_out) -> Field:
    """``f`` (the input's field) with c, lo, hi after a window of ``k_eff`` at stride ``s``
    that starts ``before`` positions ahead of the map (the zeros "same" adds before it);
    r and j are left to the caller.  The last window may stop short of the map's end."""
    if f.c is None or before is None or not _known(n_in) or not _known(n_out):
        return f.but(c=None, lo=None, hi=None)
    c, hi = [], []
    for i in range(len(f.c)):
        c.append(f.c[i] + ((k_eff[i] - 1) / 2 - before[i]) * f.j[i])
        last = min((n_out[i] - 1) * s[i] - before[i] + k_eff[i] - 1, n_in[i] - 1)
        hi.append(min(f.hi[i], f.c[i] + last * f.j[i] + (f.r[i] - 1) / 2))
    return f.but(c=tuple(c), hi=tuple(hi))


def padded(f: Field, before: Sequence, after: Sequence, n_in, crop: bool) -> Field:
    """``f`` with c, lo, hi after a padding layer (``crop`` False) or a cropping layer."""
    if f.c is None or not _known(n_in):
        return f.but(c=None, lo=None, hi=None)
    if not crop:
        return f.but(c=tuple(c - b * j for c, b, j in zip(f.c, before, f.j)))
    c = tuple(c + b * j for c, b, j in zip(f.c, before, f.j))
    lo = tuple(max(lo, cc - (r - 1) / 2) for lo, cc, r in zip(f.lo, c, f.r))
    hi = tuple(min(hi, f.c[i] + (n_in[i] - 1 - after[i]) * f.j[i] + (f.r[i] - 1) / 2)
               for i, hi in enumerate(f.hi))
    return f.but(c=c, lo=lo, hi=hi)


def pooled_whole(f: Field, n_in) -> Field:
    """``f``'s c after a global pooling or Flatten: the window is centred on the map."""
    if f.c is None or not _known(n_in):
        return f.but(c=None, lo=None, hi=None)
    return f.but(c=tuple(c + (n - 1) / 2 * j for c, n, j in zip(f.c, n_in, f.j)))


def seen_by(f: Field, position: Sequence) -> Optional[tuple]:
    """The image pixels, per axis (first, last), that the value at ``position`` of a map
    with field ``f`` depends on; None when not known."""
    if f.c is None or f.lo is None:
        return None
    out = []
    for i, p in enumerate(position):
        centre, half = f.c[i] + p * f.j[i], (f.r[i] - 1) / 2
        out.append((int(round(max(f.lo[i], centre - half))),
                    int(round(min(f.hi[i], centre + half)))))
    return tuple(out)


def _known(sizes) -> bool:
    return sizes is not None and all(isinstance(w, int) for w in sizes)


def merge_fields(fields: list, rank: int) -> Field:
    """Several inputs (Add, Concatenate): each value sees what any branch's value sees.

    Along a branchy block (ResNet's shortcut, Inception's towers) each branch
    has its own window; the output depends on all of them, so its window is
    their union.  Where the positions are known that is the span from the
    leftmost window's start to the rightmost one's end: Xception's 3×3 "same"
    pooling at stride 2 (no zero before the map) and its 1×1 shortcut are not
    centred alike, and the widest window centred on the first (the rule before)
    said the corner value of ``add`` at 97 px saw pixels 0–12 where it sees
    0–14 (a review).  Jumps are normally equal; if not, or the sizes are not
    known, the widest window and the largest jump are the approximation.
    """
    fields = [f for f in fields if f is not None]
    if not fields:
        return Field((1,) * rank, (1,) * rank)
    n = max(len(f.r) for f in fields)
    fields = [f for f in fields if len(f.r) == n] or fields
    known = all(f.c is not None and f.lo is not None for f in fields)
    r = [max(f.r[i] for f in fields) for i in range(n)]
    c = [min(f.c[i] for f in fields) for i in range(n)] if known else None
    for i in range(n if known else 0):
        if len({f.j[i] for f in fields}) == 1:  # windows move together: their union
            start = min(f.c[i] - (f.r[i] - 1) / 2 for f in fields)
            end = max(f.c[i] + (f.r[i] - 1) / 2 for f in fields)
            r[i], c[i] = _whole(end - start + 1), (start + end) / 2
    return Field(tuple(r), tuple(max(f.j[i] for f in fields) for i in range(n)),
                 any(f.gated for f in fields), tuple(c) if known else None,
                 tuple(min(f.lo[i] for f in fields) for i in range(n)) if known else None,
                 tuple(max(f.hi[i] for f in fields) for i in range(n)) if known else None,
                 any(f.whole for f in fields))


def _whole(x: float):
    """An int when ``x`` is one (receptive fields are whole pixels; the rows print them)."""
    return int(x) if float(x).is_integer() else x


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
            kept = [(a, f.but(gated=True) if f is not None else f) for a, f in kept]
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
