"""Choosing validation images so that every near-duplicate group lands on one side.

A near-copy in training and its twin in validation make the validation figure
a lie: the model is "validated" on a picture it has seen.  Given groups of
near-copies (from :mod:`core.features.near_duplicates`), this picks whole
groups for validation, still per class and still seeded: each unit (a group,
or a single image) is visited in an order fixed by the seed and its own file
names -- not by scan order -- and goes to validation while no class in it
would exceed that class's share.  A class that got no validation image then
gets its smallest group, unless that group holds all of the class.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Sequence


def _order_key(seed: int, paths: Sequence[str]) -> bytes:
    return hashlib.blake2b(f"{seed}\0{min(paths)}".encode("utf-8", "surrogateescape"),
                           digest_size=8).digest()


def validation_units(paths: Sequence[str], groups: Sequence[Sequence[str]]) -> list[list[int]]:
    """Record indices per unit: a group (2+ of these records) is one unit, any other record too."""
    where = {p: i for i, p in enumerate(paths)}
    units: list[list[int]] = []
    taken: set[int] = set()
    for group in groups:
        members = sorted({where[p] for p in group if p in where} - taken)
        if len(members) >= 2:
            units.append(members)
            taken.update(members)
    units.extend([i] for i in range(len(paths)) if i not in taken)
    return units


def class_targets(counts: Counter, val_split: float) -> dict[str, int]:
    """Validation images per class: the share rounded, at least 1 and at most n-1 when n >= 2."""
    out = {}
    for name, n in counts.items():
        k = int(round(n * val_split))
        out[name] = min(max(k, 1), n - 1) if (val_split > 0 and n >= 2) else 0
    return out


def pick_validation(classes: Sequence[str], paths: Sequence[str],
                    groups: Sequence[Sequence[str]], val_split: float,
                    seed: int) -> tuple[set[int], int]:
    """(indices of validation records, number of groups of 2+ kept on one side)."""
    units = validation_units(paths, groups)
    kept = sum(1 for u in units if len(u) > 1)
    totals = Counter(classes)
    target = class_targets(totals, val_split)
    in_val: Counter = Counter()
    val: set[int] = set()
    units.sort(key=lambda u: _order_key(seed, [paths[i] for i in u]))
    for unit in units:
        need = Counter(classes[i] for i in unit)
        if all(in_val[c] + n <= target[c] for c, n in need.items()):
            val.update(unit)
            in_val.update(need)
    def leaves_training(unit) -> bool:
        """Whether every class of ``unit`` keeps a training image when it goes to validation
        (a group across classes took another class's last one: a class never trained on)."""
        return all(in_val[c] + n < totals[c]
                   for c, n in Counter(classes[i] for i in unit).items())

    for name in sorted(target):
        if target[name] and not in_val[name]:
            options = [u for u in units if not val.intersection(u)
                       and any(classes[i] == name for i in u) and leaves_training(u)]
            if options:
                unit = min(options, key=len)
                val.update(unit)
                in_val.update(classes[i] for i in unit)
    return val, kept
