import io

from core.cli.console import ConsoleListener
from core.events import BatchEnd, EpochEnd, FileSkipped, Log, PhaseStarted


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    listen = ConsoleListener(out, tty=False)
    listen(PhaseStarted("head", 2, 5, 1e-3))
    listen(BatchEnd("head", 1, 2, 1, 5, 10.0, 3.0, {"loss": 1.0, "accuracy": 0.5}))
    listen(EpochEnd("head", 1, 2, {"loss": 0.9, "accuracy": 0.6, "val_loss": 1.1,
                                   "val_accuracy": 0.5}, 2.5))
    listen(Log("disk almost full", "warning"))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("== head")
    assert lines[1].startswith("head epoch 1/2") and "val_accuracy 0.5000" in lines[1]
    assert lines[2] == "warning: disk almost full"
    assert "\r" not in out.getvalue()


def test_bar_on_a_terminal():
    out = io.StringIO()
    listen = ConsoleListener(out, tty=True)
    listen(BatchEnd("head", 1, 2, 5, 5, 10.0, 3.0, {"loss": 1.0, "accuracy": 0.5}))
    assert "\rhead 1/2 [" in out.getvalue() and "ETA 0:03" in out.getvalue()


def test_thousands_of_skipped_files_do_not_flood_the_output():
    out = io.StringIO()
    listen = ConsoleListener(out, tty=False)
    for i in range(10_000):
        listen(FileSkipped(f"/data/cls/z{i:05d}.jpg", "empty file (0 bytes)", "scan"))
    listen(Log("run completed: runs/x"))
    lines = out.getvalue().splitlines()
    assert len(lines) == listen.skips.shown + 2
    assert lines[0].startswith("warning: skipped /data/cls/z00000.jpg")
    assert "inspect DATA_DIR" in lines[-2] and lines[-1] == "run completed: runs/x"
    assert listen.skips.count == 10_000


def test_one_epoch_and_a_diverging_loss_read_well():
    """'1 epochs', a loss printed with 22 digits, '(backbone frozen)' when every layer learns."""
    out = io.StringIO()
    listen = ConsoleListener(out, tty=False)
    listen(PhaseStarted("head", 1, 1, 1e-3))
    listen(EpochEnd("head", 1, 1, {"loss": 8.909229074347081e21, "accuracy": 0.5}, 2.5))
    lines = out.getvalue().splitlines()
    assert lines[0] == "== head: 1 epoch x 1 step, lr 0.001"
    assert "loss 8.909e+21 " in lines[1] + " "


def test_the_verb_after_a_count_agrees_with_it():
    """verb() is plural()'s verb: "1 file was skipped", "3 files were skipped"."""
    from core.shown import plural, verb

    assert [f"{plural(n, 'file')} {verb(n, 'was')} skipped" for n in (1, 3, 0)] == [
        "1 file was skipped", "3 files were skipped", "0 files were skipped"]
    assert [verb(1, w) for w in ("is", "was", "has")] == ["is", "was", "has"]
    assert [verb(2, w) for w in ("is", "was", "has")] == ["are", "were", "have"]


def test_a_download_shows_megabytes_and_a_log_says_it_started():
    """A download was "8056/9421704" on a terminal and nothing at all in a log (a review)."""
    from core.events import Progress

    out = io.StringIO()
    listen = ConsoleListener(out, tty=True)
    listen(Progress(4_710_852, 9_421_704, "downloading ImageNet weights for X", "bytes"))
    assert "X: 4.7 MB of 9.4 MB (50 %)" in out.getvalue()
    log = io.StringIO()
    listen = ConsoleListener(log, tty=False)
    for done in (0, 1_000_000, 9_421_704):
        listen(Progress(done, 9_421_704, "downloading ImageNet weights for X", "bytes"))
    listen(Log("saved"))
    assert log.getvalue().splitlines() == ["downloading ImageNet weights for X (9.4 MB)", "saved"]


def test_a_shorter_progress_line_covers_the_longer_and_a_finished_one_is_cleared():
    """On a terminal "looking for duplicates 0/2" over "reading image headers 12/12" read
    "0/22", and evaluate's "accuracy: ..." began right after "predicting 12/12" (a review)."""
    from core.events import Progress

    out = io.StringIO()
    listen = ConsoleListener(out, tty=True)
    listen(Progress(12, 24, "reading image headers"))
    listen(Progress(0, 2, "looking for duplicates"))
    assert out.getvalue().endswith("\rlooking for duplicates 0/2 ")  # covers the "4" left
    listen(Progress(12, 12, "predicting"))
    screen = out.getvalue().rsplit("\r", 2)
    assert screen[-1] == "" and screen[-2].strip() == ""  # the line is blank, cursor at start
    listen(Log("run completed"))
    assert out.getvalue().endswith("\rrun completed\n")  # no empty line left by the bar


def test_the_command_named_for_the_skipped_files_lists_every_one(tmp_path, capsys):
    """train's summary line said "'python main.py inspect DATA_DIR' lists every one", but
    inspect's text lists 50 of each kind ("use --json for the full list"): the command it
    names, run on a folder of 60 broken files, must name all 60."""
    import json
    import re

    from PIL import Image

    from core.cli import main

    out = io.StringIO()
    listen = ConsoleListener(out, tty=False)
    for i in range(60):
        listen(FileSkipped(f"/data/cls/z{i:05d}.jpg", "empty file (0 bytes)", "scan"))
    command = re.search(r"'python main\.py (inspect DATA_DIR[^']*)'", out.getvalue()).group(1)
    data = tmp_path / "data"
    for cls in ("a", "b"):
        (data / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (40 * i, 9, 9)).save(data / cls / f"ok{i}.png")
    for i in range(60):
        (data / "a" / f"z{i:05d}.jpg").write_bytes(b"")
    capsys.readouterr()
    main(command.replace("DATA_DIR", str(data)).split())
    printed = capsys.readouterr().out
    if "--json" in command:
        printed = json.dumps(json.loads(printed)["problems"])
    assert all(f"z{i:05d}.jpg" in printed for i in range(60))
