"""The output-size formula of convolution and pooling, with the numbers filled in.

``O = ⌊(W − K + 2P)/S⌋ + 1`` along each axis, K being the dilated kernel.  The
"see inside the network" page shows this formula for every windowed layer of
the user's model (:mod:`core.insight.layers`) and the kernel page explains
"same" padding with it (:mod:`core.insight.kernels`); both take it from here so
they cannot disagree.  Pure arithmetic: no Keras.
"""

from __future__ import annotations

import math
from typing import Optional

from core.errors import ConfigError

CONV_TYPES = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
              "SeparableConv1D", "SeparableConv2D")
POOL_TYPES = ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
              "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
GLOBAL_POOL_PREFIXES = ("GlobalAveragePooling", "GlobalMaxPooling")
PADDING_TYPES = ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
CROPPING_TYPES = ("Cropping1D", "Cropping2D", "Cropping3D")


def effective_kernel(k: int, dilation: int = 1) -> int:
    """A dilated kernel of size K with rate d covers d·(K − 1) + 1 input positions."""
    return dilation * (k - 1) + 1


def padding_amount(w: int, k: int, s: int, padding: str, dilation: int = 1) -> float:
    """The P to write in ``O = ⌊(W − K + 2P)/S⌋ + 1``.

    "valid" means no padding, P = 0.  "same" means "pad so that O = ⌈W/S⌉";
    the symmetric half padding P = (K − 1)/2 does exactly that for every W
    and S (W − K + K − 1 = W − 1 and ⌊(W − 1)/S⌋ + 1 = ⌈W/S⌉), so it is the P a
    textbook writes.  For an even K it is a half (TensorFlow then puts the odd
    pixel at the bottom/right; :func:`same_padding_pixels` gives the exact split).
    ``w`` and ``s`` are accepted so callers can pass a layer's numbers as they are.
    """
    padding = _check_padding(padding)
    if padding == "valid":
        return 0
    p = (effective_kernel(k, dilation) - 1) / 2
    return int(p) if float(p).is_integer() else p


def same_padding_pixels(w: int, k: int, s: int, dilation: int = 1) -> tuple[int, int]:
    """The zeros TensorFlow really adds for "same": (before, after) along one axis."""
    out = -(-w // s)
    total = max((out - 1) * s + effective_kernel(k, dilation) - w, 0)
    return total // 2, total - total // 2


def same_split_words(splits: list, unit: str = "zero(s)", textbook: Optional[list] = None) -> str:
    """Where TensorFlow's "same" zeros go, from each axis' (before, after) of
    :func:`same_padding_pixels` (H then W): "" when every axis gets as many before as after
    and, given ``textbook`` (each axis' P of :func:`padding_amount`), as many as P says.
    A 160×120 photo, 4×4 kernel, stride 3 gets (0, 1) down and (1, 2) across; one split
    given for both had been read as the other's (a review).  A 3×3 kernel at stride 4 on
    160 pixels gets no zeros at all, where P reads 1 (a review)."""
    if all(b == a for b, a in splits):
        if textbook is None or all(b == p for (b, _a), p in zip(splits, textbook)):
            return ""
        if not any(b for b, _a in splits):
            return f"no {unit.replace('(s)', 's')}"
        if len(set(splits)) == 1:
            return f"{splits[0][0]} {unit} on every side"
        if len(splits) == 2:
            return (f"{splits[0][0]} {unit} at the top and bottom, {splits[1][0]} at the left "
                    "and right")
        return "; ".join(f"axis {i + 1}: {b} {unit} on each side" for i, (b, _a) in enumerate(splits))
    if len(set(splits)) == 1:
        b, a = splits[0]
        where = ("at the top and left", "at the bottom and right") if len(splits) == 2 \
            else ("before", "after")
        return f"{b} {unit} {where[0]}, {a} {where[1]}"
    if len(splits) == 2:
        (top, bottom), (left, right) = splits
        return (f"{top} {unit} at the top, {bottom} at the bottom, {left} at the left and "
                f"{right} at the right")
    return "; ".join(f"axis {i + 1}: {b} {unit} before, {a} after"
                     for i, (b, a) in enumerate(splits))


def conv_output_size(w: int, k: int, s: int, padding: str, dilation: int = 1) -> int:
    """Output length along one axis: ``⌊(W − K + 2P)/S⌋ + 1`` with K the effective kernel.

    Equals ``⌈W/S⌉`` for "same" and ``⌊(W − K)/S⌋ + 1`` for "valid"; 0 when a
    "valid" window does not fit at all.
    """
    padding = _check_padding(padding)
    if w < 0 or k < 1 or s < 1 or dilation < 1:
        raise ConfigError(f"conv_output_size: need W ≥ 0, K ≥ 1, S ≥ 1 and dilation ≥ 1 "
                          f"(got W={w}, K={k}, S={s}, dilation={dilation})")
    k_eff = effective_kernel(k, dilation)
    two_p = 0 if padding == "valid" else k_eff - 1
    return max(math.floor((w - k_eff + two_p) / s) + 1, 0)


def formula_text(w: int, k: int, s: int, padding: str, dilation: int = 1) -> str:
    """The formula with the numbers filled in, e.g. ``⌊(96 − 3 + 2·1)/2⌋ + 1 = 48``.

    The floor brackets appear only when the division is not exact, which is
    where they matter.
    """
    k_eff = effective_kernel(k, dilation)
    p = padding_amount(w, k, s, padding, dilation)
    out = conv_output_size(w, k, s, padding, dilation)
    numerator = w - k_eff + 2 * p
    inner = f"({w} − {k_eff} + 2·{p})/{s}"
    if numerator % s:
        inner = f"⌊{inner}⌋"
    text = f"{inner} + 1 = {out}"
    if dilation > 1:
        text += f"  (dilated K = {dilation}·({k} − 1) + 1 = {k_eff})"
    return text


def _check_padding(padding: str) -> str:
    p = str(padding).lower()
    if p not in ("same", "valid"):
        raise ConfigError(f"padding must be 'same' or 'valid' (got {padding!r})")
    return p
