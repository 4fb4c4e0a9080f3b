"""What the Runs page's buttons may do for the selected runs, and why not when they may not.

A run being trained cannot be deleted (its files would vanish under the trainer); a
damaged run (its folder lost its config or labels file, see :mod:`core.runs.damaged`)
cannot be opened (Resume, Evaluate, Export and the report need that file), but it can
be deleted, through the same path as any run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from core.errors import UserError
from core.runs.damaged import damaged_text
from core.runs.folder import RunFolder
from gui.plain_text import plain_tip

OPEN_TIP = "Use this run's model on the Evaluate, Predict, Export and Network pages"
DELETE_TIP = "Delete the run and its folder (asks first)"


def selected_run(page, ids: list[int]):
    """The one selected run's summary, or None (none, several, or gone from the index)."""
    if len(ids) != 1:
        return None
    try:
        return page.history.get(ids[0])
    except UserError:
        return None


def damage_of(run) -> str:
    """The whole story of a damaged run ("" for a whole one, or none)."""
    if run is None or not run.missing:
        return ""
    return damaged_text(RunFolder(Path(run.path)), run.missing)


def update_actions(page, ids: list[int]) -> Optional[object]:
    """Enable Open and Delete for the selection, with a tooltip saying why not; the run."""
    run = selected_run(page, ids)
    damage = damage_of(run)
    training = run is not None and run.shown_status == "running"
    page.open_button.setEnabled(len(ids) == 1 and not damage)
    page.open_button.setToolTip(plain_tip(damage) if damage else OPEN_TIP)
    page.delete_button.setEnabled(len(ids) == 1 and not training)
    page.delete_button.setToolTip("This run is being trained: stop it first, then delete it"
                                  if training else DELETE_TIP)
    return run
