"""Grad-CAM: which part of the picture made the model say what it said.

Selvaraju et al. (2017): take the last convolutional feature maps A (h×w×C),
the gradient of the chosen class score with respect to them, average that
gradient over the map to get one weight per channel (how much the class
cares about that channel), and add up the channels with those weights.  What
survives a ReLU is where the evidence for the class lies.  The maps are
coarse (3×3 for MobileNetV2 at 96 px), so the heatmap is also returned
upsampled to the image for overlaying.

The gradient is taken through the app's nested ``backbone`` by
:class:`core.insight.feature_maps.Tap`, which runs the model in inference mode while
keeping the chosen layer's output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as np

from core.insight.formulas import CONV_TYPES
from core.insight.graph import (find_layer, graph_nodes, is_container, iter_layers, node_of,
                                output_shapes, shape_of)
from core.errors import ConfigError, ModelFileError
from core.insight.feature_maps import Tap, prepare_images


@dataclass
class GradCamResult:
    heatmap: np.ndarray    # (h, w) float32 in 0..1, at the layer's resolution
    upsampled: np.ndarray  # (S, S) float32 in 0..1, at the model's input size
    class_index: int
    probability: float     # the model's output for that class (a probability for softmax heads)
    layer_name: str

    def to_dict(self) -> dict:
        return {"heatmap": self.heatmap.tolist(), "upsampled_shape": list(self.upsampled.shape),
                "class_index": self.class_index, "probability": self.probability,
                "layer_name": self.layer_name}


#: The layers that turn the last maps into the head's vector; their input is what to explain.
POOLING_TYPES = ("GlobalAveragePooling2D", "GlobalMaxPooling2D")


def default_layer(model: Any) -> str:
    """The layer Grad-CAM looks at when none is named: the maps the classifier head receives.

    When the model pools its maps globally (every model this app builds: the
    backbone, then ``avg_pool``), that is the layer whose output the pooling
    takes, followed into the nested backbone: MobileNetV2's ``out_relu``,
    ResNet's ``conv5_block3_out``, DenseNet's final ``relu`` after the last
    concatenation (the Keras Grad-CAM example's choice too).  Otherwise the last
    convolution's *final* maps: after the last Conv layer we follow the layers
    that keep its exact 4-D shape (BatchNorm, activation, residual Add).  That
    rule alone stopped inside the last block of DenseNet, Inception, NASNet and
    ConvNeXt (a concatenation or a per-position Dense changes the shape), on one
    branch of a fraction of the channels.
    """
    pooled = _pooled_maps(model)
    if pooled is not None:
        return pooled
    entries = [(path, type(layer).__name__, shape)
               for path, layer, shape in output_shapes(model)]
    last_conv = max((i for i, e in enumerate(entries) if e[1] in CONV_TYPES and len(e[2]) == 4),
                    default=None)
    if last_conv is None:
        raise ConfigError("the model has no 2-D convolution layer, so Grad-CAM has no maps to use")
    chosen = entries[last_conv]
    for e in entries[last_conv + 1:]:
        if e[2] != chosen[2]:
            break
        chosen = e
    return chosen[0]


def coarse_map_note(model: Any) -> str:
    """Words for a model whose Grad-CAM maps are a single cell ("" when they are finer).

    A 1x1 map has one value, so every heatmap is one colour over the whole picture (all
    "decisive" or all "unimportant"), which looked like an explanation.  Small image sizes
    do this: most backbones shrink the picture 32 times.
    """
    try:
        layer = find_layer(model, default_layer(model))[1]
        shape = shape_of(node_of(layer, graph=graph_nodes(model)).output_tensors[0])
    except ConfigError:
        return ""
    size = shape_of(model.inputs[0])[1] if getattr(model, "inputs", None) else None
    if len(shape) != 4 or shape[1] != 1 or shape[2] != 1 or not size:
        return ""
    return (f"At {size} px this model's last feature maps are 1×1, so Grad-CAM cannot show "
            f"where it looked: each picture is coloured evenly. A model trained at {3 * size} px "
            "or more gives a map with places in it.")


def _pooled_maps(model: Any) -> Optional[str]:
    """Path of the layer whose 4-D output the model's last global pooling takes, or None.

    The last: squeeze-and-excitation blocks (EfficientNet, MobileNetV3) pool globally too.
    """
    import keras

    pools = [(path, layer) for path, layer in iter_layers(model)
             if type(layer).__name__ in POOLING_TYPES]
    if not pools:
        return None
    path, pool = pools[-1]
    graph = graph_nodes(model)
    try:
        op = node_of(pool, graph=graph).input_tensors[0]._keras_history[0]
        prefix = path[:-len(pool.name)]
        while is_container(op):  # the nested backbone: the layer that makes its output
            prefix += op.name + "/"
            op = op.outputs[0]._keras_history[0]
        while type(op).__name__ in ("MaxPooling2D", "AveragePooling2D"):  # VGG's block5_pool:
            op = node_of(op, graph=graph).input_tensors[0]._keras_history[0]  # finer maps
        maps = len(shape_of(node_of(op, graph=graph).output_tensors[0])) == 4
    except (AttributeError, IndexError, TypeError, ModelFileError):
        return None
    return prefix + op.name if isinstance(op, keras.layers.Layer) and maps else None


def _resize(heat: np.ndarray, size: tuple) -> np.ndarray:
    import tensorflow as tf

    up = tf.image.resize(heat[None, :, :, None].astype(np.float32), size, method="bilinear")
    return np.clip(up.numpy()[0, :, :, 0], 0.0, 1.0)


def grad_cam(model: Any, image_uint8: Any, class_index: Optional[int] = None,
             layer_name: Optional[str] = None, tap: Optional[Tap] = None
             ) -> Union[GradCamResult, list]:
    """Grad-CAM heatmap for one image (H, W, 3), or a list of them for a batch.

    ``class_index`` None explains the predicted class of each image.
    ``layer_name`` None uses :func:`default_layer`.  Pass a ``tap`` built once
    (``Tap(model, layer)``) to skip rebuilding the sub-models on every call.
    """
    import tensorflow as tf

    single = np.asarray(image_uint8).ndim == 3
    x = prepare_images(model, image_uint8)
    if tap is None:
        tap = Tap(model, layer_name or default_layer(model))
    size = tuple(x.shape[1:3])
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        feat, preds = tap(xt)
        if isinstance(feat, list) or isinstance(preds, list):
            raise ConfigError(f"layer {tap.path!r} or the model has several outputs; Grad-CAM "
                              "needs one feature map and one prediction vector")
        preds = tf.cast(preds, tf.float32)
        if len(preds.shape) != 2:
            raise ConfigError(f"the model's output has shape {tuple(preds.shape)}; Grad-CAM "
                              "needs one score per class")
        n_classes = int(preds.shape[-1])
        if class_index is None:
            chosen = tf.argmax(preds, axis=-1, output_type=tf.int32)
        else:
            if not 0 <= int(class_index) < n_classes:
                raise ConfigError(f"class index {class_index} is out of range; the model has "
                                  f"{n_classes} classes (0–{n_classes - 1})")
            chosen = tf.fill([tf.shape(preds)[0]], int(class_index))
        score = tf.gather(preds, chosen, axis=1, batch_dims=1)
    if len(feat.shape) != 4:
        raise ConfigError(f"layer {tap.path!r} outputs shape {tuple(feat.shape)}; Grad-CAM needs "
                          "a layer with H×W×C maps (a convolution or its activation)")
    grads = tape.gradient(score, feat)
    if grads is None:  # the maps do not lead to the answer (a branch the output ignores)
        raise ConfigError(f"layer {tap.path!r} does not lead to the model's answer, so "
                          "Grad-CAM has nothing to measure there; pick a layer before the output")
    feat = tf.cast(feat, tf.float32).numpy()
    grads = tf.cast(grads, tf.float32).numpy()
    weights = grads.mean(axis=(1, 2))                       # (N, C)
    cams = np.maximum(np.einsum("nhwc,nc->nhw", feat, weights), 0.0)
    results = []
    probs = preds.numpy()
    for i, cam in enumerate(cams):
        top = float(cam.max())
        heat = (cam / top if top > 0 else np.zeros_like(cam)).astype(np.float32)
        k = int(chosen.numpy()[i])
        results.append(GradCamResult(heatmap=heat, upsampled=_resize(heat, size), class_index=k,
                                     probability=float(probs[i, k]), layer_name=tap.path))
    return results[0] if single else results


def colormap_jet(values: np.ndarray) -> np.ndarray:
    """0..1 → RGB 0..1 with the classic blue–cyan–yellow–red "jet" ramp."""
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
    r = np.clip(1.5 - np.abs(4 * v - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * v - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * v - 1), 0, 1)
    return np.stack([r, g, b], axis=-1)


def overlay(image: Any, heatmap: Any, alpha: float = 0.4) -> np.ndarray:
    """Blend a heatmap (any size, 0..1) over an RGB uint8 image; returns uint8 RGB.

    ``alpha`` is the heatmap's share: 0 shows the photo, 1 only the colours.
    """
    from PIL import Image

    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] < 3:
        raise ConfigError(f"overlay needs an RGB image (got shape {img.shape})")
    img = img[..., :3].astype(np.float32)
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"overlay alpha must be between 0 and 1 (got {alpha})")
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape != img.shape[:2]:
        heat = np.asarray(Image.fromarray(heat).resize((img.shape[1], img.shape[0]),
                                                       Image.Resampling.BILINEAR))
    colours = colormap_jet(heat) * 255.0
    out = (1.0 - alpha) * img + alpha * colours
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def overlays_for_files(model: Any, paths: Sequence[str], image_size: int, backgrounds: dict,
                       alpha: float = 0.45, batch_size: int = 16, listener=None,
                       cancel=None) -> dict:
    """Grad-CAM of each file's predicted class, blended over ``backgrounds[path]``.

    Files are decoded at the model's input side and explained ``batch_size`` at
    a time through one :class:`~core.insight.feature_maps.Tap` built once, so
    the sub-model is not rebuilt per image; the background (say, the thumbnail
    the caller shows) may have any size.  Returns ``{path: uint8 RGB array}``;
    files without a background or that cannot be decoded are left out.
    """
    from core.data.imageio import ImageError, load_rgb
    from core.events import Progress, emit

    tap = Tap(model, default_layer(model))
    todo = [p for p in paths if p in backgrounds]
    out = {}
    for start in range(0, len(todo), batch_size):
        if cancel is not None:
            cancel.raise_if_cancelled()
        chunk, images = [], []
        for p in todo[start:start + batch_size]:
            try:
                images.append(load_rgb(p, image_size))
                chunk.append(p)
            except (ImageError, OSError):
                continue
        if chunk:
            for p, res in zip(chunk, grad_cam(model, np.stack(images), tap=tap)):
                out[p] = overlay(backgrounds[p], res.upsampled, alpha)
        emit(listener, Progress(min(start + batch_size, len(todo)), len(todo),
                                "Grad-CAM: where the model looked"))
    return out
