"""How far a measured accuracy can be trusted: its 95 % interval and a plain-words caution.

85 % on 41 validation images is 35 right answers; one image more or less
moves it by 2.4 points, and a class of 2 images has a recall of 0, 50 or
100 %.  The figures are exact, but they are a small sample, and a user
comparing two runs should know how much of a difference is noise.

:func:`wilson_interval` is the Wilson score interval for a proportion (it
stays inside 0..1 and behaves at 0 and at 100 %, unlike "p ± 1.96·SE");
:func:`sample_caution` says in words when the set is small: under
:data:`SMALL_SET` images, or a class under :data:`SMALL_CLASS`.
"""

from __future__ import annotations

import math
from typing import Sequence

Z95 = 1.959964  # the normal quantile of a two-sided 95 % interval
SMALL_SET = 100  # fewer validation images than this: say the figures are noisy
SMALL_CLASS = 10  # a class with fewer images than this: its per-class figures are noisier still


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``n`` (``(0, 1)`` when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def sample_caution(confusion: Sequence[Sequence[int]], classes: Sequence[str],
                   validation: bool = True) -> str:
    """A caution in plain words when the images are too few to trust small differences ("" if not).

    ``confusion`` rows are the true classes (their sums are each class's images);
    ``validation`` False: they are another folder's, whose figures a larger validation
    share would not firm up (the advice had said so for every folder, a review).
    """
    n = sum(sum(row) for row in confusion)
    right = sum(confusion[i][i] for i in range(min(len(confusion), len(classes))))
    small = [(name, sum(row)) for name, row in zip(classes, confusion) if sum(row) < SMALL_CLASS]
    if n >= SMALL_SET and not small:
        return ""
    lo, hi = wilson_interval(right, n)
    parts = [f"Only {n} images were evaluated" if n < SMALL_SET else f"{n} images were evaluated"]
    if small:
        listed = ", ".join(f"'{name}' {k}" for name, k in small[:4])
        more = f" and {len(small) - 4} more" if len(small) > 4 else ""
        parts.append(f"some classes have very few ({listed}{more})")
    return (" and ".join(parts) + f": on new images the accuracy is likely between {lo:.0%} and "
            f"{hi:.0%} (95 % interval), so a difference of a few points between runs may be "
            "chance. " + ("More images, or a larger validation share on the Data page, make "
                          "these figures firmer." if validation else
                          "More images in that folder make these figures firmer."))
