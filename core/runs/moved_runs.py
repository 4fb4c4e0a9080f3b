"""Runs whose folder was renamed or moved: recognised on a rebuild, so their exports stay.

Export records live in the index only (the exported files are elsewhere), keyed by the
run's row; a rebuild dropped the row of a folder no longer where it was and indexed the
renamed folder as a new run, so its exports vanished from the Runs page and the report.
A folder new to the index that was created at the same moment with the same config as a
row whose folder is gone is that run, moved: the row takes the new path (and keeps its id
and exports).  Rows dropped with exports are counted in a warning.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable

Key = tuple  # (created, config JSON)


def gone_rows(conn: sqlite3.Connection, known: Iterable[str]) -> dict[Key, list[str]]:
    """The indexed runs whose folder is not there now, by (created, config)."""
    gone: dict[Key, list[str]] = {}
    known = set(known)
    for path, created, config in conn.execute("SELECT path, created, config FROM runs"):
        if path in known and not Path(path).exists():
            gone.setdefault((created, config), []).append(path)
    return gone


def take_moved_row(conn: sqlite3.Connection, row: dict, gone: dict[Key, list[str]]) -> str:
    """Give a gone row the path of ``row``'s folder when it is that run moved; its old path.

    Only for a folder the index does not hold yet; "" when none matched.
    """
    if conn.execute("SELECT 1 FROM runs WHERE path = ?", (row["path"],)).fetchone():
        return ""
    olds = gone.get((row["created"], row["config"]))
    if not olds:
        return ""
    # Copies of one run share both: the one of the same name first (a moved runs folder).
    old = next((p for p in olds if Path(p).name == row["name"]), olds[0])
    olds.remove(old)
    conn.execute("UPDATE runs SET path = ? WHERE path = ?", (row["path"], old))
    return old


def dropped_exports(conn: sqlite3.Connection, kept: list[str]) -> int:
    """How many export records go with the rows a rebuild drops (those not in ``kept``)."""
    marks = ",".join("?" * len(kept))
    return conn.execute(
        f"SELECT COUNT(*) FROM exports WHERE run_id IN "
        f"(SELECT id FROM runs WHERE path NOT IN ({marks}))", kept).fetchone()[0]
