"""The trial an augmentation setting passes before it is used: every enabled transform run
on a noise image of the training size, so a setting that fails, returns floats or blanks
the images is refused by name before a run folder is written (:func:`trial_run`)."""

from __future__ import annotations

import random

import albumentations as A
import numpy as np

from core.config import AugmentConfig
from core.errors import ConfigError

#: Random draws of each transform the trial makes, from its own seed: one draw, from the
#: run's augmentation seed, refused brightness -1 for some seeds and let it through for
#: others, with half the images black (a review).
TRIAL_DRAWS = 16
TRIAL_SEED = 20240917


def trial_run(compose: A.Compose, cfg: AugmentConfig, image_size: int) -> None:
    """Run every transform :data:`TRIAL_DRAWS` times (each forced on) on a noise image of
    the training size, with a seed of the trial's own, so the verdict is the same for every
    augmentation seed.

    Some only fail on pixels: a crop larger than the image stopped training after its
    folder was written, and Normalize or ToFloat return floats that became garbage
    when cast back to the 0-255 pixels the model takes (it normalises them itself); and
    some turn images into one flat colour (a blur with sigma 0, brightness at -1).
    """
    names = [t.name for t in cfg.transforms if t.enabled]
    image = np.random.default_rng(0).integers(0, 256, (image_size, image_size, 3), np.uint8)
    compose.set_random_state(np.random.default_rng(TRIAL_SEED), random.Random(TRIAL_SEED))
    for name, transform in zip(names, compose.transforms):
        kept, transform.p = transform.p, 1.0
        try:
            outs = [np.asarray(transform(image=image)["image"]) for _ in range(TRIAL_DRAWS)]
        except Exception as exc:  # noqa: BLE001 - albumentations raises many kinds
            why = (str(exc).splitlines() or [""])[0][:200]
            raise ConfigError(f"augmentation {name} fails on a {image_size} px image "
                              f"({type(exc).__name__}: {why}); change its settings or remove "
                              "it") from None
        finally:
            transform.p = kept
        flat = sum(int(np.ptp(out) == 0) for out in outs)
        if flat:
            raise ConfigError(f"augmentation {name} turns a noisy {image_size} px image into "
                              f"one flat colour ({flat} of {TRIAL_DRAWS} tries), so the model "
                              f"would learn from blank images; {_flat_hint(name)}")
        image = outs[0]
        if np.asarray(image).dtype != np.uint8:
            raise ConfigError(f"augmentation {name} turns the pixels into "
                              f"{np.asarray(image).dtype} values (as Normalize and ToFloat do), "
                              "but the model takes 0-255 pixels and normalises them itself; "
                              "remove it")


#: What blanks an image, by transform: the hint had named a blur's sigma for every one.
FLAT_HINTS = {
    "GaussianBlur": "a blur's sigma must be above 0",
    "RandomBrightnessContrast": "bring brightness and contrast away from their extremes",
    "ColorJitter": "keep brightness and contrast well above 0",
    "HueSaturationValue": "bring the value shift away from its extremes",
    "CoarseDropout": "make the holes smaller or fewer",
}


def _flat_hint(name: str) -> str:
    hint = FLAT_HINTS.get(name)
    return (f"change its settings ({hint}) or remove it" if hint
            else "change its settings or remove it")
