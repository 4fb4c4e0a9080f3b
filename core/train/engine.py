"""The training engine: two phases, checkpoints every epoch, resumable, cancellable.

The schedule is the one the Keras transfer-learning guide teaches: first train
the new head with the whole backbone frozen (a high learning rate is safe
because the pretrained features do not move), then unfreeze the chosen layers
and continue at a 10x lower learning rate, recompiling in between.  BatchNorm
layers always run in inference mode (the backbone is called with
``training=False`` and BN layers stay frozen), so small batches do not wreck
the pretrained statistics.

Everything the GUI and the CLI need is reported through events (see
:mod:`core.events`); a :class:`~core.events.CancelToken` is polled after every
batch.  After every finished epoch the weights, the optimizer state and the
loop state are written atomically to ``checkpoint/``, so a run killed with
``kill -9`` resumes (``resume_training``) losing at most the epoch in flight.

This module starts and resumes runs; the session's steps are
:mod:`core.train.session`, the epoch bookkeeping :mod:`core.train.loop`, the
files :mod:`core.train.checkpoint`, the fast head :mod:`core.train.fast_head`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

from core import __version__
from core.config import StudioConfig
from core.errors import UserError
from core.events import CancelToken, FileSkipped, ImagesLeftOut, Log, emit
from core.fsutil import cannot_write, file_in_the_way
from core.write_errors import cannot_make_run_folder
from core.model.build import names_weights_file
from core.runs.folder import FILES, RunFolder, default_run_dir
from core.runs.lock import acquire, holding_lock, release, sweep_stale_temp_files
from core.runs.hand_edits import hand_edits
from core.runs.records import RunStatus
from core.runs.lost_run_json import recover_run_info
from core.train.checkpoint import load_loop_state, rewrite_damaged_history
from core.train.loop_state import LoopState
from core.train.near_copies import describe_split, near_copy_groups
from core.runs.relocate import dataset_fingerprint, relocate_data
from core.shown import plural
from core.train.preflight import (added_since, check_config, check_data_present,
                                  check_images_unchanged)
from core.train.finish import RunResult
from core.train.session import run_session


def check_outside_data(run: RunFolder, data: Path) -> None:
    """Refuse a run folder that is the data folder or inside it."""
    out = run.path.resolve()
    if out == data or data in out.parents:
        where = "is the data folder" if out == data else f"is inside the data folder {data}"
        raise UserError(f"{run.path} {where}: the run's files would be scanned as images "
                        "next time; choose an output folder outside it")


def prepare_new_run(cfg: StudioConfig, run_dir: Optional[str | Path], runs_base, listener,
                    cancel, report):
    """Check the config and the data, and write the new run folder's first files.

    Returns (resolved config, run folder, split, class names).
    """
    from core.data.augment import resolve
    from core.data.dataset import require_usable, scan_dataset, split_dataset
    from core.errors import DataError
    from core.model.backbones import get_backbone, resolve_image_size

    cfg = cfg.copy().validate()
    if not cfg.data.data_dir:
        raise DataError("no data folder given: choose a folder with one sub-folder per class")
    spec = get_backbone(cfg.model.backbone)
    cfg.model.backbone = spec.name
    cfg.model.image_size = resolve_image_size(spec, cfg.model.image_size, cfg.model.weights)
    # Stored one way: a preset is recorded as the transforms it runs, whoever started the run.
    cfg.augment = resolve(cfg.augment)
    run = RunFolder(run_dir or default_run_dir(runs_base or "runs", spec.name))
    data = Path(cfg.data.data_dir).resolve()
    # Recorded absolute: calibrate, evaluate, export, --resume and the run's config.json
    # given to --config work from any folder (a relative weights file was kept as typed).
    cfg.data.data_dir = os.path.abspath(cfg.data.data_dir)
    if names_weights_file(cfg.model.weights):
        cfg.model.weights = os.path.abspath(os.path.expanduser(cfg.model.weights.strip()))
    check_outside_data(run, data)
    check_reusable(run)
    check_config(cfg)  # before the first file is written: no dead-end run folders
    if report is None:
        emit(listener, Log(f"scanning {cfg.data.data_dir}"))
        report = scan_dataset(cfg.data.data_dir, listener=listener, cancel=cancel)
    else:  # the window's scan, maybe minutes old: the folder as it is now is trained on
        added, gone, edited = changes_since_scan(report, cancel)
        if added or gone or edited:  # a file manager: left out, or split.json lists files
            emit(listener, Log(  # that are gone and a resume refused the run for ever
                f"{report.root} changed since it was scanned "
                f"({plural(added, 'image file')} added, {gone} gone, {edited} changed); "
                "scanning it again so training uses the folder as it is now"))
            scanned, report = report, scan_dataset(cfg.data.data_dir, listener=listener,
                                                   cancel=cancel)
            check_classes_still_there(scanned, report)
    require_usable(report)
    for problem in report.problems:
        if problem.kind != "non_image_file":
            emit(listener, FileSkipped(problem.path, problem.reason, "scan"))
    for warning in report.warnings:  # a class left out, a tiny one: inspect said, train had not
        emit(listener, Log(warning, "warning"))
    groups = near_copy_groups(cfg, report, listener, cancel)
    split = split_dataset(report, cfg.data.val_split, cfg.data.seed, groups=groups)
    emit(listener, Log(describe_split(split)))
    # The lock is taken before the first file is written and kept for the training (the
    # caller releases it): two `train --out SAME` started together wrote config and split
    # one over the other, and the one refused later left its settings beside the other's
    # model.  Under the lock the folder is checked again: another start may have begun.
    try:
        run.path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # /proc/x, a read-only disk: said, not a bare FileNotFoundError
        raise (cannot_write(run.path, exc) if run_dir else  # the name the app chose: its
               cannot_make_run_folder(run.path, exc)) from None  # runs folder is named
    acquire(run)
    try:
        check_reusable(run)
        if run.failed_start():
            emit(listener, Log(f"{run.path}: reusing the folder of a start that did not train"))
            run.clear_failed_start()
        run.save_config(cfg)
        run.write_split(split)
        run.write_labels(list(report.classes))
        run.update_run_info(status=RunStatus.CREATED, app_version=__version__,
                            created=time.time(), data_dir=str(data),
                            images=len(report.records), classes=list(report.classes),
                            dataset_fingerprint=dataset_fingerprint(report))
    except BaseException:
        release(run)
        raise
    return cfg, run, split, list(report.classes)


def check_classes_still_there(scanned, now) -> None:
    """Raise DataError when a class the window's scan (``scanned``) showed has no image in
    the scan made at the start (``now``): a model of the other classes is not what the
    user asked for."""
    from core.data.dataset import class_folders_root
    from core.errors import DataError

    left = now.counts
    for name, count in scanned.counts.items():
        if count and not left.get(name):  # its files may be there, but none can be read
            folder = os.path.join(class_folders_root(scanned.root), name)  # train/ when split
            gone = not os.path.isdir(folder)
            raise DataError(f"class {name} ({folder}) "
                            + ("is gone" if gone else "has no readable images any more")
                            + f" since {scanned.root} was scanned; scan the folder again "
                            "before training" + (" (or put the class back)" if gone else
                                                 ": it lists the files that cannot be read"))


def changes_since_scan(report, cancel: Optional[CancelToken] = None) -> tuple[int, int, int]:
    """(image files added, gone, changed) since ``report``'s scan of ``report.root``.

    The scan's own listing (no decoding) and a stat of each file: a second or two at
    100,000 images, in the training job.  "Changed" is a file modified (or replaced,
    its ctime) after the scan began; such a file may not be the picture scanned."""
    from core.data.dataset import image_files

    seen = {*(r.path for r in report.records), *(r.path for r in report.copies),
            *(q.path for q in report.problems)}
    listed = image_files(report.root, cancel)
    added = sum(1 for path in listed if path not in seen)
    now = set(listed)
    gone = sum(1 for r in (*report.records, *report.copies) if r.path not in now)
    edited, now_t = 0, time.time()
    if report.scanned_at:
        for i, path in enumerate(p for p in listed if p in seen):
            if cancel is not None and i % 2000 == 0:
                cancel.raise_if_cancelled()
            try:
                st = os.stat(path)
            except OSError:
                continue  # gone meanwhile: the scan that follows says so
            # ctime: replaced or rewritten (also a chmod: a rescan too many, harmless); mtime
            # only when not in the future (an unzipped file dated ahead rescanned every Start)
            edited += (st.st_ctime > report.scanned_at
                       or report.scanned_at < st.st_mtime <= now_t)
    return added, gone, edited


def check_reusable(run: RunFolder) -> None:
    """Refuse an output folder that holds files, unless only a failed start wrote them."""
    blocker = file_in_the_way(run.path)
    if blocker is not None:
        where = f"{run.path}: {blocker}" if blocker != run.path else str(blocker)
        raise UserError(f"{where} is a file, not a folder; rename or move that file, or train "
                        "into another folder (--out on the command line)")
    held = {FILES.lock}  # the lock this start holds while it checks again
    if run.path.is_dir() and any(e.name not in held and not e.name.startswith(FILES.lock + ".")
                                 for e in run.path.iterdir()) and not run.failed_start():
        if not run.is_run_folder():  # an image folder, an export, notes: --resume would fail
            names = sorted(e.name for e in run.path.iterdir())
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise UserError(f"{run.path} already holds files ({shown}) and is not a run "
                            "folder; choose an empty or new output folder")
        try:
            done = run.run_info().status is RunStatus.COMPLETED
        except UserError:  # a damaged run.json: the general words
            done = False
        raise UserError(f"{run.path} already holds " + (
            "a completed run; choose another output folder" if done else
            "a run that did not finish; choose another output folder, or continue that run "
            f"with 'train --resume {run.path}'"))


def train(cfg: StudioConfig, run_dir: Optional[str | Path] = None, *, runs_base=None,
          listener=None, cancel: Optional[CancelToken] = None, report=None) -> RunResult:
    """Train a new run from ``cfg``; returns when it completes or is stopped.

    With ``train.strategy = "multi-worker"`` every machine calls this with the
    same config and the same ``run_dir``; ``TF_CONFIG`` says which worker this
    is.  The chief (worker 0) writes ``run_dir``; the others keep their resume
    state in a scratch folder beside it (see :mod:`core.train.distributed`).
    """
    from core.train.distributed import cluster_for, worker_scratch_dir

    cancel = cancel or CancelToken()
    cluster = cluster_for(cfg.train.strategy)
    if cluster.multi and not run_dir:
        raise UserError("multi-worker training needs the run folder named on every machine "
                        "(--out RUN_DIR), so that the workers agree on it and can resume it")
    folder = run_dir if cluster.is_chief else worker_scratch_dir(run_dir, cluster)
    cfg, run, split, classes = prepare_new_run(cfg, folder, runs_base, listener, cancel, report)
    try:  # prepare_new_run took the run's lock
        sweep_stale_temp_files(run)
        return run_session(cfg, run, split, classes, LoopState(), listener, cancel, cluster,
                           Path(run_dir) if run_dir else None)
    finally:
        release(run)


def _resume_folder(run_dir: str | Path) -> RunFolder:
    """The folder to resume from: the run, or on a non-chief worker its own scratch folder."""
    from core.errors import ConfigError
    from core.train.distributed import SINGLE, cluster_from_env, worker_scratch_dir

    run = RunFolder(run_dir)
    if os.environ.get("TF_CONFIG"):
        try:
            here = cluster_from_env()
        except ConfigError:
            here = SINGLE
        scratch = RunFolder(worker_scratch_dir(run_dir, here))
        if here.multi and not here.is_chief and scratch.config_path.exists():
            run = scratch
    return run


def resume_training(run_dir: str | Path, listener=None, cancel: Optional[CancelToken] = None,
                    data_dir: Optional[str | Path] = None, data_given: str = "--data"
                    ) -> RunResult:
    """Continue a stopped or killed run from its last finished epoch, same config.

    ``data_dir`` points the run at its data folder's new place (same files);
    ``data_given``: how the user gave it, for the messages.
    """
    cancel = cancel or CancelToken()
    run = _resume_folder(run_dir)
    if not run.config_path.exists():
        run.require_run_folder()  # says what is missing, before a lock is written there
    with holding_lock(run):
        return _resume_locked(run, Path(run_dir), listener, cancel, data_dir, data_given)


def _resume_locked(run: RunFolder, run_dir: Path, listener, cancel: CancelToken,
                   data_dir: Optional[str | Path], data_given: str = "--data") -> RunResult:
    from core.train.distributed import cluster_for, worker_scratch_dir

    has_checkpoint = run.checkpoint.weights_file() is not None
    unwritten = [p.name for p in (run.split_path, run.labels_path) if not p.exists()]
    if not has_checkpoint and run.config_path.exists() and unwritten:
        raise UserError(f"{run.path}: this run's start was interrupted before it was fully "
                        f"written (no {' and no '.join(unwritten)}); nothing to resume - start "
                        f"it again with 'train DATA --out {run.path}' (the folder is reused)")
    run.require_run_folder()
    cfg = run.load_config()
    if cfg.migration_note:  # an older run's numbers over today's limits: it trains on these
        emit(listener, Log(f"{cfg.migration_note}; the resume trains on with these",
                           "warning"))
    cluster = cluster_for(cfg.train.strategy)
    if not cluster.is_chief and run.path == run_dir:
        raise UserError(f"worker {cluster.index} keeps its resume state in "
                        f"{worker_scratch_dir(run_dir, cluster)}, which is missing: resume "
                        f"needs that folder on this machine (or start a new run)")
    classes = run.labels()
    state = None
    if not run.run_path.exists():  # lost: refused if the run completed, else written again
        state = load_loop_state(run, listener)
        recover_run_info(run, cfg, classes, next_phase(state, cfg) is None, listener)
    info = run.run_info()
    if info.status is RunStatus.COMPLETED:
        raise UserError(f"{run.path}: this run already completed; start a new run instead")
    if info.classes and classes != info.classes:  # hand-edited: "label 1 is outside ..."
        raise UserError(f"{run.labels_path}: lists {len(classes)} class(es) {classes}, but the "
                        f"run was started with {info.classes} ({run.run_path.name}); put "
                        f"{run.labels_path.name} back as it was, those names in that order")
    if state is None:
        state = load_loop_state(run, listener)
    rewrite_damaged_history(run, state, listener)
    check_config(cfg, need_weights=not has_checkpoint)  # the problem a failed start met
    edited, settings = hand_edits(run, info)
    if edited:  # told once: run.json takes the edit as the settings the run now has
        emit(listener, Log(edited, "warning"))
        run.update_run_info(settings=settings)
    if data_dir is not None:
        split = relocate_data(run, cfg, data_dir, data_given, listener, cancel)
        emit(listener, Log(f"the run's data folder is now {cfg.data.data_dir}"))
    else:
        split = run.split(cfg.data.data_dir)
        check_data_present(run, split, cfg.data.data_dir, cancel)
        check_images_unchanged(run, split, cfg.data.data_dir, cancel)
    added, extra = added_since(split, cfg.data.data_dir, info.created, cancel)
    if extra:
        emit(listener, Log(extra, "warning"))
        emit(listener, ImagesLeftOut(added))
    emit(listener, Log(f"resuming {run.path} at {resume_point(state, cfg)}"))
    result = run_session(cfg, run, split, classes, state, listener, cancel, cluster, run_dir)
    result.added_left_out = added  # the window's banner says it again at the end
    return result


def resume_point(state, cfg) -> str:
    """Where a resumed run goes on, as the log numbers epochs ("fine_tune epoch 1"): a
    phase that had finished (stopped as fine-tuning was set up) goes on at the next one
    the run trains; "head epoch 2" named an epoch of a one-epoch head."""
    at = next_phase(state, cfg)
    if at is None:
        return "its end (every phase has finished)"
    return f"{at} epoch {state.epoch + 1 if at == state.phase else 1}"


def next_phase(state, cfg) -> Optional[str]:
    """The phase a resume trains next; None when every phase has finished."""
    from core.train.linear_head import planned_epochs
    from core.train.loop_state import PHASES

    planned = planned_epochs(cfg)
    if not state.phase_over(planned.get(state.phase, 0), cfg.train.early_stopping_patience) \
            and state.phase not in state.finished_phases:
        return state.phase
    later = [p for p in PHASES[PHASES.index(state.phase) + 1:]
             if p not in state.finished_phases and planned.get(p)]  # (a phase ended unmarked)
    return later[0] if later else None
