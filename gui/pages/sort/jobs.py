"""Worker side of the "Sort new images" step: suggestions, labels in, undo, the model update.

``core`` is imported here, in the worker, never on the UI thread.  Every
function takes ``listener``/``cancel`` keywords, as :class:`gui.jobs.Job` calls it.
"""

from __future__ import annotations

from typing import Sequence


def suggest_job(model_path: str, folder: str, order: str, data_dir: str = "",
                listener=None, cancel=None):
    """(the folder's images predicted by the model, in ``order`` ("useful" or "confident"),
    {path: Added} of those an earlier batch already put into ``data_dir``, the labels of the
    folder's draft for ``data_dir``: read here, not on the window's thread)."""
    from core.label.drafts import load_draft
    from core.label.earlier import already_added
    from core.label.suggestions import suggest

    result = suggest(model_path, folder, order, listener=listener, cancel=cancel,
                     data_dirs=[data_dir])  # a folder holding the data folder: not its images
    return (result, already_added([s.path for s in result.items], data_dir),
            load_draft(folder, data_dir))


def apply_job(rows: Sequence[tuple[str, str]], data_dir: str, move: bool,
              listener=None, cancel=None):
    """Copy (or move) the labelled images into ``data_dir``, one journalled batch."""
    from core.label.apply import apply_labels

    return apply_labels(list(rows), data_dir, move=move, new_classes=True,
                        source="the Sort step", listener=listener, cancel=cancel,
                        note=f"{len(rows)} image(s) sorted into the data set", words=False)


def update_job(run_dir: str, data_dir: str, runs_base: str, listener=None, cancel=None):
    """A head-only run from ``run_dir`` on the grown data set (see core.label.update)."""
    from core.label.update import update_model

    return update_model(run_dir, data_dir, runs_base=runs_base, listener=listener,
                        cancel=cancel)


def run_folder_of(model_path: str) -> str:
    """The run folder ``model_path`` is (or whose model.keras it is), or "" for another model."""
    from core.runs.folder import run_of_model

    run = run_of_model(model_path) if model_path else None
    return str(run.path) if run is not None else ""
