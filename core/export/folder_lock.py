"""One export at a time into one export folder.

An export reads the folder's earlier metadata.json when it starts and moves its
files in minutes later.  Two exports into one folder (two windows, or the window
and a ``main.py export``) both said "wrote" and left one's model.keras beside the
other's labels.txt and metadata.json, which then named neither.  So an export
holds an exclusive ``flock`` on a small hidden file beside the folder,
``.NAME.exporting``, from the check of the folder to the last rename; a second
export into it is refused at once.  The file is removed when the export ends;
one left by a killed export is taken over (the lock went with its process).
Where there are no locks (Windows, some NFS or FUSE mounts) the export runs unlocked.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.errors import UserError
from core.file_locks import lock_or_refuse
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
        raise cannot_write(path, exc) from None
    busy = (f"{out}: another export into this folder is under way; wait for it to finish, "
            "or export into another folder")
    with lock_or_refuse(path, busy) as (fh, locked):  # no locks here: unlocked
        if locked and not _still_named(fh, path):  # its holder removed it as we opened it
            raise UserError(f"{out}: another export into this folder has just ended; "
                            "export again")
        try:
            yield
        finally:
            with contextlib.suppress(OSError):  # read-only meanwhile, or gone
                os.unlink(path)  # still holding the lock: nobody can take it in between


def _still_named(fh, path: Path) -> bool:
    """Whether ``path`` still names the open file ``fh`` (not unlinked meanwhile)."""
    try:
        return os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
    except OSError:
        return False
