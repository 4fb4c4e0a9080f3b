"""Why a run on the Evaluate page has no validation results to show."""

from __future__ import annotations

from core.errors import UserError
from core.runs.folder import RunFolder
from core.runs.lock import shown_status
from core.runs.unfinished import UNFINISHED, gone_text, state_words


def no_results_text(run_dir: str) -> str:
    """Why ``run_dir`` has no metrics.json ("" when it has one: then it could not be read)."""
    run = RunFolder(run_dir)
    why = run.unreadable()  # Path.exists inside it would raise PermissionError
    if why:
        return (f"{run.path} cannot be read ({why}): make it readable, or open "
                "another run on the Runs step.")
    if run.metrics_path.exists():
        return ""
    if not run.path.is_dir():
        return gone_text(run.path)
    try:
        status = shown_status(run, run.run_info().status or "")
    except UserError:  # an unreadable run.json: say nothing about the status
        status = ""
    words = state_words(run, status)  # still training, or how far an unfinished one got
    if words:
        resume = " Resume it on the Train step." if status in UNFINISHED else ""
        if resume and not run.checkpoint.state.exists():  # no finished epoch: Resume is off
            resume = (" Nothing of it can be resumed: start a new run on the Train step (this "
                      "one can be deleted on the Runs step).")  # (it said "Resume it", a review)
        return f"{run.path.name} has no validation results yet: {words}.{resume}"
    return (f"{run.path.name} has no validation results (it was trained without validation "
            "images). Use “Evaluate on another folder…” to score it.")
