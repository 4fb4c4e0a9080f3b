"""A file or class name that starts = + - @ is written to predict's and suggest's CSVs so a
spreadsheet shows it and runs no formula (CSV injection), and ``label --from`` reads it back."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

from core.cli.commands.predict import rows_to_csv
from core.label.label_csv import read_label_csv
from core.label.suggestions import Suggestion, Suggestions

NAMES = ["=HYPERLINK(x).png", "-3dB.png", "+1.png", "@sum.png", "'=quoted.png", "plain.png"]


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_suggest_csv_runs_no_formula_and_label_from_reads_it_back(tmp_path):
    for n in NAMES:
        (tmp_path / n).write_bytes(b"x")
    items = [Suggestion(n, "-3dB" if i % 2 else "@home", 0.9, 0.5) for i, n in enumerate(NAMES)]
    text = Suggestions(items, ["-3dB", "@home"], "useful", "model").to_csv()
    for row in cells(text)[1:]:
        assert not any(c.startswith(("=", "+", "-", "@")) for c in row), row
    out = tmp_path / "review.csv"
    out.write_text(text, encoding="utf-8")
    assert read_label_csv(out) == [(str(tmp_path / n), "-3dB" if i % 2 else "@home")
                                   for i, n in enumerate(NAMES)]


def test_a_csv_a_spreadsheet_saved_without_the_quotes_still_reads(tmp_path):
    (tmp_path / "-3dB.png").write_bytes(b"x")
    (tmp_path / "'-odd.png").write_bytes(b"x")  # only the name with its ' is a file
    out = tmp_path / "review.csv"
    out.write_text("path,label\n-3dB.png,-3dB\n'-odd.png,a\n", encoding="utf-8")
    assert read_label_csv(out) == [(str(tmp_path / "-3dB.png"), "-3dB"),
                                   (str(tmp_path / "'-odd.png"), "a")]


def test_predict_csv_runs_no_formula_but_keeps_numbers_numbers():
    row = SimpleNamespace(path="=cmd|' /C calc'!A0.png", shown_label="-3dB", confidence=0.8,
                          top=[("-3dB", 0.8), ("@home", 0.2)], error="", unknown=False,
                          unknown_score=-1.5)
    header, line = cells(rows_to_csv([row], 2))
    got = dict(zip(header, line))
    assert got["path"] == "'=cmd|' /C calc'!A0.png"
    assert got["label"] == got["top1_label"] == "'-3dB" and got["top2_label"] == "'@home"
    assert got["unknown_score"] == "-1.5000" and got["confidence"] == "0.800000"
