"""The augmentation transforms the app offers, as data: names, words, parameter kinds and bounds.

:data:`TRANSFORMS` describes each transform the GUI offers (its albumentations
class name, a label, a plain-word description, and a :class:`ParamSpec` per
keyword argument), so the Augment page builds its controls from this table
instead of hand-writing them per transform, and the builder
(:mod:`core.data.augment`) checks a config's values against the same kinds.
Any other albumentations image transform is still accepted in a config (e.g.
from an imported file) unless it can run code; it just gets no dedicated
controls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import cv2

from core.config import TransformConfig
from core.errors import ConfigError

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
    # with the other geometry, where the Heavy preset runs it: listed last, it ran 4th,
    # before the cut-out it came after on the page (a review)
    TransformSpec("Perspective", "Perspective",
                  "Tilts the image as if seen from a slightly different angle.", 0.3, [
                      ParamSpec("scale", "Strength", "range", [0.02, 0.06], 0, 0.5),
                      _border(),
                  ]),
    TransformSpec("RandomBrightnessContrast", "Brightness and contrast",
                  "Makes the image randomly lighter/darker and flatter/punchier.", 0.5, [
                      ParamSpec("brightness_limit", "Brightness change", "range", [-0.2, 0.2], -1, 1),
                      ParamSpec("contrast_limit", "Contrast change", "range", [-0.2, 0.2], -1, 1),
                  ]),
    TransformSpec("HueSaturationValue", "Hue, saturation, value",
                  "Shifts colours, colour strength and lightness.", 0.3, [
                      # OpenCV's half degrees: 90 is the opposite colour and 180 the image as it was, so
                      # -180 to 180 ("all colours") turned the wheel twice (a review)
                      ParamSpec("hue_shift_limit", "Hue shift (90 = opposite colour)", "range",
                                [-10.0, 10.0], -90, 90),
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
                      # albumentations divides by sigma: 0 to 0 made every image white
                      ParamSpec("sigma_limit", "Sigma", "range", [0.1, 2.0], 0.1, 10),
                  ]),
    TransformSpec("Blur", "Box blur",
                  "Averages each pixel with its neighbours.", 0.2, [
                      ParamSpec("blur_limit", "Kernel size (odd)", "int_range", [3, 5], 3, 31),
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
]

TRANSFORMS: dict[str, TransformSpec] = {s.name: s for s in _SPECS}


def default_transform(name: str, enabled: bool = True) -> TransformConfig:
    """A transform with the GUI's default probability and parameters."""
    spec = TRANSFORMS.get(name)
    if spec is None:
        raise ConfigError(f"augmentation: unknown transform {name!r} "
                          f"(known: {', '.join(TRANSFORMS)})")
    return TransformConfig(name=name, enabled=enabled, p=spec.default_p,
                           params={p.name: copy_value(p.default) for p in spec.params})


def copy_value(v: Any) -> Any:
    """A list default copied, so editing one config never changes the table."""
    return list(v) if isinstance(v, (list, tuple)) else v


def listed_position(transforms: list, name: str) -> int:
    """Where a transform ticked on the page goes in the pipeline: before the first one the
    page lists below it, so they run in the page's order.  Appended, they had run in the
    order they were ticked: the same ticks and seed gave other training images (noise then
    blur, or blur then noise) with nothing on the page to tell (a review).  Transforms the
    page does not list (from a file) keep their places."""
    order = {n: i for i, n in enumerate(TRANSFORMS)}
    mine = order.get(name)
    if mine is None:
        return len(transforms)
    for i, t in enumerate(transforms):
        if order.get(t.name, -1) > mine:
            return i
    return len(transforms)
