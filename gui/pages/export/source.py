"""Which model the Export page offers, and where its export goes by default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from core.runs.folder import RunFolder, find_run_folder


def current_model(state) -> Optional[str]:
    """The current run folder when it holds a model (a stopped run has none to export yet),
    else the last model opened when it is a .keras file or a folder; None when neither."""
    candidates = []
    if state.run_dir and os.path.isfile(RunFolder(state.run_dir).model_path):
        candidates.append(state.run_dir)
    if state.last_model and (state.last_model.endswith(".keras")
                             or os.path.isdir(state.last_model)):
        candidates.append(state.last_model)
    for p in candidates:
        if p and os.path.exists(p):
            return p
    return None


def default_out_dir(src: Optional[str]) -> str:
    """Beside the model, never inside a run folder (deleting the run would delete it)."""
    if not src:
        return ""
    p = Path(src)
    run = find_run_folder(p) if p.exists() else None
    if run is not None:  # a run folder, or a .keras inside one
        return str(run.path.parent / f"{run.path.name}-export")
    if p.is_file():
        return str(p.parent / f"{p.stem}-export")
    return str(p.parent / f"{p.name}-export")


def same_path(a: Optional[str], b: Optional[str]) -> bool:
    return bool(a) and bool(b) and os.path.abspath(a) == os.path.abspath(b)
