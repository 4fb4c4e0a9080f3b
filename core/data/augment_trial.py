"""The trial an augmentation setting passes before it is used: every enabled transform run
on a noise image and on a photo-like picture of the training size, so a setting that fails,
returns floats or blanks the images is refused by name before a run folder is written
(:func:`trial_run`)."""

from __future__ import annotations

import random

import albumentations as A
import numpy as np

from core.config import AugmentConfig
from core.data.augment_specs import TRANSFORMS
from core.errors import ConfigError

#: Random draws of each transform the trial makes, from its own seed: one draw, from the
#: run's augmentation seed, refused brightness -1 for some seeds and let it through for
#: others, with half the images black (a review).
TRIAL_DRAWS = 16
TRIAL_SEED = 20240917


#: An output whose pixels all lie within this many levels of each other, or whose brightest
#: pixel is below it, is blank to the eye: a value shift of -250 left a noise image's pixels
#: above 250 unflat, but turned every real image black (a review).
NEAR_BLANK = 8


def trial_images(image_size: int) -> list[tuple[str, np.ndarray]]:
    """The trial's two inputs: uniform noise (where crops and size errors show) and a
    picture with a real image's mid-range tones (a gradient of 30-200 with a brighter disc),
    where a setting that blanks photographs shows."""
    noise = np.random.default_rng(0).integers(0, 256, (image_size, image_size, 3), np.uint8)
    yy, xx = np.mgrid[0:image_size, 0:image_size] / max(image_size - 1, 1)
    picture = np.stack([30 + 140 * (xx + yy) / 2, 60 + 120 * xx, 160 - 100 * yy], axis=2)
    picture[(xx - 0.6) ** 2 + (yy - 0.4) ** 2 < 0.05] = [200, 190, 150]
    return [("noisy", noise), ("photo-like", picture.astype(np.uint8))]


def _blank(out: np.ndarray, picture: bool) -> bool:
    """Flat or nearly black. Only the picture counts "nearly flat": a large blur can leave
    noise within a few levels, which is no blank image."""
    spread = int(np.ptp(out))
    return spread == 0 or int(out.max()) < NEAR_BLANK or (picture and spread < NEAR_BLANK)


def trial_run(compose: A.Compose, cfg: AugmentConfig, image_size: int) -> None:
    """Run every transform :data:`TRIAL_DRAWS` times (each forced on) on each of
    :func:`trial_images`, with a seed of the trial's own, so the verdict is the same for
    every augmentation seed.

    Some only fail on pixels: a crop larger than the image stopped training after its
    folder was written, and Normalize or ToFloat return floats that became garbage
    when cast back to the 0-255 pixels the model takes (it normalises them itself); and
    some turn images into one flat colour or nearly black (a blur with sigma 0, brightness
    at -1, a value shift of -250).
    """
    names = [t.name for t in cfg.transforms if t.enabled]
    compose.set_random_state(np.random.default_rng(TRIAL_SEED), random.Random(TRIAL_SEED))
    for kind, image in trial_images(image_size):
        for name, transform in zip(names, compose.transforms):
            image = _try_transform(name, transform, image, kind, image_size)


def _try_transform(name: str, transform, image: np.ndarray, kind: str,
                   image_size: int) -> np.ndarray:
    kept, transform.p = transform.p, 1.0
    try:
        outs = [np.asarray(transform(image=image)["image"]) for _ in range(TRIAL_DRAWS)]
    except Exception as exc:  # noqa: BLE001 - albumentations raises many kinds
        why = (str(exc).splitlines() or [""])[0][:200]
        raise ConfigError(f"augmentation {_who(name)} fails on a {image_size} px image "
                          f"({type(exc).__name__}: {why}); change its settings or remove "
                          "it") from None
    finally:
        transform.p = kept
    if outs[0].dtype != np.uint8:
        raise ConfigError(f"augmentation {_who(name)} turns the pixels into "
                          f"{outs[0].dtype} values (as Normalize and ToFloat do), "
                          "but the model takes 0-255 pixels and normalises them itself; "
                          "remove it")
    blank = sum(int(_blank(out, kind != "noisy")) for out in outs)
    if blank:
        raise ConfigError(f"augmentation {_who(name)} turns images into one flat colour or "
                          f"nearly black in {blank} of {TRIAL_DRAWS} test draws, so the model "
                          f"would learn from blank images; {_flat_hint(name)}")
    return outs[0]


def _who(name: str) -> str:
    """A transform as the Augment page names it, with its albumentations class for a file's
    reader: "Colour jitter (ColorJitter)"; the class alone had been all the page said."""
    spec = TRANSFORMS.get(name)
    return f"{spec.label} ({name})" if spec and spec.label != name else name


#: What blanks an image, by transform, with the settings to change as ``{}`` (their names on
#: the Augment page, from the catalogue): the hint had named a blur's sigma for every one.
FLAT_HINTS = {
    "GaussianBlur": ("its {} must be above 0", ("sigma_limit",)),
    "RandomBrightnessContrast": ("bring its {} and {} away from their extremes",
                                 ("brightness_limit", "contrast_limit")),
    "ColorJitter": ("keep its {} and {} well above 0", ("brightness", "contrast")),
    "HueSaturationValue": ("bring its {} away from its extremes", ("val_shift_limit",)),
    "CoarseDropout": ("make the holes smaller or fewer", ()),
}


def _flat_hint(name: str) -> str:
    if name not in FLAT_HINTS:
        return "change its settings or remove it"
    text, params = FLAT_HINTS[name]
    labels = {p.name: p.label for p in TRANSFORMS[name].params}
    return f"change its settings ({text.format(*(labels[p] for p in params))}) or remove it"
