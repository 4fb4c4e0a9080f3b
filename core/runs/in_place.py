"""A run folder stays where its training started, or the training stops.

Every file a run writes is written to a temporary name beside it and renamed, and that
write makes the parent folder when it is missing.  A run folder renamed, moved or on a
drive that went away while training was therefore made again at its old path by the next
epoch's checkpoint: the rest of the run (checkpoints, model.keras, a run.json without its
settings) landed there, without config.json, labels.json or split.json, and "run
completed" was printed, while the moved folder kept one epoch and a stale lock (a review).
So the session notes the folder's identity (device and inode) when it starts, and checks
it before each epoch's writes and before its last ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from core.errors import UserError
from core.events import Log, emit

Identity = Optional[tuple]


class RunFolderMoved(UserError):
    """The run folder is not where (or what) it was when training started."""


def folder_identity(path: str | os.PathLike) -> Identity:
    """(device, inode) of ``path``; None when it cannot be looked at."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def still_in_place(path: str | os.PathLike, identity: Identity) -> bool:
    """Whether ``path`` is still the folder ``identity`` was taken of (True when none was)."""
    return identity is None or folder_identity(path) == identity


def require_in_place(path: str | os.PathLike, identity: Identity, epochs_saved: int) -> None:
    """Raise :class:`RunFolderMoved` when the run folder moved since ``identity``."""
    if still_in_place(path, identity):
        return
    from core.shown import plural, verb

    saved = (f"the {plural(epochs_saved, 'epoch')} before it "
             f"{verb(epochs_saved, 'is')} saved in the folder where it is now"
             if epochs_saved > 0 else "no epoch had ended yet")
    raise RunFolderMoved(
        f"{Path(path)}: the run folder was renamed, moved or removed while training (or its "
        f"drive was disconnected), so training stopped and wrote nothing more; {saved}: "
        "put it back, or resume it where it is now: in the window, press Rescan on the Runs "
        "step (Add folder… if it is outside the runs folder), open it, then press Resume on "
        "the Train step; from the command line, 'python main.py train --resume FOLDER'")


def record_unfinished(run, identity: Identity, status, listener, is_chief: bool) -> None:
    """Record in run.json (and the run list) that a session ended unfinished, unless the
    folder moved (the write would make it again at its old path).  A failure to write is a
    warning: it had replaced the error that stopped the run (a folder made read-only
    mid-run was reported as "cannot use .../.lock ... give another path", a review)."""
    from core.runs.history import record_run_safely

    if not still_in_place(run.path, identity):
        return
    try:
        run.update_run_info(status=status)
    except (OSError, UserError) as exc:
        emit(listener, Log(f"could not record in {run.run_path.name} how this session ended "
                           f"({exc})", "warning"))
        return
    if is_chief:
        record_run_safely(run.path, listener)
