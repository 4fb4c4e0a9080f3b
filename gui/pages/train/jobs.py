"""The Train page's work, run in a worker thread (:class:`gui.jobs.Job`): a new run and a
resumed one.  The engine is imported here, in the worker, never on the UI thread."""

from __future__ import annotations

import os


def train_job(cfg, report, runs_base: str, start_from: str = "", listener=None, cancel=None):
    """Worker: a new run under ``runs_base`` (imports the engine here, not on the UI thread).

    ``start_from``: a run folder whose (fine-tuned) backbone the new run starts from.
    """
    from core.train.engine import train

    if start_from:
        from core.label.update import train_from_run

        return train_from_run(start_from, cfg, runs_base=runs_base, listener=listener,
                              cancel=cancel, report=report)

    return train(cfg, runs_base=runs_base, listener=listener, cancel=cancel, report=report)


def resume_job(run_dir: str, data_dir: str = "", listener=None, cancel=None):
    """Worker: continue a stopped run from its checkpoint.  ``data_dir``: the Data page's
    folder, which the run moves to when its own folder is gone (moved elsewhere), as
    ``train --resume RUN --data NEW_FOLDER`` does (the run checks the images are its own)."""
    from core.errors import UserError
    from core.runs.folder import RunFolder
    from core.train.engine import resume_training

    moved = None
    try:
        recorded = RunFolder(run_dir).load_config().data.data_dir
    except UserError:
        recorded = ""  # resume_training names the problem
    if data_dir and recorded and not os.path.isdir(recorded) and \
            os.path.abspath(data_dir) != os.path.abspath(recorded):
        moved = data_dir
    return resume_training(run_dir, listener=listener, cancel=cancel, data_dir=moved,
                           data_given="the folder open on the Data page")
