"""Files dropped on the Predict page that are models, not images.

A model or weights file the app cannot open (a Keras 2 ``model.h5``, a
``.weights.h5``, a run's ``best.weights.npz``, a ``.pb``, a ``.pt``...) was
read as an image and became a row of the "Could not read" tab telling the user
to "remove it" (a Predict review).  It is refused with what the command line
says of such a MODEL; the images dropped with it are classified.  Files chosen
with "Add images…" are read as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from core.infer.loaders import opens
from core.infer.refusals import is_model_file, not_a_model


def model_refusal(path: str) -> str:
    """Why the model file ``path``, dropped among other things, is not added as an image."""
    if opens(path):  # a model it opens, dropped with things that are not images
        return (f"{path}: a model, not an image; drop it on its own (or with images only) "
                "or use Open model… to answer with it")
    return not_a_model(Path(path))


def split_models(paths: Sequence[str]) -> tuple[list[str], str]:
    """``paths`` without the model and weights files, and what is said of those ("" if
    none): the first named, the others counted."""
    models = [p for p in paths if is_model_file(p)]
    keep = [p for p in paths if p not in models]
    if not models:
        return keep, ""
    more = len(models) - 1
    text = f"Not added: {model_refusal(models[0])}."
    if more:
        text += f" ({more} more model file{'s' if more != 1 else ''} not added either.)"
    return keep, text


def predicted_note(rows: Sequence, refused: str) -> tuple[str, str]:
    """The banner after a prediction ends, and its kind ("info" or "error"): files that
    could not be read, or that every image was in the list already, after ``refused``
    (model files dropped with the images)."""
    if not rows:
        note = "Those images are already in the list."
    else:
        bad = sum(1 for r in rows if r.error)
        note = (f"{bad} file{'s' if bad != 1 else ''} could not be read; see the Could not "
                "read tab.") if bad else ""
    if refused:
        return " ".join(t for t in (refused, note) if t), "error"
    return note, "info"
