"""The window's menus: File (projects, image folder, quit), Go (one entry per step),
View (the log) and Help (the user manual, README.md, and About).  A mixin of :class:`gui.main_window.MainWindow`; every
action is also added to the window so its shortcut works whatever has focus.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMessageBox

#: The user manual: the README beside main.py, opened by Help → User manual (F1).
MANUAL = Path(__file__).resolve().parent.parent / "README.md"


def page_shortcut(index: int) -> str:
    """Ctrl+1 .. Ctrl+9 for the first nine steps, Ctrl+0 for the tenth."""
    return f"Ctrl+{index + 1}" if index < 9 else "Ctrl+0"


class WindowMenus:
    """Menu building of the main window (mixed into it; ``self`` is the window)."""

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.action_new = self._action(file_menu, "&New project", QKeySequence.New,
                                       self.new_project)
        self.action_open = self._action(file_menu, "&Open project…", QKeySequence.Open,
                                        lambda: self.open_project())
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self.action_save = self._action(file_menu, "&Save project", QKeySequence.Save,
                                        self.save_project)
        self.action_save_as = self._action(file_menu, "Save project &as…",
                                           QKeySequence("Ctrl+Shift+S"),
                                           lambda: self.save_project_as())
        file_menu.addSeparator()
        self._action(file_menu, "Choose image &folder…", QKeySequence("Ctrl+Shift+O"),
                     self._choose_image_folder)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.Quit, self.close)

        go_menu = self.menuBar().addMenu("&Go")
        for i, name in enumerate(self.sidebar_names):
            self._action(go_menu, f"&{(i + 1) % 10} {name}", QKeySequence(page_shortcut(i)),
                         lambda i=i: self.show_page(i))

        view_menu = self.menuBar().addMenu("&View")
        toggle = self.log_dock.toggleViewAction()
        toggle.setText("&Log")
        toggle.setShortcut(QKeySequence("Ctrl+L"))
        view_menu.addAction(toggle)

        help_menu = self.menuBar().addMenu("&Help")
        # a newcomer had nothing pointing to the manual (a review)
        self.action_manual = self._action(help_menu, "&User manual", QKeySequence.HelpContents,
                                          self._open_manual)
        self._action(help_menu, "&About Fine-Tune Studio", None, self._about)

    def _choose_image_folder(self) -> None:
        """File → Choose image folder…: refused before the dialog while a job runs (the
        Data page's own button is off then; the menu asked for a folder, then refused it)."""
        if not self._refused_while_busy("choose another image folder"):
            self.show_page(0)
            self.pages[0].choose_folder()

    def _action(self, menu, text, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)
        return action

    def _open_manual(self) -> None:
        """Help → User manual: the README in the system's viewer for its kind of file."""
        if not MANUAL.is_file():
            why = f"{MANUAL} is missing; read the manual (README.md) on the project's page."
        elif not QDesktopServices.openUrl(QUrl.fromLocalFile(str(MANUAL))):
            why = f"No program here opens {MANUAL}; open it in a text editor."
        else:
            return
        QMessageBox.information(self, "User manual", why)

    def _about(self) -> None:
        from core import __version__

        QMessageBox.about(self, "About Fine-Tune Studio",
                          f"<b>Fine-Tune Studio {__version__}</b><p>Fine-tune a pretrained "
                          "image classifier on folders of your images.</p><p>Everything the "
                          "app does is also available headless: <tt>python main.py "
                          "--help</tt>.</p>")
