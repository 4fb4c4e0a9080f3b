"""One export at a time into one export folder.

An export reads the folder's earlier metadata.json when it starts and moves its
files in minutes later.  Two exports into one folder (two windows, or the window
and a ``main.py export``) both said "wrote" and left one's model.keras beside the
other's labels.txt and metadata.json, which then named neither.  So an export
holds an exclusive lock (:mod:`core.file_locks`) on a small hidden file beside the
folder, ``.NAME.exporting``, from the check of the folder to the last rename; a second
export into it is refused at once.  The file is removed when the export ends (on Windows,
which deletes no open file, it stays, and the next export takes it over); one left by a
killed export is taken over (the lock went with its process).  Where there are no locks
(some NFS or FUSE mounts), or the folder holding the export folder takes no file (a USB
stick's root), the export runs unlocked.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.errors import UserError
from core.file_locks import lock_or_refuse, locks_available
from core.fsutil import cannot_write


def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.exporting"


@contextmanager
def one_export_at_a_time(out: Path) -> Iterator[None]:
    """Hold ``out``'s export lock for the block; UserError at once when it is held."""
    path = lock_path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(out, exc) from None
    if not lockable(path):  # no locks here, or a parent it cannot write: unlocked, as before
        yield
        return
    busy = (f"{out}: another export into this folder is under way; wait for it to finish, "
            "or export into another folder")
    with lock_or_refuse(path, busy) as (fh, locked):
        if locked and not _still_named(fh, path):  # its holder removed it as we opened it
            raise UserError(f"{out}: another export into this folder has just ended; "
                            "export again")
        try:
            yield
        finally:
            with contextlib.suppress(OSError):  # read-only meanwhile, or gone
                os.unlink(path)  # still holding the lock: nobody can take it in between


def lockable(path: Path) -> bool:
    """Whether the lock file can be made: there are locks, and the folder the export
    folder is in takes a file (the root of a USB stick is in a folder of root's, and an
    export there was refused, naming a hidden file the user never chose)."""
    return locks_available() and os.access(path.parent, os.W_OK)


def _still_named(fh, path: Path) -> bool:
    """Whether ``path`` still names the open file ``fh`` (not unlinked meanwhile)."""
    try:
        return os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
    except OSError:
        return False
