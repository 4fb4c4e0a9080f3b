"""File names that are not valid UTF-8, or that hold control characters, on the command line."""

import os
import shutil
from pathlib import Path

from core.cli import main
from core.cli.terminal import name, printable


def test_printable_escapes_what_a_terminal_would_obey_and_keeps_letters():
    assert printable("café/ünï.png") == "café/ünï.png"
    assert name("a\nb\x1b[31mred.png") == "a\\nb\\x1b[31mred.png"
    assert name(os.fsdecode(b"bad\xff.png")) == "bad\\xff.png"


def test_a_terminal_without_the_characters_gets_escapes_not_a_crash(tmp_path):
    """Windows writes a redirected stdout in its ANSI code page: a class called "łąka"
    ended inspect with UnicodeEncodeError (exit 1, an empty file).  PYTHONIOENCODING
    gives this machine the same narrow encoding."""
    import json
    import subprocess
    import sys

    from PIL import Image

    for cls, colour in (("łąka", (200, 30, 30)), ("dog", (30, 30, 200))):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (32, 32), (colour[0], i * 60, colour[2])).save(
                tmp_path / cls / f"{i}.png")
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONIOENCODING="cp1252")
    done = subprocess.run([sys.executable, str(root / "main.py"), "inspect", str(tmp_path)],
                          capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"\\u0142\\u0105ka" in done.stdout
    # the escapes are JSON's: --json stays JSON (\\xe9 or \\U0001f600 would not be)
    (tmp_path / "łąka").rename(tmp_path / "łąka é 😀")
    done = subprocess.run([sys.executable, str(root / "main.py"), "inspect", "--json",
                           str(tmp_path)], capture_output=True, env=env, timeout=120)
    assert "łąka é 😀" in json.loads(done.stdout.decode("cp1252"))["classes"]


def _names_dir(tmp_path, trained_run):
    src = next((trained_run.parent / "data").rglob("*.png"))
    folder = tmp_path / "imgs"
    folder.mkdir()
    odd = [os.fsdecode(b"bad\xff.png"), "two\nlines.png", "esc\x1b[31mred.png"]
    for n in odd:
        shutil.copyfile(src, os.path.join(str(folder), n))
    return folder, odd


def test_predict_carries_undecodable_names_through_the_csv_and_prints_them_escaped(
        tmp_path, trained_run, capsys):
    folder, odd = _names_dir(tmp_path, trained_run)
    out_csv = tmp_path / "out.csv"
    assert main(["predict", str(trained_run), str(folder), "--csv", str(out_csv)]) == 0
    printed = capsys.readouterr().out
    assert len(printed.strip().splitlines()) == 3  # one line per image, whatever its name
    assert "bad\\xff.png" in printed and "esc\\x1b[31mred.png" in printed
    assert "\x1b" not in printed
    raw = out_csv.read_bytes()
    assert os.fsencode(os.path.join(str(folder), odd[0])) in raw  # the file's real bytes
    assert raw.count(b"\n") >= 4  # header + 3 rows (a quoted name may hold a newline)


def test_train_and_report_on_a_folder_with_a_name_that_is_not_utf8(tmp_path, trained_run,
                                                                   tiny_weights, capsys):
    """It crashed with UnicodeEncodeError writing split.json (and hashing the data)."""
    import json

    from core.runs.folder import RunFolder

    data = Path(os.path.join(str(tmp_path), os.fsdecode(b"d\xe9ta")))  # the folder, and
    shutil.copytree(trained_run.parent / "data", data)               # every image of a class
    for i, image in enumerate(sorted((data / "bright").glob("*.png"))):
        os.rename(image, os.path.join(str(data / "bright"), os.fsdecode(b"caf\xe9%d.png" % i)))
    out = tmp_path / "run"
    assert main(["train", str(data), "--backbone", "MobileNetV3Small", "--weights", tiny_weights,
                 "--image-size", "32", "--epochs", "1", "--fine-tune-epochs", "0",
                 "--out", str(out)]) == 0
    split = RunFolder(out).read_json("split.json")
    names = json.dumps(split)
    assert "caf\\udce90.png" in names  # kept as the file's bytes, found again on reading
    assert main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 0
    assert "caf\\xe9" in (tmp_path / "r.html").read_text()  # shown as an escape
    capsys.readouterr()
    assert main(["runs", "--json"]) == 0  # listed (the history refused the data folder's name)
    assert str(out.resolve()) in [r["path"] for r in json.loads(capsys.readouterr().out)]


def test_train_whose_output_reader_left_stops_the_run_to_resume_not_failed(
        tmp_path, trained_run, tiny_weights, monkeypatch):
    """``train ... 2>&1 | head``: the closed pipe raised through the batch and the run ended
    "failed" with no reason (a README review); it stops as for Ctrl+C, kept to resume, and
    the command exits 141 as every command does for a closed pipe."""
    import io
    import sys

    from core.runs.folder import RunFolder

    class LeavesAfter(io.StringIO):  # the reader closes the pipe once training has begun
        def write(self, text):
            if "== head" in self.getvalue():
                raise BrokenPipeError(32, "Broken pipe")
            return super().write(text)

    monkeypatch.setattr(sys, "stderr", LeavesAfter())
    out = tmp_path / "run"
    assert main(["train", str(trained_run.parent / "data"), "--backbone", "MobileNetV3Small",
                 "--weights", tiny_weights, "--image-size", "32", "--epochs", "3",
                 "--fine-tune-epochs", "0", "--out", str(out)]) == 141
    assert RunFolder(out).run_info().status == "stopped"
