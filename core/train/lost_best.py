"""A resume whose best-weights files were lost: made again when they can be, said when not.

``best.weights.npz`` (the run's best epoch: what model.keras is made from at the
end) and ``.phase-best-PHASE.npz`` (the phase's best: where the next phase starts)
are written when an epoch beats the best so far.  Deleted by hand, or not copied with
the run, a resume used to go on without them and without a word: the next phase
started from the last epoch instead of the phase's best, and a run whose best epoch
came before the stop ended "completed" with no model saved, calibrated nor scored.

Each lost file is written again when the weights it held are still at hand (the
checkpoint's, when that epoch was the last one finished; one best file from the
other, when both were the same epoch); otherwise the loss is named and the best is
counted again from the epochs trained from now on, so the run still ends on a model.
"""

from __future__ import annotations

import shutil

from core.events import Log, emit
from core.fsutil import atomic_file
from core.runs.folder import RunFolder
from core.train.checkpoint import restore_checkpoint, save_weights_atomic
from core.train.loop_state import LoopState


def restore_and_recover(run: RunFolder, model, phase: str, listener, state: LoopState) -> bool:
    """The checkpoint restored into ``model`` (False: there is none), then the run's lost
    best-weights files made again or named (:func:`recover_lost_best`)."""
    loaded = restore_checkpoint(run, model, phase, listener)
    if loaded is None:
        return False
    recover_lost_best(run, model, state, phase, listener, holds_last_epoch=loaded)
    return True


def recover_lost_best(run: RunFolder, model, state: LoopState, phase: str, listener,
                      holds_last_epoch: bool) -> None:
    """Make the run's and ``phase``'s best-weights files again, or say they are lost.

    ``model`` holds the checkpoint's weights (those of ``state.global_epoch``) when
    ``holds_last_epoch``; ``state`` is reset where a best epoch is lost for good.
    """
    best_path, phase_path = run.best_weights_path, run.phase_best_path(phase)
    phase_counts = state.phase == phase and phase not in state.finished_phases
    phase_epoch = state.phase_best_epoch if phase_counts else 0
    at_hand = {}  # epoch -> a file or the model holding its weights
    if holds_last_epoch:
        at_hand[state.global_epoch] = None
    if best_path.exists() and state.best_epoch:
        at_hand.setdefault(state.best_epoch, best_path)
    if phase_path.exists() and phase_epoch:
        at_hand.setdefault(phase_epoch, phase_path)
    if state.best_epoch and not best_path.exists():
        if not _write_again(best_path, state.best_epoch, at_hand, model, listener):
            emit(listener, Log(
                f"{best_path} is missing: the weights of the run's best epoch so far (epoch "
                f"{state.best_epoch}) are lost; the run's model will be the best of the "
                "epochs trained from now on", "warning"))
            state.best_score, state.best_epoch = None, 0
    if phase_epoch and not phase_path.exists():
        if not _write_again(phase_path, phase_epoch, at_hand, model, listener):
            emit(listener, Log(
                f"{phase_path} is missing: the weights of the {phase} phase's best epoch so "
                f"far (epoch {phase_epoch}) are lost; the phase ends on the best of the epochs "
                "it trains from now on (its last epoch's weights if none are left)", "warning"))
            state.phase_best_score, state.phase_best_epoch = None, 0


def _write_again(path, epoch: int, at_hand: dict, model, listener) -> bool:
    """Write ``path`` from the weights of ``epoch`` if they are at hand; whether it was."""
    if epoch not in at_hand:
        return False
    source = at_hand[epoch]
    if source is None:
        save_weights_atomic(model, path)
        where = "the checkpoint (it was the last epoch finished)"
    else:
        with atomic_file(path, suffix=".npz") as tmp:
            shutil.copyfile(source, tmp)
        where = str(source)
    emit(listener, Log(f"{path} was missing: written again from {where}, which holds the same "
                       f"epoch's ({epoch}) weights", "warning"))
    return True


def final_weights(run: RunFolder, model, state: LoopState, status, listener) -> bool:
    """Load the run's best weights into ``model`` to save as model.keras; whether to save.

    Without best.weights.npz a completed run ends on its last epoch's weights, and
    says so (it used to end "completed" with nothing saved, calibrated nor scored); a
    stopped one keeps its model.keras rather than replace it with a later epoch's.
    """
    from core.runs.records import RunStatus
    from core.train.checkpoint import load_weights_or_keep

    best = run.best_weights_path
    if best.exists():
        load_weights_or_keep(model, best, listener, "the last epoch's weights")
        return True
    if status is not RunStatus.COMPLETED or not state.global_epoch:
        return False
    emit(listener, Log(f"{best} is missing: the run's model is its last epoch's weights "
                       f"(epoch {state.global_epoch})", "warning"))
    return True
