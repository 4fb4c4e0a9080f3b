"""Settings edited by hand in a run's config.json since the app wrote it, for a resume to say.

A resume trains on with what config.json says.  An epoch count raised by hand is a fair way
to train longer, but the resume used to follow any edit silently, so the run's record mixed
two sets of settings with no word of it.  ``run.json`` keeps the settings as the app last
wrote them (:meth:`~core.runs.folder.RunFolder.save_config`), so each edit can be named.
"""

from __future__ import annotations

from core.config import DAMAGED
from core.runs.compare import settings_diff
from core.runs.folder import RunFolder
from core.runs.records import RunInfo
from core.typed_json import load_json_file

#: Edits named one by one; more are counted.
NAMED = 5


def hand_edits(run: RunFolder, info: RunInfo) -> tuple[str, dict]:
    """``("", settings)`` when config.json holds what the app wrote (or the run is from a
    version that kept no copy); else a sentence naming each edited setting, old → new.
    ``settings`` is config.json as it now is, for run.json once the edit is told."""
    now = load_json_file(run.config_path, "config", DAMAGED)
    if not info.settings:
        return "", now
    edits = settings_diff(info.settings, now)
    if not edits:
        return "", now
    said = "; ".join(f"{d.label} {d.a_text} → {d.b_text}" for d in edits[:NAMED])
    if len(edits) > NAMED:
        said += f"; and {len(edits) - NAMED} more"
    return (f"{run.config_path}: edited since the run wrote it ({said}); the resume trains on "
            "with the edited settings, and the epochs before keep theirs"), now
