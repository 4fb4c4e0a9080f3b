"""Weights on disk: the best epoch's, each phase's best, and the resumable checkpoint.

After every finished epoch :func:`write_checkpoint` replaces ``checkpoint/`` as
one atomic folder (weights, optimizer state, the phase's best weights and the
:class:`~core.train.loop_state.LoopState`), so a run killed with ``kill -9``
resumes from its last finished epoch.  Weights are plain ``.npz`` arrays
(:func:`save_weights`); runs stopped by versions before 2026-11-22 kept Keras
``.weights.h5`` files, which :func:`restore_checkpoint` upgrades on resume.
Every file name comes from :class:`~core.runs.folder.RunFolder`.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import numpy as np

from core.errors import DiskFullError, ModelFileError
from core.events import Log, emit
from core.fsutil import atomic_dir, atomic_file
from core.runs.folder import Checkpoint, RunFolder
from core.runs.history_csv import DamagedHistoryError
from core.shown import plural, verb
from core.train.loop_state import LoopState


class OtherModelsWeights(ModelFileError):
    """Saved weights that do not fit the model they are loaded into (another backbone, size
    or head): told apart from a damaged file by type, not by the message's words."""


#: What reading a damaged ``.npz`` raises: truncated (BadZipFile, EOFError), garbage
#: (ValueError), a missing member (KeyError), unreadable (OSError).
DAMAGED = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)


def read_arrays(path) -> list:
    """The arrays of an ``.npz`` written by :func:`save_weights`, in order (raises DAMAGED)."""
    with np.load(path, allow_pickle=False) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def save_weights(model, path) -> None:
    """The model's weights alone, as one uncompressed ``.npz`` (in ``model.weights`` order).

    The engine saves weights up to three times an epoch (phase best, overall
    best, checkpoint).  Keras' ``save_weights`` walks the layer tree into HDF5
    and, for a compiled model, stores the optimizer's slots too: about 0.5 s
    for MobileNetV2, measured at 29% of a short run (``bench/bench_speed.py``).
    ``np.savez`` of ``get_weights()`` takes milliseconds; the optimizer state
    lives in ``checkpoint/optimizer.npz`` only.
    """
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a name
        np.savez(f, *model.get_weights())


def load_weights(model, path) -> None:
    """Load weights written by :func:`save_weights`; a clear error if they do not fit.

    A Keras ``.weights.h5`` (what versions before 2026-11-22 wrote) is read with
    Keras, skipping any optimizer state stored in it.
    """
    if str(path).endswith(".h5"):
        from keras.src.saving import saving_lib

        skip = [model.optimizer] if getattr(model, "optimizer", None) is not None else None
        saving_lib.load_weights_only(model, str(path), objects_to_skip=skip)
        return
    try:
        arrays = read_arrays(path)
    except DAMAGED as exc:
        raise ModelFileError(f"{path} cannot be read ({exc or type(exc).__name__}); the file "
                             "is damaged") from None
    mismatch = weights_mismatch(arrays, model.weights)
    if mismatch:
        raise OtherModelsWeights(f"{path} holds weights of another model ({mismatch}); it "
                                 "cannot be loaded into this run. Resume the run it came from, "
                                 "or start a new run")
    model.set_weights(arrays)


def weights_mismatch(arrays, variables) -> str:
    """Why saved ``arrays`` do not fit a model's ``variables``, in words ("" when they fit).

    Names the first weight whose shape differs (a different head or backbone),
    or says how many weights each side has (a different number of layers).
    """
    if len(arrays) != len(variables):
        return f"it has {len(arrays)} weight arrays, this model has {len(variables)}"
    for a, v in zip(arrays, variables):
        if tuple(a.shape) != tuple(v.shape):
            name = getattr(v, "path", None) or getattr(v, "name", "a weight")
            return (f"'{name}' is {tuple(a.shape)} in the file but {tuple(v.shape)} in "
                    "this model")
    return ""


def weights_digest(model) -> str:
    """A short hash of every weight, in order: equal digests mean bit-identical models."""
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()[:16]


def save_weights_atomic(model, path) -> None:
    """:func:`save_weights` through a temp file: a kill or a full disk leaves the old file.

    A full disk writing a hidden file of the run (a phase's best, ``.phase-best-head.npz``)
    is said of the run folder: "RUN/.phase-best-head.npz: the disk is full ... the previous
    version, if any, is unchanged" named a file the user never sees (a review)."""
    path = Path(path)
    try:
        with atomic_file(path, suffix=".npz") as tmp:
            save_weights(model, tmp)
    except DiskFullError:
        if not path.name.startswith("."):
            raise
        raise DiskFullError(f"{path.parent}: the disk is full (no space left to save this "
                            "epoch's weights in the run folder); free some disk space and "
                            "try again") from None


def save_best_weights(run: RunFolder, model) -> None:
    """The best epoch so far (over all phases): what model.keras is made from at the end."""
    save_weights_atomic(model, run.best_weights_path)


def load_weights_or_keep(model, path, listener, keeping: str) -> bool:
    """Load ``path`` into ``model``; if it is damaged, say so (naming it) and keep ``keeping``."""
    try:
        load_weights(model, path)
        return True
    except ModelFileError as exc:
        emit(listener, Log(f"{exc}; continuing with {keeping}", "warning"))
        return False


def load_loop_state(run: RunFolder, listener=None) -> LoopState:
    """The checkpoint's loop state; a fresh one when no epoch has finished yet.

    A damaged ``state.json`` is named and rebuilt from ``history.csv`` (one row per
    finished epoch), so no finished epoch is lost.
    """
    from core.errors import UserError
    from core.runs.records import NewerVersionError

    path = run.checkpoint.state
    if not path.exists():
        return _state_without_its_file(run, listener)
    try:
        return LoopState.read(path)
    except NewerVersionError:
        raise  # a newer release's state is refused, not rebuilt over
    except UserError as exc:
        rows = run.history()
        emit(listener, Log(f"{exc}; the loop state is rebuilt from {run.history_path.name} "
                           f"({len(rows)} finished epochs)", "warning"))
        try:
            cfg = run.load_config()
        except UserError:
            cfg = None  # the epochs still count; a plateau's lowered rate is not known
        return state_from_history(rows, cfg)


def state_from_history(rows: list[dict], cfg=None) -> LoopState:
    """The loop state after the epochs of ``rows`` (history.csv), as the loop would have kept
    it; with the run's settings ``cfg``, the plateau schedule's too (the rate it lowered
    after the last epoch, its count of stalled epochs: a resume went on at the rate before)."""
    from core.train.loop_state import PHASES
    from core.train.schedule import plateau_step, score

    state = LoopState()
    for row in rows:
        phase = row.get("phase") if row.get("phase") in PHASES else state.phase
        if phase != state.phase:
            state.finished_phases.append(state.phase)
            state.enter_phase(phase)
        state.epoch, state.global_epoch = state.epoch + 1, state.global_epoch + 1
        state.learning_rate = float(row.get("learning_rate") or 0.0)
        s = score({k: v for k, v in row.items() if v is not None})
        improved = state.phase_best_score is None or s > state.phase_best_score
        if improved:
            state.phase_best_score, state.phase_best_epoch, state.wait = s, state.global_epoch, 0
        else:
            state.wait += 1
        if cfg is not None and cfg.train.lr_schedule == "plateau":
            plateau_step(state, improved, cfg.train.phase_learning_rate(state.phase))
        if state.best_score is None or s > state.best_score:
            state.best_score, state.best_epoch = s, state.global_epoch
        state.elapsed += float(row.get("seconds") or 0.0)
        state.history.append(dict(row))
    return state


def _state_without_its_file(run: RunFolder, listener) -> LoopState:
    """No ``state.json``: a fresh state when no epoch has finished (history.csv empty).

    Epochs finished but the checkpoint lost: with its weights still there the state is
    rebuilt from history.csv, as for a damaged state.json; without them the run starts
    again from its first epoch, and that is said (it used to go on without a word)."""
    from core.errors import UserError

    try:
        rows = run.history()
    except UserError:
        rows = []  # a damaged history.csv: the run starts again as before, and says so there
    if not rows:
        return LoopState()
    ck = run.checkpoint
    if ck.weights_file() is not None:
        emit(listener, Log(f"{ck.state} is missing; the loop state is rebuilt from "
                           f"{run.history_path.name} ({plural(len(rows), 'finished epoch')})",
                           "warning"))
        try:
            cfg = run.load_config()
        except UserError:
            cfg = None
        return state_from_history(rows, cfg)
    lost = (f"{run.checkpoint_dir} is missing" if not run.checkpoint_dir.exists()
            else f"{ck.state} and {ck.weights} are missing")
    emit(listener, Log(f"{lost}: the run starts again from epoch 1 (its "
                       f"{plural(len(rows), 'finished epoch')} in {run.history_path.name} "
                       f"{verb(len(rows), 'is')} trained again)", "warning"))
    return LoopState()


def rewrite_damaged_history(run: RunFolder, state: LoopState, listener=None) -> None:
    """A history.csv that does not read is written again from the checkpoint's record of the
    finished epochs, and that is said once.  The resume rewrote it without a word at its
    next epoch, after the run list had printed a logger line asking the user to repair
    the file by hand (a review)."""
    if not state.history:
        return
    try:
        run.history()
        return
    except DamagedHistoryError as exc:
        damaged = exc.damage
    run.write_history(state.history)
    emit(listener, Log(f"{damaged}: it is written again from the checkpoint's record of the "
                       f"{plural(len(state.history), 'finished epoch')}", "warning"))


def write_checkpoint(run: RunFolder, model, optimizer, state: LoopState) -> None:
    """Replace ``checkpoint/`` atomically with this moment's weights, optimizer and state."""
    with atomic_dir(run.checkpoint_dir) as tmp:
        ck = Checkpoint(tmp)
        save_weights(model, ck.weights)
        np.savez(ck.optimizer, *[np.asarray(v.numpy()) for v in optimizer.variables])
        best = run.phase_best_path(state.phase)
        if best.exists():
            shutil.copyfile(best, ck.phase_best)
        ck.state.write_text(state.to_json(), encoding="utf-8")


def restore_checkpoint(run: RunFolder, model, phase: str, listener=None) -> bool | None:
    """Load the checkpoint's weights into ``model`` (and the phase's best beside the run).

    Returns None when there is no checkpoint (no epoch has finished yet), True when the
    checkpoint's own weights were loaded, False when a fallback's were.  A damaged or
    missing weights file (state.json there: epochs finished) is named and the last good
    weights are used instead: the phase's best, else the run's best (the finished epochs
    stay counted); with none left the resume is refused.  Lost best-weights files are made
    again or named by the caller (:func:`core.train.lost_best.restore_and_recover`).
    """
    ck = run.checkpoint
    weights = ck.weights_file()
    loaded = False
    if weights is None:
        if not ck.state.exists():
            return None
        _resume_from_fallback(run, model, phase, listener, ck.weights,
                              ModelFileError(f"{ck.weights} is missing"))
    else:
        if weights.suffix == ".h5":
            upgrade_legacy_weights(run, model, phase)
        try:
            load_weights(model, weights)
            loaded = True
        except ModelFileError as exc:
            _resume_from_fallback(run, model, phase, listener, weights, exc)
    if ck.phase_best.exists():
        shutil.copyfile(ck.phase_best, run.phase_best_path(phase))
    return loaded


def _resume_from_fallback(run: RunFolder, model, phase: str, listener, weights,
                          exc: ModelFileError) -> None:
    """The checkpoint's ``weights`` cannot be used (``exc``): load the last good weights
    (the phase's best, else the run's best) and say which, or refuse when none is left."""
    for fallback in (run.checkpoint.phase_best, run.phase_best_path(phase),
                     run.best_weights_path):
        if fallback.exists() and load_weights_or_keep(model, fallback, listener,
                                                      "the next saved weights"):
            emit(listener, Log(f"{exc}; resuming from the weights in {fallback} instead",
                               "warning"))
            return
    raise _no_usable_weights(run, weights, exc) from None


def _no_usable_weights(run: RunFolder, weights, exc: ModelFileError) -> ModelFileError:
    """Every saved weights file of the run failed.  When they hold another model's weights
    the likely cause is a hand-edited config.json (another backbone or size), so that file
    is named; the message used to end "Resume the run it came from, or start a new run, and
    the run holds no other usable weights; start a new run"."""
    if not isinstance(exc, OtherModelsWeights):
        return ModelFileError(f"{exc}; the run holds no other usable weights: start a new run")
    try:
        model = run.load_config().model
        what = f" ({model.backbone}, {model.image_size} px)"
    except Exception:  # noqa: BLE001 - the sentence only loses a detail
        what = ""
    return ModelFileError(
        f"the run's saved weights ({weights} and every other one) do not fit the model that "
        f"{run.config_path} describes{what}; if {run.config_path.name} was edited, put "
        "model.backbone, model.image_size and the head settings back as they were when the "
        "run started; otherwise start a new run")


def upgrade_legacy_weights(run: RunFolder, model, phase: str) -> None:
    """A run stopped by an older version kept Keras .weights.h5 files: rewrite them as npz.

    Its best and phase-best weights would otherwise be ignored by this version
    (the model at the end would be the last epoch's, not the best one's).
    """
    legacy_phase_best = run.checkpoint.legacy_phase_best
    if legacy_phase_best.exists():
        load_weights(model, legacy_phase_best)
        save_weights(model, run.phase_best_path(phase))
    legacy_best = run.legacy_best_weights_path
    if legacy_best.exists() and not run.best_weights_path.exists():
        load_weights(model, legacy_best)
        save_best_weights(run, model)


def restore_optimizer(path: Path, fit_model, listener=None) -> bool:
    """Put back the optimizer state saved with the checkpoint, if it fits ``fit_model``.

    State that does not fit (another model, another optimizer) is not an error:
    the optimizer restarts fresh, which costs a few epochs of momentum, and the
    user is told.  Returns whether the state was restored.
    """
    if not path.exists():
        return False
    opt = fit_model.optimizer
    opt.build(fit_model.trainable_variables)
    try:
        arrays = read_arrays(path)
    except DAMAGED as exc:
        emit(listener, Log(f"{path} cannot be read ({exc or type(exc).__name__}): the "
                           "optimizer state restarts fresh (a few epochs of momentum are lost)",
                           "warning"))
        return False
    if len(arrays) == len(opt.variables) and all(
            tuple(a.shape) == tuple(v.shape) for a, v in zip(arrays, opt.variables)):
        for a, v in zip(arrays, opt.variables):
            v.assign(a)
        return True
    emit(listener, Log("optimizer state did not match; it restarts fresh", "warning"))
    return False
