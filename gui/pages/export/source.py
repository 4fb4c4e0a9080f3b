"""Which model the Export page offers, and where its export goes by default."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Optional

from core.runs.folder import RunFolder, find_run_folder
from gui.steps import get_a_model


def no_model_text(state) -> str:
    """What the page says with nothing to export: that the project's model is gone, or
    how to get one."""
    gone = state.model_gone()
    return html.escape(gone) if gone else ("<b>No model yet.</b> " + get_a_model(
        "choose a run folder or .keras file to export.", first=True))


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


def other_models_export(out: str, src: str) -> Optional[str]:
    """The model an export already in ``out`` was made from, when it is not ``src`` (a run
    folder or a model file); None for an empty folder or an export of ``src`` itself (by
    its path, links resolved: a model overwritten in place since is not noticed here; the
    export's log says which earlier formats it removed).

    Why: the Export page remembers its output folder, so after training another run the
    next export went into the last run's export folder and replaced its model files with
    only a log line saying so."""
    from core.infer.loaders import export_metadata

    try:
        meta = export_metadata(Path(out).expanduser()) if out else None
        source = meta.get("source") if meta else None
        if not isinstance(source, str) or not source:
            return None
        mine = RunFolder(src).model_path if os.path.isdir(src) else Path(src)
        # the export records the model's path with links resolved
        return None if Path(source).resolve() == mine.resolve() else source
    except (OSError, RuntimeError):  # unreadable, a link loop: the export itself will say so
        return None


def confirm_replacing(parent, out: str, src: str) -> bool:
    """Ask before an export replaces another model's export in ``out``; True to go on."""
    from PySide6.QtWidgets import QMessageBox

    from gui import plain_text  # the folders' names are shown as written

    other = other_models_export(out, src)
    if other is None:
        return True
    return plain_text.question(
        parent, "Replace another model's export?",
        f"{out} holds the export of another model ({other}). Exporting {src} there replaces "
        "its model files, labels and metadata (your own files in it stay). Replace them? "
        "(No: choose another folder under 'Save to folder'.)",
        QMessageBox.Yes | QMessageBox.No, QMessageBox.No) == QMessageBox.Yes
