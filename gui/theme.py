"""A calm dark theme (Fusion + palette) that stays readable on every platform.

Fusion draws the same on Linux, Windows and macOS, so screenshots and docs
match what users see; the palette is chosen for contrast (text on base >= 7:1).
``FTS_THEME=light`` gives Fusion's own light palette (not the system's: on a dark desktop
that left the light sidebar with white names).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#4c9be8"
OK = "#6cc070"
WARN = "#e0b040"
ERROR = "#e06060"
MUTED = "#9aa3ad"

ICONS = Path(__file__).resolve().parent.parent / "assets" / "icons"

# Fusion's check boxes nearly vanish on a dark base; draw them plainly instead.
_INDICATORS = "QCheckBox, QGroupBox, QTreeView, QListView, QTableView"


def _indicator_css() -> str:
    sel = lambda state: ", ".join(f"{w.strip()}::indicator{state}" for w in _INDICATORS.split(","))
    check = (ICONS / "check.svg").as_posix()
    partial = (ICONS / "partial.svg").as_posix()
    return f"""
{sel("")} {{
    width: 13px; height: 13px; border: 1px solid #8a949e; border-radius: 3px;
    background: #1e2125;
}}
{sel(":checked")} {{ background: {ACCENT}; border-color: {ACCENT}; image: url({check}); }}
{sel(":indeterminate")} {{ background: #35597e; border-color: {ACCENT}; image: url({partial}); }}
{sel(":disabled")} {{ border-color: #555c63; background: #2a2e33; }}
{sel(":checked:disabled")} {{ background: #4a5560; }}
"""

STYLESHEET = f"""
QListWidget#sidebar {{
    background: #1f2327; border: none; padding-top: 8px; font-size: 11pt; outline: 0;
}}
QListWidget#sidebar::item {{ padding: 10px 14px; border-left: 3px solid transparent; }}
QListWidget#sidebar::item:selected {{
    background: #2f3740; color: white; border-left: 3px solid {ACCENT};
}}
QLabel#pageTitle {{ font-size: 17pt; font-weight: 600; }}
QLabel#pageIntro {{ color: {MUTED}; }}
QLabel#hint {{ color: {MUTED}; }}
QLabel#banner[kind="error"] {{
    background: #5a2a2a; color: #ffe0e0; border-radius: 4px; padding: 6px 10px;
}}
QLabel#banner[kind="info"] {{
    background: #24405c; color: #e0f0ff; border-radius: 4px; padding: 6px 10px;
}}
QPushButton#primary {{
    background: {ACCENT}; color: white; font-weight: 600; padding: 6px 16px;
    border-radius: 4px; border: 1px solid #3a7cc0;
}}
QPushButton#primary:disabled {{ background: #3a4550; color: #8a949e; }}
/* focus: a white ring (Fusion drew a faint dotted line, blue on blue); the padding gives
   the border its extra pixel, so the button keeps its size */
QPushButton#primary:focus {{ border: 2px solid white; padding: 5px 15px; }}
QGroupBox {{ font-weight: 600; }}
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    if os.environ.get("FTS_THEME", "dark").lower() == "light":
        app.setPalette(app.style().standardPalette())
        app.setStyleSheet(STYLESHEET.replace("#1f2327", "#eceff2").replace("#2f3740", "#d5dde6")
                          .replace("color: white; border-left", "color: black; border-left"))
        return
    pal = QPalette()
    window, base, text = QColor("#2a2e33"), QColor("#1e2125"), QColor("#e6e8ea")
    pal.setColor(QPalette.Window, window)
    pal.setColor(QPalette.WindowText, text)
    pal.setColor(QPalette.Base, base)
    pal.setColor(QPalette.AlternateBase, QColor("#262a2f"))
    pal.setColor(QPalette.ToolTipBase, QColor("#3a4048"))
    pal.setColor(QPalette.ToolTipText, text)
    pal.setColor(QPalette.PlaceholderText, QColor(MUTED))
    pal.setColor(QPalette.Text, text)
    pal.setColor(QPalette.Button, QColor("#353a40"))
    pal.setColor(QPalette.ButtonText, text)
    pal.setColor(QPalette.BrightText, QColor("#ff6b6b"))
    pal.setColor(QPalette.Link, QColor(ACCENT))
    pal.setColor(QPalette.Highlight, QColor("#3d6ea8"))
    pal.setColor(QPalette.HighlightedText, QColor("white"))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor("#7a828a"))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET + _indicator_css())
