"""Where the app keeps its own files, for the window and the command line alike.

One rule: ``$FTS_DATA_DIR`` when set (tests, portable installs), else the
platform's per-user data folder (``~/.local/share/FineTuneStudio`` on Linux).
New runs go to its ``runs/`` folder whether they were started in the window or
with ``python main.py train`` (``--out`` chooses another place), so the run
history finds them all.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The app's data folder: ``$FTS_DATA_DIR`` or the platform's per-user data folder."""
    override = os.environ.get("FTS_DATA_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("FineTuneStudio", appauthor=False))


def default_runs_dir() -> Path:
    """Where new runs go by default (window and CLI); always rescanned by a history rebuild."""
    return data_dir() / "runs"


def start_weights_dir() -> Path:
    """Backbones carried over from one run to the next ("Update the model", "Fine-tune from
    this run"): each file belongs to the one run whose config names it, and goes when that
    run is deleted and no other run names it (:meth:`core.runs.history.RunHistory.delete_run`)."""
    return data_dir() / "start-weights"


def sample_dataset_dir() -> Path:
    """Where the built-in sample dataset is generated."""
    return data_dir() / "sample-shapes"
