"""Finding byte-identical files cheaply: only same-size files are read, heads first.

Duplicates silently inflate validation accuracy when one copy lands in
training and the other in validation, so the scan looks for them in every
folder.  Hashing everything would read the whole dataset; comparing sizes
first, then the first 64 KB, then whole files reads almost nothing for a
typical photo folder.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Callable, Optional

from core.data.dataset_report import Problem

_HEAD_BYTES = 64 * 1024      # compare this much first, then whole files


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


def same_content_groups(paths_by_size: dict[int, list[str]], problems: list[Problem],
                        tick: Callable[[], None]) -> list[list[str]]:
    """Groups (>= 2) of byte-identical files; only same-size files are read.

    ``tick`` is called before each file is hashed (progress and cancelling);
    a file that cannot be read becomes an "unreadable" problem.
    """
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
