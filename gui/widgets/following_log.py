"""A read-only log that keeps showing its newest line until the user scrolls up.

``QPlainTextEdit`` follows new lines only while its scroll bar sits at the very
bottom when a line arrives.  When the view gets shorter -- a banner appears on
the page, the curves appear above the log after Resume -- the bottom moves
down while the scroll position stays, and from then on new lines arrive out of
sight.  This view remembers whether the user was following (at the bottom)
and, while they are, moves to the new bottom whenever the text or the view's
height changes.  Scrolling up (wheel, scroll bar) stops the following;
scrolling back to the bottom starts it again.  Only the user's own scrolling
(the scroll bar's ``actionTriggered``) can stop it: the view shifting itself
when old lines are dropped at the top must not.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget


class FollowingLog(QPlainTextEdit):
    """Read-only, monospace, bounded to ``max_lines``; follows new lines (see the module)."""

    def __init__(self, max_lines: int = 2000, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(max_lines)
        # The system's fixed-width font: "monospace" is no family on macOS or Windows (a
        # slow font lookup at start-up, and a proportional font in the end).
        self.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.following = True
        bar = self.verticalScrollBar()
        bar.actionTriggered.connect(self._on_user_scroll)
        bar.valueChanged.connect(self._on_value)
        bar.rangeChanged.connect(lambda _lo, _hi: self._keep_following())

    def _on_user_scroll(self, _action: int) -> None:
        bar = self.verticalScrollBar()
        self.following = bar.sliderPosition() >= bar.maximum()

    def _on_value(self, value: int) -> None:
        if value >= self.verticalScrollBar().maximum():
            self.following = True  # back at the bottom, however it got there

    def _keep_following(self) -> None:
        if self.following:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._keep_following()

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum()
