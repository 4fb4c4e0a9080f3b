"""How far a measured accuracy can be trusted: its 95 % interval and a plain-words caution.

85 % on 41 validation images is 35 right answers; one image more or less
moves it by 2.4 points, and a class of 2 images has a recall of 0, 50 or
100 %.  The figures are exact, but they are a small sample, and a user
comparing two runs should know how much of a difference is noise.

:func:`wilson_interval` is the Wilson score interval for a proportion (it
stays inside 0..1 and behaves at 0 and at 100 %, unlike "p ± 1.96·SE");
:func:`sample_caution` says in words when the set is small: under
:data:`SMALL_SET` images, or a class under :data:`SMALL_CLASS`; :func:`guessing_note` when
the answers are no better than always giving one class; :func:`cautions` both, as the
Evaluate page, ``evaluate`` and the report put them beside the figures.
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


def guessing_note(confusion: Sequence[Sequence[int]], classes: Sequence[str]) -> str:
    """A plain-words note when the answers are no better than always giving one class ("" if not).

    A model that answers one class for every image, or gets no more right than always
    answering the largest class would, has learned nothing a user can use; its accuracy
    (33 % for 3 equal classes) and a near-perfect calibration error do not say so to
    someone new (a review: a 1+1-epoch run from random weights).
    """
    rows = [sum(row) for row in confusion]
    n = sum(rows)
    if n == 0 or sum(1 for k in rows if k) < 2:
        return ""
    right = sum(confusion[i][i] for i in range(min(len(confusion), len(classes))))
    big = max(range(len(rows)), key=rows.__getitem__)
    if right > rows[big]:
        return ""
    columns = [sum(row[j] for row in confusion) for j in range(len(classes))]
    advice = ("It has not learned to tell the classes apart yet: more epochs, pretrained "
              "(ImageNet) starting weights, or more images per class usually help.")
    if n in columns:
        return (f"The model answers ‘{classes[columns.index(n)]}’ for every image: its "
                f"{right / n:.0%} right is just that class's share of the images. " + advice)
    largest = ("any one class" if len({k for k in rows if k}) == 1
               else f"‘{classes[big]}’, the largest class,")
    return (f"{right / n:.0%} right is no better than always answering {largest} would be "
            f"({rows[big] / n:.0%}). " + advice)


def cautions(confusion: Sequence[Sequence[int]], classes: Sequence[str],
             validation: bool = True) -> list[str]:
    """The warnings that go beside the figures, most important first: no better than one
    class, then too few images (the Evaluate page, ``evaluate`` and the report each listed
    them; one list keeps them alike)."""
    return [note for note in (guessing_note(confusion, classes),
                              sample_caution(confusion, classes, validation)) if note]
