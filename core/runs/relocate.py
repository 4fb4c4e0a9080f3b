"""A run whose images moved: find them in another folder, and point the run there.

A data folder moved or renamed after training (or a run folder copied from another
machine) leaves the run's recorded image paths pointing nowhere.  When another
folder holds the very same images (same relative paths, sizes and the dataset
fingerprint recorded at the start), the run is pointed at it: resume does this
(``train --resume RUN --data NEW``), and so does scoring a run on the Evaluate page.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from core.config import StudioConfig
from core.errors import DataError, UserError
from core.path_names import is_within
from core.runs.folder import RunFolder


def dataset_fingerprint(report) -> str:
    """A short hash of the images' classes, names and sizes: equal data, equal fingerprint."""
    h = hashlib.blake2b(digest_size=12)
    for r in sorted(report.records, key=lambda r: r.path):
        h.update(f"{r.class_name}\0{Path(r.path).name}\0{r.width}x{r.height}\n".encode(
            "utf-8", "surrogateescape"))  # a name that is not UTF-8 hashes as its bytes
    return h.hexdigest()


def missing_images(split, cancel=None) -> list[str]:
    """The split's image paths that are not files any more (``cancel`` looked at between
    files: a drive that is gone answers each look slowly)."""
    missing = []
    for i, r in enumerate((*split.train, *split.val, *split.test)):
        if cancel is not None and i % 256 == 0:
            cancel.raise_if_cancelled()
        if not Path(r.path).is_file():
            missing.append(r.path)
    return missing


def relocate_data(run: RunFolder, cfg: StudioConfig, new_dir: str | Path, given: str = "--data",
                  listener=None, cancel=None):
    """Point the run at ``new_dir`` when it holds the same images; returns the new split.

    Every image of ``split.json`` must be at the same relative path under
    ``new_dir`` with the same size in bytes where the old file still exists, and
    the dataset fingerprint (names, classes, pixel sizes) must match the one
    recorded when the run started.  The new folder is written to config.json and
    run.json (``data_dir``, ``data_moved_from``).  ``given``: how the user gave the
    folder, for the messages ("--data", "the Data page's folder").  ``cancel`` stops the
    check between files (it reads every image's header at 100,000 images: minutes on a
    network drive); nothing is written before the check ends.
    """
    from core.data.dataset import scan_dataset

    new_dir = Path(new_dir).expanduser().resolve()
    if not new_dir.is_dir():
        raise DataError(f"{given} {new_dir}: no such folder")
    old_dir = cfg.data.data_dir
    old_split = run.split(old_dir)
    split = run.split(str(new_dir))
    missing = missing_images(split, cancel)
    if missing:
        raise _not_there(given, new_dir, old_dir, missing,
                         len(split.train) + len(split.val) + len(split.test))
    olds = (*old_split.train, *old_split.val, *old_split.test)
    for i, (old, new) in enumerate(zip(olds, (*split.train, *split.val, *split.test))):
        if cancel is not None and i % 256 == 0:
            cancel.raise_if_cancelled()
        old_path, new_path = Path(old.path), Path(new.path)
        if old_path.is_file() and old_path.stat().st_size != new_path.stat().st_size:
            raise DataError(f"{given} {new_dir}: {new.path} differs from {old.path}; this is not "
                            "the run's data folder")
    recorded = run.run_info().dataset_fingerprint
    if recorded:
        report = scan_dataset(str(new_dir), listener, cancel)
        wanted = {r.path for r in (*split.train, *split.val, *split.test)}
        report.records = [r for r in report.records if r.path in wanted]
        if dataset_fingerprint(report) != recorded:
            raise DataError(f"{given} {new_dir}: the images there differ from the run's (another "
                            "class, name or image size); this is not the run's data folder")
    cfg.data.data_dir = str(new_dir)
    run.save_config(cfg)
    run.update_run_info(data_dir=str(new_dir), data_moved_from=old_dir)
    _move_scored_paths(run, old_dir, str(new_dir))
    return split


def _not_there(given: str, new_dir: Path, old_dir: str, missing: list[str],
               total: int) -> DataError:
    """The refusal for a folder lacking some of the run's images: a folder holding most of
    them is the run's with images gone (named: put back), any other is not the run's.  It
    said "not the run's data folder" for the moved folder missing one image, and never
    named the folder the run was trained on (a review)."""
    from core.shown import plural

    names = ", ".join(os.path.relpath(p, new_dir) for p in missing[:3])
    more = ", …" if len(missing) > 3 else ""
    was = (f"The run was trained on {old_dir}, which no longer exists. "
           if old_dir and not os.path.isdir(old_dir) else "")
    if 2 * len(missing) < total:
        return DataError(f"{was}{given} {new_dir} holds the run's images except "
                         f"{plural(len(missing), 'image')} ({names}{more}): put "
                         f"{'it' if len(missing) == 1 else 'them'} back, or train a new run on "
                         "the folder as it is")
    where = ("give the folder the run's images are in now" if given.startswith("--")
             else "open the folder the run's images are in now on the Data page")
    return DataError(f"{was}{given} {new_dir} does not hold its images ({len(missing)} of "
                     f"{total} are not there under the same names, first: {names}{more}): "
                     f"{where}")


def _move_scored_paths(run: RunFolder, old_dir: str, new_dir: str) -> None:
    """The images metrics.json names (its mistakes, what it skipped) in their new folder: the
    Evaluate page's mistakes were broken pictures after a move."""
    if not old_dir or not run.metrics_path.is_file():
        return
    try:
        metrics = run.metrics()
    except UserError:
        return  # a damaged file is the Evaluate page's to name, not this move's

    def moved(path):
        if isinstance(path, str) and is_within(path, old_dir):
            return os.path.join(new_dir, os.path.relpath(path, old_dir))
        return path

    for key in ("mistakes", "skipped"):
        for item in metrics.get(key) or []:
            if isinstance(item, dict) and "path" in item:
                item["path"] = moved(item["path"])
    run.write_metrics(metrics)
