"""Which images train and which validate: a stratified, seeded split, kept in the run folder.

Split from :mod:`core.data.dataset` (which scans the folder) so each stays small;
``core.data.dataset`` still exports :class:`Split` and :func:`split_dataset`.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Optional, Union

from core.data.dataset_report import DatasetReport, ImageRecord
from core.data.grouped_split import pick_validation
from core.errors import DataError

PathLike = Union[str, os.PathLike]


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
                    raise DataError(f"saved split: {key}[{i}] is damaged ({_what(exc)})") \
                        from None
            return out

        try:
            seed = int(data["seed"])
            val_fraction = float(data["val_fraction"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"saved split: damaged ({_what(exc)})") from None
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
    actual share of validation images; one without val/ (train/ + test/) takes
    its validation images from train/ like this and keeps test/.
    """
    if not 0.0 <= float(val_split) < 1.0:
        raise DataError(f"validation split must be at least 0 and below 1, got {val_split}")
    if report.layout == "split" and report.val_from_train:  # test/ stays the test set
        carved = split_dataset(replace(report, layout="classes", val_from_train=False,
                                       records=[r for r in report.records
                                                if r.subset == "train"]),
                               val_split, seed, groups)
        carved.test = [r for r in report.records if r.subset == "test"]
        return carved
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


def _what(exc: Exception) -> str:
    """What is wrong with a saved split's entry, in words: a KeyError's text is the bare
    key ("('seed')" was all a damaged split.json said)."""
    if isinstance(exc, KeyError):
        return f"{exc.args[0]!r} is missing"
    return f"a value is not what it should be: {exc}"
