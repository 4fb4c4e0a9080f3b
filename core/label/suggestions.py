"""Suggestions for a folder of unlabelled images: a class for each, in the order to review them.

:func:`suggest` predicts every image under the folder (any nesting; files that
cannot be read are named once, as :class:`core.events.FileSkipped`, and left
out) with :mod:`core.label.scoring`, then orders them with :mod:`core.label.order`:
"useful" (the default: what a label would teach the model most, without runs of
near-copies) or "confident" (most confident first, for accepting in bulk).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from core.csv_cells import safe_cell
from core.errors import DataError, UserError
from core.events import CancelToken, Listener, Log, emit
from core.label.order import ORDERS, confident_order, useful_order
from core.typed_json import json_text

#: Columns of the suggestions CSV; ``label`` starts as the suggestion (empty when "unknown")
#: and is what ``label --from`` applies once a person has reviewed it.
CSV_COLUMNS = ("path", "label", "suggested", "probability", "usefulness", "unknown")




@dataclass
class Suggestion:
    """One image: the likeliest class, its calibrated probability, and how useful a label is."""

    path: str
    suggested: str
    probability: float
    usefulness: float
    unknown: bool = False
    top: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Suggestions:
    """The ordered suggestions, the model's classes, and the files that could not be read."""

    items: list[Suggestion]
    classes: list[str]
    order: str
    how: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: (data folder, how many of its images) left out: the folder held the data set's own
    left_out: list[tuple[str, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"order": self.order, "classes": self.classes, "predicted_from": self.how,
                "suggestions": [asdict(s) for s in self.items],
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
                "left_out": [{"folder": f, "images": n} for f, n in self.left_out]}

    def to_json(self) -> str:
        """JSON text; a file name's bytes that are not UTF-8 (kept by Python as lone
        surrogates) are written as JSON escapes, so the text stays valid and names the file."""
        return json_text(self.to_dict(), strict=True)  # for other programs

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for s in self.items:
            # a name starting = + - @ is not run as a formula (OWASP; read back by label)
            writer.writerow([safe_cell(s.path), "" if s.unknown else safe_cell(s.suggested),
                             safe_cell(s.suggested), f"{s.probability:.4f}", f"{s.usefulness:.4f}",
                             "yes" if s.unknown else ""])
        return out.getvalue()


def suggest(model_path, folder, order: str = "useful", *, store=None,
            listener: Optional[Listener] = None, cancel: Optional[CancelToken] = None,
            batch_size: int = 32, data_dirs: Iterable[str] = ()) -> Suggestions:
    """Predict every image under ``folder`` with ``model_path`` and order them (see module doc).

    The images of ``data_dirs`` (data folders) that lie under ``folder`` are left out, and
    counted in :attr:`Suggestions.left_out`: they are labelled already.  Raises
    :class:`DataError` for a missing folder or one without (new) images, ModelFileError for
    a model the app cannot open, Cancelled when ``cancel`` is set.
    """
    from core.infer.predictor import expand_image_paths
    from core.label.scoring import score_images

    if order not in ORDERS:
        raise UserError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
    folder = os.path.abspath(os.fspath(folder))
    if os.path.isfile(folder):
        raise DataError(f"{folder} is a file; give the folder that holds the unlabelled images")
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: no such folder; give the folder of unlabelled images")
    paths = expand_image_paths([folder])
    if not paths:
        raise DataError(f"{folder}: no image files in it (or in its sub-folders)")
    paths, left_out = leave_out_data_sets(paths, data_dirs)
    if not paths:
        raise DataError(f"{folder}: its only images are those of the data set in "
                        f"{left_out[0][0]}, which are labelled already; choose a folder of "
                        "new images")
    for data, n in left_out:
        emit(listener, Log(f"left out {n} image(s) in {data}: the data set's own, labelled "
                           "already", "warning"))
    scored = score_images(model_path, paths, store, listener, cancel, batch_size)
    if not len(scored.paths):
        first = f" (e.g. {scored.skipped[0][0]}: {scored.skipped[0][1]})" if scored.skipped \
            else ""
        raise DataError(f"{folder}: none of its {len(paths)} image(s) could be read{first}; "
                        "replace the damaged files")
    if order == "useful":
        rows, scores = useful_order(scored.probs, scored.embeddings, labelled=scored.labelled)
    else:
        rows, scores = confident_order(scored.probs)
    items = []
    for row, score in zip(rows, scores):
        p = scored.probs[row]
        top = sorted(((c, float(v)) for c, v in zip(scored.classes, p)), key=lambda t: -t[1])
        items.append(Suggestion(scored.paths[row], top[0][0], top[0][1], round(float(score), 4),
                                bool(scored.unknown[row]), top[:3]))
    emit(listener, Log(f"suggestions for {len(items)} image(s) from {scored.how}"
                       + (f"; {len(scored.skipped)} unreadable" if scored.skipped else "")))
    return Suggestions(items, scored.classes, order, scored.how, scored.skipped, left_out)


def leave_out_data_sets(paths: list[str], data_dirs: Iterable[str]
                        ) -> tuple[list[str], list[tuple[str, int]]]:
    """(``paths`` but those inside one of ``data_dirs``, [(data folder, how many left out)])."""
    from core.path_names import is_within

    left_out = []
    for data in dict.fromkeys(os.path.abspath(d) for d in data_dirs if d):
        real = os.path.realpath(data)
        inside = [p for p in paths if is_within(os.path.abspath(p), data)
                  or is_within(os.path.realpath(p), real)]
        if inside:
            gone = set(inside)
            paths = [p for p in paths if p not in gone]
            left_out.append((data, len(inside)))
    return paths, left_out


def write_suggestions(result: Suggestions, out: str | os.PathLike, as_json: bool) -> Path:
    """Write the suggestions as JSON or CSV, atomically; returns the path written."""
    from core.fsutil import atomic_write_text

    path = Path(out)
    # A CSV names a file whose name is not UTF-8 by its bytes on disk, as predict --csv does.
    atomic_write_text(path, result.to_json() if as_json else result.to_csv(),
                      errors="surrogateescape")
    return path
