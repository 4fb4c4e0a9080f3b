"""Deleting a run folder, and the start-weights file only that run used.

Deleting is the one thing the app does to a run that cannot be undone, so it
refuses whatever it cannot vouch for: a link, a folder holding files a run does
not write, a run a live trainer is writing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

from core.appdirs import start_weights_dir
from core.data.folder_walk import OS_LITTER
from core.errors import UserError
from core.runs.damaged import is_damaged
from core.runs.folder import Checkpoint, RunFolder
from core.runs.lock import describe_holder, held_for, lock_holder


def carried_weights(config: dict) -> Optional[Path]:
    """The start-weights file a run's config names (a backbone the app carried over from an
    earlier run), or None when its weights are anything else (the user's own file included)."""
    weights = str((config or {}).get("model", {}).get("weights") or "")
    if not weights.endswith(".weights.h5"):
        return None
    path = Path(weights).resolve()
    return path if path.parent == start_weights_dir().resolve() else None


#: The start of the names of the TensorBoard event files training writes under logs/.
TENSORBOARD_EVENTS = "events.out.tfevents."
#: macOS keeps a file's metadata in "._NAME" beside it on FAT, exFAT and network drives.
APPLE_DOUBLE = "._"


def foreign_entries(rf: RunFolder) -> list[str]:
    """Names in the run folder this app did not write there (sorted); [] for a pure one.

    Hidden temp files of the app's atomic writes (``.NAME.*.tmp*``, a checkpoint's
    ``.checkpoint.*.partial``/``.old``, a lock's ``.lock.*.tmp``) count as its own, and
    so does what a file browser leaves (:data:`OS_LITTER`).  ``checkpoint/`` and
    ``logs/`` are looked into: a file of the user's there went with the run.
    """
    found = _foreign(rf.path, rf.own_names())
    ckpt = rf.checkpoint_dir
    if ckpt.is_dir() and not ckpt.is_symlink():
        found += [f"{ckpt.name}/{name}" for name in _foreign(ckpt, set(Checkpoint.NAMES))]
    logs = rf.logs_dir
    if logs.is_dir() and not logs.is_symlink():  # TensorBoard's event files, in folders
        for root, _dirs, files in os.walk(logs):
            found += [os.path.relpath(os.path.join(root, f), rf.path) for f in files
                      if not _unprefixed(f).startswith(TENSORBOARD_EVENTS)
                      and _unprefixed(f) not in OS_LITTER]
    return sorted(found)


def _unprefixed(name: str) -> str:
    """``name`` without macOS's "._" (its metadata file of ``NAME`` is as much the run's)."""
    return name[len(APPLE_DOUBLE):] if name.startswith(APPLE_DOUBLE) else name


def _foreign(folder: Path, own: set[str]) -> list[str]:
    """Names in ``folder`` that are neither ``own`` nor the app's temp files nor litter
    (nor macOS's "._" metadata files of any of them)."""
    prefixes = tuple(p for n in own for p in (f".{n}.", f".{Path(n).stem}.", f"{n}."))
    names = [(e.name, _unprefixed(e.name)) for e in folder.iterdir()]
    return [name for name, bare in names if bare not in own and bare not in OS_LITTER
            and not (bare.startswith(prefixes)
                     and (".tmp" in bare or bare.endswith((".partial", ".old"))))]


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
    if not is_damaged(rf):  # a run that lost its config or labels file is still one
        rf.require_run_folder("refusing to delete it")
    holder = lock_holder(rf)
    if holder is not None:  # a live trainer's files would vanish under it
        raise UserError(f"{rf.path} is being {held_for(holder)} by "
                        f"{describe_holder(holder)}; wait for it to end (or stop it), then "
                        "delete the run")
    foreign = foreign_entries(rf)
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
