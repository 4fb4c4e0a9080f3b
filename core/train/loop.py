"""The epoch loop's bookkeeping: learning rate, progress, best weights, stopping, checkpoints.

Keras' ``fit`` runs the epochs; :class:`TrainingLoop` is what it calls back
after every batch and epoch (through :mod:`core.train.callbacks`).  It sets the
epoch's learning rate, reports progress and ETA, keeps the best weights of the
phase and of the run, lowers the rate on a plateau, stops the phase early, and
writes the checkpoint -- so a stopped or killed run loses at most one epoch.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from core.config import StudioConfig
from core.events import BatchEnd, CancelToken, EpochEnd, Log, emit
from core.runs.folder import RunFolder
from core.runs.in_place import folder_identity, require_in_place
from core.train.checkpoint import (restore_optimizer, save_best_weights,
                                   save_weights_atomic, write_checkpoint)
from core.train.loop_state import LoopState
from core.train.lost_best import restore_and_recover
from core.train.schedule import lr_for_epoch, plateau_step, score

#: The remaining epochs' time is estimated 15% above the current epoch's pace
#: (validation and checkpoints come on top of the batches).
ETA_MARGIN = 1.15


class TrainingLoop:
    """The state of one training process over one run folder, and fit's hooks into it."""

    def __init__(self, cfg: StudioConfig, run: RunFolder, state: LoopState, listener,
                 cancel: CancelToken, cluster=None) -> None:
        from core.train.distributed import SINGLE

        self.cfg, self.run, self.state = cfg, run, state
        self.listener, self.cancel = listener, cancel
        self.cluster = cluster or SINGLE
        self.model = None  # the full classifier (its weights are what gets saved)
        self.fit_model = None  # what fit() trains: the full model, or the head alone
        self.phase = state.phase
        self.phase_epochs = 0
        self.phase_lr = 0.0
        self.steps = 1
        self.batch_size = cfg.train.batch_size
        self._epoch_start = 0.0
        # The run's wall time: earlier sessions' (state.json, run.json) plus this one's.
        self.session_start = time.time()
        self.prior_seconds = state.elapsed
        self.reported: set = set()  # paths already named as skipped (see make_dataset)
        #: The run folder as it was when training started (core/runs/in_place.py).
        self.identity = folder_identity(run.path)

    def enter_phase(self, phase: str, epochs: int, lr: float) -> None:
        self.state.enter_phase(phase)
        self.phase, self.phase_epochs, self.phase_lr = phase, epochs, lr

    # -- Keras hooks ------------------------------------------------------
    def on_epoch_begin(self, epoch_in_fit: int) -> None:
        self.cancel.raise_if_cancelled()
        t = self.cfg.train
        if t.lr_schedule == "plateau" and self.state.learning_rate:
            lr = self.state.learning_rate
        else:
            lr = lr_for_epoch(t.lr_schedule, self.phase_lr, self.state.epoch, self.phase_epochs)
        self.fit_model.optimizer.learning_rate.assign(lr)
        self.state.learning_rate = lr
        reseed_random_layers(self.fit_model, t.seed, self.state.global_epoch)
        self._epoch_start = time.time()

    def on_batch_end(self, batch: int, logs: dict) -> None:
        step = batch + 1
        elapsed = max(time.time() - self._epoch_start, 1e-6)
        per_step = elapsed / step
        remaining_epochs = self.phase_epochs - self.state.epoch - 1
        eta = (per_step * (self.steps - step)
               + remaining_epochs * per_step * self.steps * ETA_MARGIN)
        emit(self.listener, BatchEnd(self.phase, self.state.epoch + 1, self.phase_epochs, step,
                                     self.steps, float(step * self.batch_size / elapsed),
                                     float(max(eta, 0.0)),
                                     {k: float(v) for k, v in logs.items()}))
        self.cancel.raise_if_cancelled()

    def on_epoch_end(self, epoch_in_fit: int, logs: dict) -> None:
        st = self.state
        require_in_place(self.run.path, self.identity, st.global_epoch)  # before any write
        logs = {k: float(v) for k, v in logs.items()}
        seconds = time.time() - self._epoch_start
        st.epoch += 1
        st.global_epoch += 1
        st.history.append({
            "phase": self.phase, "epoch": st.epoch, "global_epoch": st.global_epoch,
            "loss": logs.get("loss"), "accuracy": logs.get("accuracy"),
            "val_loss": logs.get("val_loss"), "val_accuracy": logs.get("val_accuracy"),
            "learning_rate": st.learning_rate, "seconds": round(seconds, 3)})
        improved = self._keep_best(score(logs))
        if self.cfg.train.lr_schedule == "plateau":
            self._plateau(improved)
        st.elapsed = self.prior_seconds + (time.time() - self.session_start)
        self.write_checkpoint()
        self.run.write_history(st.history)
        emit(self.listener, EpochEnd(self.phase, st.epoch, self.phase_epochs, logs, seconds))
        patience = self.cfg.train.early_stopping_patience
        if patience and st.wait >= patience:
            emit(self.listener, Log(f"no improvement for {st.wait} epochs: {self.phase} phase "
                                    "stops early"))
            self.fit_model.stop_training = True

    def _keep_best(self, epoch_score: list) -> bool:
        """Save the weights when the epoch beats the phase's (and the run's) best so far."""
        st = self.state
        improved = st.phase_best_score is None or epoch_score > st.phase_best_score
        if improved:
            st.phase_best_score, st.phase_best_epoch, st.wait = epoch_score, st.global_epoch, 0
            save_weights_atomic(self.model, self.run.phase_best_path(self.phase))
        else:
            st.wait += 1
        if st.best_score is None or epoch_score > st.best_score:
            st.best_score, st.best_epoch = epoch_score, st.global_epoch
            save_best_weights(self.run, self.model)
        return improved

    def _plateau(self, improved: bool) -> None:
        st = self.state
        if plateau_step(st, improved, self.phase_lr):
            emit(self.listener, Log(f"validation stalled: learning rate lowered to "
                                    f"{st.learning_rate:.2e}"))

    # -- checkpoints ------------------------------------------------------
    def write_checkpoint(self) -> None:
        write_checkpoint(self.run, self.model, self.fit_model.optimizer, self.state)

    def restore_checkpoint(self) -> bool:
        return restore_and_recover(self.run, self.model, self.phase, self.listener, self.state)

    def restore_optimizer(self) -> Optional[bool]:
        """Put back the checkpoint's optimizer state when it was saved in this same phase."""
        if self.state.phase == self.phase and self.state.epoch > 0:
            return restore_optimizer(self.run.checkpoint.optimizer, self.fit_model,
                                     self.listener)
        return None


def reseed_random_layers(model, seed: int, epoch: int) -> None:
    """Set every random layer's (Dropout's) generator to a state made of (seed, layer, epoch).

    Keras keeps those generators' states outside the weights, advancing them every
    batch: a resumed run would start them over and drop other units than the
    uninterrupted run did from its first resumed epoch on.  Deriving the state
    from the epoch makes the masks of epoch ``e`` the same however the run got there.
    """
    states = [v for v in model.variables if v.path.endswith("seed_generator_state")]
    for i, v in enumerate(states):
        v.assign(np.array([(seed * 7919 + i) % 2**31, epoch << 20], dtype=v.dtype))
