"""Where keyboard focus goes when a run starts or ends on the Train page.

Starting a run turns off Start and the settings, stopping it turns off Stop: Qt then cleared
the focus (Ctrl+Enter typed in a setting: no widget had focus, a screen reader said nothing)
or moved it on to the training log, so a keyboard user had to find Stop, then Start again.
The focus goes to what the user can press next: Stop while a run trains, then Start (or
Resume), unless the user has since put it somewhere else.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


class RunFocus:
    """Call :meth:`before` ahead of turning the page's run controls on or off, :meth:`after`
    once done; ``page`` has start/stop/resume/find_lr buttons and ``settings_host``."""

    def __init__(self, page) -> None:
        self.page = page
        self._pending = False  # the focus was on a control turned off, not yet placed
        self._landed = None    # where Qt put it meanwhile

    def _held(self) -> bool:
        p, focus = self.page, QApplication.focusWidget()
        return focus is not None and (
            focus in (p.start_button, p.stop_button, p.resume_button, p.find_lr_button)
            or p.settings_host.isAncestorOf(focus))

    def before(self) -> None:
        self._pending = self._pending or self._held()

    def after(self) -> None:
        if not self._pending:
            return
        p, focus = self.page, QApplication.focusWidget()
        target = next((b for b in (p.stop_button, p.start_button, p.resume_button)
                       if b.isEnabled() and b.isVisible()), None)
        if target is None:  # stopping: nothing to press until the run ends
            self._landed = focus
            return
        if focus is None or focus is self._landed or self._held():
            target.setFocus(Qt.OtherFocusReason)
        self._pending, self._landed = False, None
