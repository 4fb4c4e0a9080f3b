"""Where the training loop is: the record ``checkpoint/state.json`` holds after every epoch.

A resume reads it back (:meth:`LoopState.read`, validated and versioned like
every run-folder record, see :mod:`core.runs.records`) and continues from the
next epoch with the same best score, patience counters and history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from core.runs.records import Record

#: The training phases, in order: the new head alone, then the unfrozen layers too.
PHASES = ("head", "fine_tune")


@dataclass
class LoopState(Record):
    """The loop's position and memory; saved in checkpoint/state.json after every epoch."""

    version: int = 1
    phase: str = "head"
    epoch: int = 0  # epochs finished in this phase
    global_epoch: int = 0  # epochs finished in all phases
    learning_rate: float = 0.0
    best_score: Optional[list[float]] = None  # [val_accuracy, -val_loss] of the best epoch
    best_epoch: int = 0  # global epoch number of the best weights
    phase_best_score: Optional[list[float]] = None
    phase_best_epoch: int = 0
    wait: int = 0  # epochs without improvement in this phase (early stopping)
    plateau_wait: int = 0  # the same, for the plateau schedule (reset when it lowers the rate)
    finished_phases: list[str] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)  # history.csv's rows
    elapsed: float = 0.0  # wall seconds of the run over all sessions, at the last epoch

    def phase_over(self, epochs: int, patience: int) -> bool:
        """Whether the phase in progress had ended when the run stopped, unmarked: each
        epoch's checkpoint is written before the end-of-phase work (early stopping's
        decision, the phase's best weights), and a kill between the two resumed the phase
        with an epoch too many, or went on from the last epoch's weights."""
        return self.phase not in self.finished_phases and self.epoch > 0 and (
            self.epoch >= epochs or bool(patience) and self.wait >= patience)

    def enter_phase(self, phase: str) -> None:
        """Start counting a new phase (the overall best and the history carry on)."""
        if self.phase != phase:
            self.phase, self.epoch, self.wait, self.plateau_wait = phase, 0, 0, 0
            self.phase_best_score, self.learning_rate = None, 0.0
