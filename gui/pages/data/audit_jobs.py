"""Worker side of the Data page's data check: the audit and its map, fixes, undo.

``core`` is imported here, in the worker, never on the UI thread; decisions
cross over as plain ``(path, action, target_class)`` tuples.  Every function
takes ``listener``/``cancel`` keywords, as :class:`gui.jobs.Job` calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

#: What the check says when the run's own weights are random (they tell nothing).
RANDOM_NOTE = ("The model's weights are random, which says nothing about the pictures: "
               "checked with MobileNetV2's ImageNet features instead.")


@dataclass
class AuditOutcome:
    """An audit (:class:`core.audit.result.AuditResult`), its 2-D map and how it was made."""

    result: Any
    xy: Any          # (n, 2) float32 map position of each of result.paths
    model_note: str


def audit_job(data_dir: str, backbone: str, weights: str, image_size: int,
              listener=None, cancel=None) -> AuditOutcome:
    """Audit ``data_dir`` with the features training uses (the store shares them)."""
    import numpy as np

    from core.audit.audit import run_audit
    from core.audit.maps import embedding_map
    from core.events import Progress, emit
    from core.features.extract import FeatureModel

    model = FeatureModel(backbone, weights, int(image_size))
    note = (f"Checked with {backbone} features ({_short(weights)}, {image_size or 'default'} "
            "px): the ones training uses, kept in the feature store for both.")
    if model.random_weights:
        model, note = FeatureModel(), RANDOM_NOTE
    result = run_audit(data_dir, model, listener=listener, cancel=cancel)
    emit(listener, Progress(0, 0, "drawing the map"))
    vectors = result.vectors if result.vectors is not None else np.zeros((0, 1), np.float32)
    return AuditOutcome(result, embedding_map(vectors), note)


def _short(weights: str) -> str:
    return weights.replace("\\", "/").rsplit("/", 1)[-1]


def fix_job(root: str, decisions: Sequence[tuple[str, str, str]], stamps: dict, note: str,
            listener=None, cancel=None):
    """Apply ``decisions`` (path, "move"|"set_aside", target class) as one journalled batch."""
    from core.audit.fixes import Fix, FixJournal

    if cancel is not None:
        cancel.raise_if_cancelled()
    return FixJournal(root).apply([Fix(p, a, t) for p, a, t in decisions], stamps, note)


def set_aside_job(root: str, path: str, listener=None, cancel=None):
    """Set aside one file the scan skipped (a damaged image: the Problems tab's "Set aside")
    as a journalled, undoable fix; it was deleted or moved by hand, outside the journal (a
    review).  Its stamp is taken now, by content: the scan took no stamp of a skipped file."""
    from core.audit.fixes import Fix, FixJournal, FixOutcome
    from core.data.regular_file import FileProblem
    from core.features.hashing import hash_file

    try:
        stamp = hash_file(path)
    except FileProblem as exc:
        return FixOutcome(refused=[(path, exc.reason)])
    return FixJournal(root).apply([Fix(path, "set_aside")], {path: stamp},
                                  "a skipped file set aside")
