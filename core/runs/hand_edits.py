"""Settings edited by hand in a run's config.json since the app wrote it, for a resume to say.

A resume trains on with what config.json says.  An epoch count raised by hand is a fair way
to train longer, but the resume used to follow any edit silently, so the run's record mixed
two sets of settings with no word of it.  ``run.json`` keeps the settings as the app last
wrote them (:meth:`~core.runs.folder.RunFolder.save_config`), so each edit can be named.
"""

from __future__ import annotations

from core.config import DAMAGED
from core.errors import UserError
from core.runs.compare import settings_diff
from core.runs.folder import RunFolder
from core.runs.records import RunInfo
from core.typed_json import load_json_file

#: Edits named one by one; more are counted.
NAMED = 5

#: Settings fixed when a run starts: the split (made once, kept in split.json) and the image
#: size its weights were learnt at.  A resume had "followed" edits of them it could not
#: follow: config.json then named a split never used, and a 64 -> 96 px edit scored the
#: kept best epoch at 96 px (62.5 % where its epoch had 100 %) (a review).
FIXED_AT_START = ("data.val_split", "data.seed", "data.keep_duplicates_together",
                  "model.image_size")


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
    fixed = [d for d in edits if d.path in FIXED_AT_START]
    if fixed:
        said = "; ".join(f"{d.label} {d.a_text} → {d.b_text}" for d in fixed)
        raise UserError(f"{run.config_path}: edited since the run wrote it ({said}), but a "
                        "started run keeps its split and image size; put "
                        f"{' and '.join(d.path for d in fixed)} back as they were, or start "
                        "a new run with these settings (train DATA_DIR --config "
                        f"{run.config_path})")
    said = "; ".join(f"{d.label} {d.a_text} → {d.b_text}" for d in edits[:NAMED])
    if len(edits) > NAMED:
        said += f"; and {len(edits) - NAMED} more"
    return (f"{run.config_path}: edited since the run wrote it ({said}); the resume trains on "
            "with the edited settings, and the epochs before keep theirs"), now
