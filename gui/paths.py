"""Where the app keeps its own files (the sample dataset, default project folder).

``$FTS_DATA_DIR`` wins (tests and portable installs set it); otherwise the
platform's per-user data folder, so nothing lands in the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def app_data_dir() -> Path:
    override = os.environ.get("FTS_DATA_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("FineTuneStudio", appauthor=False))


def sample_dataset_dir() -> Path:
    return app_data_dir() / "sample-shapes"
