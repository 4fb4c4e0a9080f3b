"""Where the app keeps its own files (the sample dataset, default project folder).

``$FTS_DATA_DIR`` wins (tests and portable installs set it); otherwise the
platform's per-user data folder, so nothing lands in the current directory.
"""

from __future__ import annotations

from pathlib import Path

from core.runs.history import data_dir as app_data_dir  # the one rule, shared with the CLI

__all__ = ["app_data_dir", "sample_dataset_dir"]


def sample_dataset_dir() -> Path:
    return app_data_dir() / "sample-shapes"
