"""Run folders that lost their config or labels file: listed as damaged, not dropped.

Such a folder still holds its run record, curves, model and logs, so the run index
lists it (the Runs page and ``runs`` alike) from what can be read, marked damaged with
the file it lost.  What needs the lost file (Open, Resume, Evaluate, Export, the
report) is off for it; Delete works.  The check is made when the run is shown, not
stored: the folder is the truth, and a file put back mends the row at once.
"""

from __future__ import annotations

import os

from core.runs.folder import RunFolder


def missing_files(rf: RunFolder) -> list[str]:
    """The names of the config and labels files a run folder lost; [] for a whole run
    folder, and for a folder that is no run (no run record: nothing of a run to list)."""
    if not os.path.exists(rf.run_path):
        return []
    return [p.name for p in (rf.config_path, rf.labels_path) if not os.path.exists(p)]


def is_damaged(rf: RunFolder) -> bool:
    return bool(missing_files(rf))


def damage_note(missing: list[str]) -> str:
    """A short mark for a list's status cell: 'damaged: no labels.json'."""
    return f"damaged: no {' and no '.join(missing)}"


def readable_text(rf: RunFolder) -> str:
    """What the app still reads of a damaged run folder."""
    kept = [p.name for p in (rf.run_path, rf.history_path) if p.exists()]
    return f"the list shows what its {' and '.join(kept)} record" if kept else ""


def damaged_text(rf: RunFolder, missing: list[str]) -> str:
    """The whole story of a damaged run folder: what is lost, what works, what to do."""
    readable = readable_text(rf)
    files, them = ("the file", "it") if len(missing) == 1 else ("those files", "them")
    return (f"{rf.path}: a run folder without its {' and '.join(missing)}; it is listed as "
            f"damaged, and opening, resuming, evaluating and exporting it need {files}: put "
            f"{them} back from a copy of the run, or delete the run"
            + (f" ({readable})" if readable else ""))
