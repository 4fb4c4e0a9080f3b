"""Training-image augmentation with albumentations, driven by :class:`AugmentConfig`.

A config names albumentations 2.x transform classes and their keyword
arguments (JSON values, lists for ranges), so what the GUI edits is exactly
what a plain albumentations user would write, and a pipeline can be exported
with :func:`save_albumentations` and loaded back with ``A.load``.

:data:`TRANSFORMS` describes the transforms the GUI offers (labels, plain-word
descriptions, parameter kinds and bounds) so the controls are built from data,
not hand-written per transform.  Any other albumentations image transform is
still accepted in a config (e.g. from an imported file); it just gets no
dedicated controls.

Seeding.  ``A.Compose(seed=s)`` in albumentations 2.0.8 gives *every* transform
its own generator seeded with the same ``s``, so their "apply?" draws are
identical: with two p=0.5 flips, either both or neither fire.  We therefore seed
one shared generator pair for the whole pipeline (:func:`seed_compose`, public
albumentations calls only), which keeps transforms independent and is still
reproducible from plain albumentations with the same two lines.
"""

from __future__ import annotations

import inspect
import json
import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import albumentations as A
import cv2
import numpy as np

from core.config import AugmentConfig, StudioConfig, TransformConfig
from core.errors import ConfigError
from core.fsutil import atomic_write_text

PRESETS = ("none", "light", "medium", "heavy")

# cv2 border modes a person can choose between, in words.
_BORDER_CHOICES = (cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE, cv2.BORDER_REFLECT_101)
_BORDER_LABELS = ("black", "repeat edge", "mirror")


@dataclass(frozen=True)
class ParamSpec:
    """One keyword argument of a transform, as the GUI should offer it.

    kind: ``float``, ``int``, ``range`` (a [low, high] pair of floats),
    ``int_range``, ``bool`` or ``choice`` (one of ``choices``; ``choice_labels``
    gives the words to show for each, when the raw values mean nothing to a person).
    """

    name: str
    label: str
    kind: str
    default: Any
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    choices: tuple = ()
    choice_labels: tuple = ()


@dataclass(frozen=True)
class TransformSpec:
    """A transform the GUI offers: its albumentations class name and controls."""

    name: str
    label: str
    description: str
    default_p: float
    params: list[ParamSpec] = field(default_factory=list)


def _border(default: int = cv2.BORDER_CONSTANT) -> ParamSpec:
    return ParamSpec("border_mode", "Fill outside", "choice", default,
                     choices=_BORDER_CHOICES, choice_labels=_BORDER_LABELS)


_SPECS = [
    TransformSpec("HorizontalFlip", "Horizontal flip",
                  "Mirrors the image left to right. Safe for almost all photos; "
                  "avoid it when left/right matters (text, some signs).", 0.5),
    TransformSpec("VerticalFlip", "Vertical flip",
                  "Turns the image upside down. Only for images without a natural "
                  "'up', such as aerial, microscope or texture images.", 0.5),
    TransformSpec("Rotate", "Rotate",
                  "Rotates the image by a random angle within the limits.", 0.5, [
                      ParamSpec("limit", "Angle (degrees)", "range", [-15.0, 15.0], -180, 180),
                      _border(),
                  ]),
    TransformSpec("RandomResizedCrop", "Random crop and zoom",
                  "Cuts out a random part of the image (a share of its area given by "
                  "'Area kept') and scales it back to the model's input size.", 1.0, [
                      ParamSpec("scale", "Area kept", "range", [0.8, 1.0], 0.05, 1.0),
                      ParamSpec("ratio", "Aspect ratio", "range", [0.75, 4 / 3], 0.25, 4.0),
                  ]),
    TransformSpec("Affine", "Shift, scale, rotate",
                  "Moves, zooms, rotates and shears the image slightly.", 0.5, [
                      ParamSpec("scale", "Zoom", "range", [0.9, 1.1], 0.5, 2.0),
                      ParamSpec("translate_percent", "Shift (share of size)", "range",
                                [-0.05, 0.05], -0.5, 0.5),
                      ParamSpec("rotate", "Angle (degrees)", "range", [-10.0, 10.0], -180, 180),
                      ParamSpec("shear", "Shear (degrees)", "range", [0.0, 0.0], -45, 45),
                      _border(cv2.BORDER_REFLECT_101),
                  ]),
    TransformSpec("RandomBrightnessContrast", "Brightness and contrast",
                  "Makes the image randomly lighter/darker and flatter/punchier.", 0.5, [
                      ParamSpec("brightness_limit", "Brightness change", "range", [-0.2, 0.2], -1, 1),
                      ParamSpec("contrast_limit", "Contrast change", "range", [-0.2, 0.2], -1, 1),
                  ]),
    TransformSpec("HueSaturationValue", "Hue, saturation, value",
                  "Shifts colours, colour strength and lightness.", 0.3, [
                      ParamSpec("hue_shift_limit", "Hue shift", "range", [-10.0, 10.0], -180, 180),
                      ParamSpec("sat_shift_limit", "Saturation shift", "range", [-20.0, 20.0], -255, 255),
                      ParamSpec("val_shift_limit", "Value shift", "range", [-10.0, 10.0], -255, 255),
                  ]),
    TransformSpec("ColorJitter", "Colour jitter",
                  "Randomly changes brightness, contrast, saturation and hue together "
                  "(factors around 1 keep the image as it is).", 0.5, [
                      ParamSpec("brightness", "Brightness factor", "range", [0.8, 1.2], 0, 3),
                      ParamSpec("contrast", "Contrast factor", "range", [0.8, 1.2], 0, 3),
                      ParamSpec("saturation", "Saturation factor", "range", [0.8, 1.2], 0, 3),
                      ParamSpec("hue", "Hue shift", "range", [-0.05, 0.05], -0.5, 0.5),
                  ]),
    TransformSpec("ToGray", "Grey scale",
                  "Removes colour, so the model does not rely on colour alone.", 0.1, [
                      ParamSpec("method", "Method", "choice", "weighted_average",
                                choices=("weighted_average", "from_lab", "desaturation",
                                         "average", "max", "pca")),
                  ]),
    TransformSpec("GaussianBlur", "Gaussian blur",
                  "Softens the image as if slightly out of focus.", 0.2, [
                      ParamSpec("blur_limit", "Kernel size (odd, 0 = from sigma)", "int_range",
                                [3, 7], 0, 31),
                      ParamSpec("sigma_limit", "Sigma", "range", [0.1, 2.0], 0, 10),
                  ]),
    TransformSpec("Blur", "Box blur",
                  "Averages each pixel with its neighbours.", 0.2, [
                      ParamSpec("blur_limit", "Kernel size", "int_range", [3, 5], 3, 31),
                  ]),
    TransformSpec("GaussNoise", "Noise",
                  "Adds random sensor-like noise (strength as a share of full brightness).",
                  0.2, [
                      ParamSpec("std_range", "Strength", "range", [0.02, 0.08], 0, 1),
                      ParamSpec("per_channel", "Coloured noise", "bool", True),
                  ]),
    TransformSpec("CoarseDropout", "Cut-out",
                  "Blanks out a few random rectangles so the model cannot rely on one "
                  "small part of the object.", 0.3, [
                      ParamSpec("num_holes_range", "Number of holes", "int_range", [1, 4], 1, 64),
                      ParamSpec("hole_height_range", "Hole height (share of image)", "range",
                                [0.05, 0.15], 0.01, 1.0),
                      ParamSpec("hole_width_range", "Hole width (share of image)", "range",
                                [0.05, 0.15], 0.01, 1.0),
                      ParamSpec("fill", "Fill", "choice", 0,
                                choices=(0, 128, 255, "random", "random_uniform"),
                                choice_labels=("black", "grey", "white", "noise", "random colour")),
                  ]),
    TransformSpec("Perspective", "Perspective",
                  "Tilts the image as if seen from a slightly different angle.", 0.3, [
                      ParamSpec("scale", "Strength", "range", [0.02, 0.06], 0, 0.5),
                      _border(),
                  ]),
]

TRANSFORMS: dict[str, TransformSpec] = {s.name: s for s in _SPECS}


def default_transform(name: str, enabled: bool = True) -> TransformConfig:
    """A transform with the GUI's default probability and parameters."""
    spec = TRANSFORMS.get(name)
    if spec is None:
        raise ConfigError(f"augmentation: unknown transform {name!r} "
                          f"(known: {', '.join(TRANSFORMS)})")
    return TransformConfig(name=name, enabled=enabled, p=spec.default_p,
                           params={p.name: _copy_value(p.default) for p in spec.params})


def _copy_value(v: Any) -> Any:
    return list(v) if isinstance(v, (list, tuple)) else v


def _t(name: str, p: float, **params: Any) -> TransformConfig:
    t = default_transform(name)
    t.p = p
    t.params.update({k: _copy_value(v) for k, v in params.items()})
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

def _transform_class(name: str, where: str) -> type:
    cls = getattr(A, name, None) if name and not name.startswith("_") else None
    if not (inspect.isclass(cls) and issubclass(cls, A.BasicTransform)):
        raise ConfigError(f"{where}: unknown transform {name!r}; use an albumentations class "
                          f"name such as {', '.join(list(TRANSFORMS)[:6])}")
    return cls


# Parameters we always set ourselves, so a config's value for them is ignored.
_OWN_PARAMS = {"RandomResizedCrop": ("size", "height", "width")}


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
    cls = _transform_class(t.name, where)
    if isinstance(t.p, bool) or not isinstance(t.p, (int, float)) or not 0.0 <= t.p <= 1.0:
        raise ConfigError(f"{where} ({t.name}): p must be between 0 and 1, got {t.p!r}")
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "p"}
    spec = TRANSFORMS.get(t.name)
    specs = {p.name: p for p in spec.params} if spec else {}
    kwargs: dict[str, Any] = {}
    own = _OWN_PARAMS.get(t.name, ())
    for key, value in (t.params or {}).items():
        if key in own:
            continue
        if key not in accepted:
            raise ConfigError(f"{where} ({t.name}): unknown parameter {key!r} "
                              f"(albumentations {A.__version__} accepts: "
                              f"{', '.join(sorted(accepted - set(own)))})")
        kwargs[key] = _coerce(specs.get(key), value, f"{where} ({t.name}).{key}")
    if t.name == "RandomResizedCrop":
        kwargs["size"] = (image_size, image_size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return cls(p=float(t.p), **kwargs)
    except Exception as exc:  # albumentations wraps pydantic errors in ValueError
        raise ConfigError(_explain(exc, t.name, where)) from None


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
    return Augmenter(cfg, image_size)


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


# -- plain-albumentations files ------------------------------------------------

def to_albumentations_dict(cfg: AugmentConfig, image_size: int) -> dict:
    """``A.to_dict`` of the pipeline (enabled transforms + final resize)."""
    return A.to_dict(build_compose(cfg, image_size))


def save_albumentations(cfg: AugmentConfig, image_size: int, path: str | Path) -> None:
    """Write a file ``A.load(path)`` reads (JSON, the format ``A.save`` writes)."""
    text = json.dumps(to_albumentations_dict(cfg, image_size), indent=2) + "\n"
    atomic_write_text(path, text)


def load_augment_file(path: str | Path) -> AugmentConfig:
    """Read our AugmentConfig JSON, a whole Studio config, or an ``A.save`` file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: augmentation file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read augmentation file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); only JSON "
                          "augmentation files are supported (A.save(..., data_format='json'))") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    if isinstance(data.get("transform"), dict):
        return from_albumentations_dict(data, str(path))
    if "augment" in data:  # a whole Studio config or project
        return StudioConfig.from_dict({"augment": data["augment"]}, str(path)).augment
    return StudioConfig.from_dict({"augment": data}, str(path)).augment


# Serialised keys that only matter for masks/boxes, never for a classifier's image.
_MASK_KEYS = {"mask_interpolation", "fill_mask"}


def from_albumentations_dict(data: dict, source: str = "albumentations file") -> AugmentConfig:
    """Map an ``A.to_dict`` result back to an AugmentConfig (preset ``custom``).

    Arguments equal to the albumentations default are dropped so the config
    stays readable; the trailing square ``Resize`` our export adds is dropped
    because :func:`build_compose` adds it again for the chosen image size.
    """
    top = data.get("transform", {})
    kind = str(top.get("__class_fullname__", "")).rsplit(".", 1)[-1]
    if kind not in ("Compose", "Sequential"):
        raise ConfigError(f"{source}: top level is {kind or 'missing'}; expected Compose")
    if float(top.get("p", 1.0)) != 1.0:
        raise ConfigError(f"{source}: a Compose with p={top.get('p')} (skipping the whole "
                          "pipeline at random) is not supported; set p to 1")
    items = list(top.get("transforms", []))
    if items and _is_square_resize(items[-1]):
        items = items[:-1]
    out = []
    for i, item in enumerate(items):
        where = f"{source}: transforms[{i}]"
        item = dict(item)
        name = str(item.pop("__class_fullname__", "")).rsplit(".", 1)[-1]
        if "transforms" in item:
            raise ConfigError(f"{where}: nested {name} is not supported; list the transforms "
                              "directly in the top-level Compose")
        cls = _transform_class(name, where)
        p = float(item.pop("p", 0.5))
        item.pop("always_apply", None)
        defaults = {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items()}
        params = {}
        for key, value in item.items():
            if key in _MASK_KEYS or key in _OWN_PARAMS.get(name, ()):
                continue
            if isinstance(value, dict) and set(value) == {"x", "y"} and \
                    _json_eq(value["x"], value["y"]):
                value = value["x"]  # Affine stores a shared range per axis
            if key in defaults and _json_eq(value, defaults[key]):
                continue
            params[key] = _to_json(value)
        out.append(TransformConfig(name=name, enabled=True, p=p, params=params))
    return AugmentConfig(preset="custom", transforms=out, seed=0)


def _is_square_resize(item: dict) -> bool:
    name = str(item.get("__class_fullname__", "")).rsplit(".", 1)[-1]
    return name == "Resize" and item.get("height") == item.get("width") and \
        float(item.get("p", 1.0)) == 1.0


def _to_json(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _numbers_as_float(value: Any) -> Any:
    if isinstance(value, list):
        return [_numbers_as_float(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers_as_float(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _json_eq(a: Any, b: Any) -> bool:
    """Equal as JSON values, where 0 and 0.0 count as the same."""
    if b is inspect.Parameter.empty:
        return False
    return json.dumps(_numbers_as_float(_to_json(a)), sort_keys=True) == \
        json.dumps(_numbers_as_float(_to_json(b)), sort_keys=True)


__all__ = [
    "PRESETS", "TRANSFORMS", "ParamSpec", "TransformSpec", "Augmenter", "default_transform",
    "preset_config", "resolve", "build_compose", "build_augmenter", "seed_compose",
    "sample_seed", "resize_square", "augment_previews", "to_albumentations_dict",
    "save_albumentations", "load_augment_file", "from_albumentations_dict",
]
