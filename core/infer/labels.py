"""Class names stored beside a model: ``labels.json`` (run folders) or ``labels.txt`` (exports).

Every model the app opens gets its class names here, so a run folder, an
export folder and a loose model file next to a labels file agree on them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from core.errors import ModelFileError

LABEL_FILES = ("labels.json", "labels.txt")

def labels_near(path: Path, n_outputs: Optional[int] = None) -> list[str]:
    """Class names from labels.json / labels.txt next to a model (or in its folder)."""
    folder = path if path.is_dir() else path.parent
    for name in LABEL_FILES:
        p = folder / name
        if p.exists():
            try:
                if name.endswith(".json"):
                    labels = json.loads(p.read_text(encoding="utf-8"))
                else:
                    labels = [ln.rstrip("\n") for ln in p.read_text(encoding="utf-8").splitlines()
                              if ln.strip()]
            except (OSError, ValueError) as exc:
                raise ModelFileError(f"{p}: cannot read the class names ({exc})") from None
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise ModelFileError(f"{p}: expected a list of class names")
            twice = sorted({x for x in labels if labels.count(x) > 1})
            if twice:  # two outputs with one name cannot be told apart in any answer
                raise ModelFileError(f"{p}: the class name(s) {', '.join(map(repr, twice))} "
                                     "appear more than once; give each output its own name")
            return labels
    if n_outputs is None:
        raise ModelFileError(f"{folder}: no labels.json or labels.txt with the class names "
                             "next to the model")
    return [f"class_{i}" for i in range(n_outputs)]

