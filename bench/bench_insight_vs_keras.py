"""The Network page's figures against Keras' own, for every backbone the app offers.

    python bench/bench_insight_vs_keras.py [--backbones A,B] [--sizes min,97,default]
                                           [--weights none|imagenet] [--fields N]

For each backbone and input side it builds the app's classifier with random weights
(``core.model.build.build_model``; ``--weights imagenet`` only adds the preprocessing
layers an ImageNet model gets, no file is read) and checks every row of
``core.insight.layers.inspect_layers``, which the Layers tab and ``inspect-model`` show:

* the output shape equals ``layer.output.shape`` and the parameters ``layer.count_params()``;
* every convolution and pooling has a formula, it gives Keras' size, and its text, once
  its numbers are worked out, gives the number it states;
* the "how the parameters add up" sum adds up to the row's count;
* the totals equal ``model.count_params()`` and the trainable weights' size.

``--fields N`` also checks the receptive field of every N-th 2-D layer of the backbone
(rows past a squeeze-and-excitation gate left out, as the page says): the image pixels the
gradient of the corner and last values reaches must lie inside what the row says they see.
Prints one line per model and every mismatch; exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def formula_values(text: str) -> list[tuple[float, int]]:
    """(worked out, stated) for each axis of a formula text such as
    ``H: ⌊(97 − 3 + 2·1)/2⌋ + 1 = 49; W: …``."""
    out = []
    for axis in text.split("; "):
        axis = re.sub(r"^[DHW]: ", "", axis).split("  (dilated")[0]
        lhs, rhs = axis.rsplit("=", 1)
        expr = lhs.replace("−", "-").replace("·", "*").replace("⌊", "(").replace("⌋", ")//1")
        if not re.fullmatch(r"[0-9.+\-*/() ]+", expr):
            raise ValueError(f"not arithmetic: {lhs!r}")
        out.append((eval(expr), int(rhs)))  # noqa: S307 - digits and operators only
    return out


def params_sum(text: str) -> tuple[int, int]:
    """(sum of the terms, stated total) of ``3·3·3·32 + 32 = 896`` or ``γ 32 + β 32 … = 128``."""
    if "=" not in text:
        return int(text), int(text)
    lhs, rhs = text.rsplit("=", 1)
    total = 0
    for term in lhs.split(" + "):
        prod = 1
        for n in term.split()[-1].split("·"):
            prod *= int(n)
        total += prod
    return total, int(rhs)


def check_rows(model, inspection, tag: str) -> list[str]:
    """Every mismatch between ``inspection``'s rows and Keras' figures for ``model``."""
    from core.insight.graph import iter_layers

    rows = {r.path: r for r in inspection.rows}
    bad = []
    for path, layer in iter_layers(model):
        if type(layer).__name__ == "InputLayer" and "/" in path:
            continue  # the nested backbone's own input: no row of its own
        r = rows.get(path)
        if r is None:
            bad.append(f"{tag} {path}: no row")
            continue
        keras_shape = tuple(layer.output.shape)
        if tuple(r.output_shape) != keras_shape:
            bad.append(f"{tag} {path}: shape {r.output_shape}, Keras {keras_shape}")
        if r.params != layer.count_params():
            bad.append(f"{tag} {path}: {r.params} parameters, Keras {layer.count_params()}")
        windowed = hasattr(layer, "strides") and len(keras_shape) == 4
        if windowed and (r.formula_shape is None or r.formula_matches is not True):
            bad.append(f"{tag} {path}: formula {r.formula_text!r} for Keras {keras_shape}")
        if r.formula_text and not type(layer).__name__.startswith(("ZeroPadding", "Cropping")):
            for worked, stated in formula_values(r.formula_text):
                if worked != stated:
                    bad.append(f"{tag} {path}: {r.formula_text} works out to {worked}")
        if r.params and len(set(params_sum(r.params_formula)) | {r.params}) != 1:
            bad.append(f"{tag} {path}: parameters add up as {r.params_formula!r}")
    trainable = sum(int(v.numpy().size) for v in model.trainable_weights)
    if (inspection.total_params, inspection.trainable_params) != (model.count_params(), trainable):
        bad.append(f"{tag}: totals {inspection.total_params}/{inspection.trainable_params}, "
                   f"Keras {model.count_params()}/{trainable}")
    return bad


def _reach(sub, x, at) -> Optional[tuple]:
    """The image rows and columns (first, last) the value at ``at`` of ``sub`` depends on
    (None when its gradient reaches no pixel)."""
    import numpy as np
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = sub(x, training=False)
        mix = tf.cast(tf.random.stateless_normal([y.shape[-1]], (1, 2)), y.dtype)
        target = tf.reduce_sum(y[0, at[0], at[1], :] * mix)
    g = np.abs(tape.gradient(target, x).numpy()[0]).sum(axis=-1) > 0
    rows, cols = np.flatnonzero(g.any(axis=1)), np.flatnonzero(g.any(axis=0))
    if not len(rows):  # every path blocked (ReLUs of random weights at zero): no evidence
        return None
    return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


def check_fields(model, inspection, tag: str, every: int) -> list[str]:
    """Receptive fields: what the gradient reaches lies inside what each row says is seen."""
    import keras
    import numpy as np
    import tensorflow as tf

    backbone = model.get_layer("backbone")
    size = tuple(backbone.inputs[0].shape)[1:3]
    x = tf.constant(np.random.RandomState(0).uniform(-1, 1, (1,) + size + (3,)), "float32")
    rows = [r for r in inspection.rows if r.path.count("/") == 1 and r.seen_first is not None
            and len(r.output_shape) == 4 and not r.gate_left_out][::every]
    bad = []
    for r in rows:
        sub = keras.Model(backbone.inputs, backbone.get_layer(r.name).output)
        last = (r.output_shape[1] - 1, r.output_shape[2] - 1)
        for at, said in (((0, 0), r.seen_first), (last, r.seen_last)):
            got = _reach(sub, x, at)
            if got and any(g[0] < s[0] or g[1] > s[1] for g, s in zip(got, said)):
                bad.append(f"{tag} {r.path} value {at}: sees {got}, the row says {said}")
    return bad


def sizes_of(spec, text: str) -> list[int]:
    out = []
    for s in text.split(","):
        v = {"min": spec.min_size, "default": spec.default_size}.get(s) or int(s)
        if v >= spec.min_size and v not in out:
            out.append(v)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbones", default="", help="comma-separated (default: all offered)")
    ap.add_argument("--sizes", default="min,97,default", help="sides; min/default per backbone")
    ap.add_argument("--weights", default="none", choices=("none", "imagenet"))
    ap.add_argument("--fields", type=int, default=0, help="check every N-th layer's field")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from core.config import StudioConfig
    from core.insight.layers import inspect_layers
    from core.model.backbones import CATALOG, get_backbone
    from core.model.build import build_model

    names = [get_backbone(n).name for n in args.backbones.split(",") if n] or list(CATALOG)
    problems = []
    for name in names:
        for size in sizes_of(CATALOG[name], args.sizes):
            cfg = StudioConfig()
            cfg.model.backbone, cfg.model.weights = name, args.weights
            model = build_model(cfg.model, 3, size, None)
            inspection = inspect_layers(model)
            tag = f"{name}@{size}"
            bad = check_rows(model, inspection, tag)
            if args.fields:
                bad += check_fields(model, inspection, tag, args.fields)
            print(f"{tag}: {len(inspection.rows)} rows, {len(bad)} mismatches", flush=True)
            problems += bad
            keras.backend.clear_session()
    print("\n".join(problems) if problems else "every figure agrees with Keras")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
