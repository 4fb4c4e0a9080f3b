"""Temporaries a killed writer left beside a file the app writes.

:mod:`core.fsutil` writes every file under a hidden temporary name and renames it; a
``kill -9`` or a power cut between the two leaves that temporary for good (a report's, a
project's, a features-cache shard of tens of MB).  The next write of the same file removes
those nobody has written to for an hour (a live writer's, in another process, is recent).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import Callable, Union

from core.path_names import cut_to_bytes

PathLike = Union[str, os.PathLike]

#: What :func:`tempfile.mkstemp` puts between prefix and suffix: eight of [a-z0-9_].
_RANDOM = re.compile(r"[a-z0-9_]{8}")


def short(name: str) -> str:
    """A temporary sibling's share of ``name``: with its dots, pid and random part it stays
    within 255 bytes."""
    return cut_to_bytes(name, 160)


def temp_affixes(path: Path, suffix: str = "") -> tuple[str, str]:
    """How :func:`core.fsutil.atomic_file` names a temporary beside ``path``: (prefix, suffix)."""
    return f".{short(path.stem)}.", f".tmp{suffix or path.suffix}"


def _remove_old(folder: Path, is_temp: Callable[[str], bool], older_than: float) -> int:
    """Delete the regular files of ``folder`` whose name ``is_temp`` and that have not been
    written to for ``older_than`` seconds; returns how many."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        if not is_temp(entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) \
                    and time.time() - entry.stat(follow_symlinks=False).st_mtime > older_than:
                os.unlink(entry.path)
                removed += 1
    return removed


def remove_stale_temps(path: PathLike, older_than: float = 3600.0) -> int:
    """Delete the temporaries :func:`core.fsutil.atomic_file` left beside ``path`` when its
    process was killed (``kill -9``, a power cut: 100 MB of a cut-off download each time),
    once they have not been written to for ``older_than`` seconds (a live writer's is
    recent).  Returns how many were deleted."""
    path = Path(path)
    prefix, suffix = temp_affixes(path)
    return _remove_old(path.parent, lambda n: n.startswith(prefix) and n.endswith(suffix),
                       older_than)


def remove_stale_write_temps(path: PathLike, older_than: float = 3600.0) -> int:
    """The same for the temporaries of :func:`core.fsutil.atomic_write_bytes`,
    ``.NAME.<eight random characters>.tmp`` beside ``path`` (a file of the user's own named
    like that but with other characters is not one)."""
    path = Path(path)
    prefix = f".{short(path.name)}."

    def is_temp(name: str) -> bool:
        return (name.startswith(prefix) and name.endswith(".tmp")
                and bool(_RANDOM.fullmatch(name[len(prefix):-len(".tmp")])))

    return _remove_old(path.parent, is_temp, older_than)
