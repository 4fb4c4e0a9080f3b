"""Mending the converter's int8 file: its weights rounded for each layer's output, then its
biases corrected, kept only when the file then answers at least as much like the float model.

Why one place: the two edits are made in that order (the bias correction measures the
means of the file it is given, so it must see the final weights), measured once on the
all-int8 file and then written into every other candidate of the selective quantization
(:mod:`core.export.int8`) without running the model again, and judged together: matching
each layer's output or mean is not matching the answers, and on a small model the
corrected file's probabilities moved further from the float model's (a 32 px
MobileNetV3Small: mean difference 0.021 -> 0.032, top answers all alike).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.events import Log, emit
from core.export.tflite_run import run_tflite


@dataclass
class Repair:
    """What was changed: the int8 values by layer, and the bias shifts by layer."""

    content: bytes
    rounded: dict = field(default_factory=dict)
    shifts: dict = field(default_factory=dict)

    def apply_to(self, content: bytes) -> tuple[bytes, int, int]:
        """Another quantization of the same model with the same edits on its int8 layers
        of the same name.  Returns it, and how many layers' weights and biases changed."""
        from core.export.bias_correction import shift_biases
        from core.export.weight_rounding import apply_rounding

        content, rounded = apply_rounding(content, self.rounded) if self.rounded else (
            content, 0)
        content, shifted = shift_biases(content, self.shifts) if self.shifts else (
            content, 0)
        return content, rounded, shifted


def _score(candidate: bytes, want: np.ndarray, images: np.ndarray) -> tuple[float, float]:
    """(share of top answers alike, minus the mean probability difference): larger is
    closer to the float model."""
    probs = run_tflite(candidate, images)
    return (float(np.mean(probs.argmax(1) == want.argmax(1))),
            -float(np.mean(np.abs(probs - want))))


def _candidates(content: bytes, reference: bytes, images: np.ndarray, rounding: bool,
                correction: bool, cancel):
    """(edits, repaired file) to try, best first: both edits, then the rounding alone, then
    the correction alone (the rounding is computed once)."""
    from core.export.bias_correction import correct_biases
    from core.export.weight_rounding import round_weights

    rounded_file, rounded = (round_weights(content, reference, images, cancel) if rounding
                             else (content, {}))
    rounding = bool(rounded)  # no layer it could round: the correction alone, once
    if correction:
        fixed, shifts = correct_biases(rounded_file, reference, images, cancel)
        yield (rounding, True), Repair(fixed, rounded, shifts)
    if rounding:
        yield (True, False), Repair(rounded_file, rounded)
    if rounding and correction:
        fixed, shifts = correct_biases(content, reference, images, cancel)
        yield (False, True), Repair(fixed, {}, shifts)


def _what(rounding: bool, correction: bool) -> str:
    return " and ".join(name for name, on in (("the weight rounding", rounding),
                                              ("the bias correction", correction)) if on)


def repair_if_better(content: bytes, reference: bytes, images: np.ndarray, rounding: bool = True,
                     correction: bool = True, cancel=None, listener=None) -> Repair:
    """``content`` (an int8 file) with its weights rounded (:mod:`core.export.weight_rounding`)
    and its biases corrected (:mod:`core.export.bias_correction`) against the float
    ``reference`` on ``images``; kept only when it gives the reference's top answer on at
    least as many images as ``content`` did, and then its probabilities are no further off.
    When both edits lose, each alone is tried (on the tests' small model the rounding
    helped and the correction did not); when every one loses, the converter's file stays
    and the log says so."""
    plain = Repair(content)
    if not (rounding or correction) or not len(images):
        return plain
    want = run_tflite(reference, images)
    before = _score(content, want, images)
    for (use_rounding, use_correction), repair in _candidates(
            content, reference, images, rounding, correction, cancel):
        if not (repair.rounded or repair.shifts):
            continue
        after = _score(repair.content, want, images)
        if after >= before:
            return repair
        emit(listener, Log(f"tflite-int8: {_what(use_rounding, use_correction)} not kept: on "
                           f"{len(images)} training images the file gave the app's top answer "
                           f"on {after[0]:.1%} (mean probability difference {-after[1]:.3f}) "
                           f"against {before[0]:.1%} ({-before[1]:.3f}) without"))
    return plain


def repair_details(layers: int, images: int, method: str) -> dict:
    """What metadata.json says about one of the edits (``layers`` 0: not applied)."""
    if not layers:
        return {"applied": False}
    return {"applied": True, "layers": layers, "images": images, "method": method}


ROUNDING_METHOD = ("GPTQ: each layer's int8 weights rounded so that its output on the first "
                   "calibration images stays closest to the float layer's, on the "
                   "converter's per-channel grid")
CORRECTION_METHOD = ("each layer's mean output per channel made equal to the float model's "
                     "on the first calibration images, layer after layer")


def edits_details(rounded: int, corrected: int, images: int) -> dict:
    """metadata.json's ``weight_rounding`` and ``bias_correction`` for a file with ``rounded``
    layers' weights rounded and ``corrected`` biases corrected, measured on the first of
    ``images`` calibration images (the all-int8 export and the selective one alike)."""
    from core.export.bias_correction import CORRECTION_IMAGES
    from core.export.weight_rounding import ROUNDING_IMAGES

    return {"weight_rounding": repair_details(rounded, min(images, ROUNDING_IMAGES),
                                              ROUNDING_METHOD),
            "bias_correction": repair_details(corrected, min(images, CORRECTION_IMAGES),
                                              CORRECTION_METHOD)}


def edits_text(rounded: int, corrected: int) -> str:
    """``, 54 layers' weights rounded, 51 biases corrected``: what the log says was mended."""
    parts = [f"{n} {what}" for n, what in ((rounded, "layers' weights rounded"),
                                           (corrected, "biases corrected")) if n]
    return "".join(f", {p}" for p in parts)
