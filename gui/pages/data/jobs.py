"""The Data page's worker functions (``core`` is imported in the worker, not on the UI thread)."""

from __future__ import annotations

from pathlib import Path


def scan_job(root: str, listener=None, cancel=None):
    """Worker side of a scan (imports the scanner there, not on the UI thread)."""
    from core.data.dataset import scan_dataset

    return scan_dataset(root, listener=listener, cancel=cancel)


def sample_job(root: str, listener=None, cancel=None) -> str:
    """Make the sample dataset once (atomically: a half-made one never appears)."""
    from core.events import Progress, emit
    from core.fsutil import atomic_dir
    from core.data.sample_data import generate_sample_dataset

    path = Path(root)
    if path.is_dir() and any(path.iterdir()):
        return str(path)
    emit(listener, Progress(0, 0, "Drawing the sample images…"))
    with atomic_dir(path) as tmp:
        generate_sample_dataset(tmp, per_class=40, size=128, seed=0)
        if cancel is not None:
            cancel.raise_if_cancelled()
    return str(path)
