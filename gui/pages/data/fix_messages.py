"""The Data page's banner for what a fix or an Undo did, kept over the rescan it starts.

A fix or an Undo that moved files scans the folder again (the counts changed), and the
scan's end showed its routine "N files were skipped" note in the one banner: a refusal
naming a file to put back by hand was on screen for well under a second (a review).  The
last message of the Check data tab is shown again once that rescan has been summarised.
"""

from __future__ import annotations

from typing import Any, Optional


class FixMessages:
    """Routes :attr:`gui.pages.data.audit_view.AuditView.message` to ``page``'s banner."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.last: Optional[tuple[str, str]] = None  # (text, "error" | "info")
        self.armed = False  # the next scan is the one files moved by a fix asked for
        self.after_fix = False  # the scan running is that one

    def show(self, text: str, kind: str) -> None:
        """``kind``: "error", "info", or "clear" (hide ``text`` if it is still shown)."""
        if kind == "clear":
            self.page.clear_message(only=text)
            if self.last is not None and self.last[0] == text:
                self.last = None
            return
        self.last = (text, kind)
        self._put(text, kind)

    def rescanning(self) -> None:
        """Files moved: the scan about to start (now, or when the running job ends) is the
        fix's; the message the fix sends next is the one to keep."""
        self.last, self.armed = None, True

    def started(self) -> None:
        self.after_fix, self.armed = self.armed, False

    def scanned(self, report: Any) -> None:
        """After the scan's own summary: show the fix's message again (unless the folder
        became unusable: that error stays)."""
        if self.after_fix and self.last is not None and getattr(report, "usable", True):
            self._put(*self.last)
        self.after_fix = False

    def _put(self, text: str, kind: str) -> None:
        (self.page.show_error if kind == "error" else self.page.show_info)(text)
