"""Turn a folder of images into a checked list of labelled files, and split it.

The user's folder is the whole "dataset format": one sub-folder per class
(``root/<class>/**/<image>``), or a folder already split into ``train/``,
``val/`` and optionally ``test/`` with the same classes inside each.  The scan
reads only image *headers* (:func:`core.data.probe.probe_image`), so checking
100,000 files takes seconds, and reports everything that would otherwise bite
later as one readable list (:class:`~core.data.dataset_report.DatasetReport`):
files that are not images, empty or broken files, oversized images, duplicates
(which silently inflate validation accuracy when one copy lands in training and
the other in validation) and the same picture filed under two classes (a
labelling mistake -- neither copy is kept).  Listing files, with its care about
links, pipes and devices, is :mod:`core.data.folder_walk`; finding identical
files is :mod:`core.data.duplicates`.

Class names are the folder names sorted like Keras sorts them, so label ``i``
means the same class here, in training and in exported models.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from typing import Callable, Optional, Union

from core.data.dataset_report import DatasetReport, ImageRecord, Problem, report_warnings
from core.data.duplicates import same_content_groups
from core.data.folder_walk import (FolderWalk, breaks_a_label_line, broken_links, folded_name,
                                   folder_key, loose_images, subfolders)
from core.data.imageio import IMAGE_EXTENSIONS, ImageError
from core.data.probe import probe_file
from core.data.splitting import Split, split_dataset  # noqa: F401 (exported here too)
from core.errors import DataError
from core.events import CancelToken, Listener, Progress, emit

PathLike = Union[str, os.PathLike]

#: Sub-folder names that make a folder a pre-split dataset, and the subset each means.
SPLIT_FOLDERS: dict[str, str] = {"train": "train", "val": "val", "valid": "val",
                                 "validation": "val", "test": "test"}
PROGRESS_EVERY = 256         # files between Progress events

#: One probed image: (path, class name, subset, width, height, size in bytes).
Probed = tuple[str, str, str, int, int, int]


# --------------------------------------------------------------------------- scanning


def _detect_layout(root: str) -> tuple[str, list[tuple[str, str]]]:
    """("classes", [("", root)]) or ("split", [(subset, folder), ...]).

    A folder is split when it holds ``train/`` and a validation or test folder
    (``train/`` + ``test/``, the usual download, was read as two classes called
    "test" and "train": a model that told the subsets apart), or ``train/`` alone.
    ``train/`` beside folders that are not subsets is a class called "train".
    """
    top = subfolders(root)
    lower = {name.lower(): name for name in top}
    subsets = {SPLIT_FOLDERS[k] for k in lower if k in SPLIT_FOLDERS}
    others = sorted(lower[k] for k in lower if k not in SPLIT_FOLDERS)
    if "train" not in subsets or len(lower) != len(top) or (others and subsets == {"train"}):
        return "classes", [("", root)]
    vals = sorted(lower[k] for k in lower if SPLIT_FOLDERS.get(k) == "val")
    if len(vals) > 1:
        raise DataError(f"{root} holds {' and '.join(v + '/' for v in vals)}: which one "
                        "validates? Merge them into one or move one out of the folder")
    if others:  # neither reading is safe: say so
        held = " and ".join(lower[k] + "/" for k in sorted(lower) if k in SPLIT_FOLDERS)
        raise DataError(f"{root} holds {held} (a data set split into subsets) "
                        f"and also {', '.join(o + '/' for o in others)}: move "
                        f"{'it' if len(others) == 1 else 'them'} into train/ or out of the "
                        "folder (a data folder is either split or one sub-folder per class)")
    order = {"train": 0, "val": 1, "test": 2}
    parts = sorted(((SPLIT_FOLDERS[k], os.path.join(root, name)) for k, name in lower.items()),
                   key=lambda p: order[p[0]])
    return "split", parts


def class_folders_root(root: PathLike) -> str:
    """Where new images of a class go: ``root``, or its ``train/`` subset when ``root`` is
    a split folder by the scan's own rule (``train/`` with ``val/``, ``valid/``,
    ``test/`` ... or alone).  A folder the scan refuses raises its :class:`DataError`,
    so nothing is written into a folder that would then not scan."""
    layout, parts = _detect_layout(os.fspath(root))
    return parts[0][1] if layout == "split" else os.fspath(root)


def near_miss(path: str) -> str:
    """A hint when ``path`` is missing only by the spaces at its ends (pasted, or typed in
    quotes): the message showed the space invisibly."""
    trimmed = path.strip()
    if trimmed and trimmed != path and os.path.exists(trimmed):
        return (f" (note the space at its end or start; did you mean "
                f"'{os.path.abspath(trimmed)}'?)")
    return ""


def scan_dataset(root: PathLike, listener: Optional[Listener] = None,
                 cancel: Optional[CancelToken] = None,
                 scored: Optional[Callable[[str], bool]] = None) -> DatasetReport:
    """Scan ``root`` (headers only) and report usable images, problems and warnings.

    ``scored``: which class folders count (evaluate scores a model's classes only): copies
    are looked for among their files alone.  A copy in a folder that is not a class (a
    "rejects" folder beside them) took the real image out of the score with it.

    Raises :class:`DataError` when ``root`` is missing or not a folder, or when
    a pre-split folder's train/val/test hold different class folders, and
    :class:`core.events.Cancelled` when ``cancel`` is set.  Emits
    :class:`core.events.Progress` every few hundred files.
    """
    if not os.fspath(root):  # "" would scan the working folder
        raise DataError("no data folder given; give the folder that holds one sub-folder per "
                        "class")
    root_str = os.path.abspath(os.fspath(root))
    if not os.path.exists(root_str):
        hint = near_miss(os.fspath(root))  # as given: abspath had glued a leading space on
        raise DataError(f"data folder not found: '{root_str}'{hint}" if hint
                        else f"data folder not found: {root_str}")
    if not os.path.isdir(root_str):
        raise DataError(f"{root_str} is a file, not a folder; choose the folder that holds "
                        "one sub-folder per class")
    layout, parts = _detect_layout(root_str)
    report = DatasetReport(root=root_str, layout=layout, scanned_at=time.time(),
                           val_from_train=layout == "split" and "val" not in dict(parts))
    class_folders = _class_folders(report, parts)
    candidates = _list_files(report, parts, class_folders, listener, cancel)
    probed = _probe(report.problems, candidates, listener, cancel)
    excluded = _drop_duplicates(report, probed, listener, cancel, scored)
    all_class_names = sorted({name for names in class_folders.values() for name in names})
    populated = sorted({p[1] for p in probed if p[0] not in excluded})
    report.classes = populated
    label_of = {name: i for i, name in enumerate(populated)}
    copies = {p.path for p in report.problems
              if p.kind in ("duplicate", "cross_class_duplicate")}
    for path, name, subset, w, h, _ in probed:
        record = ImageRecord(path=path, label=label_of.get(name, -1), class_name=name,
                             width=w, height=h, subset=subset)
        if path not in excluded:
            report.records.append(record)
        elif path in copies:
            report.copies.append(record)
    report.class_folders = len(all_class_names)
    report.warnings.extend(report_warnings(report, all_class_names))
    return report


def _usable_names(report: DatasetReport, folder: str, names: list[str], alike: bool) -> list[str]:
    """The class folder ``names`` a labels file can hold, each other one warned about once;
    and (``alike``) a warning for names that only Unicode form or case tells apart (a Mac or
    Windows merges such folders, and no list shows which is which)."""
    for name in names:
        if breaks_a_label_line(name):
            report.warnings.append(
                f"class folder {os.path.join(folder, name)!r} is left out: its name has a line "
                "break (or is blank), which a labels file cannot hold; rename the folder")
    names = [n for n in names if not breaks_a_label_line(n)]
    seen: dict[str, str] = {}
    for name in names:
        key = folded_name(name)
        if key in seen and alike:
            report.warnings.append(
                f"class folders {seen[key]!r} and {name!r} in {folder} differ only in letter "
                "case or in how an accent is stored (Unicode form): they are two classes here, "
                "but one folder on a Mac or Windows; rename one")
        seen.setdefault(key, name)
    return names


def _class_folders(report: DatasetReport, parts: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Which class folders exist per subset; for a split folder, check that they agree."""
    class_folders: dict[str, list[str]] = {}
    for subset, folder in parts:
        class_folders[subset] = _usable_names(report, folder, subfolders(folder),
                                              alike=subset == parts[0][0])  # once, not per split
        for name in broken_links(folder):
            report.warnings.append(
                f"{os.path.join(folder, name)} is a link to something that is not there (a "
                "drive not connected?); if it is a class folder, its images are not read")
        loose = loose_images(folder)
        report.loose += loose
        if loose:
            report.warnings.append(
                f"{loose} image file(s) lie directly in {folder} and belong to no class; "
                "they are ignored (move them into a class folder)")
    if report.layout == "split":
        reference_subset, reference = parts[0][0], set(class_folders[parts[0][0]])
        for subset, folder in parts[1:]:
            mine = set(class_folders[subset])
            if mine != reference:
                missing = sorted(reference - mine)
                extra = sorted(mine - reference)
                detail = "; ".join(filter(None, [
                    f"missing {', '.join(missing)}" if missing else "",
                    f"extra {', '.join(extra)}" if extra else ""]))
                raise DataError(
                    f"the class folders in {folder} differ from those in "
                    f"{os.path.join(report.root, reference_subset)} ({detail}); every split "
                    "folder needs the same class sub-folders")
    return class_folders


def image_files(root: PathLike, cancel: Optional[CancelToken] = None) -> list[str]:
    """The image file names a scan of ``root`` would read, as the scan names them (its own
    layout rules and walk; directory entries only, nothing decoded)."""
    root_str = os.path.abspath(os.fspath(root))
    layout, parts = _detect_layout(root_str)
    report = DatasetReport(root=root_str, layout=layout)
    return [path for path, _, _ in
            _list_files(report, parts, _class_folders(report, parts), None, cancel)]


def _list_files(report: DatasetReport, parts: list[tuple[str, str]],
                class_folders: dict[str, list[str]], listener: Optional[Listener],
                cancel: Optional[CancelToken]) -> list[tuple[str, str, str]]:
    """(path, class name, subset) of every image file name (cheap: directory entries only)."""
    barrier = {folder_key(report.root)}
    for subset, folder in parts:
        barrier.add(folder_key(folder))
        barrier.update(folder_key(os.path.join(folder, name)) for name in class_folders[subset])
    barrier.discard(None)
    walker = FolderWalk(report.problems, cancel, barrier, report.root)
    emit(listener, Progress(0, 0, "listing files"))
    candidates: list[tuple[str, str, str]] = []
    for subset, folder in parts:
        first = len(report.problems)
        for name in class_folders[subset]:
            for path in walker.files(os.path.join(folder, name)):
                if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
                    candidates.append((path, name, subset))
                else:
                    report.problems.append(Problem(path, "non_image_file",
                                                   "not an image file name; ignored"))
            emit(listener, Progress(0, 0, f"listing files ({len(candidates)} images so far)"))
        for problem in report.problems[first:]:  # what the walk found in this subset
            problem.subset = subset
    return candidates


def _probe(problems: list[Problem], candidates: list[tuple[str, str, str]],
           listener: Optional[Listener], cancel: Optional[CancelToken]) -> list[Probed]:
    """Read every candidate's header; a file that fails becomes a problem."""
    total = len(candidates)
    probed: list[Probed] = []
    for i, (path, name, subset) in enumerate(candidates):
        if i % PROGRESS_EVERY == 0:
            if cancel is not None:
                cancel.raise_if_cancelled()
            emit(listener, Progress(i, total, "reading image headers"))
        try:
            info, size = probe_file(path)
        except ImageError as exc:  # includes a file deleted since it was listed
            problems.append(Problem(path, exc.kind, exc.reason, subset))
            continue
        probed.append((path, name, subset, info.width, info.height, size))
    emit(listener, Progress(total, total, "reading image headers"))
    return probed


def _drop_duplicates(report: DatasetReport, probed: list[Probed], listener: Optional[Listener],
                     cancel: Optional[CancelToken],
                     scored: Optional[Callable[[str], bool]] = None) -> set[str]:
    """Report identical files; return every path left out (duplicates and unreadable files).

    Only files that share a size with another file are hashed.  Copies within
    one class keep the first (train before val before test); copies across
    classes are all left out, since nobody can tell which label is right.
    """
    problems = report.problems
    by_size: dict[int, list[str]] = defaultdict(list)
    for path, _, _, _, _, size in probed:
        by_size[size].append(path)
    to_hash = sum(len(v) for v in by_size.values() if len(v) > 1)
    hashed = [0]

    def tick() -> None:
        if hashed[0] % PROGRESS_EVERY == 0:
            if cancel is not None:
                cancel.raise_if_cancelled()
            emit(listener, Progress(hashed[0], to_hash, "looking for duplicates"))
        hashed[0] += 1

    info_by_path = {p[0]: p for p in probed}
    before = len(problems)
    groups = same_content_groups(by_size, problems, tick)
    for problem in problems[before:]:  # files that could not be read to be compared
        problem.subset = info_by_path[problem.path][2] if problem.path in info_by_path else ""
    excluded: set[str] = set(p.path for p in problems if p.kind == "unreadable")
    for group in groups:
        group = [p for p in group if p not in excluded
                 and (scored is None or scored(info_by_path[p][1]))]
        if len(group) < 2:
            continue
        group.sort(key=lambda p: (_subset_rank(info_by_path[p][2]), p))
        classes_in_group = sorted({info_by_path[p][1] for p in group})
        if len(classes_in_group) > 1:
            for path in group:
                others = ", ".join(report.relpath(p) for p in group if p != path)
                problems.append(Problem(
                    path, "cross_class_duplicate",
                    f"the same image is filed under classes {', '.join(classes_in_group)} "
                    f"(also at {others}); no copy is used -- keep it in the right class only",
                    info_by_path[path][2]))
                excluded.add(path)
        else:
            first = group[0]
            for path in group[1:]:
                problems.append(Problem(path, "duplicate",
                                        f"same bytes as {report.relpath(first)}; "
                                        "only the first copy is used", info_by_path[path][2]))
                excluded.add(path)
    return excluded


def _subset_rank(subset: str) -> int:
    return {"train": 0, "": 0, "val": 1, "test": 2}.get(subset, 3)


def require_usable(report: DatasetReport) -> None:
    """Raise :class:`DataError` with a one-line reason unless training can use ``report``."""
    reason = report.unusable_reason
    if reason:
        raise DataError(reason)
