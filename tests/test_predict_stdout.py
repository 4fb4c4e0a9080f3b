"""``predict``'s stdout holds one ``path<TAB>label<TAB>confidence`` line per image read; a file
it could not read is named on stderr (README: "a line on stderr"): its stdout row had
"skipped: <reason>" where a script reads the label, and stderr said nothing (a CLI review)."""

import shutil

from core.cli import main


def test_unreadable_files_are_named_on_stderr_and_stdout_keeps_its_columns(
        trained_run, tmp_path, capsys):
    folder = tmp_path / "new"
    folder.mkdir()
    good = sorted((trained_run.parent / "data" / "bright").glob("*.png"))[0]
    shutil.copy(good, folder / "good.png")
    (folder / "bad.png").write_bytes(b"not an image")
    assert main(["predict", str(trained_run), str(folder),
                 str(tmp_path / "nonexist.png")]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(folder / "good.png") + "\t")
    label, confidence = lines[0].split("\t")[1:3]
    assert label in ("bright", "dark", "unknown") and (confidence == "–"
                                                      or 0 <= float(confidence) <= 1)
    assert f"warning: {folder / 'bad.png'}: skipped: " in err
    assert f"warning: {tmp_path / 'nonexist.png'}: skipped: " in err
    assert (out + err).count("bad.png") == 1  # named once
