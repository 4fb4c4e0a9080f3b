"""What one batch of a data folder's journal did, in a few words, for its Undo.

The journal is one for the folder: images the Sort step added, frames a camera captured and
the Check data fixes are batches alike, and Undo takes back the last, whichever it is.  The
Sort page's "Undo (1 left)" took back a Check data fix of the day before without a word
(the button had said nothing of what it would undo, the message "1 file(s) put back").
"""

from __future__ import annotations

import time
from collections import Counter

from core.data.folder_walk import SET_ASIDE


def batch_text(batch: dict) -> str:
    """"29 image(s) added by labelling (copied in), 2026-12-05 12:04"; "a Check data fix:
    1 image set aside, 2026-12-04 15:30"."""
    moves = [m for m in batch.get("moves") or [] if isinstance(m, dict)]
    ops = Counter(m.get("op", "rename") for m in moves)
    if ops["capture"]:
        what = f"{ops['capture']} camera frame(s)"
    elif ops["copy"] or ops["move_in"]:
        how = "moved in" if ops["move_in"] and not ops["copy"] else "copied in"
        what = f"{ops['copy'] + ops['move_in']} image(s) added by labelling ({how})"
    else:
        aside = sum(str(m.get("dst", "")).split("/")[0] == SET_ASIDE for m in moves)
        parts = [f"{aside} image(s) set aside"] if aside else []
        if len(moves) - aside:
            parts.append(f"{len(moves) - aside} moved to another class")
        what = "a Check data fix: " + (", ".join(parts) or "no file")
    stamp = batch.get("time")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) \
        if isinstance(stamp, (int, float)) else ""
    return f"{what}, {when}" if when else what
