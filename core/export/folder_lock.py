"""One export at a time into one export folder.

An export reads the folder's earlier metadata.json when it starts and moves its
files in minutes later.  Two exports into one folder (two windows, or the window
and a ``main.py export``) both said "wrote" and left one's model.keras beside the
other's labels.txt and metadata.json, which then named neither.  So an export
holds an exclusive ``flock`` on a small hidden file beside the folder,
``.NAME.exporting``, from the check of the folder to the last rename; a second
export into it is refused at once.  The file is removed when the export ends;
one left by a killed export is taken over (the lock went with its process).
Where there is no ``flock`` (Windows) the export runs unlocked, as before.
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.errors import UserError
from core.fsutil import cannot_write


def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.exporting"


@contextmanager
def one_export_at_a_time(out: Path) -> Iterator[None]:
    """Hold ``out``'s export lock for the block; UserError at once when it is held."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = lock_path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+b")
    except OSError as exc:
        raise cannot_write(path, exc) from None
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise UserError(f"{out}: another export into this folder is under way; wait "
                                "for it to finish, or export into another folder") from None
            raise cannot_write(path, exc) from None
        if not _still_named(fh, path):  # the holder before us removed it as we opened it
            raise UserError(f"{out}: another export into this folder has just ended; "
                            "export again")
        try:
            yield
        finally:
            try:
                os.unlink(path)  # still holding the lock: nobody can take it in between
            except OSError:
                pass  # read-only meanwhile, or gone: the next export takes it over
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _still_named(fh, path: Path) -> bool:
    """Whether ``path`` still names the open file ``fh`` (not unlinked meanwhile)."""
    try:
        return os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
    except OSError:
        return False
