"""What every page shares: a title, a one-line explanation, a message banner and
an obvious "Next" button, so a first-time user always knows where to go.

A page gets the :class:`gui.state.AppState` (the settings) and the
:class:`gui.jobs.JobRunner` (the one long job) from the window; it keeps no
copy of any setting.

Everything between the title and the footer sits in a scroll area.  The
window's minimum size is smaller than some pages' content (a long message in
the banner makes any page taller), and Qt squeezes a layout below its own
minimum when the window is forced smaller: boxes became unreadable slivers and
buttons read "rt trair".  In a scroll area the content keeps its minimum size
and scrolls instead; pages give their lists and tables sensible minimum heights.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSizePolicy, QVBoxLayout, QWidget)

from gui.jobs import JobRunner
from gui.keys import key_text
from gui.state import AppState


def ctrl_enter(button: QPushButton) -> None:
    """Ctrl+Enter clicks ``button``, with either Enter key: Ctrl+Return alone left the
    keypad's Enter doing nothing, though the tooltips say "Ctrl+Enter"."""
    button.setShortcut(QKeySequence("Ctrl+Return"))
    QShortcut(QKeySequence("Ctrl+Enter"), button, button.animateClick)


def drop_ctrl_enter(button: QPushButton) -> None:
    """Take :func:`ctrl_enter`'s keys off ``button`` again (they belong to another one)."""
    button.setShortcut(QKeySequence())
    for shortcut in button.findChildren(QShortcut):
        shortcut.setEnabled(False)


class Banner(QLabel):
    """An inline message (error or info) instead of a modal dialog: never blocks work."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        # Messages name files, folders, runs and classes; none is markup.  AutoText read
        # "Saved the report: …/<b>B-report.html" as a bold "B-report.html" (no such file).
        self.setTextFormat(Qt.PlainText)
        self.setWordWrap(True)
        self.setMargin(6)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        from core.shown import shown_text

        self.setText(shown_text(text))  # Qt drops the bytes of a name that is not UTF-8:
        self.show()  # "bad\xff.ftsproj" read as "bad.ftsproj", a file that does not exist

    def clear(self) -> None:  # type: ignore[override]
        super().clear()
        self.hide()


class PageContent(QWidget):
    """The scrolled part of a page.  Asked how tall it must be at a width, it answers with its
    layout's *minimum* height there: the scroll area then scrolls only when the content cannot
    shrink any further (its preferred height would make a big window scroll too)."""

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        lay = self.layout()
        if lay is not None and lay.hasHeightForWidth():
            return max(lay.minimumHeightForWidth(width), self.minimumSizeHint().height())
        return super().heightForWidth(width)


class Page(QWidget):
    """Base class: subclasses fill ``self.body`` (a QVBoxLayout)."""

    key = ""
    title = ""
    intro = ""
    next_text = ""  # empty: no Next button (last page)

    next_requested = Signal()

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.state = state
        self.runner = runner
        # A message about the last project (its missing weights file, say) must not stay
        # up over the next one.
        state.project_opening.connect(self.clear_message)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 14, 20, 12)
        outer.setSpacing(8)
        self.title_label = QLabel(self.title)
        self.title_label.setObjectName("pageTitle")
        outer.addWidget(self.title_label)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("pageScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.NoFrame)
        self.scroll.setFocusPolicy(Qt.NoFocus)  # Tab's first stop was this, drawn as nothing
        content = PageContent()
        content.setObjectName("pageContent")
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 4, 0)  # room for the scroll bar's edge
        inner.setSpacing(10)
        self.intro_label = QLabel(self.intro)
        self.intro_label.setObjectName("pageIntro")
        self.intro_label.setWordWrap(True)
        inner.addWidget(self.intro_label)
        self.banner = Banner()
        inner.addWidget(self.banner)
        self.body = QVBoxLayout()
        self.body.setSpacing(10)
        inner.addLayout(self.body, 1)
        self.scroll.setWidget(content)
        self.scroll.viewport().setAutoFillBackground(False)  # the page's own background
        content.setAutoFillBackground(False)
        outer.addWidget(self.scroll, 1)
        footer = QHBoxLayout()
        self.footer = footer
        footer.addStretch(1)
        self.next_button: Optional[QPushButton] = None
        if self.next_text:
            self.next_button = QPushButton(self.next_text + "  →")
            self.next_button.setObjectName("primary")
            ctrl_enter(self.next_button)
            self.next_button.setToolTip(f"Go to the next step ({key_text('Ctrl+Enter')})")
            self.next_button.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
            self.next_button.clicked.connect(self.next_requested)
            footer.addWidget(self.next_button)
        outer.addLayout(footer)

    # -- messages -----------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.banner.show_message(message, "error")

    def show_info(self, message: str) -> None:
        self.banner.show_message(message, "info")

    def clear_message(self, only: Optional[str] = None) -> None:
        """Hide the banner; with ``only``, just when it still shows that message (a job
        that succeeds clears its own earlier error, not one another action raised since)."""
        if only is None or (self.banner.isVisible() and self.banner.text() == only):
            self.banner.clear()

    def put_next_last(self) -> None:
        """Make "Next" the page's last Tab stop.  Qt appends a widget to the focus chain
        when it gets its parent, and the button got its own before the page's controls
        were made, so Tab's first stop on every page was Next.  Given its parent again, it
        goes to the end (again after controls a page builds on first showing)."""
        if self.next_button is None:
            return
        hidden = self.next_button.isHidden()
        self.footer.removeWidget(self.next_button)
        self.next_button.setParent(None)
        self.footer.addWidget(self.next_button)
        self.next_button.setHidden(hidden)

    # -- lifecycle ------------------------------------------------------------
    def unkept_work(self) -> str:
        """Work on this page that neither the project nor a file keeps, in a sentence ("" for
        none): the window asks before closing or changing project loses it."""
        return ""

    def on_shown(self) -> None:
        """Called when the page becomes the visible one (start lazy work here)."""

    def shutdown(self) -> None:
        """Cancel the page's own background work (the window waits for all jobs)."""
