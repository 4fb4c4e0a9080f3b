"""Activation functions with their derivatives, for plotting next to the model.

The lesson: sigmoid and tanh flatten out at both ends, so their derivative —
the factor every gradient is multiplied by on the way back — is tiny there, and
a deep stack of them multiplies tiny factors into a vanishing gradient.  ReLU's
derivative is exactly 1 for every positive input, which is why deep CNNs use
ReLU and its smooth cousins (swish, GELU).  :func:`curve` gives the value and
the derivative of each, in numpy, written out from the formulas so they can be
checked against Keras and against finite differences; :func:`activations_in`
says which of them the user's backbone actually uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from core.errors import ConfigError

LEAKY_SLOPE = 0.2  # keras.activations.leaky_relu's default negative slope


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free form of 1/(1+e^-x)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _relu(x):
    return np.maximum(x, 0.0), (x > 0).astype(np.float64)


def _relu6(x):
    return np.clip(x, 0.0, 6.0), ((x > 0) & (x < 6)).astype(np.float64)


def _sig(x):
    s = _sigmoid(x)
    return s, s * (1 - s)


def _tanh(x):
    t = np.tanh(x)
    return t, 1 - t * t


def _swish(x):
    s = _sigmoid(x)
    return x * s, s + x * s * (1 - s)


def _hard_sigmoid(x):
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0, ((x > -3) & (x < 3)) / 6.0


def _hard_swish(x):
    hs, dhs = _hard_sigmoid(x)
    return x * hs, hs + x * dhs


def _gelu(x):
    cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return x * cdf, cdf + x * pdf


def _elu(x):
    neg = np.expm1(np.minimum(x, 0.0))
    return np.where(x > 0, x, neg), np.where(x > 0, 1.0, neg + 1.0)


def _leaky(x):
    return np.where(x > 0, x, LEAKY_SLOPE * x), np.where(x > 0, 1.0, LEAKY_SLOPE)


@dataclass(frozen=True)
class Activation:
    name: str
    formula: str
    note: str
    fn: Callable[[np.ndarray], tuple]

    def to_dict(self) -> dict:
        return {"name": self.name, "formula": self.formula, "note": self.note}


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("relu", "max(0, x)",
               "derivative 1 for x > 0: gradients pass through deep stacks undiminished", _relu),
    Activation("relu6", "min(max(0, x), 6)", "ReLU capped at 6 (MobileNet), robust in low precision",
               _relu6),
    Activation("leaky_relu", f"x if x > 0 else {LEAKY_SLOPE}·x",
               "a small slope for x < 0, so a unit never stops learning entirely", _leaky),
    Activation("elu", "x if x > 0 else eˣ − 1", "smooth for x < 0, outputs closer to zero mean",
               _elu),
    Activation("sigmoid", "1 / (1 + e⁻ˣ)",
               "derivative at most 0.25 and ≈0 at both ends: gradients vanish in deep stacks",
               _sig),
    Activation("tanh", "(eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)",
               "zero-centred, but saturates like sigmoid (derivative ≈0 for |x| > 3)", _tanh),
    Activation("swish", "x · sigmoid(x)", "smooth ReLU-like curve used by EfficientNet (a.k.a. SiLU)",
               _swish),
    Activation("hard_sigmoid", "relu6(x + 3) / 6", "piecewise-linear sigmoid, cheap on phones",
               _hard_sigmoid),
    Activation("hard_swish", "x · relu6(x + 3) / 6", "piecewise swish used by MobileNetV3",
               _hard_swish),
    Activation("gelu", "x · Φ(x)", "smooth ReLU weighting x by the normal CDF (ConvNeXt, ViT)",
               _gelu),
)}

# Keras' names (and the layer classes that stand for an activation) → ours.
ALIASES = {"silu": "swish", "hard_silu": "hard_swish", "leakyrelu": "leaky_relu",
           "leaky_relu": "leaky_relu", "elu": "elu"}


def canonical_name(name: str) -> str:
    n = str(name).strip().lower()
    return ALIASES.get(n, n)


def curve(name: str, x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Values and derivative of activation ``name`` at ``x`` (float64 numpy arrays)."""
    key = canonical_name(name)
    if key not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    x = np.asarray(x, dtype=np.float64)
    y, dy = ACTIVATIONS[key].fn(x)
    return np.asarray(y, dtype=np.float64), np.asarray(dy, dtype=np.float64)


def _layer_activation(layer: Any) -> list[str]:
    """The activation(s) one layer applies, in our names ('linear' omitted)."""
    kind = type(layer).__name__
    try:
        cfg = layer.get_config()
    except Exception:  # an exotic layer without a readable config applies nothing we can name
        return []
    if kind == "ReLU":
        max_value = cfg.get("max_value")
        slope = cfg.get("negative_slope") or 0.0
        if slope:
            return ["leaky_relu"]
        if max_value is not None and float(max_value) == 6.0:
            return ["relu6"]
        return ["relu"]
    if kind == "LeakyReLU":
        return ["leaky_relu"]
    if kind == "ELU":
        return ["elu"]
    if kind == "Softmax":
        return ["softmax"]
    act = cfg.get("activation")
    if isinstance(act, dict):
        act = act.get("config", {}).get("name") or act.get("class_name")
    if isinstance(act, str) and act.lower() != "linear":
        return [canonical_name(act)]
    return []


def activations_in(model: Any, include_other: bool = False) -> list[str]:
    """The activations the model uses, in the order the image meets them.

    Only names with a curve in :data:`ACTIVATIONS` are listed unless
    ``include_other`` (then e.g. the head's ``softmax`` appears too).
    """
    from core.insight.graph import iter_layers

    seen: list[str] = []
    for _, layer in iter_layers(model):
        for name in _layer_activation(layer):
            if name not in seen and (include_other or name in ACTIVATIONS):
                seen.append(name)
    return seen
