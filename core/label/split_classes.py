"""A new class in a data set split into train/, val/ (and test/) gets its folder in each.

New images go into ``train/<class>/``; a class folder only there made the scan refuse the
whole data set ("the class folders in .../val differ from those in .../train"): the Data
page, Update the model and ``train`` all failed until a ``val/<class>`` was made by hand.  The
empty sibling folders are made with the batch and journalled with it, so Undo removes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from core.data.dataset import SPLIT_FOLDERS
from core.data.folder_walk import subfolders


def sibling_class_folders(root: Path, base: Path, new_folders: Iterable[Path]) -> list[Path]:
    """The folders of the other subsets (``root/val/<class>``...) that the class folders
    ``new_folders`` about to be made under ``base`` (``root/train``) need; [] when the data
    set is not split (``base`` is ``root``) or they exist."""
    if base == root:
        return []
    names = sorted({Path(f).name for f in new_folders})
    out = []
    for sub in subfolders(str(root)):
        if sub.lower() in SPLIT_FOLDERS and root / sub != base:
            out += [root / sub / n for n in names if not (root / sub / n).exists()]
    return out


def make_folders(folders: Iterable[Path]) -> None:
    """Make each of ``folders`` (they were journalled as made by the batch first)."""
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
