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
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Union

from core.data.dataset_report import DatasetReport, ImageRecord, Problem, report_warnings
from core.data.duplicates import same_content_groups
from core.data.folder_walk import FolderWalk, folder_key, loose_images, subfolders
from core.data.grouped_split import pick_validation
from core.data.imageio import IMAGE_EXTENSIONS, ImageError
from core.data.probe import probe_file
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
    """("classes", [("", root)]) or ("split", [(subset, folder), ...])."""
    top = subfolders(root)
    lower = {name.lower(): name for name in top}
    subsets = {SPLIT_FOLDERS[k] for k in lower if k in SPLIT_FOLDERS}
    if not ("train" in subsets and "val" in subsets) or len(lower) != len(top):
        return "classes", [("", root)]
    # A split folder with something else in it used to be read as classes "train", "val",
    # ...: a model that told the subsets apart.  Neither reading is safe: say so.
    vals = sorted(lower[k] for k in lower if SPLIT_FOLDERS.get(k) == "val")
    if len(vals) > 1:
        raise DataError(f"{root} holds {' and '.join(v + '/' for v in vals)}: which one "
                        "validates? Merge them into one or move one out of the folder")
    others = sorted(lower[k] for k in lower if k not in SPLIT_FOLDERS)
    if others:
        raise DataError(f"{root} holds train/ and {vals[0]}/ (a data set split into subsets) "
                        f"and also {', '.join(o + '/' for o in others)}: move "
                        f"{'it' if len(others) == 1 else 'them'} into train/ or out of the "
                        "folder (a data folder is either split or one sub-folder per class)")
    order = {"train": 0, "val": 1, "test": 2}
    parts = sorted(((SPLIT_FOLDERS[k], os.path.join(root, name)) for k, name in lower.items()),
                   key=lambda p: order[p[0]])
    return "split", parts


def scan_dataset(root: PathLike, listener: Optional[Listener] = None,
                 cancel: Optional[CancelToken] = None) -> DatasetReport:
    """Scan ``root`` (headers only) and report usable images, problems and warnings.

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
        raise DataError(f"data folder not found: {root_str}")
    if not os.path.isdir(root_str):
        raise DataError(f"{root_str} is a file, not a folder; choose the folder that holds "
                        "one sub-folder per class")
    layout, parts = _detect_layout(root_str)
    report = DatasetReport(root=root_str, layout=layout)
    class_folders = _class_folders(report, parts)
    candidates = _list_files(report, parts, class_folders, listener, cancel)
    probed = _probe(report.problems, candidates, listener, cancel)
    excluded = _drop_duplicates(report, probed, listener, cancel)
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
    report.warnings.extend(report_warnings(report, all_class_names))
    return report


def _class_folders(report: DatasetReport, parts: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Which class folders exist per subset; for a split folder, check that they agree."""
    class_folders: dict[str, list[str]] = {}
    for subset, folder in parts:
        class_folders[subset] = subfolders(folder)
        loose = loose_images(folder)
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
        for name in class_folders[subset]:
            for path in walker.files(os.path.join(folder, name)):
                if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
                    candidates.append((path, name, subset))
                else:
                    report.problems.append(Problem(path, "non_image_file",
                                                   "not an image file name; ignored"))
            emit(listener, Progress(0, 0, f"listing files ({len(candidates)} images so far)"))
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
            problems.append(Problem(path, exc.kind, exc.reason))
            continue
        probed.append((path, name, subset, info.width, info.height, size))
    emit(listener, Progress(total, total, "reading image headers"))
    return probed


def _drop_duplicates(report: DatasetReport, probed: list[Probed], listener: Optional[Listener],
                     cancel: Optional[CancelToken]) -> set[str]:
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
    groups = same_content_groups(by_size, problems, tick)
    excluded: set[str] = set(p.path for p in problems if p.kind == "unreadable")
    for group in groups:
        group = [p for p in group if p not in excluded]
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
                    f"(also at {others}); no copy is used -- keep it in the right class only"))
                excluded.add(path)
        else:
            first = group[0]
            for path in group[1:]:
                problems.append(Problem(path, "duplicate",
                                        f"same bytes as {report.relpath(first)}; "
                                        "only the first copy is used"))
                excluded.add(path)
    return excluded


def _subset_rank(subset: str) -> int:
    return {"train": 0, "": 0, "val": 1, "test": 2}.get(subset, 3)


def require_usable(report: DatasetReport) -> None:
    """Raise :class:`DataError` with a one-line reason unless training can use ``report``."""
    reason = report.unusable_reason
    if reason:
        raise DataError(reason)


# --------------------------------------------------------------------------- splitting


@dataclass
class Split:
    """Which images train, validate and test a run; saved in the run folder."""

    train: list[ImageRecord]
    val: list[ImageRecord]
    test: list[ImageRecord]
    seed: int
    val_fraction: float
    root: str = ""
    classes: list[str] = field(default_factory=list)
    #: Near-duplicate groups (2+ images) kept on one side of the split; 0 without groups.
    kept_together: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; image paths are relative to ``root`` so a moved folder still works."""

        def rel(path: str) -> str:
            if not self.root:
                return path
            try:
                r = os.path.relpath(path, self.root)
            except ValueError:
                return path
            return r.replace(os.sep, "/")

        def pack(records: Iterable[ImageRecord]) -> list[dict[str, Any]]:
            return [{"path": rel(r.path), "label": r.label, "class": r.class_name,
                     "width": r.width, "height": r.height, "subset": r.subset}
                    for r in records]

        return {"root": self.root, "seed": self.seed, "val_fraction": self.val_fraction,
                "classes": list(self.classes), "kept_together": self.kept_together,
                "train": pack(self.train),
                "val": pack(self.val), "test": pack(self.test)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], root: Optional[PathLike] = None) -> "Split":
        """Rebuild a split; ``root`` overrides the saved one (the data folder moved)."""
        if not isinstance(data, dict):
            raise DataError("saved split is not a JSON object")
        base = os.fspath(root) if root is not None else str(data.get("root", ""))

        def unpack(key: str) -> list[ImageRecord]:
            items = data.get(key, [])
            if not isinstance(items, list):
                raise DataError(f"saved split: '{key}' must be a list")
            out = []
            for i, item in enumerate(items):
                try:
                    rel = str(item["path"])
                    path = rel if not base else _inside(base, rel, f"{key}[{i}]")
                    out.append(ImageRecord(path=path, label=int(item["label"]),
                                           class_name=str(item["class"]),
                                           width=int(item.get("width", 0)),
                                           height=int(item.get("height", 0)),
                                           subset=str(item.get("subset", ""))))
                except (KeyError, TypeError, ValueError) as exc:
                    raise DataError(f"saved split: {key}[{i}] is malformed ({exc})") from None
            return out

        try:
            seed = int(data["seed"])
            val_fraction = float(data["val_fraction"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"saved split: missing or bad seed/val_fraction ({exc})") from None
        return cls(train=unpack("train"), val=unpack("val"), test=unpack("test"), seed=seed,
                   val_fraction=val_fraction, root=base,
                   classes=[str(c) for c in data.get("classes", [])],
                   kept_together=int(data.get("kept_together", 0) or 0))


def _inside(base: str, rel: str, where: str) -> str:
    """``rel`` joined to the data folder ``base``; a path that leaves it is refused.

    A split this app writes only holds paths relative to the data folder; one
    pointing elsewhere (``../../etc/passwd``, ``/home/x.png``) was edited or comes
    from another source, and training on it would read files the user never chose.
    """
    path = os.path.join(base, *rel.split("/"))
    root = os.path.normpath(base)
    if os.path.isabs(rel) or os.path.commonpath([root, os.path.normpath(path)]) != root:
        raise DataError(f"saved split: {where} points outside the data folder ({rel!r} is not "
                        f"under {base}); this split.json was edited or is not from this app, "
                        "so start a new run on the data folder")
    return path


def split_dataset(report: DatasetReport, val_split: float = 0.2, seed: int = 42,
                  groups: Optional[Iterable[Iterable[str]]] = None) -> Split:
    """Stratified, seeded train/validation split of ``report.records``.

    ``groups``: near-duplicate groups (paths as in the records); every group
    then lands wholly in training or wholly in validation
    (:mod:`core.data.grouped_split`) and ``Split.kept_together`` counts the
    groups of 2+ images kept together.  Without groups (or none of 2+ images)
    the split is exactly the plain one described next.

    Each class is shuffled on its own (seeded by ``seed`` and the class name),
    so adding a class never reshuffles the others, and the result does not
    depend on scan order.  Every class with two or more images gets at least
    one validation image and keeps at least one training image.  A pre-split
    folder keeps its own train/val/test; ``val_fraction`` then records the
    actual share of validation images.
    """
    if not 0.0 <= float(val_split) < 1.0:
        raise DataError(f"validation split must be at least 0 and below 1, got {val_split}")
    if report.layout == "split":
        train = [r for r in report.records if r.subset == "train"]
        val = [r for r in report.records if r.subset == "val"]
        test = [r for r in report.records if r.subset == "test"]
        share = len(val) / max(1, len(train) + len(val))
        return Split(train=train, val=val, test=test, seed=int(seed), val_fraction=share,
                     root=report.root, classes=list(report.classes))
    groups = [g for g in (list(x) for x in groups or ()) if len(g) >= 2]
    if groups:
        return _grouped_split(report, val_split, seed, groups)
    by_class: dict[str, list[ImageRecord]] = defaultdict(list)
    for rec in report.records:
        by_class[rec.class_name].append(rec)
    train: list[ImageRecord] = []
    val: list[ImageRecord] = []
    for name in sorted(by_class):
        items = sorted(by_class[name], key=lambda r: r.path)
        random.Random(f"{int(seed)}/{name}").shuffle(items)
        n = len(items)
        n_val = int(round(n * val_split))
        if val_split > 0 and n >= 2:
            n_val = min(max(n_val, 1), n - 1)
        else:
            n_val = 0
        val.extend(items[:n_val])
        train.extend(items[n_val:])
    key = lambda r: (r.label, r.path)  # noqa: E731 - stable order for files and logs
    return Split(train=sorted(train, key=key), val=sorted(val, key=key), test=[],
                 seed=int(seed), val_fraction=float(val_split), root=report.root,
                 classes=list(report.classes))


def _grouped_split(report: DatasetReport, val_split: float, seed: int,
                   groups: list[list[str]]) -> Split:
    records = report.records
    val_idx, kept = pick_validation([r.class_name for r in records], [r.path for r in records],
                                    groups, float(val_split), int(seed))
    key = lambda r: (r.label, r.path)  # noqa: E731 - stable order for files and logs
    val = sorted((records[i] for i in val_idx), key=key)
    train = sorted((r for i, r in enumerate(records) if i not in val_idx), key=key)
    return Split(train=train, val=val, test=[], seed=int(seed), val_fraction=float(val_split),
                 root=report.root, classes=list(report.classes), kept_together=kept)
