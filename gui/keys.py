"""Keys as the user's own system writes them, for tooltips and hints.

Qt maps the Ctrl of a shortcut to the Command key on a Mac, but not the words in a tooltip: a
Mac user read "Ctrl+Enter" and pressed Control, which does nothing.  Every key named in the
window's text goes through :func:`key_text`, so it reads "⌘" there and "Ctrl+Enter" (as
Qt spells it) elsewhere; a test holds the window's strings to that.
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QKeySequence


def key_text(keys: str) -> str:
    """``"Ctrl+Shift+O"`` in the platform's own spelling (Qt's native text)."""
    return QKeySequence(keys).toString(QKeySequence.NativeText)


def modifier_click() -> str:
    """The click that adds to a selection: Ctrl+click, or ⌘-click on a Mac."""
    return "⌘-click" if sys.platform == "darwin" else "Ctrl+click"
