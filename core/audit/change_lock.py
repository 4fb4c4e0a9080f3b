"""One change at a time to a data folder: the lock held for a whole journalled batch or Undo.

The journal (:mod:`core.audit.fixes`) locks each line it appends, which keeps
two writers from losing each other's lines but not an Undo from running while
another window or a ``label`` command is still placing a batch: the Undo then
marked that batch undone half-placed, and the next Undo reversed an older one.
So every batch (its record and its files) and every Undo holds an exclusive
lock on the journal file itself for the whole change (no extra file in the
user's folder); the journal's line appends inside it need no lock of their own.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.file_locks import lock_or_refuse

_HELD = threading.local()  # journals this thread holds the lock of (a batch inside a batch)


def holds(journal: Path) -> bool:
    """Whether this thread holds ``journal``'s change lock (see :func:`changing`)."""
    return journal in (getattr(_HELD, "paths", None) or ())


@contextmanager
def changing(journal: Path, what: str) -> Iterator[None]:
    """Hold the change lock of the folder whose journal is ``journal`` for the block (the
    file is created if needed); re-entrant within one thread.

    Busy: refused at once (UserError saying to ``what`` again later), never waited
    for, so the window does not hang on a long batch elsewhere.  POSIX ``flock``;
    where there is none (Windows) the block runs unlocked.
    """
    held = getattr(_HELD, "paths", None)
    if held is None:
        held = _HELD.paths = set()
    if journal in held:
        yield
        return
    busy = (f"{journal.parent}: another change to this folder is under way (labelling, an "
            f"audit fix or an Undo, in this window or another); {what} again when it has "
            "finished")
    with lock_or_refuse(journal, busy):  # no locks here (Windows, some NFS): unlocked
        held.add(journal)  # the journal's own line lock is not taken inside this one
        try:
            yield
        finally:
            held.discard(journal)
