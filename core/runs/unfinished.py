"""How far a run that has no model.keras got, in the words the window shows.

``model.keras`` is written when a run ends (completed or stopped); a run killed or
cut off by a power failure has its history, best weights and checkpoint but no model.
Such a run after six epochs was told "it stopped before its first epoch ended".
"""

from __future__ import annotations

from core.errors import UserError
from core.runs.folder import RunFolder


def how_far(run: RunFolder) -> str:
    """Where an unfinished run stopped: "it stopped before its first epoch ended", or
    "it was cut off after 6 epochs, its best weights kept"."""
    try:
        epochs = len(run.history())
    except UserError:  # a damaged history: say nothing about how far it got
        epochs = 0
    if not epochs:
        return "it stopped before its first epoch ended"
    return f"it was cut off after {epochs} epoch{'s' if epochs != 1 else ''}, its best weights kept"


#: Statuses (as shown: a dead trainer's "running" is "interrupted") that Resume finishes.
UNFINISHED = ("stopped", "interrupted", "failed", "created")


def is_unfinished(run: RunFolder) -> bool:
    """True when the run, as the window shows it, stopped (or was cut off) before it
    completed: such a run is calibrated only when it completes."""
    from core.runs.lock import shown_status

    try:
        return shown_status(run, run.run_info().status or "") in UNFINISHED
    except UserError:  # an unreadable run.json: nothing is said about the status
        return False


def state_words(run: RunFolder, status: str) -> str:
    """Why a run with this shown ``status`` has no model or results: how far an unfinished
    one got, that a running one is still training, or "" for a completed one."""
    if status in UNFINISHED:
        return how_far(run)
    return "it is still training" if status == "running" else ""


def without_model(run_dir, status: str) -> str:
    """What opening a run without model.keras leaves the window with, and until when
    (``status``: the run's status as shown)."""
    run = RunFolder(run_dir)
    unfinished = status in UNFINISHED
    why = state_words(run, status) or f"{run.model_path.name} is missing from its folder"
    until = "it is resumed on the Train step" if unfinished else "one is trained"
    if unfinished and not run.checkpoint.state.exists():  # no finished epoch: the Train
        why += "; nothing of it can be resumed"  # step's Resume is off (it sent the user
        until = ("a new run is trained (Start training on the Train step; this one can be "
                 "deleted here)")  # there, a review)
    return (f"it has no {run.model_path.name} ({why}), so Evaluate, Predict and Export have no "
            f"model until {until}.")


def gone_text(path) -> str:
    """One sentence for a run or model that is not where the project says, on every page
    (four pages said four things: "of unknown status", "an exported model", "No model yet").
    A path that is there but cannot be opened says why (permission denied, name too long)."""
    from core.path_names import cannot_reach

    why = cannot_reach(path)
    if why:
        return (f"{path} cannot be opened ({why}): make it readable, or open another run on "
                "the Runs step.")
    return (f"{path} is not there any more (deleted, moved, or on a drive that is not "
            "connected): connect the drive, or open another run on the Runs step.")
