"""Class names stored beside a model: ``labels.json`` (run folders) or ``labels.txt`` (exports).

Every model the app opens gets its class names here, so a run folder, an
export folder and a loose model file next to a labels file agree on them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from core.errors import ModelFileError
from core.typed_json import json_mistake

LABEL_FILES = ("labels.json", "labels.txt")

def labels_near(path: Path, n_outputs: Optional[int] = None) -> list[str]:
    """Class names from labels.json / labels.txt next to a model (or in its folder)."""
    folder = path if path.is_dir() else path.parent
    for name in LABEL_FILES:
        p = folder / name
        if p.exists():
            try:
                text = p.read_text(encoding="utf-8-sig")  # Notepad's "UTF-8 with BOM" too
                if name.endswith(".json"):
                    labels = json.loads(text)
                else:
                    labels = [ln.rstrip("\n") for ln in text.splitlines() if ln.strip()]
            except UnicodeDecodeError:  # Notepad's "ANSI": the codec's words told nothing
                raise ModelFileError(f"{p}: not saved as UTF-8 text; open it in a text editor "
                                     "and save it as UTF-8, one class name per line" if
                                     name.endswith(".txt") else f"{p}: not saved as UTF-8 "
                                     "text; save it as UTF-8, or put back the run's copy"
                                     ) from None
            except json.JSONDecodeError as exc:
                raise ModelFileError(f"{p}: damaged (not valid JSON {json_mistake(exc)}); it "
                                     "must be a list of "
                                     'class names such as ["cats", "dogs"]: fix it, or put back '
                                     "a copy") from None
            except OSError as exc:
                raise ModelFileError(f"{p}: cannot read the class names "
                                     f"({exc.strerror or exc}); make it readable") from None
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise ModelFileError(f"{p}: expected a list of class names such as "
                                     '["cats", "dogs"]; fix it, or put back a copy')
            twice = sorted({x for x in labels if labels.count(x) > 1})
            if twice:  # two outputs with one name cannot be told apart in any answer
                raise ModelFileError(f"{p}: the class name(s) {', '.join(map(repr, twice))} "
                                     "appear more than once; give each output its own name")
            return labels
    if n_outputs is None:
        raise ModelFileError(f"{folder}: no labels.json or labels.txt with the class names "
                             "next to the model")
    return [f"class_{i}" for i in range(n_outputs)]


def check_label_count(model: Path, labels: list[str], n_outputs: int,
                      folder: Optional[Path] = None) -> None:
    """ModelFileError naming the labels file when it lists another number of classes than
    the model tells apart (the message named the model and no file to fix)."""
    if len(labels) == n_outputs:
        return
    folder = folder or (model if model.is_dir() else model.parent)
    where = next((folder / n for n in LABEL_FILES if (folder / n).exists()), folder)
    raise ModelFileError(f"{where}: lists {len(labels)} classes, but the model {model} tells "
                         f"{n_outputs} apart; put the labels file that was exported with this "
                         "model beside it")
