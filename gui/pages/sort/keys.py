"""The Sort step's keys: which key labels the current image how.

1-9 pick the class by its number, a class's first letter picks it when no
other class shares that letter; Enter accepts the suggestion; S or Space skip;
N or 0 "none of these"; Backspace or Ctrl+Z step back.  S and N always mean
skip and none, so a class starting with S or N is labelled by its number.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt

from gui.pages.sort.review import NONE, SKIP

RESERVED_LETTERS = ("s", "n")


def letter_keys(classes: list[str]) -> dict[str, str]:
    """{letter: class} for the classes whose first letter is theirs alone (and not S/N)."""
    firsts: dict[str, list[str]] = {}
    for name in classes:
        if name:
            firsts.setdefault(name[0].lower(), []).append(name)
    return {k: v[0] for k, v in firsts.items()
            if len(v) == 1 and k.isalpha() and k not in RESERVED_LETTERS}


def key_hint(classes: list[str], name: str) -> str:
    """What labels ``name``: "1" or "1 / B"."""
    hint = str(classes.index(name) + 1) if classes.index(name) < 9 else ""
    letter = next((k.upper() for k, v in letter_keys(classes).items() if v == name), "")
    return " / ".join(x for x in (hint, letter) if x)


def action_for(key: int, modifiers, text: str, classes: list[str]) -> Optional[tuple[str, str]]:
    """("label", class or SKIP/NONE), ("accept", ""), ("back", "") or None for other keys."""
    ctrl = bool(modifiers & Qt.ControlModifier)
    if ctrl:
        return ("back", "") if key == Qt.Key_Z else None
    if modifiers & Qt.AltModifier:
        return None
    if key in (Qt.Key_Return, Qt.Key_Enter):
        return "accept", ""
    if key == Qt.Key_Backspace:
        return "back", ""
    if key in (Qt.Key_Space, Qt.Key_S):
        return "label", SKIP
    if key in (Qt.Key_N, Qt.Key_0):
        return "label", NONE
    if Qt.Key_1 <= key <= Qt.Key_9:
        i = key - Qt.Key_1
        return ("label", classes[i]) if i < len(classes) else None
    letter = (text or "").lower()
    cls = letter_keys(classes).get(letter) if len(letter) == 1 else None
    return ("label", cls) if cls else None


def leave_keys_to_the_review(widget) -> None:
    """Buttons and tick boxes under ``widget`` take the focus by Tab only, not by a click.

    A clicked "Add to data set" kept the focus and, disabled while it ran, handed it to
    "Move instead of copy": the next Space (skip) ticked it and the next Add moved the
    files out of the new-images folder.  Undo handed it to the window's page list (the
    next 2 changed page), "New class…" took Space for itself.
    """
    from PySide6.QtWidgets import QAbstractButton

    for button in widget.findChildren(QAbstractButton):
        button.setFocusPolicy(Qt.TabFocus)


def focused_control_takes(event) -> bool:
    """Whether the key is the focused control's, not a label for the image shown: any key
    in an input box (Enter in the threshold box), Enter or Backspace on a button reached by
    Tab (Enter presses it: on "Add to data set" it accepted the image and added nothing)."""
    from PySide6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QApplication, QComboBox,
                                   QLineEdit)

    focus = QApplication.focusWidget()
    if isinstance(focus, (QAbstractSpinBox, QComboBox, QLineEdit)):
        return True
    if isinstance(focus, QAbstractButton) and event.key() in (Qt.Key_Return, Qt.Key_Enter,
                                                              Qt.Key_Backspace):
        if event.key() != Qt.Key_Backspace and not focus.isCheckable():
            focus.animateClick()  # not a tick box: Enter never ticks "Move instead of copy"
        return True
    return False
