"""The classifier: raw RGB in, the backbone's own preprocessing, a backbone, a head.

Layout (the same for every backbone, so training, export and the GUI can rely on it)::

    image (S,S,3) float32, raw 0-255 RGB
    -> preprocessing layers (built-in Rescaling / Normalization / frozen Dense)
    -> "backbone": the keras.applications model, include_top=False, nested,
       called with training=False so BatchNorm always uses its ImageNet statistics
       (the Keras fine-tuning rule).  Exception: weights "none" (training from
       scratch) calls it without that flag, because random BatchNorm statistics
       must be learnt; otherwise features vanish (~1e-12) and nothing can train.
    -> avg_pool -> dropout -> [dense, relu] -> "probabilities" (softmax, float32)

Why the preprocessing is inside: an exported model then takes plain pixels in
every runtime (TFLite, SavedModel, another Keras), and no caller can forget or
double-apply ``preprocess_input``.  Only built-in, serialisable layers are used
(no Lambda, no custom classes), so the .keras file loads with ``safe_mode=True``
in plain Keras.  Preprocessing layers run in float32 even under the
mixed_float16 policy: float16 cannot hold 0-255 pixels minus a mean exactly.
"""

from __future__ import annotations

import collections
import contextlib
import difflib
import functools
import math
from pathlib import Path
from typing import Any, Iterator, Optional

from core.model.backbones import BackboneSpec, get_backbone
from core.config import names_weights_file  # noqa: F401 - here for its users
from core.errors import ConfigError, ModelFileError, WeightsError

# ImageNet channel statistics (RGB), as keras.applications.imagenet_utils uses them.
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

BACKBONE_LAYER = "backbone"
OUTPUT_LAYER = "probabilities"
HEAD_LAYERS = ("avg_pool", "dropout", "dense", OUTPUT_LAYER)
PHASES = ("head", "fine_tune")


# -- building -------------------------------------------------------------


def imagenet_weights(choice: Optional[str], spec: BackboneSpec) -> bool:
    """Whether the backbone starts from Keras' ImageNet weights: "imagenet", or that very
    file chosen by hand (the offline way in).  It matters where the preprocessing depends on
    it: an EfficientNet B0-B3 ImageNet file given as a file lacked its input rescaling.
    The file is known by its content (the catalogue's checksum), so a renamed copy (a
    browser's "efficientnetb0_notop (1).h5") builds the same model as the file under Keras'
    name; by its name too, which is what is left when the file is no longer there (a
    resume after it moved does not need the file)."""
    c = (choice or "").strip()
    if c.lower() == "imagenet":
        return True
    if not names_weights_file(c):
        return False
    path = Path(c).expanduser()
    return path.name == spec.weights_file or _holds_imagenet_file(path, spec.weights_hash)


def _holds_imagenet_file(path: Path, expected: Optional[str]) -> bool:
    """Whether ``path`` has the ImageNet file's checksum (False without a published one,
    or when the file cannot be read)."""
    if not expected:
        return False
    try:
        st = path.stat()
    except OSError:
        return False
    return _checksum_matches(str(path.resolve()), st.st_size, st.st_mtime_ns, expected)


@functools.lru_cache(maxsize=32)
def _checksum_matches(path: str, size: int, mtime_ns: int, expected: str) -> bool:
    # Keyed by size and time too: a file written again is read again.
    from core.model.imagenet_download import file_matches

    return file_matches(Path(path), expected)


def preprocessing_layers(spec: BackboneSpec, imagenet: bool) -> list:
    """Layers mapping raw 0-255 RGB to what ``spec``'s backbone expects.

    Each mode reproduces ``keras.applications.<module>.preprocess_input``
    (tests/test_model.py checks the numbers).  EfficientNet (V1) needs one more
    step with ImageNet weights: Keras builds that backbone with an extra
    per-channel rescale after its Normalization *only* when it loads the weights
    itself (weights="imagenet", see keras/src/applications/efficientnet.py);
    loading the same file from a path skips it.  The equivalent affine map is
    applied here instead, before the backbone:  c*(x/255 - m) == (c*x + 255*m*(1-c))/255 - m.
    """
    from keras import layers

    mode = spec.preprocessing
    if mode == "tf":
        return [layers.Rescaling(1.0 / 127.5, offset=-1.0, dtype="float32", trainable=False,
                                 name="preprocess_tf")]
    if mode == "torch":
        return [layers.Normalization(mean=[m * 255.0 for m in IMAGENET_MEAN_RGB],
                                     variance=[(s * 255.0) ** 2 for s in IMAGENET_STD_RGB],
                                     dtype="float32", trainable=False, name="preprocess_torch")]
    if mode == "caffe":
        # out[..., j] = in[..., 2 - j] - mean_bgr[j]: RGB->BGR and mean subtraction in one
        # frozen 3x3 Dense on the channel axis; its weights are set in build_model.
        return [layers.Dense(3, dtype="float32", trainable=False, name="preprocess_caffe")]
    if mode == "inside":
        if spec.module == "efficientnet" and imagenet:
            c = [1.0 / math.sqrt(s) for s in IMAGENET_STD_RGB]
            offset = [255.0 * m * (1.0 - ci) for m, ci in zip(IMAGENET_MEAN_RGB, c)]
            return [layers.Rescaling(c, offset=offset, dtype="float32", trainable=False,
                                     name="imagenet_stddev_fix")]
        return []
    raise ValueError(f"unknown preprocessing mode {mode!r} for {spec.name}")


def _caffe_weights():
    import numpy as np

    kernel = np.zeros((3, 3), dtype="float32")
    for j in range(3):
        kernel[2 - j, j] = 1.0
    return [kernel, -np.asarray(CAFFE_MEAN_BGR, dtype="float32")]


@contextlib.contextmanager
def fresh_layer_names() -> Iterator[None]:
    """Let Keras name a backbone's unnamed layers as in a fresh process.

    InceptionV3, DenseNet, NASNet and MobileNetV3 leave many layers to Keras'
    automatic names ("conv2d_17", "activation_3"), which count up per process.
    Without this, the second model built in the GUI would name its layers
    differently from the first, and a saved "unfreeze from conv2d_70" or a
    .weights.h5 file (stored by layer name) would no longer match.
    """
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # a Keras without this internal: names just keep counting
        yield
        return
    key = "object_name_uids"
    saved = global_state.get_global_attribute(key)
    global_state.set_global_attribute(key, collections.defaultdict(int))
    try:
        yield
    finally:
        global_state.set_global_attribute(
            key, saved if saved is not None else collections.defaultdict(int))


def build_backbone(spec: BackboneSpec, image_size: int, weights_path: Optional[str] = None,
                   name: str = BACKBONE_LAYER):
    """The keras.applications model without its top, with reproducible layer names."""
    import keras

    with fresh_layer_names():
        # Renamed afterwards: EfficientNetV2 looks its configuration up by ``name``
        # and ConvNeXt prefixes every layer with it.
        try:
            backbone = getattr(keras.applications, spec.name)(
                include_top=False, weights=weights_path or None,
                input_shape=(image_size, image_size, 3))
        except (ValueError, OSError) as exc:  # a wrong file in the ImageNet cache, say
            text = str(exc).strip()
            if not weights_path or not (isinstance(exc, OSError) or "mismatch" in text
                                        or "weight" in text.lower()):
                raise
            first = text.splitlines()[0][:300] if text else type(exc).__name__
            raise WeightsError(f"{weights_path} cannot be loaded into {spec.name} at "
                               f"{image_size} px ({first}); replace or delete that file "
                               "(an ImageNet file is then downloaded again)") from None
    backbone.name = name
    return backbone


def build_model(model_cfg, num_classes: int, image_size: int, weights_path: Optional[str],
                *, seed: Optional[int] = None):
    """The full classifier (see the module docstring) for ``num_classes`` classes.

    ``weights_path`` is a backbone weights file (from :func:`core.model.weights.resolve_weights`)
    or None for random weights.  ``seed`` (optional) reseeds Python, NumPy and
    the backend first, so the head starts from the same weights every time;
    the training engine seeds once itself and may leave it out.
    """
    import keras
    from keras import layers

    if num_classes < 2:
        raise ConfigError(f"a classifier needs at least 2 classes, got {num_classes}")
    spec = get_backbone(model_cfg.backbone)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    imagenet = imagenet_weights(model_cfg.weights, spec)
    inputs = keras.Input(shape=(image_size, image_size, 3), dtype="float32", name="image")
    x = inputs
    prep = preprocessing_layers(spec, imagenet)
    for layer in prep:
        x = layer(x)
    backbone = build_backbone(spec, image_size, weights_path)
    if is_from_scratch(model_cfg):
        # No pretrained statistics to protect: BatchNorm must learn them, so it
        # follows fit()'s training flag like any network trained from scratch, and
        # learns them quickly: MobileNetV3's momentum 0.999 left the running
        # statistics near their start after a few hundred steps, so the saved model
        # gave every image the same answer and early stopping ended the run at chance.
        for layer in backbone.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.momentum = min(float(layer.momentum), SCRATCH_BN_MOMENTUM)
        x = backbone(x)
    else:
        x = backbone(x, training=False)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(model_cfg.dropout, seed=seed, name="dropout")(x)
    if model_cfg.dense_units:
        x = layers.Dense(model_cfg.dense_units, activation="relu", name="dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32",
                           name=OUTPUT_LAYER)(x)
    model = keras.Model(inputs, outputs, name=f"{spec.name.lower()}_classifier")
    for layer in prep:
        if layer.name == "preprocess_caffe":
            layer.set_weights(_caffe_weights())
    return model


# -- freezing -------------------------------------------------------------


def backbone_of(model):
    """The nested keras.applications model inside a model made by :func:`build_model`."""
    try:
        return model.get_layer(BACKBONE_LAYER)
    except ValueError:
        raise ModelFileError(f"model {model.name!r} has no '{BACKBONE_LAYER}' layer: it was not "
                             "made by Fine-Tune Studio") from None


def _walk(layer) -> Iterator[Any]:
    yield layer
    for sub in getattr(layer, "layers", ()) or ():
        yield from _walk(sub)


def _is_batch_norm(layer) -> bool:
    from keras import layers

    return isinstance(layer, layers.BatchNormalization)


def count_values(weights) -> int:
    """How many numbers ``weights`` (a list of variables) hold."""
    return sum(int(math.prod(w.shape)) for w in weights)


def param_counts(model) -> tuple[int, int]:
    """(total, trainable) parameters of ``model`` as it is set up right now."""
    return count_values(model.weights), count_values(model.trainable_weights)


def _close(name: str, names: list[str]) -> str:
    near = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    return f"close matches: {', '.join(near)}" if near else "see the layer table for the names"


#: BatchNorm momentum at most this when training from scratch (PyTorch's default, 0.1 there).
SCRATCH_BN_MOMENTUM = 0.9


def is_from_scratch(model_cfg) -> bool:
    """True when the backbone starts from random weights (weights "none")."""
    return (model_cfg.weights or "").strip().lower() == "none"


def exact_fit_planned(cfg) -> bool:
    """Whether a run of ``cfg`` fits its head in one exact step instead of epochs of Adam:
    the settings' part of :meth:`core.train.session.Session.linear_head` (one machine),
    which the Train page's "epochs at most" and the report's settings also read so that
    they never disagree."""
    t = cfg.train
    return (t.head_solver == "logistic" and t.fast_head and not is_from_scratch(cfg.model)
            and not cfg.model.dense_units)


def apply_freeze(model, freeze, phase: str, from_scratch: bool = False) -> tuple[int, int]:
    """Choose which layers train in ``phase``; return (trainable, total) parameters.

    "head": the whole backbone is frozen.  "fine_tune": ``freeze.mode`` says
    which backbone layers train (none / all / top_n / from_layer / custom, see
    :class:`core.config.FreezeConfig`; top_n counts ``backbone.layers`` from the
    end, weightless layers included, as the Keras fine-tuning guide does).
    BatchNormalization layers never train: their statistics stay ImageNet's
    (the backbone is also called with training=False).  The head always trains,
    the preprocessing never.  Recompile afterwards.  ``from_scratch`` (weights
    "none"): everything trains in both phases, BatchNorm included.
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    backbone = backbone_of(model)
    layers = backbone.layers
    names = [layer.name for layer in layers]
    mode = freeze.mode if phase == "fine_tune" else "none"
    if from_scratch:
        # Random features are worth nothing frozen: every layer learns, in both
        # phases, BatchNorm included (build_model calls it in training mode).
        _set_trainable_everywhere(backbone, True)
        mode = "scratch"
    elif mode == "none":
        _set_trainable_everywhere(backbone, False)
    else:
        # Explicitly per layer: in Keras 3 setting ``backbone.trainable = True``
        # when it already is True leaves inner layers frozen by an earlier call.
        _set_trainable_everywhere(backbone, True)
        if mode == "top_n":
            cut = max(0, len(layers) - int(freeze.top_n))
            for layer in layers[:cut]:
                layer.trainable = False
        elif mode == "from_layer":
            if freeze.from_layer not in names:
                raise ConfigError(f"model.freeze.from_layer: {backbone_name(model)} has no layer "
                                  f"{freeze.from_layer!r}; {_close(freeze.from_layer, names)}")
            for layer in layers[:names.index(freeze.from_layer)]:
                layer.trainable = False
        elif mode == "custom":
            unknown = [n for n in freeze.layers if n not in names]
            if unknown:
                raise ConfigError(f"model.freeze.layers: {backbone_name(model)} has no layer "
                                  f"{unknown[0]!r}; {_close(unknown[0], names)}")
            chosen = set(freeze.layers)
            for layer in layers:
                layer.trainable = layer.name in chosen
        elif mode != "all":
            raise ConfigError(f"model.freeze.mode: unknown mode {mode!r}")
    if mode != "scratch":
        for layer in _walk(backbone):
            if _is_batch_norm(layer):
                layer.trainable = False
    for layer in model.layers:
        if layer is backbone or layer.name == "image":
            continue
        layer.trainable = layer.name in HEAD_LAYERS
    total, trainable = param_counts(model)
    return trainable, total


def _set_trainable_everywhere(backbone, value: bool) -> None:
    backbone.trainable = value
    for layer in _walk(backbone):
        layer.trainable = value


#: What :func:`backbone_name` says of a model whose name names no backbone of the catalog.
UNKNOWN_BACKBONE = "the backbone"


def backbone_name(model) -> str:
    """The catalog name of ``model``'s backbone ("mobilenetv2_classifier" -> "MobileNetV2")."""
    stem = model.name[: -len("_classifier")] if model.name.endswith("_classifier") else model.name
    try:
        return get_backbone(stem).name
    except Exception:
        return UNKNOWN_BACKBONE


def phase_two_frozen(model, model_cfg) -> str:
    """Why the fine-tuning phase would train no backbone weight ("" when it trains some; from
    scratch every layer trains): the settings' own reason, then, given a built ``model``,
    the layers they choose.  The one rule for the plan, the time budget, the up-front check
    and the Train page's epoch count (``model`` None: the settings alone)."""
    if is_from_scratch(model_cfg):
        return ""
    freeze = model_cfg.freeze
    return freeze.nothing_unfreezes() or (trains_no_weight(model, freeze)
                                          if model is not None else "")


#: Why fine-tuning trains nothing when the settings do choose layers (the Model page's
#: preview and training say it alike).
NO_WEIGHT_CHOSEN = "the layers chosen hold no weights that train"


def trains_no_weight(model, freeze) -> str:
    """Why the fine-tuning phase of ``model`` would train no backbone weight ("" when it
    trains some): the top 2 layers of MobileNetV3Small hold none, and a whole phase trained
    the head alone (its log said "1,154 of 940,274 parameters train").  Leaves the model
    frozen as for the head phase."""
    tuned, _ = apply_freeze(model, freeze, "fine_tune")
    head, _ = apply_freeze(model, freeze, "head")
    return "" if tuned > head else NO_WEIGHT_CHOSEN
