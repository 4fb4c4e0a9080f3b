"""Putting labelled images into the data set: copied (default) or moved, journalled, undoable.

Each labelled file goes to ``DATA_DIR/<class>/`` (``DATA_DIR/train/<class>/`` in
a folder already split into train/val) under its own name, or ``name (2).jpg``
when that is taken: nothing in the data set is ever overwritten.  Copying never
alters the source folder.  The batch is written to the data folder's journal
(:class:`core.audit.fixes.FixJournal`, the audit's) *before* any file is placed,
so the same Undo reverses it, even after a crash or a restart: a copy is
removed only while its identical original still exists, a moved file goes back
where it came from.  Each file arrives whole or not at all (:mod:`core.fsutil`).
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from core.audit.fixes import FixJournal
from core.data.dataset import SPLIT_FOLDERS, class_folders_root
from core.data.folder_walk import breaks_a_label_line, class_folder_names, folded_name
from core.data.image_names import readable_name
from core.data.imageio import ImageError
from core.data.probe import probe_image
from core.data.regular_file import FileProblem
from core.errors import DataError, DiskFullError, UserError
from core.events import CancelToken, Cancelled, Listener, Progress, emit
from core.features.hashing import hash_file
from core.label.earlier import Added, added_before, by_source, earlier_additions, put_there
from core.label.in_data_set import data_set_copies, in_data_set
from core.label.split_classes import make_folders, sibling_class_folders
from core.data.dead_temps import sweep_dead_temps
from core.fsutil import copy_new, move_new
from core.path_names import free_name, is_within
from core.shown import one_line

#: Labels that mean "leave this image for later" and "it belongs to none of the classes".
SKIP_WORDS = ("", "skip")
NONE_WORDS = ("unknown", "none")


@dataclass
class LabelOutcome:
    """What a batch did: files placed (source, destination), skipped, refused with a reason."""

    batch: str = ""
    moved: bool = False
    placed: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0
    none_of_these: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    new_classes: list[str] = field(default_factory=list)
    #: Files left unplaced because the batch was stopped (what was placed is in ``placed``).
    not_tried: int = 0
    #: (source, where it is) of files an earlier batch placed as their label says: a batch
    #: stopped, then run again to finish (its moved files were refused as "no such file").
    placed_before: list[tuple[str, str]] = field(default_factory=list)
    #: Refused files whose picture is in the data set already: {source: where it is, which
    #: batch put it there} (the Sort step shows them as added, not as labels still to add).
    already: dict[str, Added] = field(default_factory=dict)

    def refusals_in_short(self, most: int = 3) -> str:
        """The refused files for a window's banner, but those in the data set already (shown
        as added): the first ``most`` with their reasons, then how many more (46 refusals
        had filled the whole page); "" when none is left."""
        refused = [(p, why) for p, why in self.refused if p not in self.already]
        shown = "; ".join(f"{os.path.basename(p)}: {why}" for p, why in refused[:most])
        more = len(refused) - most
        return (f"{len(refused)} image(s) not added — {shown}"
                + (f"; and {more} more (View → Log lists them)" if more > 0 else "")
                ) if refused else ""

    def describe(self) -> str:
        verb = "moved" if self.moved else "copied"
        lines = [f"{len(self.placed)} image(s) {verb} into the data set"]
        lines += [f"  {one_line(src)} -> {one_line(dst)}" for src, dst in self.placed]
        if self.placed_before:
            lines.append(f"{len(self.placed_before)} image(s) placed by an earlier batch "
                         "already, as labelled here (left as they are)")
            lines += [f"  {one_line(src)} -> {one_line(dst)}" for src, dst in self.placed_before]
        if self.new_classes:
            lines.append("new class folder(s): " + ", ".join(self.new_classes))
        if self.skipped:
            lines.append(f"{self.skipped} skipped (no label)")
        if self.none_of_these:
            lines.append(f"{self.none_of_these} marked unknown/none of these (left where they are)")
        lines += [f"refused {one_line(p)}: {why}" for p, why in self.refused]
        if self.not_tried:
            lines.append(f"stopped: {self.not_tried} image(s) not placed (label them again)")
        return "\n".join(lines)


def classes_root(data_dir: Path) -> Path:
    """Where the class folders are: ``data_dir``, or its ``train/`` in a split folder
    (the scan's rule, :func:`core.data.dataset.class_folders_root`)."""
    return Path(class_folders_root(data_dir))


#: Characters no class folder may hold: path separators and what Windows refuses in a name.
FORBIDDEN_IN_NAMES = '/\\:*?"<>|'
#: The longest class name: file systems take 255 bytes, and a clash suffix " (2)" needs room.
MAX_NAME_BYTES = 200
#: Names Windows gives to devices, in any case and with any extension ("con.txt" too): a
#: folder cannot have them there, and a data set copied to Windows would lose the class.
WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                             *(f"LPT{i}" for i in range(1, 10))})


def class_name_problem(name: str, existing: Iterable[str] = ()) -> str:
    """Why ``name`` cannot be a new class folder ("" when it can): the one rule for every way
    a class is made (sorting, a reviewed CSV, the camera).

    A name the scan would not see (a dot or "_" first), one no file system takes, a word
    that means "leave the image out" in a labels file, or a second spelling of a class in
    ``existing`` (a case-insensitive file system would merge the two folders).
    """
    if not name:
        return "Give the class a name (the folder its images go into)."
    if (name.startswith((".", "_")) or any(ch in name for ch in FORBIDDEN_IN_NAMES)
            or any(ord(ch) < 32 for ch in name) or breaks_a_label_line(name)
            or name.endswith((".", " "))):
        return (f"{name!r} cannot be a class folder name: use letters, digits, spaces, '-' or "
                "'_' (not first).")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        return (f"{name[:40]!r}... is too long for a folder name (at most {MAX_NAME_BYTES} "
                "bytes); choose a shorter name.")
    if name.split(".")[0].strip().upper() in WINDOWS_DEVICES:
        return (f"{name!r} is a device name on Windows, which cannot make a folder of it; "
                "choose another name.")
    if name.lower() in SPLIT_FOLDERS:
        return (f"{name!r} names a subset of a split data set (train/, val/, test/): the "
                "data folder would then be read as one; choose another name.")
    if name.lower() in SKIP_WORDS + NONE_WORDS:
        return f"{name!r} means an image left out in a labels file; choose another name."
    same = [c for c in existing if folded_name(c) == folded_name(name)]
    if same:
        return f"There is already a class {same[0]!r}."
    return ""


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def spelled_as(name: str, names: Iterable[str]) -> Optional[str]:
    """The entry of ``names`` that is ``name`` written the other Unicode way, or None.

    A Mac writes folder names decomposed (NFD: "e" + a combining accent) and people type
    them composed (NFC): "Café" typed was "not a class" beside the folder Café, or made a
    second folder that looks the same.
    """
    names = list(names)
    if name in names:  # both spellings may be folders (ext4 keeps them apart): the same one
        return name
    key = _nfc(name)
    return next((n for n in sorted(names) if _nfc(n) == key), None)


def _left_out(label: str, words: bool, existing: set[str]) -> str:
    """"skip", "none" or "" (a class) for a label; with ``words`` off only "" is skipped.

    A class folder of the data set is its class whatever it is called: images labelled
    "none" were counted as none of these beside a class folder ``none/``.
    """
    if not label or (words and label.lower() in SKIP_WORDS and label not in existing):
        return "skip"
    return "none" if words and label.lower() in NONE_WORDS and label not in existing else ""


def as_class(label: str, existing: set[str]) -> str:
    """``label`` as the class folder it means: the folder spelled so (or the other Unicode
    way), else the one folder it matches in any case ("Mono_0" typed for mono_0, refused as
    "There is already a class 'mono_0'"); else the label itself."""
    same = spelled_as(label, existing)
    if same is None:
        folded = [c for c in existing if folded_name(c) == folded_name(label)]
        same = folded[0] if len(folded) == 1 else None
    return same or _nfc(label)


def _check_labels(rows, existing: set[str], new_classes: bool, source: str,
                  words: bool = True, first_line: int = 0) -> list[str]:
    """The new classes the rows need; UserError when they are not allowed or not valid names."""
    wanted = sorted({lab for _, lab in rows if not _left_out(lab, words, existing)})
    new = [lab for lab in wanted if lab not in existing]
    for i, lab in enumerate(new):  # "Dog" and "dog" both new: one folder on macOS/Windows
        problem = class_name_problem(lab, existing | set(new[:i]))
        same = sorted(c for c in existing if folded_name(c) == folded_name(lab))
        if same:  # several folders of that name in other cases: which one is meant?
            n = next(k for k, (_p, label) in enumerate(rows) if label == lab)
            where = f", line {first_line + n}" if first_line else ""
            raise UserError(f"{source}{where}: the label {lab!r} differs from the classes "
                            f"{' and '.join(repr(c) for c in same)} only in case; write it "
                            "as the one you mean")
        if problem:
            raise UserError(f"{source}: {problem}")
    if new and not new_classes:
        raise UserError(f"{source}: label(s) {', '.join(repr(x) for x in new)} are not classes "
                        f"of the data set ({', '.join(sorted(existing)) or 'none yet'}); fix "
                        "the spelling, or allow new class folders (--new-classes)")
    return new


def apply_labels(rows: Iterable[tuple[str, str]], data_dir, *, move: bool = False,
                 new_classes: bool = False, source: str = "the labels",
                 listener: Optional[Listener] = None, cancel: Optional[CancelToken] = None,
                 note: str = "", words: bool = True, first_line: int = 0) -> LabelOutcome:
    """Copy (or ``move``) each labelled image into its class folder of ``data_dir``.

    ``rows``: (image path, label); labels in :data:`SKIP_WORDS` are skipped, those
    in :data:`NONE_WORDS` counted and left alone (``words`` off: every label but ""
    is a class -- the window has decided already, and a class may be called "none").
    A label that is not a class folder raises UserError (naming ``source``) unless
    ``new_classes``.  ``first_line``: the line of ``source`` the first row is on (a CSV's:
    2), so a message can name a row's line (0: rows are no lines).
    """
    cancel = cancel or CancelToken()
    root = Path(os.path.abspath(os.fspath(data_dir)))
    if not root.is_dir():
        what = "a file, not a folder" if root.exists() else "no such data folder"
        raise DataError(f"{root}: {what}; give the folder holding the class folders")
    rows = [(os.path.abspath(p), lab.strip()) for p, lab in rows]
    base = classes_root(root)
    existing = set(class_folder_names(str(base)))
    spelling = {lab: as_class(lab, existing) for lab in {lab for _, lab in rows}}
    rows = [(p, spelling[lab]) for p, lab in rows]  # each class as its folder spells it
    new = _check_labels(rows, existing, new_classes, source, words, first_line)
    outcome = LabelOutcome(batch=uuid.uuid4().hex[:12], moved=move, new_classes=new)
    journal = FixJournal(root)
    planned, twins = _plan(rows, root, base, journal, outcome, move=move, words=words,
                           existing=existing, cancel=cancel)
    if not planned:
        return outcome
    op = "move_in" if move else "copy"
    new_folders = {dst.parent for _, dst, _ in planned if not dst.parent.exists()}
    siblings = sibling_class_folders(root, base, new_folders)  # val/<class> of a split set
    created = {f.relative_to(root).as_posix() for f in [*new_folders, *siblings]}
    with journal.changing("label them"):  # no Undo while the batch is placed
        moves = [{"op": op, "source": src, "dst": dst.relative_to(root).as_posix(),
                  "size": st.size, "digest": st.digest} for src, dst, st in planned]
        journal.record(outcome.batch, moves, note or f"labels from {source}", created=created)
        for folder in {dst.parent for _src, dst, _st in planned}:  # a killed batch's halves
            sweep_dead_temps(folder)
        try:
            make_folders(siblings)
            _place(planned, move, outcome, root, listener, cancel)
        finally:  # what did not arrive is no surprise to Undo (not "moved since")
            placed = {dst for _src, dst in outcome.placed}
            with contextlib.suppress(UserError):  # a full disk: Undo takes it as cut short
                journal.settle(outcome.batch, [m["dst"] for m in moves
                                               if m["dst"] not in placed])
    where = dict(outcome.placed)
    outcome.already.update({twin: Added(outcome.batch, first, where[first])
                            for twin, first in twins if first in where})
    return outcome


def _plan(rows, root: Path, base: Path, journal: FixJournal, outcome: LabelOutcome, *,
          move: bool, words: bool, existing: set[str], cancel: CancelToken):
    """([(source, destination, stamp)] to place, [(twin, its first row's source)]), each row
    left out, refused or found placed already recorded in ``outcome``.  Stopped (``cancel``):
    nothing to place, the rows with a class counted in ``outcome.not_tried``."""
    earlier = earlier_additions(journal)
    gone = by_source(earlier)  # sources moved in by a batch stopped part-way, run again
    classes_at = "" if base == root else base.relative_to(root).as_posix() + "/"
    wanted = [p for p, lab in rows if not _left_out(lab, words, existing)]
    try:  # exact copies of its images, however they came in
        present = data_set_copies(wanted, root, cancel)
    except Cancelled:
        outcome.not_tried = len(wanted)
        return [], []
    planned, taken, seen, digests, twins = [], set(), set(), {}, []
    for n, (path, label) in enumerate(rows):
        if cancel.cancelled:  # a Ctrl+C while a large CSV is checked took effect only once
            outcome.not_tried = len(planned) + sum(  # placing began (a review)
                not _left_out(lab, words, existing) for _p, lab in rows[n:])
            return [], []
        left_out = _left_out(label, words, existing)
        if left_out:
            outcome.skipped += left_out == "skip"
            outcome.none_of_these += left_out == "none"
            continue
        why, stamp, fmt = _refusal(path, root, seen, move)
        before = earlier.get(stamp.digest) if stamp is not None else \
            None if os.path.lexists(path) else gone.get(os.path.normcase(path))
        if before is not None:
            outcome.already[path] = before
            if put_there(before, classes_at + label):
                outcome.placed_before.append((path, before.dst))  # done: no refusal
                seen.add(path)
                continue
            why = added_before(before)
        elif stamp is not None and stamp.digest in present:
            why = in_data_set(present[stamp.digest])
        elif stamp is not None and stamp.digest in digests:
            why = f"the same image as {one_line(digests[stamp.digest])}, labelled by its row"
            twins.append((path, digests[stamp.digest]))  # in once its first row is placed
        if why:
            outcome.refused.append((path, why))
            continue
        seen.add(path)
        digests[stamp.digest] = path
        # a name the scan reads: ".IMG_1.jpg" (hidden) and "scan_0002" (no image ending)
        # were reported "copied into the data set" and never trained on
        dst = free_name(base / label / readable_name(os.path.basename(path), fmt), taken)
        taken.add(dst)
        planned.append((path, dst, stamp))
    return planned, twins


def _place(planned, move: bool, outcome: LabelOutcome, root: Path, listener, cancel) -> None:
    """Copy or move each planned file into its class folder, recording each in ``outcome``."""
    for n, (src, dst, _) in enumerate(planned):
        if cancel.cancelled:  # what was placed is returned (and journalled for Undo):
            outcome.not_tried = len(planned) - n  # it was lost to the window before
            break
        try:
            (move_new if move else copy_new)(src, dst)
        except FileExistsError:
            outcome.refused.append((src, f"{dst} appeared meanwhile; label it again"))
        except DiskFullError as exc:  # the rest would fail too: said once, not tried
            outcome.refused.append((src, str(exc)))
            outcome.refused.extend((s, "not tried: the disk is full") for s, _, _ in
                                   planned[n + 1:])
            break
        except UserError as exc:  # a name too long, a file in the way: it names the place
            outcome.refused.append((src, str(exc)))  # and the fix (it was nested in brackets)
        except OSError as exc:
            outcome.refused.append((src, f"could not {'move' if move else 'copy'} it "
                                         f"({exc.strerror or exc})"))
        else:
            outcome.placed.append((src, dst.relative_to(root).as_posix()))
        emit(listener, Progress(n + 1, len(planned), "moving" if move else "copying"))


def _refusal(path: str, root: Path, seen: set[str], move: bool):
    """(why the file cannot be labelled or "", its FileStamp, its image format)."""
    if path in seen:
        return "listed twice; it was labelled by its first row", None, ""
    if is_within(path, str(root)) or is_within(os.path.realpath(path), os.path.realpath(root)):
        return ("already inside the data folder (or a link to a file there); move it between "
                "classes with the audit instead (Check data in the window)", None, "")
    if move and os.path.islink(path):  # moving the link would bring in a name, not an image
        return (f"a link to {os.path.realpath(path)}: --move would move the link, not the "
                "image; label it without --move (the image is copied), or label the file "
                "it points to", None, "")
    if os.path.isdir(path):
        return "a folder, not an image file", None, ""
    if not os.path.isfile(path):
        return "no such file (moved or deleted since the suggestions)", None, ""
    try:  # header only: a text file named .jpg or a damaged image never enters the data set
        fmt = probe_image(path).format
    except ImageError as exc:
        return exc.reason, None, ""  # it says what the file is and what to do
    try:
        return "", hash_file(path), fmt
    except FileProblem as exc:
        return exc.reason, None, ""


def undo_last(data_dir):
    """Reverse the last batch in ``data_dir``'s journal (labels or audit fixes alike)."""
    return FixJournal(data_dir).undo_last()
