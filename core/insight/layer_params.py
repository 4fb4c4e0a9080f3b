"""What a layer's parameters are, in words and as a sum, for the layer table.

Every row of the "see inside the network" table says how its parameter count
comes about (``3·3·32·64 + 64``), what the weights do ("64 filters of 3×3×32
weights shared over every position"), and how many a fully connected layer
joining the same input and output would need -- the comparison that shows why
convolutions are cheap.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from core.insight.formulas import CONV_TYPES, GLOBAL_POOL_PREFIXES, POOL_TYPES
from core.insight.graph import Shape, channels


def weights_size(weights: Sequence[Any]) -> int:
    """How many numbers ``weights`` hold."""
    return sum(int(math.prod(w.shape)) for w in weights)


def params_formula(layer: Any) -> str:
    """The parameter count as a sum of weight shapes, e.g. ``3·3·3·32 + 32 = 896``."""
    terms = ["·".join(str(int(d)) for d in w.shape) or "1" for w in layer.weights]
    if type(layer).__name__ == "BatchNormalization":  # which number is which, said
        terms = [f"{_BN_WORDS.get(_short(w), _short(w))} {t}" for w, t in zip(layer.weights, terms)]
    total = weights_size(layer.weights)
    if not terms:
        return "0"
    if len(terms) == 1 and "·" not in terms[0]:
        return terms[0]
    return " + ".join(terms) + f" = {total}"


#: The preprocessing layers core.model.build puts before a backbone, in words: their
#: numbers are fixed, and "a 1×1 convolution" said nothing of what they do.
PREPROCESSING_WORDS = {
    "preprocess_caffe": "the pixels as the backbone was trained on them: RGB turned to BGR "
                        "(so channel 1 is blue) and ImageNet's mean colour taken away, fixed "
                        "numbers that never train",
    "preprocess_torch": "the pixels as the backbone was trained on them: ImageNet's mean "
                        "colour taken away and divided by its spread (mean, variance and a "
                        "count per channel), fixed",
    "preprocess_tf": "the pixels scaled from 0..255 to −1..1, as the backbone was trained",
    "imagenet_stddev_fix": "ImageNet's colour spread divided out, which this backbone's own "
                           "rescaling leaves to its user; fixed",
}
#: A batch norm's weights by name: InceptionV3's have no γ (scale=False), so the terms are
#: named from the layer's own weights, not assumed to be four.
_BN_WORDS = {"gamma": "γ", "beta": "β", "moving_mean": "mean", "moving_variance": "variance"}


def _short(weight: Any) -> str:
    return str(getattr(weight, "name", "")).rsplit("/", 1)[-1].split(":")[0]


def activation_name(layer: Any) -> Optional[str]:
    """The layer's own activation ("relu", "swish"), or None for linear or none."""
    try:
        act = layer.get_config().get("activation")
    except Exception:  # a layer whose config cannot be read still gets a row
        return None
    if isinstance(act, dict):
        act = act.get("config", {}).get("name") or act.get("class_name")
    return act if isinstance(act, str) and act != "linear" else None


def params_note(kind: str, layer: Any, in_shape: Shape, out_shape: Shape) -> str:
    """What the weights of a layer of type ``kind`` do, in one sentence ("" when nothing to say)."""
    df = getattr(layer, "data_format", "channels_last") or "channels_last"
    cin = channels(in_shape, df) if isinstance(in_shape, tuple) else None
    k = "×".join(map(str, getattr(layer, "kernel_size", ()) or ()))
    bias = bool(getattr(layer, "use_bias", False))
    if getattr(layer, "name", "") in PREPROCESSING_WORDS:  # the app's own fixed first step
        return PREPROCESSING_WORDS[layer.name]
    if kind.startswith("Depthwise"):
        dm = getattr(layer, "depth_multiplier", 1)
        return (f"one {k} filter per input channel ({cin}·{dm}: {dm} output(s) per channel, "
                "the depth multiplier), no mixing across channels"
                + ("; plus a bias per output" if bias else ""))
    if kind.startswith("Separable"):
        return (f"depthwise {k} filter per channel, then a 1×1 pointwise mix to "
                f"{getattr(layer, 'filters', '?')} channels" + ("; plus a bias each" if bias else ""))
    if kind in CONV_TYPES:
        groups = getattr(layer, "groups", 1) or 1
        per = f"{k}×{cin // groups if cin else '?'}"
        return (f"{getattr(layer, 'filters', '?')} filters of {per} weights shared over every position"
                + _groups_words(groups, cin) + ("; plus a bias each" if bias else ""))
    if kind == "Dense" and isinstance(in_shape, tuple) and len(in_shape) > 2:
        # ConvNeXt's pointwise layers: a Dense on maps mixes channels at each position alone
        return (f"{getattr(layer, 'units', '?')} outputs at every position, each joining the "
                f"{in_shape[-1]} channels there (a 1×1 convolution), shared over the positions"
                + ("; plus a bias each" if bias else ""))
    if kind == "Dense":
        return (f"each of {getattr(layer, 'units', '?')} outputs joins every input"
                + ("; plus a bias each" if bias else ""))
    if kind == "BatchNormalization":
        names = {_short(w) for w in layer.weights}
        learned = " and ".join(w for n, w in (("gamma", "γ (scale)"), ("beta", "β (offset)"))
                               if n in names) or "nothing"
        return (f"{learned} can be learned; the moving mean and variance are statistics, "
                "not trained, so they are non-trainable")
    if kind in POOL_TYPES or kind.startswith(GLOBAL_POOL_PREFIXES):
        return "no weights: a fixed max/average over each window"
    return ""


def _groups_words(groups: int, cin: Optional[int]) -> str:
    """What a grouped convolution's filters look at: ConvNeXt writes its depthwise
    convolutions as Conv2D(groups=96), and "96 filters of 7×7×1" left 7·7·96·96 unexplained."""
    if groups <= 1:
        return ""
    if cin == groups:
        return (f", each looking at its own one of the {cin} channels (groups = {groups}: a "
                "depthwise convolution, no mixing across channels)")
    per = f"{cin // groups} of the {cin}" if cin else "its group of the"
    return (f", in {groups} groups: each filter sees {per} channels of its group, not all "
            "of them")


def dense_equivalent(kind: str, in_shape: Any, out_shape: Any) -> Optional[int]:
    """Weights + biases of a fully connected layer from the whole input to the whole output."""
    if not (kind in CONV_TYPES or kind in POOL_TYPES or kind == "Dense"):
        return None
    if kind == "Dense" and isinstance(in_shape, tuple) and len(in_shape) > 2:
        return None  # per position (a 1x1 convolution): comparing it with one layer is no saving
    if not isinstance(in_shape, tuple) or not isinstance(out_shape, tuple):
        return None
    if any(d is None for d in in_shape[1:]) or any(d is None for d in out_shape[1:]):
        return None
    n_in, n_out = math.prod(in_shape[1:]), math.prod(out_shape[1:])
    return n_in * n_out + n_out
