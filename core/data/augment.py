"""Training-image augmentation with albumentations, driven by :class:`AugmentConfig`.

A config names albumentations 2.x transform classes and their keyword
arguments (JSON values, lists for ranges), so what the GUI edits is exactly
what a plain albumentations user would write, and a pipeline can be exported
(:mod:`core.data.augment_files`) and loaded back with ``A.load``.  The
transforms the GUI offers, with their controls, are the table in
:mod:`core.data.augment_specs`; this module holds the ready-made presets and
turns a config into a running pipeline.

A config is data someone may have sent, so a transform that exists to run
Python code (``Lambda``) or takes a function as a parameter is refused when
the pipeline is built, naming the setting, instead of failing mid-training.

Seeding.  ``A.Compose(seed=s)`` in albumentations 2.0.8 gives *every* transform
its own generator seeded with the same ``s``, so their "apply?" draws are
identical: with two p=0.5 flips, either both or neither fire.  We therefore seed
one shared generator pair for the whole pipeline (:func:`seed_compose`, public
albumentations calls only), which keeps transforms independent and is still
reproducible from plain albumentations with the same two lines.
"""

from __future__ import annotations

import inspect
import random
import typing
import warnings
from typing import Any, Optional

import albumentations as A
import cv2
import numpy as np

from core.config import AugmentConfig, TransformConfig
from core.data.augment_specs import TRANSFORMS, ParamSpec, copy_value, default_transform
from core.data.augment_trial import trial_run
from core.errors import ConfigError

PRESETS = ("none", "light", "medium", "heavy")


def _t(name: str, p: float, **params: Any) -> TransformConfig:
    t = default_transform(name)
    t.p = p
    t.params.update({k: copy_value(v) for k, v in params.items()})
    return t


def preset_config(name: str, seed: int = 0) -> AugmentConfig:
    """A ready-made augmentation for classifier training.

    ``light`` (the app default) suits most fine-tuning on a few hundred images;
    ``medium`` and ``heavy`` add colour, geometry and occlusion changes for
    small or very uniform datasets, at the cost of slower convergence.
    """
    if name == "none":
        items: list[TransformConfig] = []
    elif name == "light":
        items = [
            _t("HorizontalFlip", 0.5),
            _t("RandomResizedCrop", 0.5, scale=[0.8, 1.0]),
            _t("RandomBrightnessContrast", 0.5, brightness_limit=[-0.15, 0.15],
               contrast_limit=[-0.15, 0.15]),
        ]
    elif name == "medium":
        items = [
            _t("HorizontalFlip", 0.5),
            _t("RandomResizedCrop", 1.0, scale=[0.6, 1.0]),
            _t("Affine", 0.5),
            _t("RandomBrightnessContrast", 0.5),
            _t("HueSaturationValue", 0.3),
            _t("GaussianBlur", 0.1),
        ]
    elif name == "heavy":
        items = [
            _t("HorizontalFlip", 0.5),
            _t("RandomResizedCrop", 1.0, scale=[0.4, 1.0]),
            _t("Affine", 0.7, scale=[0.8, 1.2], translate_percent=[-0.1, 0.1], rotate=[-25, 25],
               shear=[-8, 8]),
            _t("Perspective", 0.3),
            _t("ColorJitter", 0.6, brightness=[0.7, 1.3], contrast=[0.7, 1.3],
               saturation=[0.7, 1.3], hue=[-0.08, 0.08]),
            _t("ToGray", 0.1),
            _t("GaussianBlur", 0.2),
            _t("GaussNoise", 0.2),
            _t("CoarseDropout", 0.4),
        ]
    else:
        raise ConfigError(f"augment.preset: unknown preset {name!r} (choose one of "
                          f"{', '.join(PRESETS)})")
    return AugmentConfig(preset=name, transforms=items, seed=seed)


def resolve(cfg: AugmentConfig) -> AugmentConfig:
    """The transforms that actually run.

    An empty list under a named preset means "that preset" (the default config
    says ``preset="light"`` without spelling the list out); any non-empty list,
    or the preset ``custom``, is taken verbatim.
    """
    if not cfg.transforms and cfg.preset in PRESETS:
        return preset_config(cfg.preset, cfg.seed)
    return cfg


# -- building ----------------------------------------------------------------

#: Transforms whose whole job is to call Python functions; a settings file can
#: only name them, and what it could name is a lookup of arbitrary code.
CODE_TRANSFORMS = frozenset({"Lambda"})


def transform_class(name: str, where: str) -> type:
    """The albumentations class called ``name``; ConfigError when unknown or able to run code."""
    cls = getattr(A, name, None) if name and not name.startswith("_") else None
    if not (inspect.isclass(cls) and issubclass(cls, A.BasicTransform)):
        raise ConfigError(f"{where}: unknown transform {name!r}; use an albumentations class "
                          f"name such as {', '.join(list(TRANSFORMS)[:6])}")
    if name in CODE_TRANSFORMS:
        raise ConfigError(f"{where}: transform {name!r} runs Python code, which an augmentation "
                          "setting may not carry; remove it and use the transforms the "
                          "Augment page lists")
    if needs_metadata(cls):
        raise ConfigError(f"{where}: transform {name!r} needs other images or text handed to "
                          "it with every image (albumentations' metadata), which a training "
                          "run does not give; remove it (it passed the checks and then "
                          "stopped training at its first batch)")
    return cls


def needs_metadata(cls: type) -> bool:
    """FDA, HistogramMatching, Mosaic, TextImage...: they read a ``metadata_key`` entry
    (reference images, texts) that must come with each image."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False
    return "metadata_key" in params


def code_params(cls: type) -> set[str]:
    """Parameters of ``cls`` that take a function (e.g. ``read_fn``); never set from a config."""
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # unresolvable annotations: fall back to the raw text
        hints = {}
    out = set()
    for key, param in inspect.signature(cls.__init__).parameters.items():
        if "Callable" in str(hints.get(key, param.annotation)):
            out.add(key)
    return out


# Parameters we always set ourselves, so a config's value for them is ignored.
OWN_PARAMS = {"RandomResizedCrop": ("size", "height", "width")}


def _coerce(spec: Optional[ParamSpec], value: Any, where: str) -> Any:
    """Check a JSON value against the catalogue's kind and give it the Python type.

    A single number where a range is expected is passed on unchanged: its
    meaning differs per transform (Rotate reads 15 as -15..15, ColorJitter
    reads 0.2 as 0.8..1.2) and albumentations knows which.
    """
    if spec is None or isinstance(value, dict):  # e.g. Affine's per-axis {"x": .., "y": ..}
        return _tuples(value)
    try:
        if spec.kind == "float":
            return float(value)
        if spec.kind == "int":
            return int(value)
        if spec.kind in ("range", "int_range"):
            if isinstance(value, bool):
                raise ValueError("expected a [low, high] pair")
            if isinstance(value, (int, float)):
                return value
            if not isinstance(value, (list, tuple)) or len(value) != 2 or \
                    any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
                raise ValueError("expected a [low, high] pair of numbers")
            cast = float if spec.kind == "range" else int
            return (cast(value[0]), cast(value[1]))
        if spec.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError("expected true or false")
            return value
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc} (got {value!r})") from None
    return value


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _build_one(t: TransformConfig, image_size: int, where: str) -> A.BasicTransform:
    cls = transform_class(t.name, where)
    if isinstance(t.p, bool) or not isinstance(t.p, (int, float)) or not 0.0 <= t.p <= 1.0:
        raise ConfigError(f"{where} ({t.name}): p must be between 0 and 1, got {t.p!r}")
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "p"}
    code = code_params(cls)
    spec = TRANSFORMS.get(t.name)
    specs = {p.name: p for p in spec.params} if spec else {}
    kwargs: dict[str, Any] = {}
    own = OWN_PARAMS.get(t.name, ())
    for key, value in (t.params or {}).items():
        if key in own:
            continue
        if key in code:
            raise ConfigError(f"{where} ({t.name}).{key}: this parameter takes a Python function, "
                              "which an augmentation setting may not carry; leave it out")
        if key not in accepted:
            raise ConfigError(f"{where} ({t.name}): unknown parameter {key!r} "
                              f"(albumentations {A.__version__} accepts: "
                              f"{', '.join(sorted(accepted - set(own)))})")
        kwargs[key] = _coerce(specs.get(key), value, f"{where} ({t.name}).{key}")
    if t.name == "RandomResizedCrop":
        kwargs["size"] = (image_size, image_size)
    _shares_below_one(t.name, kwargs)
    _odd_kernels(t.name, kwargs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return cls(p=float(t.p), **kwargs)
    except Exception as exc:  # albumentations wraps pydantic errors in ValueError
        raise ConfigError(_explain(exc, t.name, where)) from None


#: Ranges the catalogue offers as a share of the image up to 1.0, which albumentations reads
#: as pixels once a bound reaches 1: CoarseDropout's largest hole, "1.0 of the image", made
#: holes of 0-1 pixel, so the cut-out all but vanished at its largest setting (a review).
SHARE_RANGES = {"CoarseDropout": ("hole_height_range", "hole_width_range")}
ALMOST_WHOLE = 0.999


def _shares_below_one(name: str, kwargs: dict) -> None:
    """A share of exactly 1.0 as just under it, so it keeps meaning a share."""
    for key in SHARE_RANGES.get(name, ()):
        value = kwargs.get(key)
        if isinstance(value, tuple) and value and max(value) == 1.0 and min(value) > 0:
            kwargs[key] = tuple(min(v, ALMOST_WHOLE) for v in value)


#: Kernel sizes albumentations wants odd (0: from sigma); it took an even one as the next
#: odd size with a UserWarning per pipeline built, seven in a run's output (a review).
ODD_KERNELS = {"Blur": "blur_limit", "GaussianBlur": "blur_limit", "MedianBlur": "blur_limit",
               "MotionBlur": "blur_limit"}


def _odd_kernels(name: str, kwargs: dict) -> None:
    """An even kernel size as the next odd one, as albumentations would, without its warning."""
    key = ODD_KERNELS.get(name)
    value = kwargs.get(key) if key else None
    if isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value):
        kwargs[key] = tuple(int(v) + 1 if int(v) == v and v > 0 and int(v) % 2 == 0 else v
                            for v in value)


def _explain(exc: Exception, name: str, where: str) -> str:
    cause = exc.__cause__ or exc.__context__
    errors = getattr(cause, "errors", None) or getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            param = first.get("loc", ("?",))[0]
            msg = str(first.get("msg", "")).removeprefix("Value error, ")
            return f"{where} ({name}).{param}: {msg}"
        except Exception:  # pragma: no cover - defensive: fall back to the text
            pass
    text = str(exc).strip().splitlines()
    return f"{where} ({name}): {text[0] if text else type(exc).__name__}"


def build_compose(cfg: AugmentConfig, image_size: int) -> A.Compose:
    """The albumentations pipeline for ``cfg``, ending in a resize to ``image_size``.

    Disabled transforms are left out.  The final ``Resize`` guarantees the
    output size whatever the transforms did (a no-op-sized copy when
    RandomResizedCrop already produced it).
    """
    if not isinstance(image_size, int) or image_size < 1:
        raise ConfigError(f"augmentation: image size must be a positive whole number, "
                          f"got {image_size!r}")
    cfg = resolve(cfg)
    items = [_build_one(t, image_size, f"augment.transforms[{i}]")
             for i, t in enumerate(cfg.transforms) if t.enabled]
    items.append(A.Resize(image_size, image_size, interpolation=cv2.INTER_AREA, p=1.0))
    compose = A.Compose(items, p=1.0)
    seed_compose(compose, cfg.seed)
    return compose


def seed_compose(compose: A.BaseCompose, seed: Optional[int]) -> None:
    """Seed one generator pair shared by every transform (see the module docstring).

    Plain albumentations users reproduce our output with::

        c = A.load(path)
        c.set_random_state(np.random.default_rng(seed), random.Random(seed))
    """
    compose.set_random_state(np.random.default_rng(seed), random.Random(seed))


class Augmenter:
    """A callable uint8 HxWx3 -> uint8 SxSx3 that augments one image.

    Not thread-safe (albumentations keeps its random state on the object):
    give each worker thread its own :meth:`copy`.  ``seed`` in :meth:`__call__`
    makes one image's augmentation independent of the order images are
    processed in, which keeps a multi-threaded pipeline reproducible.
    """

    def __init__(self, cfg: AugmentConfig, image_size: int) -> None:
        self.cfg = cfg
        self.image_size = image_size
        self.compose = build_compose(cfg, image_size)

    def __call__(self, image: np.ndarray, seed: Optional[int] = None) -> np.ndarray:
        if seed is not None:
            seed_compose(self.compose, seed)
        out = self.compose(image=image)["image"]
        if out.ndim == 2:  # a custom transform may drop the channel axis
            out = np.repeat(out[:, :, None], 3, axis=2)
        return np.ascontiguousarray(out, dtype=np.uint8)

    def copy(self) -> "Augmenter":
        return Augmenter(self.cfg, self.image_size)


def build_augmenter(cfg: Optional[AugmentConfig], image_size: int) -> Optional[Augmenter]:
    """The augmenter for ``cfg``, or None when no transform is enabled.

    Raises ConfigError naming the transform and parameter when a value is wrong.
    """
    if cfg is None:
        return None
    cfg = resolve(cfg)
    if not any(t.enabled for t in cfg.transforms):
        return None
    augmenter = Augmenter(cfg, image_size)
    trial_run(Augmenter(cfg, image_size).compose, cfg, image_size)
    return augmenter


def sample_seed(*parts: int) -> int:
    """A well-mixed 32-bit seed from several integers (run seed, epoch, index...)."""
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(1)[0])


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Stretch ``image`` to ``size`` x ``size`` (what the input pipeline feeds the augmenter)."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    interp = cv2.INTER_AREA if image.shape[0] > size or image.shape[1] > size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def augment_previews(image: np.ndarray, cfg: AugmentConfig, n: int, image_size: int,
                     seed: int = 0) -> list[np.ndarray]:
    """``n`` augmented versions of ``image`` as training would see them.

    The image is first resized to ``image_size`` like the input pipeline does,
    then augmented with per-preview seeds, so the same seed always shows the
    same previews.  With nothing enabled, ``n`` copies of the resized image.
    """
    image = _as_rgb_uint8(image)
    base = resize_square(image, image_size)
    aug = build_augmenter(cfg, image_size)
    if aug is None:
        return [base.copy() for _ in range(n)]
    return [aug(base, seed=sample_seed(seed, cfg.seed, i)) for i in range(n)]


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ConfigError(f"augmentation preview: expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ConfigError(f"augmentation preview: expected an HxWx3 image, got shape {image.shape}")
    return np.ascontiguousarray(image[:, :, :3])


__all__ = [
    "PRESETS", "CODE_TRANSFORMS", "OWN_PARAMS", "Augmenter", "preset_config", "resolve",
    "transform_class", "code_params", "build_compose", "build_augmenter", "seed_compose",
    "sample_seed", "resize_square", "augment_previews",
]
