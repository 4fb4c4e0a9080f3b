"""What a batch of fixes, or its Undo, did: the outcome and its words (:mod:`core.audit.fixes`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.shown import one_line

JOURNAL_NAME = ".fts-journal.jsonl"


@dataclass(frozen=True)
class Move:
    """A rename done (or undone), paths relative to the data folder with "/"."""

    src: str
    dst: str
    #: What happened instead of a move ("copy removed"), for the words of :meth:`describe`.
    how: str = ""


@dataclass
class FixOutcome:
    """What a batch did: renames made, and files refused with the reason."""

    batch: str = ""
    what: str = ""  # the batch in a few words (core.audit.batch_words)
    moved: list[Move] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    already: list[Move] = field(default_factory=list)  # undo: already back (or never moved)
    #: Lines of the journal that could not be read (their fixes cannot be undone).
    damaged_lines: int = 0

    def describe(self) -> str:
        moved = [m for m in self.moved if not m.how]
        lines = [f"{len(moved)} file(s) moved"] if moved or not self.moved else []
        lines += [f"  {one_line(m.src)} -> {one_line(m.dst)}" for m in moved]
        lines += [f"  {one_line(m.src)}: {m.how}" for m in self.moved if m.how]
        lines += [f"refused {one_line(p)}: {why}" for p, why in self.refused]
        if self.already:  # a batch a kill cut short: it said nothing of the files it never
            lines.append(untouched_text(self.already))  # reached (a review)
        if self.damaged_lines:
            lines.append(damaged_text(self.damaged_lines))
        return "\n".join(lines)


def damaged_text(n: int) -> str:
    return (f"warning: {n} line(s) of the journal ({JOURNAL_NAME}) could not be read; "
            "the fixes they recorded cannot be undone from here")


def untouched_text(already: list[Move], most: int = 3) -> str:
    """The files an Undo found where they were before the batch, named (the first ``most``)."""
    names = [one_line(m.dst or m.src) for m in already]
    shown = ", ".join(names[:most]) + (f" and {len(names) - most} more"
                                       if len(names) > most else "")
    return (f"{len(names)} file(s) of the batch left as they are, where they were before it: "
            f"the batch never reached them (it was cut short), or they were put back since "
            f"({shown})")
