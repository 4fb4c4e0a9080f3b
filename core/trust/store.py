"""A run's trust files: ``calibration.json`` (typed, small) and ``unknown.npz`` (embeddings).

``calibration.json`` holds the temperature, the ECE and NLL before and after
it, and everything the unknown score needs except the training embeddings,
which go to ``unknown.npz`` (at most :data:`~core.trust.unknown.MAX_REFERENCE`
float16 rows).  A run without these files (trained before calibration existed)
simply predicts uncalibrated with no "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from core.errors import UserError
from core.fsutil import atomic_file, atomic_write_text
from core.runs.folder import RunFolder
from core.runs.records import Record
from core.typed_json import finite_number
from core.trust.calibration import (ECE_BINS, apply_temperature, expected_calibration_error,
                                    fit_temperature, nll)
from core.trust.unknown import (COMPONENTS, DEFAULT_K, DEFAULT_WEIGHTS, TrustModel,
                                choose_reference, is_unknown, keep_threshold,
                                score_quantiles)


@dataclass
class CalibrationRecord(Record):
    """``calibration.json``: the temperature, its effect, and the unknown score's settings."""

    version: int = 1
    temperature: float = 1.0
    bins: int = ECE_BINS
    n_images: int = 0  # validation images it was fitted on
    ece_before: float = 0.0
    ece_after: float = 0.0
    nll_before: float = 0.0
    nll_after: float = 0.0
    unknown_method: str = "+".join(COMPONENTS)
    embedding_layer: str = "avg_pool"
    unknown_k: int = DEFAULT_K
    unknown_weights: list[float] = field(default_factory=lambda: list(DEFAULT_WEIGHTS))
    unknown_means: list[float] = field(default_factory=lambda: [0.0, 0.0])
    unknown_stds: list[float] = field(default_factory=lambda: [1.0, 1.0])
    unknown_keep: float = 0.95
    unknown_threshold: Optional[float] = None
    n_reference: int = 0
    #: Validation scores at each percentile (0..100): what share a moved threshold keeps.
    score_quantiles: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        """What metrics.json shows under "calibration"."""
        return {"temperature": self.temperature, "bins": self.bins, "n_images": self.n_images,
                "ece_before": self.ece_before, "ece_after": self.ece_after,
                "nll_before": self.nll_before, "nll_after": self.nll_after,
                "unknown_threshold": self.unknown_threshold, "unknown_keep": self.unknown_keep}

    @classmethod
    def repair_text(cls, path: Path) -> str:  # calibrate makes it again (was: "a backup")
        return f"run 'python main.py calibrate {path.parent}' to fit it again, or delete it"


def export_description(rec: CalibrationRecord) -> dict:
    """metadata.json's "calibration": the temperature, the threshold and how the unknown
    score is computed, in enough detail to compute both without this app."""
    names = list(COMPONENTS)
    return {
        "temperature": rec.temperature,
        "calibrated_probabilities": "p = softmax(log(q) / temperature), q the model's own "
                                    "softmax: the formats with calibrated output give p",
        "ece_before": rec.ece_before, "ece_after": rec.ece_after, "ece_bins": rec.bins,
        "fitted_on_validation_images": rec.n_images,
        "unknown": {
            "output": "unknown_score",
            "threshold": rec.unknown_threshold,
            "rule": "the answer is 'unknown' when unknown_score > threshold (threshold null: "
                    "never)",
            "keep": _kept(rec),
            "keep_meaning": "the share of validation images (all of known classes) at or "
                            "under the threshold when it was fitted",
            "score": " + ".join(f"{w:g} * ({n} - mean_{n}) / std_{n}"
                                for n, w in zip(names, rec.unknown_weights)),
            "knn": f"1 - cosine similarity of the image's '{rec.embedding_layer}' output "
                   f"(L2-normalised) to its {rec.unknown_k}th most similar of "
                   f"{rec.n_reference} training images' (stored in the model)",
            "msp": "1 - the largest calibrated probability",
            "means": dict(zip(names, rec.unknown_means)),
            "stds": dict(zip(names, rec.unknown_stds)),
            "k": rec.unknown_k, "n_reference": rec.n_reference,
        },
    }


def _kept(rec: CalibrationRecord) -> float:
    """The share of validation images the threshold keeps, as keep_meaning says: the share
    asked for (0.95) was given where the threshold kept 18 of 18, and the Predict page then
    said "keeps 95.0%" of an export whose run's slider shows 100% (a review)."""
    from core.trust.unknown import kept_share

    if rec.unknown_threshold is None or len(rec.score_quantiles) < 2:
        return rec.unknown_keep
    return kept_share(rec.unknown_threshold, rec.score_quantiles)


def fit_trust(val_probs: np.ndarray, val_labels, val_embeddings: Optional[np.ndarray],
              train_embeddings: Optional[np.ndarray], train_labels=None,
              keep: float = 0.95) -> tuple[TrustModel, CalibrationRecord]:
    """Fit the temperature and the unknown score on arrays (no files, no model)."""
    y = np.asarray(val_labels, dtype=np.int64)
    temperature = fit_temperature(val_probs, y)
    calibrated = apply_temperature(val_probs, temperature)
    reference = np.zeros((0, 0), np.float32)
    if train_embeddings is not None and len(train_embeddings):
        labels = train_labels if train_labels is not None else np.zeros(len(train_embeddings))
        # As unknown.npz keeps it (float16): scored with the float32 copy, the threshold sat
        # a little under the saved model's own score of the highest validation image.
        reference = choose_reference(train_embeddings, labels).astype(np.float16).astype(
            np.float32)
    trust = TrustModel(temperature=temperature, reference=reference, keep=keep)
    comps = trust.components(calibrated, val_embeddings)
    trust.standardise_on(comps)
    val_scores = trust.combine(comps)
    trust.threshold = keep_threshold(val_scores, keep)
    trust.score_quantiles = score_quantiles(val_scores)
    if trust.threshold is not None:  # the one rule for "unknown", as predictions apply it
        trust.kept = int((~is_unknown(val_scores, trust.threshold)).sum())
    record = CalibrationRecord(
        temperature=temperature, n_images=int(len(y)),
        ece_before=expected_calibration_error(val_probs, y),
        ece_after=expected_calibration_error(calibrated, y),
        nll_before=nll(val_probs, y), nll_after=nll(calibrated, y),
        unknown_k=trust.k, unknown_weights=list(trust.weights), unknown_means=list(trust.means),
        unknown_stds=list(trust.stds), unknown_keep=keep, unknown_threshold=trust.threshold,
        n_reference=int(len(reference)), score_quantiles=list(trust.score_quantiles))
    return trust, record


#: metrics.json's key for a calibration fitted after its figures were scored on validation
#: images that changed since: "calibration" stays the one the figures were scored with.
RECALIBRATED = "calibrated_since"


def save_trust(run: RunFolder, trust: TrustModel, record: CalibrationRecord) -> None:
    """Write unknown.npz then calibration.json (each atomically), and copy the summary
    into metrics.json under "calibration" when the run has one."""
    with atomic_file(run.unknown_path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, reference=trust.reference.astype(np.float16))
    atomic_write_text(run.calibration_path, record.to_json())
    if run.metrics_path.exists():
        try:
            metrics = run.metrics()
        except UserError:  # hand-broken: the calibration stands (it stopped calibrate with
            return         # exit 2 after calibration.json was rewritten); scoring rewrites it
        if isinstance(metrics, dict):
            metrics["calibration"] = record.summary()
            run.write_metrics(metrics)


def clear_trust(run: RunFolder) -> bool:
    """Delete the run's calibration (its model changed, so it no longer fits); True if any."""
    had = run.calibration_path.exists() or run.unknown_path.exists()
    run.calibration_path.unlink(missing_ok=True)
    run.unknown_path.unlink(missing_ok=True)
    if had and run.metrics_path.exists():
        metrics = run.metrics()
        if isinstance(metrics, dict) and ("calibration" in metrics or RECALIBRATED in metrics):
            metrics.pop("calibration", None)
            metrics.pop(RECALIBRATED, None)
            run.write_metrics(metrics)
    return had


def load_trust(run: RunFolder) -> Optional[TrustModel]:
    """The run's :class:`TrustModel`, or None when it has no calibration.json."""
    if not run.calibration_path.exists():
        return None
    rec = CalibrationRecord.read(run.calibration_path)
    why = record_problem(rec)
    if why:  # a temperature of -1 reversed every answer; NaN made them all NaN
        raise UserError(f"{run.calibration_path}: damaged ({why}); run 'python main.py "
                        f"calibrate {run.path}' to fit it again, or delete it")
    reference = np.zeros((0, 0), np.float32)
    if rec.n_reference and not run.unknown_path.exists():
        # Without its reference images the score would silently be another one than the
        # threshold was chosen for.
        raise UserError(f"{run.unknown_path} is missing ({run.calibration_path.name} was "
                        f"fitted with its {rec.n_reference} reference images): run 'python "
                        f"main.py calibrate {run.path}' to make both again")
    if rec.n_reference:
        remedy = (f"run 'python main.py calibrate {run.path}' to make it again, or delete it "
                  f"and {run.calibration_path.name} to predict without 'unknown'")
        try:
            with np.load(run.unknown_path, allow_pickle=False) as data:
                reference = np.asarray(data["reference"], dtype=np.float32)
        except Exception as exc:  # noqa: BLE001 - empty (EOFError), cut off (BadZipFile), ...
            reason = "not the file calibrate writes" if isinstance(exc, ValueError) and \
                "pickle" in str(exc) else f"{type(exc).__name__}: {exc}"
            raise UserError(f"{run.unknown_path}: cannot be read ({reason}); {remedy}") from None
        if reference.ndim != 2 or len(reference) != rec.n_reference:
            rows = reference.shape[0] if reference.ndim else 0
            raise UserError(f"{run.unknown_path}: holds {rows} reference images where "
                            f"{run.calibration_path.name} says {rec.n_reference} (another "
                            f"run's file?); {remedy}")
    return TrustModel(temperature=rec.temperature, reference=reference, k=rec.unknown_k,
                      weights=tuple(rec.unknown_weights), means=tuple(rec.unknown_means),
                      stds=tuple(rec.unknown_stds), threshold=rec.unknown_threshold,
                      keep=rec.unknown_keep, score_quantiles=tuple(rec.score_quantiles))


def check_reference(run: RunFolder, trust: Optional[TrustModel],
                    embedding_size: Optional[int]) -> None:
    """Refuse reference images of another width than the model's embedding (another run's
    unknown.npz): every prediction then died of a matmul error."""
    if trust is None or not trust.reference.size or embedding_size is None:
        return
    if trust.reference.shape[1] != embedding_size:
        raise UserError(f"{run.unknown_path}: its reference images have {trust.reference.shape[1]}"
                        f" features, this run's model gives {embedding_size} (another run's "
                        f"file?); run 'python main.py calibrate {run.path}' to make it again")


def record_problem(rec: CalibrationRecord) -> str:
    """What makes a calibration record unusable ("" when it is fine): values the app could
    not have written, which the type checks of the file let through."""
    def finite(values) -> bool:
        return all(finite_number(v) for v in values)

    n = len(COMPONENTS)
    if not (finite([rec.temperature]) and rec.temperature > 0):
        return f"temperature {rec.temperature!r} is not a positive number"
    if not (isinstance(rec.unknown_k, int) and rec.unknown_k >= 1):
        return f"unknown_k {rec.unknown_k!r} is not a whole number from 1"
    for name in ("unknown_weights", "unknown_means", "unknown_stds"):
        values = getattr(rec, name)
        if len(values) != n or not finite(values):
            return f"{name} must be {n} finite numbers"
    if rec.unknown_threshold is not None and not finite([rec.unknown_threshold]):
        return f"unknown_threshold {rec.unknown_threshold!r} is not a number"
    return ""


def read_record(run: RunFolder) -> Optional[CalibrationRecord]:
    return CalibrationRecord.read(run.calibration_path) if run.calibration_path.exists() else None


def shown_summary(value) -> Optional[dict]:
    """metrics.json's "calibration" when it reads as :meth:`CalibrationRecord.summary`
    writes it (numbers where numbers go), else None: a hand-edited string there stopped
    the Evaluate page and the report with a traceback."""
    if not isinstance(value, dict):
        return None
    numbers = set(CalibrationRecord().summary()) - {"unknown_threshold"}  # None: switched off
    if any(k in value and not finite_number(value[k]) for k in numbers):
        return None
    threshold = value.get("unknown_threshold")
    return value if threshold is None or finite_number(threshold) else None


#: The shown calibration of a run stopped before it completed, which has none yet (it is
#: calibrated when it completes): "too few validation images" was given as the reason.
NOT_YET = "not_calibrated_yet"
#: What the Evaluate page and the report say of such a run (each adds how to resume it).
NOT_YET_TEXT = ("Not calibrated yet: the run was stopped before it completed, and a run is "
                "calibrated when it completes")


def figures_calibration(metrics, unfinished: bool = False) -> Optional[dict]:
    """The calibration metrics.json's figures were scored with (its "calibration", as
    :func:`shown_summary` reads it), carrying under :data:`RECALIBRATED` a later one that
    ``calibrate`` fitted on validation images changed since (see its "why"); None when
    neither is recorded (``{NOT_YET: True}`` for an ``unfinished`` run).  The two are never
    mixed: an ECE of one beside the other's "before" read as calibration lowering ECE."""
    if not isinstance(metrics, dict):
        return None
    cal = shown_summary(metrics.get("calibration"))
    since = shown_summary(metrics.get(RECALIBRATED))
    if cal is None and since is None:
        return {NOT_YET: True} if unfinished else None
    return cal if since is None else {**(cal or {}), RECALIBRATED: since}


def since_text(since: dict, scored_with: Optional[dict]) -> str:
    """Says that the run was calibrated again on changed images after its figures were
    scored: which calibration the figures are from and which one the app uses now."""
    was = (f"with the calibration then (temperature {scored_with.get('temperature', 1):.2f})"
           if scored_with else "uncalibrated")
    why = f" ({since['why']})" if isinstance(since.get("why"), str) else ""
    return (f"Calibrated again since, on its {since.get('n_images', '?')} validation images as "
            f"they are now{why}: temperature {since.get('temperature', 1):.2f}, ECE "
            f"{since.get('ece_before', 0):.3f} before and {since.get('ece_after', 0):.3f} "
            "after there. Predictions and exports use it; the scores, the diagram and the "
            f"mistakes' confidences are training's, {was}.")


def calibration_entry(run: RunFolder) -> dict:
    """``{"calibration": summary}`` for metrics.json, or {} for a run without calibration."""
    record = read_record(run)
    return {"calibration": record.summary()} if record is not None else {}


def set_threshold(run: RunFolder, threshold: Optional[float],
                  keep: Optional[float] = None) -> CalibrationRecord:
    """Save a threshold the user chose (None: no unknown detection) in calibration.json,
    with the share of validation images it keeps (``keep``), and in metrics.json's summary."""
    from core.runs.lock import holding_lock

    # a run still training would write its own over it (read, too)
    with holding_lock(run, "calibrated", "open the copy"):
        rec = read_record(run)
        if rec is None:
            raise UserError(f"{run.path}: this run has no {run.calibration_path.name}; train "
                            "it again to get calibrated probabilities and an unknown threshold")
        rec.unknown_threshold = None if threshold is None else float(threshold)
        if keep is not None:
            rec.unknown_keep = float(keep)
        atomic_write_text(run.calibration_path, rec.to_json())
        if run.metrics_path.exists():
            metrics = run.metrics()
            # the newer calibration's summary when the figures keep an older one's
            key = RECALIBRATED if isinstance(metrics, dict) and isinstance(
                metrics.get(RECALIBRATED), dict) else "calibration"
            if isinstance(metrics, dict) and isinstance(metrics.get(key), dict):
                run.write_metrics({**metrics, key: {**metrics[key], **rec.summary()}})
    return rec
