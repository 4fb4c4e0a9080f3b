"""Deleting a run folder, and the start-weights file only that run used.

Deleting is the one thing the app does to a run that cannot be undone, so it
refuses whatever it cannot vouch for: a link, a folder holding files a run does
not write, a run a live trainer is writing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

from core.appdirs import start_weights_dir
from core.errors import UserError
from core.runs.folder import RunFolder
from core.runs.lock import describe_holder, lock_holder


def carried_weights(config: dict) -> Optional[Path]:
    """The start-weights file a run's config names (a backbone the app carried over from an
    earlier run), or None when its weights are anything else (the user's own file included)."""
    weights = str((config or {}).get("model", {}).get("weights") or "")
    if not weights.endswith(".weights.h5"):
        return None
    path = Path(weights).resolve()
    return path if path.parent == start_weights_dir().resolve() else None


def delete_run_files(rf: RunFolder) -> None:
    """Delete a run folder, only if it holds nothing but what a run writes; never via a link.

    A folder merely looking like a run (any ``config.json`` + ``labels.json``, e.g.
    swept in by ``runs --rebuild /``) may hold the user's files: anything not in
    the run folder's own FILES table (or the app's temp files) makes this refuse,
    naming it.  Links are removed as links, their targets left alone.
    """
    if rf.path.is_symlink():
        raise UserError(f"{rf.path} is a link, not a run folder; refusing to delete it "
                        "(delete the link yourself if you mean to)")
    rf.require_run_folder("refusing to delete it")
    holder = lock_holder(rf)
    if holder is not None:  # a live trainer's files would vanish under it
        raise UserError(f"{rf.path} is being trained by {describe_holder(holder)}; stop that "
                        "training first (or wait for it to end), then delete the run")
    foreign = rf.foreign_entries()
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise UserError(f"{rf.path} holds files a run does not write ({shown}); refusing to "
                        "delete the folder - move them out first, or delete it yourself")
    for entry in rf.path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)  # rmtree unlinks links inside, never follows them
        else:
            entry.unlink()
    rf.path.rmdir()
