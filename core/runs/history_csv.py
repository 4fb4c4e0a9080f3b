"""history.csv: one row per finished epoch, read and written in one place.

A row that does not parse (cut short by a crash, edited by hand) is a
:class:`DamagedHistoryError` (a :class:`~core.errors.UserError`) naming the file and
line: a bare TypeError from one run's file emptied the whole Runs list.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from core.errors import UserError

HISTORY_FIELDS = ["phase", "epoch", "global_epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                  "learning_rate", "seconds"]


def read_history(path: Path) -> list[dict]:
    """The rows of ``path`` as dicts (numbers as floats), in order; [] when there is none."""
    if not path.exists():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            try:
                rows.append(_history_row(row))
            except (TypeError, ValueError) as exc:
                raise DamagedHistoryError(f"{path}, line {reader.line_num}: not a history row "
                                          f"as the app writes it ({exc})") from None
    return rows


class DamagedHistoryError(UserError):
    """A history.csv row that does not parse.  ``damage`` says which file and line and why;
    the message adds what the user can do, for a caller that mends the file itself to leave
    out (a resume writes it again from its checkpoint)."""

    def __init__(self, damage: str) -> None:
        super().__init__(f"{damage}; put the file back from a copy of the run, or delete that "
                         "line")
        self.damage = damage

    def __reduce__(self):  # pickled (a worker process's error) as it was made
        return type(self), (self.damage,)


def history_text(rows: list[dict]) -> str:
    """The CSV text of ``rows`` (fields other than :data:`HISTORY_FIELDS` left out)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def _history_row(row: dict) -> dict[str, Any]:
    """One row: epochs as ints, the phase as text, every other field a float."""
    if None in row:  # more fields than the header names
        raise ValueError("more values than columns")
    parsed: dict[str, Any] = {}
    for k, v in row.items():
        if k == "phase":
            parsed[k] = v
        elif k in ("epoch", "global_epoch"):
            parsed[k] = int(v)
        else:
            parsed[k] = float(v) if v not in ("", None) else None
    return parsed
