"""Temporaries a killed writer left beside the user's files.

:func:`core.fsutil._via_temp` writes every file as a hidden temporary first and renames
it; a process killed mid-copy (``label``, the Sort page's "Add to data set") left that
half-written image in the class folder for good, hidden from the scan.  A batch sweeps
the folders it writes to before it starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

from core.data.image_names import IMAGE_EXTENSIONS

#: The name :func:`core.fsutil._via_temp` gives the temporary of an image: ".NAME." +
#: mkstemp's eight random characters + ".tmp", NAME with an image ending (a user's own
#: ".backup.20240101.tmp" is not one).
_TEMP_NAME = re.compile(r"^\..+(" + "|".join(re.escape(e) for e in sorted(IMAGE_EXTENSIONS))
                        + r")\.[a-z0-9_]{8}\.tmp$", re.IGNORECASE)


def sweep_dead_temps(folder: Path, older_than: float = 60.0) -> list[str]:
    """Delete the temporaries a killed writer left in ``folder``, only those untouched for
    ``older_than`` seconds (a copy under way elsewhere keeps its own); returns their names."""
    removed = []
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if not _TEMP_NAME.match(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime >= older_than:
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed
