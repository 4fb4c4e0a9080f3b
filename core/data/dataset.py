"""Turn a folder of images into a checked list of labelled files, and split it.

The user's folder is the whole "dataset format": one sub-folder per class
(``root/<class>/**/<image>``), or a folder already split into ``train/``,
``val/`` and optionally ``test/`` with the same classes inside each.  The scan
reads only image *headers* (:func:`core.data.imageio.probe_image`), so checking
100,000 files takes seconds, and reports everything that would otherwise bite
later as one readable list: files that are not images, empty or broken files,
oversized images, duplicates (which silently inflate validation accuracy when
one copy lands in training and the other in validation) and the same picture
filed under two classes (a labelling mistake -- neither copy is kept).

Class names are the folder names sorted like Keras sorts them, so label ``i``
means the same class here, in training and in exported models.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Union

from core.errors import DataError
from core.events import CancelToken, Listener, Progress, emit
from core.data.imageio import IMAGE_EXTENSIONS, ImageError, probe_file

PathLike = Union[str, os.PathLike]

#: Sub-folder names that make a folder a pre-split dataset, and the subset each means.
SPLIT_FOLDERS: dict[str, str] = {"train": "train", "val": "val", "valid": "val",
                                 "validation": "val", "test": "test"}
#: Folders skipped besides hidden ones (macOS zip leftovers).
IGNORED_FOLDERS = frozenset({"__MACOSX"})

MIN_IMAGES_PER_CLASS = 10   # fewer -> warning
MAX_IMBALANCE = 5.0          # largest / smallest class above this -> warning
PROGRESS_EVERY = 256         # files between Progress events
_HEAD_BYTES = 64 * 1024      # duplicates: compare this much first, then whole files

PROBLEM_KINDS = ("empty", "not_image", "corrupt", "unreadable", "oversized", "duplicate",
                 "cross_class_duplicate", "non_image_file")


@dataclass
class ImageRecord:
    """One usable image: where it is, its label, and its upright size."""

    path: str
    label: int
    class_name: str
    width: int
    height: int
    subset: str = ""  # "train" / "val" / "test" in a pre-split folder


@dataclass
class Problem:
    """A file left out of the dataset and why (``non_image_file`` is informational)."""

    path: str
    kind: str
    reason: str


@dataclass
class DatasetReport:
    """Everything a scan found; ``records`` are the images training may use."""

    root: str
    layout: str  # "classes" | "split"
    classes: list[str] = field(default_factory=list)
    records: list[ImageRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Usable images per class, in class order."""
        counts = {name: 0 for name in self.classes}
        for rec in self.records:
            counts[rec.class_name] = counts.get(rec.class_name, 0) + 1
        return counts

    @property
    def subset_counts(self) -> dict[str, dict[str, int]]:
        """For a pre-split folder: usable images per subset and class."""
        out: dict[str, dict[str, int]] = {}
        for rec in self.records:
            if rec.subset:
                per = out.setdefault(rec.subset, {name: 0 for name in self.classes})
                per[rec.class_name] = per.get(rec.class_name, 0) + 1
        return out

    @property
    def error_problems(self) -> list[Problem]:
        """Problems that are errors (everything but informational non-image files)."""
        return [p for p in self.problems if p.kind != "non_image_file"]

    @property
    def unusable_reason(self) -> str:
        """One line saying why training cannot start; "" when it can."""
        populated = [name for name, n in self.counts.items() if n > 0]
        if len(populated) < 2:
            found = (f"only class '{populated[0]}' has usable images" if populated
                     else "no usable images were found")
            return (f"{self.root} needs at least 2 classes with usable images, but {found}; "
                    "put each class's images in its own sub-folder")
        if self.layout == "split":
            subsets = self.subset_counts
            train = [n for n, c in subsets.get("train", {}).items() if c > 0]
            if len(train) < 2:
                return (f"{os.path.join(self.root, 'train')} needs at least 2 classes with "
                        "usable images")
            if not sum(subsets.get("val", {}).values()):
                return f"{os.path.join(self.root, 'val')} has no usable images to validate on"
        return ""

    @property
    def usable(self) -> bool:
        return not self.unusable_reason

    def relpath(self, path: str) -> str:
        try:
            return os.path.relpath(path, self.root)
        except ValueError:  # another drive on Windows
            return path

    def to_dict(self, include_records: bool = True) -> dict[str, Any]:
        """A JSON-able summary (paths of records relative to ``root``)."""
        data: dict[str, Any] = {
            "root": self.root,
            "layout": self.layout,
            "classes": list(self.classes),
            "counts": self.counts,
            "num_images": len(self.records),
            "usable": self.usable,
            "unusable_reason": self.unusable_reason,
            "problems": [{"path": p.path, "kind": p.kind, "reason": p.reason}
                         for p in self.problems],
            "warnings": list(self.warnings),
        }
        if self.layout == "split":
            data["subset_counts"] = self.subset_counts
        if include_records:
            data["records"] = [
                {"path": self.relpath(r.path), "label": r.label, "class": r.class_name,
                 "width": r.width, "height": r.height, "subset": r.subset}
                for r in self.records]
        return data

    def to_text(self, max_problems_per_kind: int = 50) -> str:
        """The human-readable report the ``inspect`` command prints."""
        layout = ("one folder per class" if self.layout == "classes"
                  else "already split into " + "/".join(
                      s for s in ("train", "val", "test") if s in self.subset_counts))
        lines = [f"Data folder: {self.root}  ({layout})",
                 f"{len(self.classes)} classes, {len(self.records)} usable images"]
        counts = self.counts
        subsets = self.subset_counts
        width = max([len(c) for c in self.classes] + [5])
        for name in self.classes:
            line = f"  {name:<{width}}  {counts.get(name, 0):>7}"
            if subsets:
                line += "   (" + ", ".join(f"{s} {subsets[s].get(name, 0)}"
                                           for s in ("train", "val", "test") if s in subsets) + ")"
            lines.append(line)
        by_kind: dict[str, list[Problem]] = defaultdict(list)
        for p in self.problems:
            by_kind[p.kind].append(p)
        errors = [k for k in PROBLEM_KINDS if k in by_kind and k != "non_image_file"]
        if errors:
            lines.append(f"Problems: {sum(len(by_kind[k]) for k in errors)} files left out")
            for kind in errors:
                items = by_kind[kind]
                lines.append(f"  {kind} ({len(items)}):")
                for p in items[:max_problems_per_kind]:
                    lines.append(f"    {self.relpath(p.path)}: {p.reason}")
                if len(items) > max_problems_per_kind:
                    lines.append(f"    ... and {len(items) - max_problems_per_kind} more "
                                 "(use --json for the full list)")
        if "non_image_file" in by_kind:
            items = by_kind["non_image_file"]
            lines.append(f"Ignored non-image files ({len(items)}):")
            for p in items[:max_problems_per_kind]:
                lines.append(f"    {self.relpath(p.path)}")
            if len(items) > max_problems_per_kind:
                lines.append(f"    ... and {len(items) - max_problems_per_kind} more")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        reason = self.unusable_reason
        lines.append("Ready to train." if not reason else f"Not usable: {reason}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- walking


def _hidden(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_FOLDERS


def _subfolders(folder: str) -> list[str]:
    """Visible immediate sub-folders (symlinks to folders included), sorted like Keras."""
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it if not _hidden(e.name) and _is_dir(e)]
    except OSError as exc:
        raise DataError(f"cannot read the data folder {folder}: {exc.strerror or exc}") from None
    return sorted(names)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _loose_images(folder: str) -> int:
    """Image files lying directly in ``folder`` (they belong to no class)."""
    try:
        with os.scandir(folder) as it:
            return sum(1 for e in it if not _hidden(e.name) and not _is_dir(e)
                       and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS)
    except OSError:
        return 0


def _folder_key(path: str) -> Optional[tuple[int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class _Walk:
    """Files below one class folder, each folder visited once, so symlink loops end.

    Links are followed (people link class folders and sub-folders in), but
    never into the data root, a split folder or a class folder (``barrier``):
    a link from class A to class B or back up the tree would otherwise file B's
    images under A.  A link into the middle of another class is followed and
    then shows up as cross-class duplicates, which the report names.
    """

    def __init__(self, problems: list[Problem], cancel: Optional[CancelToken],
                 barrier: set[tuple[int, int]]) -> None:
        self.problems = problems
        self.cancel = cancel
        self.barrier = barrier

    def files(self, top: str) -> list[str]:
        out: list[str] = []
        seen: set[tuple[int, int]] = set(self.barrier)
        stack = [top]
        while stack:
            folder = stack.pop()
            if self.cancel is not None:
                self.cancel.raise_if_cancelled()
            try:
                st = os.stat(folder)
                key = (st.st_dev, st.st_ino)
                if key in seen and folder != top:
                    continue  # a link back into a folder already read
                seen.add(key)
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                self.problems.append(Problem(folder, "unreadable",
                                             f"cannot read this folder ({exc.strerror or exc})"))
                continue
            subdirs = []
            for e in entries:
                if _hidden(e.name):
                    continue
                try:
                    if e.is_dir():  # follows links; `seen` stops loops
                        subdirs.append(e.path)
                    elif e.is_file():
                        out.append(e.path)
                    elif e.is_symlink():
                        self.problems.append(Problem(e.path, "unreadable",
                                                     "broken link (its target is missing)"))
                except OSError as exc:
                    self.problems.append(Problem(e.path, "unreadable",
                                                 f"cannot read ({exc.strerror or exc})"))
            stack.extend(reversed(subdirs))  # depth-first, in name order
        return out


# --------------------------------------------------------------------------- duplicates


def _digest(path: str, limit: Optional[int]) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    remaining = limit
    with open(path, "rb") as fh:
        while remaining is None or remaining > 0:
            chunk = fh.read(1 << 20 if remaining is None else min(1 << 20, remaining))
            if not chunk:
                break
            h.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return h.digest()


def _same_content_groups(paths_by_size: dict[int, list[str]], problems: list[Problem],
                         tick) -> list[list[str]]:
    """Groups (>= 2) of byte-identical files; only same-size files are read."""
    groups: list[list[str]] = []
    for size, paths in paths_by_size.items():
        if len(paths) < 2:
            continue
        stages = [_HEAD_BYTES, None] if size > _HEAD_BYTES else [None]
        candidates = [paths]
        for limit in stages:
            next_candidates = []
            for group in candidates:
                by_digest: dict[bytes, list[str]] = defaultdict(list)
                for path in group:
                    tick()
                    try:
                        by_digest[_digest(path, limit)].append(path)
                    except OSError as exc:  # vanished or unreadable between scan and hash
                        problems.append(Problem(path, "unreadable",
                                                f"cannot read ({exc.strerror or exc})"))
                next_candidates.extend(g for g in by_digest.values() if len(g) > 1)
            candidates = next_candidates
        groups.extend(candidates)
    return groups


# --------------------------------------------------------------------------- scanning


def _detect_layout(root: str) -> tuple[str, list[tuple[str, str]]]:
    """("classes", [("", root)]) or ("split", [(subset, folder), ...])."""
    top = _subfolders(root)
    lower = {name.lower(): name for name in top}
    subsets = {SPLIT_FOLDERS[k] for k in lower if k in SPLIT_FOLDERS}
    is_split = (len(lower) == len(top) and all(k in SPLIT_FOLDERS for k in lower)
                and "train" in subsets and "val" in subsets
                and sum(1 for k in lower if SPLIT_FOLDERS[k] == "val") == 1)
    if not is_split:
        return "classes", [("", root)]
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
    root_str = os.path.abspath(os.fspath(root))
    if not os.path.exists(root_str):
        raise DataError(f"data folder not found: {root_str}")
    if not os.path.isdir(root_str):
        raise DataError(f"{root_str} is a file, not a folder; choose the folder that holds "
                        "one sub-folder per class")
    layout, parts = _detect_layout(root_str)
    report = DatasetReport(root=root_str, layout=layout)
    problems = report.problems

    # 1. Which class folders exist (and, for a split folder, do they agree)?
    class_folders: dict[str, list[str]] = {}
    for subset, folder in parts:
        class_folders[subset] = _subfolders(folder)
        loose = _loose_images(folder)
        if loose:
            report.warnings.append(
                f"{loose} image file(s) lie directly in {folder} and belong to no class; "
                "they are ignored (move them into a class folder)")
    if layout == "split":
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
                    f"{os.path.join(root_str, reference_subset)} ({detail}); every split "
                    "folder needs the same class sub-folders")

    # 2. List files (cheap: directory entries only).
    barrier = {_folder_key(root_str)}
    for subset, folder in parts:
        barrier.add(_folder_key(folder))
        barrier.update(_folder_key(os.path.join(folder, name)) for name in class_folders[subset])
    barrier.discard(None)
    walker = _Walk(problems, cancel, barrier)
    emit(listener, Progress(0, 0, "listing files"))
    candidates: list[tuple[str, str, str]] = []  # (path, class name, subset)
    for subset, folder in parts:
        for name in class_folders[subset]:
            for path in walker.files(os.path.join(folder, name)):
                if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
                    candidates.append((path, name, subset))
                else:
                    problems.append(Problem(path, "non_image_file",
                                            "not an image file name; ignored"))
            emit(listener, Progress(0, 0, f"listing files ({len(candidates)} images so far)"))

    # 3. Read headers.
    total = len(candidates)
    probed: list[tuple[str, str, str, int, int, int]] = []  # + width, height, size
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

    # 4. Duplicates: hash only files that share a size with another file.
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
    groups = _same_content_groups(by_size, problems, tick)
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

    # 5. Classes and records.
    all_class_names = sorted({name for names in class_folders.values() for name in names})
    populated = sorted({p[1] for p in probed if p[0] not in excluded})
    report.classes = populated
    label_of = {name: i for i, name in enumerate(populated)}
    for path, name, subset, w, h, _ in probed:
        if path not in excluded:
            report.records.append(ImageRecord(path=path, label=label_of[name], class_name=name,
                                              width=w, height=h, subset=subset))
    report.warnings.extend(_warnings(report, all_class_names, class_folders, layout))
    return report


def _subset_rank(subset: str) -> int:
    return {"train": 0, "": 0, "val": 1, "test": 2}.get(subset, 3)


def _warnings(report: DatasetReport, all_class_names: list[str],
              class_folders: dict[str, list[str]], layout: str) -> list[str]:
    out = []
    counts = report.counts
    for name in all_class_names:
        if name not in counts:
            out.append(f"class folder '{name}' has no usable images; it is left out")
    if len(report.classes) == 1:
        out.append(f"only one class ('{report.classes[0]}') has images; a classifier "
                   "needs at least two")
    for name, n in counts.items():
        if 0 < n < MIN_IMAGES_PER_CLASS:
            out.append(f"class '{name}' has only {n} usable image(s); "
                       f"{MIN_IMAGES_PER_CLASS} or more per class give far better results")
    populated = {k: v for k, v in counts.items() if v > 0}
    if len(populated) >= 2:
        big = max(populated, key=populated.get)
        small = min(populated, key=populated.get)
        if populated[big] > MAX_IMBALANCE * populated[small]:
            out.append(f"classes are imbalanced: '{big}' has {populated[big]} images but "
                       f"'{small}' only {populated[small]} (worse than 1:{MAX_IMBALANCE:g}); "
                       "consider adding images or class weights")
    if layout == "split":
        for subset, per in report.subset_counts.items():
            for name, n in per.items():
                if n == 0 and subset in ("train", "val"):
                    out.append(f"{subset}/{name} has no usable images")
    return out


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
                "classes": list(self.classes), "train": pack(self.train),
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
                    path = rel if (not base or os.path.isabs(rel)) else os.path.join(
                        base, *rel.split("/"))
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
                   classes=[str(c) for c in data.get("classes", [])])


def split_dataset(report: DatasetReport, val_split: float = 0.2, seed: int = 42) -> Split:
    """Stratified, seeded train/validation split of ``report.records``.

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
