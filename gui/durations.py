"""How the window writes a duration, the same on every page ("0:42", "12:05", "1 h 03 min").

The Train page's "Finished after 0:35 of training" and the Runs page's
"Training time" column show the same figure (``run.json``'s ``seconds``) and
must read the same, so both write it with :func:`format_duration`.
"""

from __future__ import annotations

import math
from typing import Optional


def format_duration(seconds: Optional[float]) -> str:
    """``0:42``, ``12:05``, ``1 h 03 min``: how long, at a glance ("–" when unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(max(seconds, 0)))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60}:{s % 60:02d}"
