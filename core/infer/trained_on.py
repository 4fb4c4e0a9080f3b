"""Which images a model trained on, so ``evaluate`` and the Evaluate page never score them.

:func:`training_images` reads a run's ``split.json`` (a run folder's, or an export's
source run's); without one it makes the split again from ``config.json`` as training
made it, when the data folder is still as the run recorded it.  :func:`learnt_records`
finds them among a folder's images: by path, by content (a copy of the data folder holds
them under other names), and, when the originals are not where the run recorded them
(moved, renamed, a run copied from another machine), by name and size in a folder that
holds every image of the split.  When none of this can be done the images cannot be
recognised, and :attr:`TrainedOn.problem` / the returned warning say so and why: the
figures were flattered without a word (a CLI review).
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError
from core.events import Log, emit

MAY_FLATTER = ("the images the model trained on cannot be recognised, so some may be "
               "scored and flatter the figures")


@dataclass(frozen=True)
class TrainedOn:
    """What is known of the images a model trained on (empty: a model with no run)."""

    #: Real paths of the training images found where the run recorded them.
    paths: frozenset = frozenset()
    #: (relative path, width, height) of the training images not found there.
    gone: frozenset = frozenset()
    #: The relative path of every image of the split (train, validation and test).
    names: frozenset = frozenset()
    #: The relative path of every training image.
    trained_names: frozenset = frozenset()
    #: Where the run recorded its images.
    root: str = ""
    #: Why the images cannot be known at all ("" when they can, or nothing was asked).
    problem: str = ""


def _rel(path: str) -> str:
    return unicodedata.normalize("NFC", path.replace(os.sep, "/"))


def _from_split(split) -> TrainedOn:
    found, gone, root = set(), set(), split.root or "."
    for r in split.train:
        if os.path.isfile(r.path):
            found.add(os.path.realpath(r.path))
        else:
            gone.add((_rel(os.path.relpath(r.path, root)), r.width, r.height))
    names = frozenset(_rel(os.path.relpath(r.path, root))
                      for r in (*split.train, *split.val, *split.test))
    trained = frozenset(_rel(os.path.relpath(r.path, root)) for r in split.train)
    return TrainedOn(frozenset(found), frozenset(gone), names, trained, split.root)


def training_images(model_path: str, listener=None, cancel=None,
                    near_copies=None) -> TrainedOn:
    """The images a model trained on: a run folder's, or an exported model's source run
    (its metadata.json names it).  A run whose config.json is damaged is read from the root
    its split.json saved; one without a readable split.json has its split made again from
    config.json (:func:`remade_split`; ``near_copies``: how training grouped near-copies,
    :func:`core.train.near_copies.near_copy_groups`, which this layer may not import)."""
    run, problem = source_run(model_path)
    if run is None:
        return TrainedOn(problem=f"{problem}; {MAY_FLATTER}" if problem else "")
    try:
        cfg = run.load_config()
    except (UserError, OSError, ValueError, KeyError):
        cfg = None
    try:  # a damaged config.json: the root split.json saved
        return _from_split(run.split(cfg.data.data_dir if cfg else None))
    except (UserError, OSError, ValueError, KeyError):
        if cfg is None:
            return TrainedOn(problem=f"{run.path} has neither a readable split.json nor a "
                                     f"readable config.json; {MAY_FLATTER}")
    try:
        split, why = remade_split(run, cfg, listener, cancel, near_copies)
    except (UserError, OSError, ValueError, KeyError) as exc:
        split, why = None, (f"{run.split_path} is missing or damaged, and the split could "
                            f"not be made again ({exc}); {MAY_FLATTER}")
    return _from_split(split) if split is not None else TrainedOn(problem=why)


def source_run(model_path: str):
    """(the run a model comes from, ""): the run folder it is or lies in, or an exported
    model's source run (its metadata.json names it); (None, "") for a model not from this
    app's runs, (None, why) for an export whose run is not found.  ``evaluate`` and
    ``suggest`` both find the run this way: ``suggest`` with an export offered the run's
    own labelled images again, with the run folder it left them out (a CLI review)."""
    from core.infer.export_meta import model_export_metadata
    from core.runs.folder import find_run_folder

    path = Path(model_path)
    run = find_run_folder(path)
    if run is not None:
        return run, ""
    meta = model_export_metadata(path)  # beside a file, around a savedmodel/ folder
    source = meta.get("source") if meta else None
    if not isinstance(source, str):
        return None, ""  # not from this app's runs: nothing is known
    run = find_run_folder(Path(source).parent)
    if run is None:
        return None, f"the run it was exported from ({Path(source).parent}) is not found"
    return run, ""


def remade_split(run, cfg, listener=None, cancel=None, near_copies=None):
    """(the run's split made again as training made it, "") from config.json's folder, seed
    and validation share, when the folder is still as the run recorded it (run.json's
    fingerprint); else (None, why not).  ``near_copies(cfg, report, listener, cancel)``:
    the near-copy groups training kept together (without it, a run that kept them cannot
    have its split made again)."""
    from core.data.dataset import scan_dataset, split_dataset
    from core.runs.relocate import dataset_fingerprint

    missing = f"{run.split_path} is missing or damaged"
    data = cfg.data.data_dir
    if not data or not os.path.isdir(data):
        return None, (f"{missing}, and its data folder {data or '(none recorded)'} is not "
                      f"there to make the split again; {MAY_FLATTER}")
    recorded = run.run_info().dataset_fingerprint
    if not recorded:
        return None, (f"{missing}, and its run.json records no fingerprint of the data "
                      f"folder to check {data} against, so the split cannot be made again; "
                      f"{MAY_FLATTER}")
    report = scan_dataset(data, cancel=cancel)
    if dataset_fingerprint(report) != recorded:
        return None, (f"{missing}, and its data folder {data} is not as the run recorded it "
                      f"(images added, removed or changed), so the split cannot be made "
                      f"again; {MAY_FLATTER}")
    grouped = cfg.data.keep_duplicates_together and report.layout != "split" \
        and cfg.data.val_split > 0
    if grouped and near_copies is None:
        return None, (f"{missing}, and the split kept near-copies together, which cannot be "
                      f"found again here; {MAY_FLATTER}")
    groups = near_copies(cfg, report, None, cancel) if grouped else []
    split = split_dataset(report, cfg.data.val_split, cfg.data.seed, groups=groups)
    emit(listener, Log(f"{missing}: the split was made again from its config.json (seed "
                       f"{cfg.data.seed}, validation share {cfg.data.val_split}, {data})"))
    return split, ""


def trained_on_subset(records: list, trained_on: TrainedOn, data_dir: str) -> bool:
    """Whether ``records`` (a split folder's train/ images) hold images the model trained on,
    by their paths relative to ``data_dir`` (the run's own folder, a copy or the moved one)."""
    base = os.path.abspath(data_dir)
    return any(_rel(os.path.relpath(os.path.abspath(r.path), base)) in trained_on.trained_names
               for r in records)


def learnt_records(records: list, trained_on: TrainedOn, data_dir: str,
                   listener=None) -> tuple[list, str]:
    """(the ``records`` the model trained on, a warning when some could not be looked for):
    the same files, copies of them (:func:`same_content`), or, for training images not
    where the run recorded them, the images at their relative paths with their sizes in a
    folder that holds every image of the run (a copy of the data folder, a moved one)."""
    if trained_on.problem:
        return [], trained_on.problem
    same_file = [os.path.realpath(r.path) in trained_on.paths for r in records]
    learnt = [r for r, same in zip(records, same_file) if same]
    rest = [r for r, same in zip(records, same_file) if not same]
    learnt += same_content(rest, trained_on.paths)
    if not trained_on.gone or os.path.realpath(data_dir) == os.path.realpath(trained_on.root):
        return learnt, ""  # the run's own folder: the images gone from it are not scored
    gone = len(trained_on.gone)
    base = os.path.abspath(data_dir)
    if all(os.path.isfile(os.path.join(base, *n.split("/"))) for n in trained_on.names):
        taken = {id(r) for r in learnt}
        named = [r for r in records if id(r) not in taken and
                 (_rel(os.path.relpath(os.path.abspath(r.path), base)), r.width, r.height)
                 in trained_on.gone]
        if named:
            emit(listener, Log(f"{gone} of the run's training images are not at "
                               f"{trained_on.root} any more; {data_dir} holds every image "
                               "of the run under the same names: recognised by their names "
                               "and sizes"))
        return learnt + named, ""
    return learnt, (f"{gone} of the images the model trained on are not at "
                    f"{trained_on.root} any more (moved, renamed, or the run comes from "
                    f"another machine), and {data_dir} is not a copy of that folder with the "
                    f"same names; {MAY_FLATTER}")


def same_content(records: list, trained_on: frozenset) -> list:
    """The ``records`` whose bytes equal one of the ``trained_on`` files': a copy of the run's
    data folder (``cp -r``, an rsync in CI) holds the training images under other paths,
    and its figures were flattered without a word.  The scan's own comparison
    (:func:`core.data.duplicates.same_content_groups`): only files of a training image's
    size are read, their first bytes before the rest."""
    from core.data.duplicates import same_content_groups

    def size(path: str) -> int:
        try:
            return os.stat(path).st_size
        except OSError:
            return -1

    trained: dict[int, list[str]] = {}
    for path in trained_on:
        trained.setdefault(size(path), []).append(path)
    mine: dict[int, list] = {}
    for r in records:
        n = size(r.path)
        if n >= 0 and n in trained:
            mine.setdefault(n, []).append(r)
    if not mine:
        return []
    groups = same_content_groups({n: trained[n] + [r.path for r in rs]
                                  for n, rs in mine.items()}, [], lambda: None)
    learnt = {p for g in groups if not trained_on.isdisjoint(g) for p in g}
    return [r for r in records if r.path in learnt]  # in the folder's order
