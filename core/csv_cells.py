"""CSV cells a spreadsheet will not run: OWASP's advice against CSV injection, reversibly.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula: a file named ``=HYPERLINK(...).png`` or
a class named ``-3dB`` became one.  :func:`safe_cell` puts a ``'`` before such a cell (the
spreadsheet shows the text as it is and drops the ``'``); :func:`read_cell` takes it off
again, so the app reads back what it wrote.  A cell that already starts with ``'`` before
such a character gets one more, so a name that truly starts that way also reads back whole.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The first characters a spreadsheet takes as the start of a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _looks_escaped(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_STARTS)


def safe_cell(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if _looks_escaped(text) else text


def read_cell(text: str) -> str:
    """A cell :func:`safe_cell` wrote, as it was (one a spreadsheet saved without its
    ``'`` stays as it is)."""
    return text[1:] if text.startswith("'") and _looks_escaped(text) else text


def read_path_cell(given: str, folder: Path) -> str:
    """A path cell as :func:`read_cell` reads it, unless only the name with its ``'`` is a
    file (from ``folder``, the CSV's, or the working folder)."""
    plain = read_cell(given)
    if plain != given and not os.path.lexists(folder / plain) and not os.path.lexists(plain) \
            and (os.path.lexists(folder / given) or os.path.lexists(given)):
        return given
    return plain
