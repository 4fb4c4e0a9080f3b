"""What the Train page says when a run ends: how long it trained, how good it is, which epoch.

Every figure comes from the run folder, the record the Runs and Evaluate
pages read too, so the pages agree: the training time is ``run.json``'s
``seconds`` (every session of the run, a resumed one included; not a
stopwatch of this page), the accuracy is the run's validation result
with the number of images it was measured on, and the best epoch is given
both over the whole run and within its phase ("epoch 12 (fine-tune 2/10)"),
the way the log numbers epochs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence

PHASE_WORDS = {"head": "head", "fine_tune": "fine-tune"}


@dataclass
class RunOutcome:
    """The figures the page shows about a finished (or stopped) run."""

    seconds: Optional[float]  # run.json: the run's time over every session
    accuracy: Optional[float]
    n_images: int
    best: str  # "epoch 12 (fine-tune 2/10)", or "" before any epoch
    guessing: bool = False  # no better than always answering one class (core guessing_note)

    def accuracy_text(self) -> str:
        if self.accuracy is None:
            return ""
        guess = (" (no better than always answering one class: the Evaluate step says why)"
                 if self.guessing else "")
        return (f"Validation accuracy {self.accuracy:.1%} on {self.n_images} validation "
                f"images{guess}")


def best_epoch_text(history: list[dict], best_epoch: Optional[int],
                    phase_epochs: dict[str, int]) -> str:
    """``"epoch 12 (fine-tune 2/10)"``: the run-wide number and the one within its phase."""
    if not best_epoch:
        return ""
    row = next((r for r in history if int(r.get("global_epoch") or 0) == best_epoch), None)
    if row is None:
        return f"epoch {best_epoch}"
    phase = str(row.get("phase") or "head")
    total = phase_epochs.get(phase)
    local = f"{int(row.get('epoch') or 0)}" + (f"/{total}" if total else "")
    return f"epoch {best_epoch} ({PHASE_WORDS.get(phase, phase)} {local})"


def read_outcome(result: Any) -> RunOutcome:
    """The outcome of ``result`` (a ``core.train.session.RunResult``) from its run folder."""
    from core.errors import UserError
    from core.infer.uncertainty import guessing_note
    from core.runs.folder import RunFolder
    from core.train.linear_head import planned_epochs

    run = RunFolder(result.run_dir)
    try:
        seconds = run.run_info().seconds
    except UserError:  # run.json unreadable: this session's own count is the best there is
        seconds = None
    try:
        totals = planned_epochs(run.load_config())
    except UserError:
        totals = {}
    metrics = result.metrics
    return RunOutcome(seconds if seconds is not None else result.seconds,
                      metrics.accuracy if metrics is not None else None,
                      metrics.n_images if metrics is not None else 0,
                      best_epoch_text(list(result.history or run.history()), result.best_epoch,
                                      totals),
                      metrics is not None and bool(guessing_note(metrics.confusion,
                                                                 metrics.classes)))


#: The settings a resume takes from the run folder, not from the page.
RESUME_SECTIONS = ("model", "train", "augment")


def unused_on_resume(settings_then: Optional[dict], page_config, shown: int = 3) -> str:
    """The page's edits since the run ended (``settings_then``: the page's settings at that
    moment), which Resume will not use, as a log line ("" when there are none).

    Resume continues a run with the settings it started with (its ``config.json``):
    an edit made on the page since then applies to the next Start, and saying so beats
    a run that silently ignores the new epoch count.  The page's settings are compared
    with themselves, not with config.json, which holds them resolved (size 0 as 224, a
    preset as its transforms) and would list edits nobody made.
    """
    from core.runs.summary import config_diff

    if settings_then is None:
        return ""
    changed = [(k, old, new) for k, old, new in config_diff(settings_then, page_config.to_dict())
               if k.split(".")[0] in RESUME_SECTIONS]
    if not changed:
        return ""
    listed = ", ".join(f"{k} {old!r} → {new!r}" for k, old, new in changed[:shown])
    more = f" and {len(changed) - shown} more" if len(changed) > shown else ""
    return (f"Resume continues with the run's own settings; your changes ({listed}{more}) "
            "apply to the next Start.")


def resumable(run_dir: Optional[str]) -> bool:
    """A run that did not complete (stopped, killed, or failed: its images were unplugged
    at the end) after at least one finished epoch, as ``train --resume`` takes it."""
    if not run_dir:
        return False
    from core.errors import UserError
    from core.runs.folder import RunFolder
    run = RunFolder(run_dir)
    if run.unreadable():  # Path.exists inside it would raise
        return False
    try:
        status = run.run_info().status
    except UserError:  # an unreadable run.json: the Runs page says why
        return False
    return status is not None and status.resumable and run.checkpoint.state.exists()


def trained_elsewhere(run_dir: Optional[str]) -> str:
    """Who trains ``run_dir`` now when another process does (the command line, another
    window), as "process N on HOST since …"; "" when none does.  Such a run was offered
    for Resume ("Press Resume to continue it"), which the lock then refused (a review)."""
    if not run_dir:
        return ""
    from core.runs.folder import RunFolder
    from core.runs.lock import describe_holder, lock_holder

    run = RunFolder(run_dir)
    if run.unreadable():
        return ""
    holder = lock_holder(run)
    return describe_holder(holder) if holder is not None and holder.get("pid") != os.getpid() \
        else ""


def resumable_here(run_dir: Optional[str]) -> tuple[Optional[str], str]:
    """(``run_dir`` when the window may resume it else None, :func:`trained_elsewhere`)."""
    elsewhere = trained_elsewhere(run_dir)
    return (run_dir if resumable(run_dir) and not elsewhere else None), elsewhere


def resume_tip(elsewhere: str) -> str:
    """The Resume button's tooltip (``elsewhere``: :func:`trained_elsewhere`'s words)."""
    return (f"This run is being trained by {elsewhere}: it can be resumed once that ends"
            if elsewhere else "Continue the stopped run from its last finished epoch")


def left_out_text(added: int) -> str:
    """The images a resume leaves out, and how to use them (the start and end banners)."""
    from core.shown import plural, verb

    return (f"{plural(added, 'image')} added to the data folder since this run started "
            f"{verb(added, 'is')} not in it: to use {'it' if added == 1 else 'them'}"
            ", Fine-tune from this run on the Sort step (or start a new run).")


def ended_texts(result: Any, outcome: RunOutcome, has_model: bool,
                warnings: Sequence[str] = ()) -> tuple[str, str]:
    """(status line, banner) for a run that completed or was stopped; the banner ends with
    the ``warnings`` the run logged (:func:`warnings_text`)."""
    from core.trust.missing import TOO_FEW
    from gui.durations import format_duration

    best = (f" {outcome.accuracy_text()}; best: {outcome.best}."
            if outcome.accuracy is not None else "")
    took = format_duration(outcome.seconds)
    uncalibrated = never_calibrated(result.run_dir, result.status == "completed")
    if uncalibrated:  # said below in the banner's own words
        warnings = [w for w in warnings if TOO_FEW not in w]
    warned = warnings_text(warnings)
    # Images a resume left out: a log line in command-line words was all (a review).
    added = getattr(result, "added_left_out", 0)
    left = f" {left_out_text(added)}" if added else ""
    if result.status == "completed":
        return (f"Finished after {took} of training.{best}",
                f"Training finished.{best}{left} {uncalibrated}Next: see where the model "
                f"goes right and wrong on the Evaluate step →{warned}")
    kept = (f"The best epoch so far was kept.{best}" if has_model
            else "It stopped before an epoch finished, so there is no model yet.")
    then = (f"Press Resume to finish it, or go on to Evaluate. {uncalibrated}"
            if has_model and uncalibrated
            else "Press Resume to finish it, or go on to Evaluate: until it finishes it is "
            "not calibrated, so Predict cannot answer “unknown” for images unlike its "
            "classes." if has_model
            else "Press Resume to continue it." if resumable(result.run_dir)
            else "Press Start to train again.")
    return (f"Stopped after {took} of training. {kept}",
            f"Training stopped. {kept} {then}".rstrip() + left + warned)


def warnings_text(warnings: list[str], shown: int = 2) -> str:
    """The run's warnings for the end-of-run banner, on a line of their own ("" when none):
    a run calibrated on validation images of some classes only said so in the log alone, and
    the banner read "Training finished" with nothing to see (a review).  The first ``shown``
    in full, the rest counted."""
    if not warnings:
        return ""
    said = " ".join(w[:1].upper() + w[1:].rstrip(".") + "." for w in warnings[:shown])
    more = len(warnings) - shown
    return f"\nWarning: {said}" + (f" ({more} more in the log below.)" if more > 0 else "")


def never_calibrated(run_dir: Optional[str], completed: bool) -> str:
    """Why the run has no “unknown” answer ("" when it has one or will when it completes):
    a stop said that finishing calibrates it, for a run with fewer validation images than
    calibration needs, and the finish said nothing of it (a review)."""
    from core.errors import UserError
    from core.runs.folder import RunFolder
    from core.trust.missing import NotCalibrated, completed_not_calibrated

    if not run_dir:
        return ""
    run = RunFolder(run_dir)
    if completed:
        why = completed_not_calibrated(run)
    else:
        try:
            why = NotCalibrated(str(run.path), len(run.split().val))
        except (UserError, OSError):  # the Runs page says what is wrong with its files
            return ""
        why = why if why.too_few else None
    if why is None:
        return ""
    text = why.text()
    return f"{text[:1].upper()}{text[1:]}. "


def worth_keeping(run_dir: Optional[str]) -> bool:
    """A run with a model or a checkpoint to resume: the project keeps it (an empty one is no
    run of it).  One rule for a run that finished, failed or was stopped before training."""
    from core.runs.folder import RunFolder

    return bool(run_dir) and (os.path.exists(RunFolder(run_dir).model_path)
                              or resumable(run_dir))


def opened_run(run_dir: str) -> tuple[list[dict], Optional[int], str]:
    """(history rows, best epoch, status line) of a run opened on the Runs page or with a
    project: the Train page shows its curves, not those of the last run trained here."""
    from core.errors import UserError
    from core.runs.folder import RunFolder
    from gui.durations import format_duration

    run = RunFolder(run_dir)
    name = run.path.name
    if run.unreadable() or not os.path.isdir(run.path):  # it read "Opened run run (of
        # unknown status)."; Path.is_dir raised where the user may not look
        from core.runs.unfinished import gone_text

        return [], None, gone_text(run.path)
    try:
        rows, info = list(run.history()), run.run_info()
    except UserError as exc:
        return [], None, f"Opened run {name}: {exc}"
    from core.runs.lock import shown_status

    # "interrupted", not "running", when its trainer is gone (a crash): Resume is offered
    status = shown_status(run, info.status.value) if info.status is not None \
        else "of unknown status"
    took = f", {format_duration(info.seconds)} of training" if info.seconds else ""
    then = " Press Resume to continue it." if resumable(run_dir) else ""
    data = _data_dir(run) if then else ""
    if data and not os.path.isdir(data):  # said only when Resume refused it (a review)
        then = (f" Its data folder {data} no longer exists: open it where it is now on the "
                "Data step, then press Resume.")
    elsewhere = trained_elsewhere(run_dir)
    if elsewhere:
        then = (f" It is being trained by {elsewhere}: the curves are as of now (open it "
                "again on the Runs step to see later epochs); Resume is off until that ends.")
    return rows, info.best_epoch, f"Opened run {name} ({status}{took}).{then}"


def _data_dir(run) -> str:
    """The run's data folder as its config.json records it ("" when unreadable)."""
    from core.errors import UserError

    try:
        return run.load_config().data.data_dir or ""
    except (UserError, OSError):
        return ""
