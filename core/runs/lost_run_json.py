"""A run folder whose ``run.json`` was lost, met by a resume.

A resume used to take "no run.json" for a run that can go on: a completed run was
finished again, and every resume wrote a run.json with no data folder, classes, image
count or settings (the Runs list then showed "-" and the resume's time as its start).
"""

from __future__ import annotations

from core.errors import UserError
from core.events import Log, emit
from core.runs.folder import RunFolder
from core.runs.records import RunStatus


def recover_run_info(run: RunFolder, cfg, classes: list[str], finished: bool,
                     listener=None) -> None:
    """Refuse a run whose other files say it completed (``finished``: every phase done
    and its model.keras written); otherwise write run.json again from config.json,
    labels.json and split.json, and say so."""
    if run.run_path.exists():
        return
    if finished and run.model_path.exists():
        raise UserError(f"{run.run_path} is missing, but the run's other files say it "
                        f"completed (every phase finished, {run.model_path.name} written): "
                        f"nothing to resume; put {run.run_path.name} back from a copy of the "
                        "run, or start a new run")
    split = run.split(cfg.data.data_dir)
    try:
        created = run.config_path.stat().st_mtime  # written when the run was made
    except OSError:
        created = None
    run.update_run_info(status=RunStatus.STOPPED, created=created,
                        data_dir=str(cfg.data.data_dir), classes=list(classes),
                        images=len(split.train) + len(split.val), settings=cfg.to_dict())
    emit(listener, Log(f"{run.run_path} is missing; it is written again from "
                       f"{run.config_path.name}, {run.labels_path.name} and "
                       f"{run.split_path.name} (its start time from {run.config_path.name}'s "
                       "date)", "warning"))
