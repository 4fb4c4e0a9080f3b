"""Images that are in the data set already, byte for byte, whatever put them there.

The journal (:mod:`core.label.earlier`) knows the images a batch added; an exact copy of a
training image that came another way (the folder as it was first collected, a copy made by
hand) was let in again: under its own class the label did nothing ("only the first copy is
used"), under another class it turned the training image into a left-out cross-class
duplicate.  Only the data set's files of the same size as a labelled image are hashed, through
the feature store's hash cache, so labelling a few images into a large data set stays quick.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional

from core.errors import UserError
from core.events import CancelToken


def data_set_copies(paths: Iterable[str], root: Path,
                    cancel: Optional[CancelToken] = None) -> dict[str, str]:
    """{digest: the data set file holding it, relative to ``root``} for the images a scan of
    ``root`` reads whose bytes may equal one of ``paths`` (same size, then same hash).
    Raises :class:`core.events.Cancelled` once ``cancel`` is set (the hashes had so far kept)."""
    from core.data.dataset import image_files
    from core.features.hashing import stamp_files
    from core.features.store import FeatureStore

    sizes = set()
    for path in paths:
        try:
            sizes.add(os.stat(path).st_size)
        except OSError:
            continue  # refused later with its own reason
    if not sizes:
        return {}
    try:
        files = image_files(root)
    except (UserError, OSError):  # a folder the scan refuses: the labels say so themselves
        return {}
    same_size = []
    for f in files:
        try:
            if os.stat(f).st_size in sizes:
                same_size.append(f)
        except OSError:
            continue
    if not same_size:
        return {}
    hashes = FeatureStore().hashes
    try:
        stamps = stamp_files(same_size, hashes,
                             lambda n: cancel.raise_if_cancelled() if cancel else None)
    finally:
        hashes.save()
    return {stamp.digest: Path(f).relative_to(root).as_posix()
            for f, (stamp, _why) in zip(same_size, stamps) if stamp is not None}


def in_data_set(rel: str) -> str:
    """Why an image whose bytes are the data set's file ``rel`` is refused."""
    return (f"already in the data set as {rel} (the same image); to give it another class, "
            "move that file with the audit (Check data in the window)")
