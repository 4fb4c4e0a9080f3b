"""The labelling session of the "Sort new images" step: plain data, no widgets.

:class:`Review` holds the ordered suggestions (:class:`core.label.suggestions.Suggestion`),
what the user decided for each image (a class name, :data:`SKIP` or
:data:`NONE`), which image is current, and the decisions made so far in order,
so "back" undoes exactly the last one.  Images already added to the data set
are frozen: they cannot be decided again until an Undo puts them back.
The page draws it; tests can check it without a window.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

#: The two decisions that are not a class.  No file name holds a NUL, so no class folder
#: can be called these (plain "skip" and "none" made real classes of those names
#: impossible to label).
SKIP = "\x00skip"
NONE = "\x00none"


@dataclass
class Review:
    """Suggestions in review order, decisions and the current position."""

    items: list = field(default_factory=list)  # Suggestion, in the order shown
    classes: list[str] = field(default_factory=list)
    decisions: dict[str, str] = field(default_factory=dict)  # path -> class | SKIP | NONE
    added: dict[str, str] = field(default_factory=dict)  # path -> batch that added it
    current: int = 0
    #: (path, decision before, row, step): the decisions of one key or one "accept all" share
    #: their step, and Backspace takes a whole step back
    history: list[tuple[str, Optional[str], int, int]] = field(default_factory=list)
    made: list[str] = field(default_factory=list)  # classes made on the spot, still folderless
    data_dir: str = ""  # the data folder ``added`` speaks of

    def following(self, items: list, classes: list, again: bool, data_dir: str) -> "Review":
        """The review of new suggestions ``items`` (the same folder ``again``, or another) for
        the data folder ``data_dir``: the decisions and Backspace history of images still shown
        are kept, and their added marks while the data folder is the same (images added to
        another data folder showed as added to this one, and could not be labelled for it)."""
        # the keys keep their classes: after Update the new model's sorted names gave 3 and 4
        classes = list(self.classes) + [c for c in classes if c not in self.classes]
        rows = {s.path: i for i, s in enumerate(items)}
        same = data_dir == self.data_dir
        return Review(list(items), classes,
                      {p: d for p, d in self.decisions.items() if p in rows},
                      {p: b for p, b in self.added.items() if p in rows and same},
                      history=[(p, before, rows[p], step) for p, before, _row, step
                               in self.history if p in rows],  # Backspace still steps back
                      made=list(self.made) if again else [], data_dir=data_dir)

    # -- reading ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    def item(self, row: int):
        return self.items[row] if 0 <= row < len(self.items) else None

    def current_item(self):
        return self.item(self.current)

    def decision(self, path: str) -> str:
        return self.decisions.get(path, "")

    def counts(self) -> dict[str, int]:
        labelled = sum(1 for d in self.decisions.values() if d not in (SKIP, NONE))
        skipped = sum(1 for d in self.decisions.values() if d == SKIP)
        none = sum(1 for d in self.decisions.values() if d == NONE)
        return {"labelled": labelled, "skipped": skipped, "none": none,
                "to go": len(self.items) - len(self.decisions), "added": len(self.added)}

    def describe(self) -> str:
        c = self.counts()
        text = f"{c['labelled']} labelled, {c['skipped']} skipped, {c['to go']} to go"
        if c["none"]:
            text += f", {c['none']} none of these"
        if c["added"]:
            text += f" · {c['added']} added to the data set"
        return text

    # -- deciding -----------------------------------------------------------------------
    def decide(self, label: str, row: Optional[int] = None) -> bool:
        """Record ``label`` for ``row`` (default: the current image) and move to the next
        undecided image; False when that image is already in the data set."""
        row = self.current if row is None else row
        item = self.item(row)
        if item is None or item.path in self.added:
            return False
        self.history.append((item.path, self.decisions.get(item.path), row, self._step()))
        self.decisions[item.path] = label
        self.current = self._next_open(row)
        return True

    def accept(self) -> bool:
        """Take the suggestion of the current image ("none of these" when it is unknown)."""
        item = self.current_item()
        return item is not None and self.decide(NONE if item.unknown else item.suggested)

    def _step(self) -> int:
        return self.history[-1][3] + 1 if self.history else 0

    def back(self) -> Optional[int]:
        """Undo the last step still open (not added): one key's decision, or every image of
        one "accept all above" (one Backspace took back one image of 1,252, a review).  The
        row to look at (the step's first), or None."""
        rows = self.back_rows()
        return min(rows) if rows else None

    def back_rows(self) -> list[int]:
        """:meth:`back`, returning the rows whose decision it took back."""
        while self.history:
            step, undone = self.history[-1][3], []
            while self.history and self.history[-1][3] == step:
                path, previous, row, _step = self.history.pop()
                if path in self.added:
                    continue
                if previous is None:
                    self.decisions.pop(path, None)
                else:
                    self.decisions[path] = previous
                undone.append(row)
            if undone:
                self.current = min(undone)
                return undone
        return []

    def _next_open(self, row: int) -> int:
        """The next undecided row after ``row`` (wrapping), or the row after it when none is."""
        n = len(self.items)
        for step in range(1, n + 1):
            r = (row + step) % n
            if self.items[r].path not in self.decisions:
                return r
        return min(row + 1, n - 1)

    # -- in bulk --------------------------------------------------------------------------
    def above(self, threshold: float) -> list:
        """Undecided images whose suggestion is at least ``threshold`` (0..1) and not unknown,
        judged on the whole percent the grid shows (an image captioned "90 %", 0.8996, was
        left out of "above 90 %")."""
        return [s for s in self.items if s.path not in self.decisions and not s.unknown
                and round(s.probability * 100) >= round(threshold * 100, 6)]

    def preview(self, threshold: float) -> Counter:
        """How many images "accept all above" would label, per class, before anything changes."""
        return Counter(s.suggested for s in self.above(threshold))

    def accept_above(self, threshold: float) -> int:
        return self.accept_rows([(s.path, s.suggested) for s in self.above(threshold)])

    def accept_rows(self, rows) -> int:
        """Decide each (path, class) of ``rows`` -- what a preview counted -- whose image is
        still shown and undecided; how many were decided.  Images of another folder, or
        decided since, are left alone (a preview of 3 had labelled 53 of the next folder)."""
        row = {s.path: i for i, s in enumerate(self.items)}  # items.index(s) per image made
        chosen = [(p, c) for p, c in rows if p in row and p not in self.decisions]
        step = self._step()  # one step: one Backspace takes it all back
        for path, label in chosen:  # 10,000 acceptances a two-minute freeze
            self.history.append((path, None, row[path], step))
            self.decisions[path] = label
        if chosen and self.current_item() is not None and \
                self.current_item().path in self.decisions:
            self.current = self._next_open(self.current)
        return len(chosen)

    # -- the data set ---------------------------------------------------------------------
    def rows_to_apply(self) -> list[tuple[str, str]]:
        """(path, class) of every labelled image not yet in the data set, in review order."""
        return [(s.path, self.decisions[s.path]) for s in self.items
                if self.decisions.get(s.path) not in (None, SKIP, NONE)
                and s.path not in self.added]

    def mark_earlier(self, added: dict) -> None:
        """Images an earlier batch put into the data set (``{path: core.label.apply.Added}``):
        decided as the class folder they are in, and frozen like those added today."""
        for path, a in added.items():
            self.decisions[path] = a.dst.split("/")[-2]
            self.added[path] = a.batch

    def mark_added(self, paths, batch: str) -> None:
        for p in paths:
            self.added[p] = batch

    def mark_placed(self, placed, batch: str) -> None:
        """A batch put each (source, destination relative to the data folder) of ``placed``
        into the data set: added, decided as the class folder it went into (a key pressed
        while the batch ran had the grid say "✓ added · mono_100" of a file in mono_0/)."""
        for src, dst in placed:
            self.decisions[src] = dst.split("/")[-2]
        self.mark_added([src for src, _dst in placed], batch)

    def moved_to(self, data_dir: str) -> list[str]:
        """The data folder is ``data_dir`` now: the added marks of another one are dropped
        (the labels stay); the images no longer marked."""
        if data_dir == self.data_dir:
            return []
        self.data_dir, paths, self.added = data_dir, list(self.added), {}
        return paths

    def unmark_batch(self, batch: str) -> list[str]:
        """The undone batch's images are decided but not in the data set any more."""
        paths = [p for p, b in self.added.items() if b == batch]
        for p in paths:
            del self.added[p]
        return paths


def arrival_notes(skipped: list, earlier: dict, back: int = 0, left_out=()) -> str:
    """What the page says about a folder's suggestions beyond the grid: unreadable files,
    images an earlier batch put into the data set (shown as added, not offered again),
    ``back`` labels given another time and not added (the folder's draft), and the data
    folder inside the folder, whose images were ``left_out`` ([(folder, how many)])."""
    notes = [f"The data set's own folder {data} is inside this one: its {n} image(s) are "
             "labelled already and left out." for data, n in left_out]
    if back:
        notes.append(f"{back} label(s) you gave these images before and did not add to the "
                     "data set are back.")
    if earlier:
        notes.append(f"{len(earlier)} image(s) are in the data set already (an earlier batch "
                      "added them): they are shown as added and not offered again.")
    if skipped:
        notes.append(f"{len(skipped)} file(s) could not be read and are left out "
                     f"(first: {skipped[0][0]}: {skipped[0][1]}).")
    return " ".join(notes)
