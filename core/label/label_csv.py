"""Reading a reviewed labels CSV (``path``, ``label``) into rows for :mod:`core.label.apply`."""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path

from core.csv_cells import read_cell, read_path_cell
from core.errors import UserError
from core.label.csv_text import column_separator, not_utf8


def read_label_csv(path) -> list[tuple[str, str]]:
    """(image path, label) rows of a reviewed CSV with ``path`` and ``label`` columns.

    Relative paths are taken from the CSV's own folder (or, when no such file is there,
    from the working folder, as ``predict --csv`` writes them).  Raises UserError naming
    the file for anything that is not such a CSV.  ``path`` "-": the CSV is read from
    standard input (``grep ... review.csv | label --from -``), relative paths from the
    working folder; it was "-: no such file", though ``suggest --json -`` writes to stdout.
    """
    from_stdin = str(path) == STDIN
    path = Path(path)
    shown = source_name(str(path))
    if not from_stdin and path.is_dir():  # was "not a readable CSV ([Errno 21] ...)"
        raise UserError(f"{path} is a folder; give the reviewed CSV file (as 'suggest --csv' "
                        "writes it)")
    try:
        # Read once: a pipe (``--from <(grep ... review.csv)``) gives its bytes only once,
        # and a first look for a byte-order mark ate "pa" of "path" (a CLI review).
        if from_stdin:
            raw = _standard_input()
        else:
            with open(path, "rb") as fh:
                raw = fh.read()
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise UnicodeError("it is UTF-16")
        # Names that are not UTF-8 come back as their bytes (predict and suggest write them so).
        text = raw.decode("utf-8-sig", errors="surrogateescape")
        reader = csv.DictReader(io.StringIO(text, newline=""),
                                delimiter=column_separator(text.split("\n", 1)[0]))
        rows = list(reader)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except FileNotFoundError:
        raise UserError(f"{shown}: no such file; give the CSV written by 'suggest --csv'") from None
    except (UnicodeError, csv.Error, OSError) as exc:
        raise UserError(f"{shown}: not a readable CSV ({exc}); save it as UTF-8 CSV with the "
                        "columns path,label") from None
    if not rows or "path" not in header or "label" not in header:
        raise UserError(f"{shown}: needs a header row with the columns path,label and one row "
                        "per image (as 'suggest --csv' writes it)")
    out = []
    for n, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()
               if isinstance(v, str) or v is None}
        row["path"] = read_path_cell(row.get("path", ""), path.parent)
        row["label"] = read_cell(row.get("label", ""))
        if not row.get("path"):
            raise UserError(f"{shown}, line {n}: the path is empty; give each image's path")
        if "\n" in row["path"] and not os.path.lexists(path.parent / row["path"]):
            raise UserError(f"{shown}, line {n}: a quote (\") is not closed, so the lines after "
                            "it were read as one file name; close or remove it")
        given = Path(row["path"])
        image = path.parent / given
        if not given.is_absolute() and not image.exists() and given.exists():
            image = given.resolve()  # predict --csv writes paths from where it was run
        label = row.get("label", "")
        for what, text in (("label", label), ("path", row["path"])):
            if not_utf8(text) and (what == "label" or not os.path.lexists(image)):
                raise UserError(f"{shown}, line {n}: the {what} is not UTF-8 text"
                                + (" and no file has that name" if what == "path" else "")
                                + "; the CSV was saved in another encoding (Excel's plain "
                                "'CSV' is one): save it as 'CSV UTF-8' and try again")
        out.append((str(image), label))
    return out


#: ``--from -``: the CSV comes on standard input.
STDIN = "-"


def source_name(path: str) -> str:
    """The CSV as messages and the journal name it: its path, or "standard input"."""
    return "standard input (--from -)" if path == STDIN else path


def _standard_input() -> bytes:
    """The bytes piped in; UserError when standard input is the terminal (the command would
    wait, silent, for a CSV typed by hand) or there is none."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or sys.stdin.isatty():
        raise UserError("--from - reads the CSV from standard input, and none is piped in; "
                        "pipe it (... | python main.py label --from - --into DATA_DIR) or give "
                        "the CSV file")
    return stream.read()
