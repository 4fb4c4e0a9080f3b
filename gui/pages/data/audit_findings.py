"""The data check's grids of suspects: likely wrong labels and outliers, decided by key.

A grid of the images found (thumbnails decoded off the UI thread by
:class:`gui.thumbnails.ThumbnailModel`); beside it, for a likely wrong label,
the selected image larger with examples of the class it is filed under and of
the class it looks like, so the user judges by eye.  K keeps an image (nothing
changes on disk; the next check lists it as kept, after the others:
:mod:`core.audit.kept`), M moves it to the suggested class, S sets it aside; the
panel only *asks* (``decided``): :class:`gui.pages.data.audit_view.AuditView`
applies the fixes in a worker and marks the images with what was done.
Several selected images are decided at once.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from PySide6.QtCore import QItemSelectionModel, QSize, QUrl, Qt, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QLabel, QListView,
                               QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

from gui.plain_text import plain_tip
from gui.thumbnails import ThumbnailModel

EXAMPLES = 6
KEPT = "✓ kept"


@dataclass(frozen=True)
class Finding:
    """One image the check found: its class, the class it looks like ("" for an outlier)."""

    path: str
    given: str
    suggested: str = ""
    score: float = 0.0
    caption: str = ""
    why: str = ""  # a reason beyond the score ("a copy of it is in another class")


def grid_view(model: ThumbnailModel, name: str, wrap: bool = True) -> QListView:
    """An icon-mode list of ``model``'s thumbnails (a wrapping grid, or one row), called
    ``name`` for a screen reader."""
    view = QListView()
    view.setAccessibleName(name)
    view.setViewMode(QListView.IconMode)
    view.setResizeMode(QListView.Adjust)
    view.setMovement(QListView.Static)
    view.setUniformItemSizes(True)
    view.setSpacing(4)
    view.setIconSize(QSize(model.side, model.side))
    view.setModel(model)
    view.doubleClicked.connect(lambda i: QDesktopServices.openUrl(
        QUrl.fromLocalFile(model.path(i.row()))))
    if not wrap:
        view.setFlow(QListView.LeftToRight)
        view.setWrapping(False)
        view.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        view.setFixedHeight(model.side + model.caption_px + 30)  # + spacing, a scroll bar
        view.setSelectionMode(QAbstractItemView.NoSelection)
    return view


class ExampleStrip(QWidget):
    """A title and one row of example thumbnails."""

    def __init__(self, name: str, side: int = 64, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.title = QLabel("")
        self.title.setTextFormat(Qt.RichText)  # "Filed as <b>cat</b>:", the name escaped
        self.model = ThumbnailModel(self, side=side, captions=False)  # names in tooltips
        self.view = grid_view(self.model, name, wrap=False)
        lay.addWidget(self.title)
        lay.addWidget(self.view)

    def show_examples(self, title: str, paths: Sequence[str]) -> None:
        """``paths`` in a row under ``title`` (names in the tooltips: the pictures matter)."""
        self.title.setText(title)
        self.title.setVisible(bool(title))
        self.model.set_items(list(paths), [""] * len(paths))
        self.model.prefetch(EXAMPLES)


class FindingsPanel(QWidget):
    """Suspects in a grid with keep / move / set-aside; ``with_classes`` adds the examples."""

    decided = Signal(list)  # [(path, "move" | "set_aside", target class)]
    problem = Signal(str)  # the kept images could not be remembered: why

    def __init__(self, with_classes: bool, kind: str = "",
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.with_classes = with_classes
        self.kind, self.root = kind, ""  # kept images are remembered by kind, per folder
        self.findings: list[Finding] = []
        self._by_path: dict[str, Finding] = {}
        self._examples: Callable[[str, str], list[str]] = lambda _c, _p: []
        self.model = ThumbnailModel(self)
        self.grid = grid_view(self.model, "Images that may be mislabelled" if with_classes
                              else "Images unlike the rest")
        self.grid.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._on_selected())
        self.empty = QLabel("")
        self.empty.setObjectName("hint")
        self.empty.setWordWrap(True)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(self.empty)
        left_lay.addWidget(self.grid, 1)
        left_lay.addLayout(self._build_buttons())
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        if not with_classes:
            lay.addWidget(left)
            return
        detail = QScrollArea()  # small windows scroll the comparison, not the whole page
        detail.setWidgetResizable(True)
        detail.setFocusPolicy(Qt.NoFocus)  # a Tab stop drawn as nothing
        detail.setFrameShape(QFrame.NoFrame)
        detail.setWidget(self._build_detail())
        self.split = split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([550, 450])  # the comparison needs room for a few examples
        lay.addWidget(split)

    #: Narrower than this, the comparison goes below the grid: side by side at the window's
    #: smallest it was cut to "Filed under square, looks lik".
    SIDE_BY_SIDE_FROM = 700

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        split = getattr(self, "split", None)
        if split is not None:
            wide = event.size().width() >= self.SIDE_BY_SIDE_FROM
            want = Qt.Horizontal if wide else Qt.Vertical
            if split.orientation() != want:
                split.setOrientation(want)  # AuditView gives the tabs the height for it

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.keep_button = QPushButton("Keep (K)")
        self.keep_button.setToolTip("The label is right: leave the image where it is; the "
                                    "next check lists it as kept, after the others (K)")
        self.keep_button.setShortcut(QKeySequence("K"))
        self.keep_button.clicked.connect(self.keep_selected)
        self.move_button = QPushButton("Move to suggested class (M)")
        self.move_button.setToolTip("Move the image into the class folder it looks like (M)")
        self.move_button.setShortcut(QKeySequence("M"))
        self.move_button.clicked.connect(lambda: self._decide("move"))
        self.move_button.setVisible(self.with_classes)
        self.aside_button = QPushButton("Set aside (S)")
        self.aside_button.setToolTip("Move the image to _set_aside/ in the data folder: "
                                     "training no longer sees it; nothing is deleted (S)")
        self.aside_button.setShortcut(QKeySequence("S"))
        self.aside_button.clicked.connect(lambda: self._decide("set_aside"))
        for b in (self.keep_button, self.move_button, self.aside_button):
            row.addWidget(b)
        row.addStretch(1)
        return row

    def _build_detail(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(6, 0, 0, 0)
        self.info = QLabel("Select an image to compare it with its class and the class it "
                           "looks like.")
        self.info.setTextFormat(Qt.RichText)  # the class names in it escaped
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # the image beside the two rows of examples: all three visible at once
        self.preview = ExampleStrip("The image", side=112)
        self.preview.view.setFixedSize(112 + 24, 112 + 24)
        self.preview.view.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.given_strip = ExampleStrip("Examples of its class", side=56)
        self.suggested_strip = ExampleStrip("Examples of the suggested class", side=56)
        rows = QVBoxLayout()
        rows.addWidget(self.given_strip)
        rows.addWidget(self.suggested_strip)
        side_by_side = QHBoxLayout()
        side_by_side.addWidget(self.preview, 0, Qt.AlignTop)
        side_by_side.addLayout(rows, 1)
        lay.addWidget(self.info)
        lay.addLayout(side_by_side)
        lay.addStretch(1)
        return box

    # -- content ---------------------------------------------------------------
    def set_findings(self, findings: Sequence[Finding], empty_text: str,
                     examples: Optional[Callable[[str, str], list[str]]] = None,
                     root: str = "") -> None:
        """Show ``findings`` of the folder ``root``, those kept at an earlier check last and
        marked kept; ``examples(class, path)`` gives typical images of a class."""
        from core.audit.kept import was_kept

        self.root = root
        kept = self._kept_before()
        self.findings = sorted(findings, key=lambda f: was_kept([f.path], kept))
        self._by_path = {f.path: f for f in self.findings}
        if examples is not None:
            self._examples = examples
        self.model.set_items([f.path for f in self.findings],
                             [f.caption for f in self.findings])
        for f in self.findings:
            if was_kept([f.path], kept):
                self.model.set_mark(f.path, KEPT)
        self.model.prefetch(48)
        self.empty.setText(empty_text)
        self.empty.setVisible(not self.findings)
        if self.findings:
            self.select_row(0)
        self._on_selected()

    def select_row(self, row: int) -> None:
        """Make ``row`` the one selected image.

        Explicitly "clear and select": ``QAbstractItemView.setCurrentIndex`` in an
        extended-selection grid reads the keyboard modifiers held at that moment, so a
        fix made while Ctrl or Shift is down (or a modifier state left stale by the
        platform) would toggle or extend the selection instead of moving it.
        """
        self.grid.selectionModel().setCurrentIndex(self.model.index(row),
                                                   QItemSelectionModel.ClearAndSelect)

    def selected(self) -> list[Finding]:
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [self.findings[r] for r in rows]

    def mark(self, path: str, text: str) -> None:
        """Show what was done with ``path`` ("" when it was undone)."""
        self.model.set_mark(path, text)
        self._on_selected()

    def pending(self) -> list[Finding]:
        return [f for f in self.findings if not self.model.mark(f.path)]

    def _kept_before(self) -> set[str]:
        from core.audit.kept import kept_sets

        if not (self.root and self.kind):
            return set()
        return kept_sets(self.root)[self.kind]

    # -- deciding ----------------------------------------------------------------
    def keep_selected(self) -> None:
        from core.audit.kept import remember_kept

        chosen = [f for f in self.selected() if not self.model.mark(f.path)]
        for f in chosen:
            self.model.set_mark(f.path, KEPT)
        if chosen and self.root and self.kind:
            try:
                remember_kept(self.root, self.kind, [f.path for f in chosen])
            except OSError as exc:
                self.problem.emit(f"The kept images could not be remembered for the next "
                                  f"check ({exc}); they are kept for this one.")
        self._next(chosen)

    def _decide(self, action: str) -> None:  # a kept image may still be moved or set aside
        chosen = [f for f in self.selected() if self._open(f, action)
                  and (action != "move" or f.suggested)]
        if chosen:
            self.decided.emit([(f.path, action, f.suggested if action == "move" else "")
                               for f in chosen])
            self._next(chosen)

    def _open(self, f: Finding, action: str) -> bool:
        """``f`` may still take ``action``: an image moved to another class may still be
        set aside (the view takes it from its new place)."""
        mark = self.model.mark(f.path)
        return mark in ("", KEPT) or (action == "set_aside" and mark.startswith("→"))

    def _next(self, chosen: Sequence[Finding]) -> None:
        """Select the next image still to decide, after the last one decided."""
        if not chosen:
            return
        last = self.model.row_of(chosen[-1].path)
        order = list(range(last + 1, len(self.findings))) + list(range(0, last))
        for row in order:
            if not self.model.mark(self.findings[row].path):
                self.select_row(row)
                return
        self._on_selected()

    def _move_text(self, findings: Sequence[Finding]) -> None:
        self.move_button.setText(move_text(findings))
        self.move_button.setShortcut(QKeySequence("M"))  # setText resets it to the mnemonic

    def _on_selected(self) -> None:
        chosen = self.selected()
        open_ = [f for f in chosen if self.model.mark(f.path) in ("", KEPT)]
        self.keep_button.setEnabled(any(not self.model.mark(f.path) for f in open_))
        self.aside_button.setEnabled(any(self._open(f, "set_aside") for f in chosen))
        self.move_button.setEnabled(any(f.suggested for f in open_))
        if not self.with_classes:
            return
        self._move_text(open_ if len(chosen) > 1 else chosen)
        if len(chosen) != 1:
            self.info.setText(f"{len(chosen)} images selected." if chosen else
                              "Select an image to compare it with its class and the class "
                              "it looks like.")
            for strip in (self.preview, self.given_strip, self.suggested_strip):
                strip.show_examples("", [])
            return
        f = chosen[0]
        done = self.model.mark(f.path)
        given, suggested = html.escape(f.given), html.escape(f.suggested)
        self.info.setText(f"Filed under <b>{given}</b>, looks like <b>{suggested}</b>: "
                          f"{f.score:.0%} likely wrong"
                          + (f"; {html.escape(f.why)}." if f.why else ".")
                          + (f" <b>{html.escape(done)}</b>" if done else ""))
        self.info.setToolTip(plain_tip(f.path))
        self.preview.show_examples("", [f.path])
        self.given_strip.show_examples(f"Filed as <b>{given}</b>:",
                                       self._examples(f.given, f.path))
        self.suggested_strip.show_examples(f"Looks like <b>{suggested}</b>:",
                                           self._examples(f.suggested, f.path))


def move_text(findings: Sequence[Finding]) -> str:
    """The move button's words for ``findings``: one class, or each to its own (several
    images selected kept the last single one's "Move to sky" and moved each elsewhere)."""
    targets = sorted({f.suggested for f in findings if f.suggested})
    if len(targets) == 1:
        return f"Move to {targets[0].replace('&', '&&')} (M)"  # "R&D" is no Alt+D shortcut
    return "Move each to the class it looks like (M)" if targets else \
        "Move to suggested class (M)"


def typical_images(result) -> dict[str, list[str]]:
    """Per class, its images the check is surest of (lowest chance of a wrong label) first."""
    out: dict[str, list[str]] = {}
    for issue in reversed(result.ranking):
        out.setdefault(issue.given, []).append(issue.path)
    for path, cls in zip(result.paths, result.image_classes):
        if cls not in out or len(out[cls]) < 2 * EXAMPLES:
            if path not in out.setdefault(cls, []):
                out[cls].append(path)
    return {c: paths[:4 * EXAMPLES] for c, paths in out.items()}


def summary_text(r) -> str:
    cross = sum(1 for g in r.near_duplicates if g.cross_class)
    text = (f"{len(r.paths)} images{r.left_out_note}: {len(r.label_issues)} likely wrong "
            f"label(s), "
            f"{len(r.near_duplicates)} near-copy group(s)"
            + (f" ({cross} across classes)" if cross else "")
            + f", {len(r.outliers)} outlier(s).")
    if r.skipped:
        text += f" {len(r.skipped)} unreadable file(s) skipped."
    return text
