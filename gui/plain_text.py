"""Names from the user's disk shown as they are written, never read as HTML.

A Qt label, tooltip or message box left at ``Qt::AutoText`` takes its text for HTML
when the first line looks like it: a file "<b>bold.jpg" was shown in bold as
"bold.jpg" (another file), "<img src=x>A" as a broken picture, the class
"&lt;dog&gt;" as "<dog>" (another class), and a Delete question named a run the
user could not read.  Class, file, folder, run and project names are the user's,
so a text that holds one is shown by a ``Qt.PlainText`` label, escaped into rich
text, or goes through this module:

* :func:`plain_label` and :func:`rich_label` for labels built with their format
  (a rich one escapes each name: left at AutoText, an escaped "R&amp;D" that looks
  like plain text was shown with its "&amp;");
* :func:`plain_tip` for tooltips (a tooltip has no text format of its own);
* :func:`question` and :func:`warning` for message boxes (the static
  ``QMessageBox.question`` cannot be told the text is plain).  Callers use them as
  ``plain_text.question(...)``, so a test replaces them in one place.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


def plain_label(text: str = "") -> QLabel:
    """A label that shows its text as written: for texts naming files, folders, runs."""
    label = QLabel(text)
    label.setTextFormat(Qt.PlainText)
    return label


def rich_label(text: str = "") -> QLabel:
    """A label that is always rich text (its caller escapes the names in it)."""
    label = QLabel(text)
    label.setTextFormat(Qt.RichText)
    return label


def plain_tip(text: str) -> str:
    """``text`` as a tooltip that shows what it says.  A text with no ``<`` or ``&`` is
    returned as it is: Qt cannot read it as HTML, and a table of 20,000 images sets six
    tooltips a row.  Otherwise it is escaped in a ``<qt>`` document whose white space is
    kept ("a  b.jpg" is not "a b.jpg"; line breaks stay line breaks)."""
    text = str(text)
    if "<" not in text and "&" not in text:
        return text
    return f"<qt style='white-space:pre-wrap'>{escape(text, quote=False)}</qt>"


def _ask(icon: QMessageBox.Icon, parent: QWidget | None, title: str, text: str,
         buttons: QMessageBox.StandardButton,
         default: QMessageBox.StandardButton) -> QMessageBox.StandardButton:
    """What ``QMessageBox.question``/``warning`` do, with the text shown as plain text."""
    box = QMessageBox(icon, title, text, buttons, parent)
    box.setTextFormat(Qt.PlainText)
    if default != QMessageBox.NoButton:
        box.setDefaultButton(default)
    if box.exec() == -1:  # as the static functions: closed without an answer
        return QMessageBox.Cancel
    return box.standardButton(box.clickedButton())


def question(parent: QWidget | None, title: str, text: str,
             buttons: QMessageBox.StandardButton = QMessageBox.Yes | QMessageBox.No,
             default: QMessageBox.StandardButton = QMessageBox.NoButton
             ) -> QMessageBox.StandardButton:
    """``QMessageBox.question`` (same arguments, same answer) for a text naming files,
    folders or runs: it is shown as written."""
    return _ask(QMessageBox.Question, parent, title, text, buttons, default)


def warning(parent: QWidget | None, title: str, text: str,
            buttons: QMessageBox.StandardButton = QMessageBox.Ok,
            default: QMessageBox.StandardButton = QMessageBox.NoButton
            ) -> QMessageBox.StandardButton:
    """``QMessageBox.warning`` for a text naming files, folders or runs (shown as written)."""
    return _ask(QMessageBox.Warning, parent, title, text, buttons, default)
