"""What an audit found, as typed data: for the window, the command line and the fixes.

Paths are absolute inside the result; :meth:`AuditResult.to_dict` (the CLI's
JSON) gives them relative to the data folder with "/" separators.  ``stamps``
records what every file was when audited, so a fix can refuse a file that
changed since (:mod:`core.audit.fixes`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional

import numpy as np

from core.audit.kept import was_kept
from core.features.hashing import FileStamp
from core.shown import one_line


@dataclass(frozen=True)
class LabelIssue:
    """An image whose given class is likely wrong, and the class the models suggest."""

    path: str
    given: str
    suggested: str
    score: float            # probability the given class is wrong (0..1)
    conflict: bool = False  # a near-copy of it is filed under another class

    @property
    def why(self) -> str:
        """Why it is listed beyond its score ("" for none): a suspect with a copy filed
        under another class is listed whatever its score, in the window as in the CLI."""
        return "a copy of it is in another class" if self.conflict else ""


@dataclass(frozen=True)
class Outlier:
    """An image far from every other one; ``score`` is a robust z-score (4 = far out)."""

    path: str
    score: float


@dataclass(frozen=True)
class DuplicateGroup:
    """Images that are copies of one another; ``classes`` in path order."""

    paths: list[str]
    classes: list[str]
    exact: bool  # every member has the same bytes

    @property
    def cross_class(self) -> bool:
        return len(set(self.classes)) > 1


@dataclass(frozen=True)
class AuditStage:
    """Typed progress: stage ``index`` of ``count`` begins ("features", "duplicates", ...)."""

    stage: str
    index: int
    count: int

    @property
    def message(self) -> str:
        return f"audit step {self.index}/{self.count}: {self.stage}"


@dataclass
class AuditResult:
    """Everything :func:`core.audit.audit.run_audit` found in one data folder."""

    root: str
    classes: list[str]
    label_issues: list[LabelIssue] = field(default_factory=list)  # flagged, likeliest first
    ranking: list[LabelIssue] = field(default_factory=list)       # every scored image
    near_duplicates: list[DuplicateGroup] = field(default_factory=list)
    outliers: list[Outlier] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    stamps: dict[str, FileStamp] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)         # every audited image
    image_classes: list[str] = field(default_factory=list)  # class of each path
    vectors: Optional[np.ndarray] = None                   # (n, d) float16 features
    features_computed: int = 0
    #: Of ``paths``, the byte copies the scan leaves out of training (the same picture filed
    #: twice), which the Data page does not count as images: the summaries say so.
    left_out: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def left_out_note(self) -> str:
        """" (2 of them copies that training leaves out)", or "" without such copies."""
        if self.left_out == 1:
            return " (one of them a copy that training leaves out)"
        return f" ({self.left_out} of them copies that training leaves out)" \
            if self.left_out else ""

    def relpath(self, path: str) -> str:
        try:
            rel = os.path.relpath(path, self.root)
        except ValueError:  # another drive on Windows
            return path
        return rel.replace(os.sep, "/")

    def to_dict(self, kept: Optional[Mapping[str, set[str]]] = None) -> dict[str, Any]:
        """The JSON the ``audit`` command prints (keys documented in README).

        ``kept`` as for :meth:`to_text`: each suspect and outlier says whether it was kept
        in the window, ``near_duplicates_kept`` (one per group) whether the group was kept
        whole; a suspect's ``conflict``, that a copy of it is filed under another class;
        ``left_out``, how many of the images are byte copies training leaves out (the text
        summary said all three, the JSON none: a review)."""
        rel, kept = self.relpath, kept or {}
        return {
            "root": self.root,
            "classes": list(self.classes),
            "images": len(self.paths),
            "left_out": self.left_out,
            "label_issues": [{"path": rel(i.path), "given": i.given, "suggested": i.suggested,
                              "score": round(i.score, 4), "conflict": i.conflict,
                              "kept": was_kept([i.path], kept.get("labels"))}
                             for i in self.label_issues],
            "near_duplicates": [[rel(p) for p in g.paths] for g in self.near_duplicates],
            "near_duplicates_kept": [was_kept(g.paths, kept.get("groups"))
                                     for g in self.near_duplicates],
            "outliers": [{"path": rel(o.path), "score": round(o.score, 2),
                          "kept": was_kept([o.path], kept.get("outliers"))}
                         for o in self.outliers],
            "notes": list(self.notes),
            "skipped": [{"path": rel(p), "reason": r} for p, r in self.skipped],
            "features_computed": self.features_computed,
            "seconds": {k: round(v, 2) for k, v in self.timings.items()},
        }

    def to_text(self, limit: int = 15, shown: Callable[[str], str] = one_line,
                kept: Optional[Mapping[str, set[str]]] = None) -> str:
        """A readable summary: counts, then the first ``limit`` of each finding.

        ``kept``: the images kept in the window, by kind (:func:`core.audit.kept.kept_sets`):
        listed after the others and marked, as the window lists them (the summary listed a
        kept image first again, as if never judged).

        Every file, class and folder name (and each note, which may quote one) goes through
        ``shown``: a line break in a class name split a finding's line, and an escape
        sequence recoloured the terminal.  ``audit`` passes the terminal's escaping
        (``core.cli.terminal.name``, a layer above); the default keeps each on its line."""
        def rel(path: str) -> str:
            return shown(self.relpath(path))

        cross = sum(1 for g in self.near_duplicates if g.cross_class)
        n_classes = len(set(self.image_classes) | set(self.classes))  # left-out copies' too
        lines = [f"Audit of {shown(self.root)}: {len(self.paths)} images{self.left_out_note}, "
                 f"{n_classes} classes "
                 f"(features computed for {self.features_computed}"
                 + (", the rest known already)" if self.features_computed < len(self.paths)
                    else ")")]
        kept = kept or {}
        labels = _kept_last(self.label_issues, lambda i: [i.path], kept.get("labels"))
        lines.append(f"Likely wrong labels: {len(self.label_issues)}{_kept_count(labels)}")
        for i, was in labels[:limit]:
            why = f" ({i.why})" if i.why else ""
            lines.append(f"  {rel(i.path)}: filed as {shown(i.given)}, looks like "
                         f"{shown(i.suggested)} "
                         f"({i.score:.0%}){why}" + (" [kept]" if was else ""))
        _more(lines, len(self.label_issues), limit)
        groups = _kept_last(self.near_duplicates, lambda g: g.paths, kept.get("groups"))
        lines.append(f"Near-copy groups: {len(self.near_duplicates)}"  # the window's words
                     + (f" ({cross} across classes)" if cross else "") + _kept_count(groups))
        for g, was in groups[:limit]:
            lines.append("  " + ", ".join(rel(p) for p in g.paths)
                         + (" [exact copies]" if g.exact else "")
                         + (" [kept all]" if was else ""))
        _more(lines, len(self.near_duplicates), limit)
        outliers = _kept_last(self.outliers, lambda o: [o.path], kept.get("outliers"))
        lines.append(f"Outliers (far from every other image): {len(self.outliers)}"
                     + _kept_count(outliers))
        for o, was in outliers[:limit]:
            lines.append(f"  {rel(o.path)} (score {o.score:.1f})" + (" [kept]" if was else ""))
        _more(lines, len(self.outliers), limit)
        if self.skipped:
            lines.append(f"Skipped (unreadable, named above; --json lists them): "
                         f"{len(self.skipped)}")
        lines.extend(f"Note: {shown(n)}" for n in self.notes)
        return "\n".join(lines)


def _kept_last(items: Iterable, paths_of: Callable[[Any], list[str]],
               kept: Optional[set[str]]) -> list[tuple[Any, bool]]:
    """``items``, each with whether all its images were kept in the window, those last."""
    marked = [(item, was_kept(paths_of(item), kept)) for item in items]
    return sorted(marked, key=lambda m: m[1])


def _kept_count(marked: list[tuple[Any, bool]]) -> str:
    n = sum(1 for _item, was in marked if was)
    return f" ({n} kept before)" if n else ""


def _more(lines: list[str], total: int, limit: int) -> None:
    if total > limit:
        lines.append(f"  ... and {total - limit} more (use --json for all)")
