"""How many scored images the model would answer "unknown", for ``evaluate`` and the page.

Why: the accuracy of an evaluation is the top class of every image, but a run
calibrated for "unknown" answers "unknown" for an image whose score is above
its threshold, in ``predict``, on the Predict page, in every export and over
HTTP.  A teacher read "accuracy 100 %" from ``evaluate`` and then saw 13 of the
same 18 pictures answered "unknown" (a Predict review): the figure was right
and said nothing of what the deployed model would answer.  This is that
missing half: how many images would be held back, per true class, and how
accurate the answers given are -- the numbers to choose ``--unknown-keep`` by.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class UnknownShare:
    """Images scored, how many of them the threshold calls "unknown", and the answers
    given (not "unknown") and right."""

    threshold: float
    n_images: int
    n_unknown: int
    answered_right: int
    #: Per true class (the model's class names): how many of its images were "unknown".
    per_class: dict[str, int]

    @property
    def answered(self) -> int:
        return self.n_images - self.n_unknown

    @property
    def answered_accuracy(self) -> Optional[float]:
        """Accuracy of the answers given; None when every image was "unknown"."""
        return self.answered_right / self.answered if self.answered else None

    def to_dict(self) -> dict:
        return {**asdict(self), "answered": self.answered,
                "answered_accuracy": self.answered_accuracy}

    def text(self) -> str:
        """One or two sentences for the terminal, the Evaluate page and a report."""
        if not self.n_unknown:
            return (f"None of the {self.n_images} images would be answered \"unknown\" at "
                    f"the model's threshold ({self.threshold:.3g}).")
        worst = sorted(((n, c) for c, n in self.per_class.items() if n),
                       key=lambda t: -t[0])[:3]
        where = ", ".join(f"{c} {n}" for n, c in worst)
        acc = self.answered_accuracy
        given = ("every image would be" if acc is None else
                 f"the {self.answered} answered are {acc:.1%} right")
        return (f"{self.n_unknown} of the {self.n_images} images would be answered "
                f"\"unknown\" at the model's threshold ({self.threshold:.3g}) by predict, the "
                f"Predict page and the exports (most in: {where}); {given}"
                + (" \"unknown\"" if acc is None else "")
                + ". The figures above are every image's top class. Too many? Keep more "
                  "known images (the Predict page's slider, or calibrate --unknown-keep "
                  "0.99), or train on images like these.")


def unknown_share(flagged: np.ndarray, threshold: float, true: Sequence[int],
                  predicted: Sequence[int], classes: Sequence[str]) -> UnknownShare:
    """The share for these images, ``flagged`` "unknown" at ``threshold``
    (:func:`core.trust.unknown.is_unknown`)."""
    flagged = np.asarray(flagged, bool)
    true_a, pred_a = np.asarray(true), np.asarray(predicted)
    per_class = {c: int(np.sum(flagged & (true_a == i))) for i, c in enumerate(classes)}
    return UnknownShare(threshold=float(threshold), n_images=int(len(true_a)),
                        n_unknown=int(flagged.sum()),
                        answered_right=int(np.sum(~flagged & (true_a == pred_a))),
                        per_class=per_class)
