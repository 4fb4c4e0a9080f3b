"""Check a file the user names for a command's output before the command does its work.

Why: ``report RUN --out RUN/model.keras`` replaced the run's model with HTML, and
``--out /sys/r.html`` failed only after the report was built, naming a temporary
file.  An output path must end as its kind does (so a model, an image or a run's
JSON is never replaced by a report or a CSV), must not be one of a run folder's own
files, and its folder must take a new file; each refusal says what to do.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

from core.errors import UserError
from core.fsutil import file_in_the_way
from core.runs.folder import RunFolder


def check_output_file(path: str | os.PathLike, what: str, suffixes: Sequence[str],
                      hint: str = "") -> Path:
    """``path`` made ready for :func:`core.fsutil.atomic_write_text` (its folder created),
    or UserError.  ``what`` names the output ("the report"); ``suffixes`` the endings it
    may have, first the usual one; ``hint`` is added to the wrong-ending message."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise UserError(f"{p} is a folder; give a file name for {what}, e.g. "
                        f"{p / ('output' + suffixes[0])}")
    if p.suffix.lower() not in suffixes:
        raise UserError(f"{p}: {what} is written to a file ending in "
                        f"{' or '.join(suffixes)}; give such a name (a file of another kind is "
                        f"never replaced){hint}")
    run = RunFolder(p.parent)
    # Without regard to case: on Windows and macOS "History.csv" is the run's history.csv.
    own = {n.casefold() for n in run.own_names()}
    if p.name.casefold() in own and run.is_run_folder():
        raise UserError(f"{p} is one of the run folder's own files; write {what} elsewhere")
    parent = p.parent
    blocker = file_in_the_way(parent)
    if blocker is not None:
        raise UserError(f"cannot write {p}: {blocker} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".fts-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"cannot write {what} in {parent} ({exc.strerror or exc}); choose "
                        "another folder") from None
    return p
