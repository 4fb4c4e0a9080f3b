"""Reading a labels CSV as people save it: Excel's encodings and column separators."""

from __future__ import annotations

import csv


def not_utf8(text: str) -> bool:
    """Whether ``text`` holds bytes that are not UTF-8 (read back as lone surrogates)."""
    return any("\udc80" <= c <= "\udcff" for c in text)


def column_separator(header: str) -> str:
    """The column separator of a labels CSV by its header line: ",", or the ";" Excel writes
    in a locale whose decimal mark is the comma (German, French...), or a tab."""
    for sep in (",", ";", "\t"):
        names = {h.strip().lower() for row in csv.reader([header], delimiter=sep) for h in row}
        if {"path", "label"} <= names:
            return sep
    return ","
