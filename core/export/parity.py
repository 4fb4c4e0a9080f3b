"""The parity check: run an exported file with its own runtime and judge its answers.

Why it exists: a converter can silently change a model (a dropped op, a
float16 overflow, a bad int8 calibration).  So each format is loaded by *its
own* runtime in a *fresh process* (``core/export/probe.py``, which imports
nothing from the app), fed validation images the app decoded, and its
probabilities are compared with the app's own.  Each format is judged by the
bounds in :data:`core.formats.FORMATS`: float32 formats must match to rounding,
float16 and int8 on the top answer (and int8 on accuracy too).

A probe that cannot run (its runtime is missing, it crashed, it hung) is not a
parity failure: nothing was compared.  It raises :class:`ProbeError` with a
one-line reason, and the format is reported as "not checked".
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

from core.events import CancelToken, Cancelled
from core.formats import BY_NAME, ExportFormat

PROBE_SCRIPT = Path(__file__).resolve().parent / "probe.py"


class ProbeError(RuntimeError):
    """The runtime could not run the file; ``reason`` is one line, ``output`` its last lines."""

    def __init__(self, reason: str, output: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.output = output


def _last_line(output: str) -> str:
    """The line of a crashed child's output that says what went wrong (its exception)."""
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def _wait(proc: subprocess.Popen, kind: str, timeout: float,
          cancel: Optional[CancelToken]) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            proc.wait(timeout=0.2)
            return
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.cancelled:
                raise Cancelled("cancelled by the user") from None
            if time.monotonic() > deadline:
                raise ProbeError(f"could not run: the {kind} runtime did not finish within "
                                 f"{timeout:.0f} s") from None


def run_probe(kind: str, artifact: Path, images: np.ndarray, latency_runs: int = 20,
              timeout: float = 600, cancel: Optional[CancelToken] = None
              ) -> tuple[dict[str, np.ndarray], dict]:
    """Run ``core/export/probe.py`` in a fresh Python; return its arrays and info.

    The child runs in a temporary folder, so ``artifact`` is made absolute first
    (a relative path would point into that folder).  It is killed at once when
    ``cancel`` is set (raising :class:`Cancelled`); it raises :class:`ProbeError`
    when it fails, hangs past ``timeout`` seconds or leaves no answers.
    """
    artifact = Path(os.path.abspath(artifact))
    with tempfile.TemporaryDirectory(prefix="fts-probe-") as tmp:
        img_path = os.path.join(tmp, "images.npy")
        np.save(img_path, np.ascontiguousarray(images, dtype=np.uint8))
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        cmd = [sys.executable, str(PROBE_SCRIPT), kind, str(artifact), img_path, tmp,
               "--latency-runs", str(latency_runs)]
        log_path = os.path.join(tmp, "probe.log")
        with open(log_path, "w+", encoding="utf-8", errors="replace") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
            try:  # whatever ends the wait (a cancel, a timeout, Ctrl+C, SIGTERM) ends the child
                _wait(proc, kind, timeout, cancel)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            log.seek(0)
            output = log.read()
        tail = "\n".join(output.strip().splitlines()[-20:])
        if proc.returncode != 0:
            raise ProbeError(f"could not run: {_last_line(output)}", tail)
        try:
            info = json.loads(Path(tmp, "probe.json").read_text(encoding="utf-8"))
            arrays = {name[:-4]: np.load(os.path.join(tmp, name)) for name in os.listdir(tmp)
                      if name.startswith(("probs", "score")) and name.endswith(".npy")}
        except (OSError, ValueError) as exc:
            raise ProbeError(f"could not run: the {kind} runtime left no answers ({exc})",
                             tail) from None
        if "probs" not in arrays:
            raise ProbeError(f"could not run: the {kind} runtime left no answers", tail)
    return arrays, info


# -- judging ------------------------------------------------------------------


def allowed_flips(spec: ExportFormat, n: int) -> int:
    """Images (of ``n``) whose top answer may differ from the app's.

    ``min_agreement`` as a count, rounded down, but at least one for formats
    judged on agreement: with 32 images 97% would otherwise mean "all 32",
    and one flip between two near-tied classes would decide the verdict.
    """
    if spec.min_agreement >= 1.0:
        return 0
    return max(1, math.floor((1.0 - spec.min_agreement) * n + 1e-9))


def allowed_accuracy_drop(spec: ExportFormat, n: int) -> int:
    """Correct answers (of ``n`` labelled images) the format may lose; at least one."""
    if spec.max_accuracy_drop is None:
        return n
    return max(1, math.floor(spec.max_accuracy_drop * n + 1e-9))


def bound_text(spec: ExportFormat, n: int) -> str:
    """The bound a format must meet on ``n`` images, in words."""
    parts = []
    if spec.max_diff is not None:
        parts.append(f"max |Δp| <= {spec.max_diff:g}")
    if spec.min_agreement >= 1.0:
        parts.append("top-1 agreement 100%")
    else:
        parts.append(f"top-1 agreement >= {spec.min_agreement:.0%} (at most "
                     f"{allowed_flips(spec, n)} of {n} may differ; flips where the app's top two "
                     f"classes are within {NEAR_TIE:g} are not counted)")
    if spec.max_accuracy_drop is not None:
        parts.append(f"accuracy drop <= {spec.max_accuracy_drop * 100:g} points "
                     f"(at most {allowed_accuracy_drop(spec, n)} of {n} images)")
    return " and ".join(parts)


#: A quantized format's top-1 answer may differ from the app's on an image where the app
#: itself hesitates: its two most likely classes within this much probability.  Such a
#: flip is not held against the file (either answer is as good, and the quantization
#: step of the probabilities alone is 1/256); every other flip counts.
NEAR_TIE = 0.1


def _margins(ref: np.ndarray) -> np.ndarray:
    top2 = np.sort(ref, axis=1)[:, -2:] if ref.shape[1] >= 2 else np.ones((len(ref), 2))
    return top2[:, 1] - top2[:, 0]


def _compare(ref: np.ndarray, arrays: dict[str, np.ndarray],
             forgive_near_ties: bool = False) -> tuple[float, int, int, str]:
    """(largest |difference|, fewest top-1 agreements, near-tie flips forgiven) over every
    output; a reason when an output is unusable."""
    worst_diff, worst_agree, forgiven = 0.0, len(ref), 0
    near = _margins(ref) < NEAR_TIE if len(ref) else np.zeros(0, bool)
    for name, probs in sorted(arrays.items()):
        if probs.shape != ref.shape:
            return float("inf"), 0, 0, f"{name}: output shape {probs.shape}, expected {ref.shape}"
        if len(ref):
            same = probs.argmax(1) == ref.argmax(1)
            if forgive_near_ties:
                forgiven = max(forgiven, int(np.sum(~same & near)))
                same = same | near
            worst_diff = max(worst_diff, float(np.max(np.abs(probs - ref))))
            worst_agree = min(worst_agree, int(np.sum(same)))
    return worst_diff, worst_agree, forgiven, ""


#: An exported unknown score may put an image on the other side of the threshold than the
#: app's score does when the app's is within this much of it (score units: about one
#: standard deviation of the validation images' scores); every other flip counts.
NEAR_THRESHOLD = 0.25


def judge_unknown(spec: ExportFormat, ref: np.ndarray, scores: dict[str, np.ndarray],
                  threshold: Optional[float]) -> dict:
    """Compare the runtime's unknown scores with the app's: the largest difference (when the
    format is judged on it) and the "unknown" flags, as often as top-1 answers must agree."""
    n = int(len(ref))
    result: dict = {"n_images": n, "threshold": threshold, "max_abs_diff": 0.0,
                    "flag_agree_count": n, "near_threshold_flips": 0,
                    "max_diff_bound": spec.max_score_diff}
    if not scores:
        return {**result, "passed": False, "reason": "the file has no unknown_score output"}
    reasons = []
    near = np.abs(ref - threshold) < NEAR_THRESHOLD if threshold is not None else \
        np.zeros(n, bool)
    for name, s in sorted(scores.items()):
        if s.shape != ref.shape:
            return {**result, "passed": False,
                    "reason": f"{name}: unknown score shape {s.shape}, expected {ref.shape}"}
        diff = float(np.max(np.abs(s - ref))) if n else 0.0
        result["max_abs_diff"] = max(result["max_abs_diff"], diff)
        # judged relative to the score above 1: a score is a distance in spreads, and a
        # spread at its floor (MIN_STD) makes float32 rounding of a large score cross an
        # absolute bound (float32 TFLite "failed" at 0.00105 on scores in the hundreds)
        rel = float(np.max(np.abs(s - ref) / np.maximum(1.0, np.abs(ref)))) if n else 0.0
        result["max_rel_diff"] = max(result.get("max_rel_diff", 0.0), rel)
        if threshold is not None and n:
            flipped = (s > threshold) != (ref > threshold)
            result["near_threshold_flips"] = max(result["near_threshold_flips"],
                                                 int(np.sum(flipped & near)))
            result["flag_agree_count"] = min(result["flag_agree_count"],
                                             int(np.sum(~(flipped & ~near))))
    if spec.max_score_diff is not None and not result["max_rel_diff"] <= spec.max_score_diff:
        reasons.append(f"unknown score max |Δ| {result['max_abs_diff']:.3g} "
                       f"({result['max_rel_diff']:.3g} of the score, bound "
                       f"{spec.max_score_diff:g})")
    if n - result["flag_agree_count"] > allowed_flips(spec, n):
        reasons.append(f"'unknown' agrees on {result['flag_agree_count']}/{n} images")
    result["passed"] = not reasons
    if reasons:
        result["reason"] = "; ".join(reasons)
    return result


def judge(fmt: str, ref: np.ndarray, arrays: dict[str, np.ndarray],
          labels: Optional[np.ndarray], ref_scores: Optional[np.ndarray] = None,
          threshold: Optional[float] = None) -> dict:
    """Compare the runtime's probabilities with the app's; decide pass/fail by the format's bounds.

    ``arrays`` holds ``probs`` and, for SavedModel, ``probs_uint8`` (its second
    signature): every output is judged and the worst counts.  With ``ref_scores``
    (the app's unknown scores) the file's ``score*`` outputs are judged too
    (:func:`judge_unknown`), under ``"unknown"``.
    """
    spec = BY_NAME[fmt]
    n = int(len(ref))
    scores = {k: v for k, v in arrays.items() if k.startswith("score")}
    arrays = {k: v for k, v in arrays.items() if k.startswith("probs")}
    diff, agree, forgiven, unusable = _compare(ref, arrays, spec.min_agreement < 1.0)
    result: dict = {"checked": True, "n_images": n, "max_abs_diff": diff,
                    "top1_agree_count": agree, "top1_agreement": agree / n if n else 1.0,
                    "near_tie_flips": forgiven, "top1_exact_count": agree - forgiven,
                    "max_diff_bound": spec.max_diff, "min_agreement": spec.min_agreement,
                    "bound": bound_text(spec, n)}
    if unusable:
        result.update(passed=False, reason=unusable, top1_agreement=0.0)
        return result
    reasons = []
    if spec.max_diff is not None and not diff <= spec.max_diff:
        reasons.append(f"max |Δp| {diff:.3g} > {spec.max_diff:g}")
    if n - agree > allowed_flips(spec, n):
        reasons.append(f"top-1 agreement {agree}/{n} ({agree / n:.1%}) < "
                       f"{spec.min_agreement:.0%}" if spec.min_agreement < 1 else
                       f"top-1 agreement {agree}/{n} ({agree / n:.1%})")
    if labels is not None and len(labels) == n and n:
        probs = arrays["probs"]
        right_app = int(np.sum(ref.argmax(1) == labels))
        right_export = int(np.sum(probs.argmax(1) == labels))
        result.update(accuracy_app=right_app / n, accuracy_export=right_export / n,
                      accuracy_drop=(right_app - right_export) / n)
        lost = right_app - right_export
        if spec.max_accuracy_drop is not None and lost > allowed_accuracy_drop(spec, n):
            reasons.append(f"accuracy drops {lost / n * 100:.1f} points ({lost} of {n} images)")
    if ref_scores is not None:
        result["unknown"] = judge_unknown(spec, ref_scores, scores, threshold)
        if not result["unknown"]["passed"]:
            reasons.append(result["unknown"]["reason"])
    result["passed"] = not reasons
    if reasons:
        result["reason"] = "; ".join(reasons)
    return result
