"""Whether a Check data's findings still describe the folder, after it was scanned again.

A check reads the folder once; files added, deleted or moved by hand afterwards left its
summary ("61 images ... 3 unreadable file(s) skipped", "Near-copies (1)") on show beside
a header that counted 60, with nothing to say which was right.  The check's own fixes
(moves and set-asides made from its lists) are the findings acted on, not a change.
"""

from __future__ import annotations

import os


def changed_since_check(result, report, fixed: set[str]) -> str:
    """"" when the scan ``report`` holds the images the check ``result`` looked at (apart
    from the ``fixed`` paths, before and after its own fixes); else a sentence saying so."""
    checked = set(result.paths) | {p for p, _why in result.skipped}
    now = {r.path for r in report.records} | {r.path for r in getattr(report, "copies", [])}
    added = now - checked - fixed
    # lexists: a broken or looping link the check skipped is still there, not gone
    gone = [p for p in checked - now if p not in fixed and not os.path.lexists(p)]
    if not added and not gone:
        return ""
    what = ", ".join(part for part in (f"{len(added)} image(s) added" if added else "",
                                       f"{len(gone)} gone" if gone else "") if part)
    return (f"The folder changed since this check ({what}): these findings may be out of date. "
            "Press Check data again.")
