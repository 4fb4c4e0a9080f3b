"""``python main.py inspect``: run as a user would, in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def _inspect(*args):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "inspect", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", cwd=str(ROOT),
                          env=env, timeout=120)


def _make(root, spec):
    seed = 0
    for name, n in spec.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            arr = np.random.default_rng(seed).integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / name / f"{i:03d}.png")
            seed += 1


def test_inspect_usable_folder_text(tmp_path):
    _make(tmp_path, {"chats noirs": 10, "dogs": 12})
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"")
    (tmp_path / "dogs" / "readme.txt").write_text("hi")
    out = _inspect(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "chats noirs" in out.stdout and "10" in out.stdout and "12" in out.stdout
    assert "broken.jpg" in out.stdout and "empty" in out.stdout
    assert "readme.txt" in out.stdout
    assert "Ready to train" in out.stdout


def test_counts_line_up_after_wide_class_names(tmp_path):
    """Padded by character count, the counts after a Japanese name stood two columns per
    character out of line (a scale review)."""
    from core.shown import text_width

    _make(tmp_path, {"猫": 3, "dogs": 4, "e\u0301cole": 5})
    out = _inspect(tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.rstrip().endswith(("3", "4", "5"))
            and line.startswith("  ") and ("猫" in line or "dogs" in line or "cole" in line)]
    assert len(rows) == 3 and len({text_width(r.rstrip()) for r in rows}) == 1, rows


def test_inspect_json_parses(tmp_path):
    _make(tmp_path, {"a": 10, "b": 10})
    (tmp_path / "a" / "x.png").write_text("not a png")
    out = _inspect(tmp_path, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["classes"] == ["a", "b"]
    assert data["counts"] == {"a": 10, "b": 10}
    assert data["usable"] is True
    assert [p["kind"] for p in data["problems"]] == ["not_image"]
    assert len(data["records"]) == 20


def test_inspect_missing_folder_exit_2_one_line(tmp_path):
    out = _inspect(tmp_path / "does not exist")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "not found" in out.stderr
    assert "Traceback" not in out.stderr


def test_inspect_one_class_exit_2_with_reason(tmp_path):
    _make(tmp_path, {"only": 10})
    (tmp_path / "other").mkdir()  # an empty class does not count
    out = _inspect(tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "at least 2 classes" in lines[0]
    assert "only" in out.stdout  # the report is still printed
    js = _inspect(tmp_path, "--json")
    assert js.returncode == 2
    assert json.loads(js.stdout)["usable"] is False


def test_inspect_listed_in_help():
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "inspect", "--help"],
                         capture_output=True, text=True, cwd=str(ROOT), timeout=120)
    assert out.returncode == 0
    assert "DATA_DIR" in out.stdout and "--json" in out.stdout


def test_verbose_after_the_command_is_taken_and_pillow_keeps_quiet(tmp_path, capsys):
    """`inspect DIR -v` was refused as an unrecognised argument (only `-v inspect DIR` was
    taken), and with -v Pillow's DEBUG lines, one per image, flooded stderr (a scripting
    review)."""
    import logging

    from core.cli import main

    for k, cls in enumerate(("a", "b")):
        (tmp_path / cls).mkdir()
        for i in range(12):
            Image.new("RGB", (8, 8), (20 * i, 100 * k, 9)).save(tmp_path / cls / f"{i}.png")
    assert main(["inspect", str(tmp_path), "-v"]) == 0, capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "gone"), "--verbose"]) == 2
    assert "data folder not found" in capsys.readouterr().err
    assert logging.getLogger("PIL").getEffectiveLevel() >= logging.INFO
