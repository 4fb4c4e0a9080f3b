"""Telling a file ``A.save`` wrote from the app's own JSON files, without albumentations.

A project, a settings file and an augmentation file are all JSON, and each reader
says what to do when it is given one of the others; this test is theirs in common.
It imports nothing heavy, so :mod:`core.project` stays quick to import.
"""

from __future__ import annotations

from typing import Any


def is_albumentations_file(data: Any) -> bool:
    """Whether ``data`` (a JSON file's value) is what ``A.save`` writes: an object whose
    "transform" is an object (the Compose)."""
    return isinstance(data, dict) and isinstance(data.get("transform"), dict)
