"""What a folder scan found: usable images, problem files, warnings, as data and as text.

:func:`core.data.dataset.scan_dataset` fills a :class:`DatasetReport`; the
Data page, the ``inspect`` command and training all read it.  The warnings
rules (too few images, imbalance, empty classes) live here beside the report
they describe, so the page and the command say the same thing.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from core.shown import one_line, padded, text_width

MIN_IMAGES_PER_CLASS = 10   # fewer -> warning
MAX_IMBALANCE = 5.0          # largest / smallest class above this -> warning
ODD_SHAPE = 4.0              # a side or a width:height this many times off the folder's
                             # typical image -> warning (CleanVision's "odd size/aspect")

PROBLEM_KINDS = ("empty", "not_image", "corrupt", "unreadable", "oversized", "duplicate",
                 "cross_class_duplicate", "non_image_file")


#: Scan problems that are readable copies of another file, not unreadable files.
COPY_KINDS = ("duplicate", "cross_class_duplicate")


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
    #: The subset folder it is in, as for an ImageRecord ("" outside a split folder): a
    #: val/ whose every image was damaged has to be told from no val/ at all.
    subset: str = ""


@dataclass
class DatasetReport:
    """Everything a scan found; ``records`` are the images training may use."""

    root: str
    layout: str  # "classes" | "split"
    #: A split folder without val/ (train/ + test/, or train/ alone): validation images
    #: are taken from train/ as from a folder of classes.
    val_from_train: bool = False
    classes: list[str] = field(default_factory=list)
    records: list[ImageRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Byte-identical copies left out of ``records`` (each also a "duplicate" or
    #: "cross_class_duplicate" problem); the audit still shows them with their twins.
    copies: list[ImageRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: When the scan began (time.time()): a file changed after it may not be as scanned.
    scanned_at: float = 0.0
    #: Image files lying in the data folder itself, in no class folder (ignored).
    loose: int = 0
    #: Class folders found, with usable images or not.
    class_folders: int = 0

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

    def unreadable_class_folders(self, subset: str = "train") -> list[str]:
        """Names of the class folders the scan could not open (permissions, a share): of
        the folder itself or its ``train/``, or of ``subset`` (``"val"``) of a split one."""
        tops = {os.path.abspath(self.root), os.path.abspath(os.path.join(self.root, "train"))} \
            if subset == "train" else {os.path.abspath(os.path.join(self.root, subset))}
        return [os.path.basename(p.path) for p in self.problems if p.kind == "unreadable"
                and os.path.dirname(os.path.abspath(p.path)) in tops]

    @property
    def unusable_reason(self) -> str:
        """One line saying why training cannot start; "" when it can."""
        populated = [name for name, n in self.counts.items() if n > 0]
        if len(populated) < 2:
            found = (f"only class '{populated[0]}' has usable images" if populated
                     else "no usable images were found")
            shut = self.unreadable_class_folders()
            unread = [p for p in self.error_problems if p.kind not in COPY_KINDS]
            if not populated and self.loose and not self.class_folders and not shut:
                return (f"{self.root} holds {self.loose} image(s) but no class folders: make "
                        "one sub-folder per class (e.g. good/ and scratched/) and move the "
                        "images into them")
            if not populated and not shut and unread:
                return (f"{self.root} needs at least 2 classes with usable images, but none "
                        "of its images can be read (see the problems listed); replace them")
            if shut:  # the layout is right: "put each class in its own sub-folder" misled
                return (f"{self.root} needs at least 2 classes with usable images, but {found}:"
                        f" class folder(s) {', '.join(repr(n) for n in shut)} cannot be read; "
                        "make them readable (their permissions), then scan again")
            return (f"{self.root} needs at least 2 classes with usable images, but {found}; "
                    "put each class's images in its own sub-folder")
        if self.layout == "split":
            subsets = self.subset_counts
            train = [n for n, c in subsets.get("train", {}).items() if c > 0]
            if len(train) < 2:
                return (f"{os.path.join(self.root, 'train')} needs at least 2 classes with "
                        "usable images")
            if not self.val_from_train and not sum(subsets.get("val", {}).values()):
                copies = sum(r.subset == "val" for r in self.copies)
                shut = self.unreadable_class_folders("val")
                why = (f": class folder(s) {', '.join(repr(n) for n in shut)} cannot be read; "
                       "make them readable, then scan again" if shut else
                       f": its {copies} image(s) are all byte-for-byte copies of other images "
                       "(see inspect); put other images in it" if copies else "")
                return (f"{os.path.join(self.root, 'val')} has no usable images to validate "
                        f"on{why}")
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

    def to_text(self, max_problems_per_kind: int = 50,
                shown: Callable[[str], str] = one_line) -> str:
        """The human-readable report the ``inspect`` command prints.

        Every name (the folder, each class, each file, the warnings and reasons that quote
        them) goes through ``shown`` before it is padded into its line: a line break in a
        class name split its row, and escaping the finished text put the counts out of
        line.  ``inspect`` passes the terminal's escaping (``core.cli.terminal.name``, a
        layer above); the default keeps each name on its line."""
        layout = ("one folder per class" if self.layout == "classes"
                  else "already split into " + "/".join(
                      s for s in ("train", "val", "test") if s in self.subset_counts)
                  + ("; validation images are taken from train/" if self.val_from_train
                     else ""))
        lines = [f"Data folder: {shown(self.root)}  ({layout})",
                 f"{len(self.classes)} classes, {len(self.records)} usable images"]
        counts = self.counts
        subsets = self.subset_counts
        width = max([text_width(shown(c)) for c in self.classes] + [5])
        for name in self.classes:
            line = f"  {padded(shown(name), width)}  {counts.get(name, 0):>7}"
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
                    # One line per file even when its name holds a line break.
                    lines.append(f"    {shown(self.relpath(p.path))}: {shown(p.reason)}")
                if len(items) > max_problems_per_kind:
                    lines.append(f"    ... and {len(items) - max_problems_per_kind} more "
                                 "(use --json for the full list)")
        if "non_image_file" in by_kind:
            items = by_kind["non_image_file"]
            lines.append(f"Ignored non-image files ({len(items)}):")
            for p in items[:max_problems_per_kind]:
                lines.append(f"    {shown(self.relpath(p.path))}")
            if len(items) > max_problems_per_kind:
                lines.append(f"    ... and {len(items) - max_problems_per_kind} more")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {shown(w)}" for w in self.warnings)
        reason = self.unusable_reason
        lines.append("Ready to train." if not reason else f"Not usable: {shown(reason)}")
        return "\n".join(lines)



def report_warnings(report: DatasetReport, all_class_names: list[str]) -> list[str]:
    """The warnings for a finished scan (``all_class_names``: every class folder found)."""
    out = []
    counts = report.counts
    shut = report.unreadable_class_folders()
    for name in all_class_names:
        if name not in counts:
            out.append(f"class folder '{name}' cannot be read; it is left out" if name in shut
                       else f"class folder '{name}' has no usable images; it is left out")
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
                       "training already counts the smaller classes' images more (class "
                       f"weights 'auto'), but more images of '{small}' would help most")
    out += _shape_warnings(report)
    if report.layout == "split":
        for subset, per in report.subset_counts.items():
            shut = report.unreadable_class_folders(subset)  # "no usable images" blamed them
            for name, n in per.items():
                if n == 0 and subset in ("train", "val"):
                    out.append(f"{subset}/{name} cannot be read; make it readable, then scan "
                               "again" if name in shut else f"{subset}/{name} has no usable images")
    return out


def _shape_warnings(report: DatasetReport) -> list[str]:
    """Images whose size alone sets them apart from the rest of the folder, from their
    headers (nothing decoded): an 8×8 icon and a 4000×50 strip among 300 px photos trained
    like any photo, and the audit then called the icon a wrong label (an audit review;
    CleanVision reports both).  Measured against the folder's own typical image, so a
    folder of 28 px digits or of line-scan strips is not one long warning."""
    records = report.records
    if len(records) < 5:
        return []
    import numpy as np

    side = np.array([max(r.width, r.height) for r in records], dtype=np.float64)
    aspect = np.log(np.array([r.width / max(r.height, 1) for r in records]))
    is_small = side * ODD_SHAPE < np.median(side)
    is_odd = (np.abs(aspect - np.median(aspect)) > np.log(ODD_SHAPE)) & ~is_small
    small = [r for r, flag in zip(records, is_small) if flag]
    odd = [r for r, flag in zip(records, is_odd) if flag]
    typical = f"{int(np.median(side))} px"

    def examples(chosen: list[ImageRecord]) -> str:
        shown = [one_line(f"{os.path.relpath(r.path, report.root)} ({r.width}×{r.height})")
                 for r in chosen[:3]]
        return "; ".join(shown) + (", …" if len(chosen) > 3 else "")

    out = []
    if small:
        out.append(f"{len(small)} image(s) are under a quarter of the folder's typical size "
                   f"({typical} on the longer side): {examples(small)}; the model sees each "
                   "blown up to its input size, mostly blur: check that they belong, or "
                   "remove them")
    if odd:
        out.append(f"{len(odd)} image(s) are over {ODD_SHAPE:g} times longer or narrower than "
                   f"the folder's other images: {examples(odd)}; the model sees every image "
                   "squashed to a square, so these lose their shape: crop them to the part "
                   "that matters")
    return out
