"""Keys named in the window's text are spelt by the platform (gui/keys.py): Qt maps Ctrl to
the Command key on a Mac, but a tooltip's literal "Ctrl+Enter" stayed, and a Mac user pressed
Control, which does nothing."""

import ast
import re
import sys
from pathlib import Path

GUI = Path(__file__).resolve().parent.parent / "gui"
KEY_WORDS = re.compile(r"\b(Ctrl|Alt|Meta|Cmd)\s*\+|\bCtrl[- ]click")
# Strings that are keys for Qt itself, not words for the user: their spelling is Qt's.
KEY_CALLS = {"QKeySequence", "key_text", "QShortcut", "setShortcut"}
KEY_FUNCTIONS = {("window_menus.py", "page_shortcut"), ("keys.py", "modifier_click")}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _exempt(tree: ast.AST, name: str) -> set[int]:
    """Constants inside a key call or a function that makes keys for Qt."""
    ids = set()
    for node in ast.walk(tree):
        inside = None
        if isinstance(node, ast.Call):
            f = node.func
            called = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
            inside = node.args if called in KEY_CALLS else None
        elif isinstance(node, ast.FunctionDef) and (name, node.name) in KEY_FUNCTIONS:
            inside = node.body
        for part in inside or ():
            ids |= {id(n) for n in ast.walk(part) if isinstance(n, ast.Constant)}
    return ids


def test_no_key_is_written_out_for_the_user_by_hand():
    found = []
    for path in sorted(GUI.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree) | _exempt(tree, path.name)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in skip and KEY_WORDS.search(node.value)):
                found.append(f"{path.relative_to(GUI.parent)}:{node.lineno}: {node.value!r}")
    assert not found, "write keys with gui.keys.key_text():\n" + "\n".join(found)


def test_keys_are_spelt_as_qt_spells_them_for_this_platform(qtbot):
    from PySide6.QtGui import QKeySequence

    from gui.keys import key_text, modifier_click

    assert key_text("Ctrl+Shift+O") == QKeySequence("Ctrl+Shift+O").toString(
        QKeySequence.NativeText)
    if sys.platform != "darwin":  # Linux and Windows: as before (a Mac writes ⌘)
        assert key_text("Ctrl+Enter") == "Ctrl+Enter"
        assert modifier_click() == "Ctrl+click"


def test_a_mac_reads_command_key_words(monkeypatch):
    import gui.keys as keys

    monkeypatch.setattr(keys.sys, "platform", "darwin")
    assert keys.modifier_click() == "⌘-click"
