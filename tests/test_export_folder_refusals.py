"""An export folder the export cannot write into, or a file in it the export cannot replace:
refused before the work starts, naming the folder or file and what to do (a review)."""

import errno
from pathlib import Path

import pytest

from core.config import ExportConfig
from core.errors import UserError


def _refuse_new_entries(monkeypatch, out: Path) -> list:
    """``out`` takes no new entry, as a read-only share or another user's folder."""
    import tempfile

    real, calls = tempfile.mkstemp, []

    def mkstemp(*args, **kwargs):
        if Path(kwargs.get("dir") or "") == out:
            calls.append(out)
            raise PermissionError(errno.EPERM, "Operation not permitted",
                                  str(out / ".x.probe"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return calls


def test_a_folder_that_takes_no_new_file_is_refused_before_anything_is_built(
        trained_run, tmp_path, monkeypatch):
    """Both formats were built, reloaded and parity-checked; only then came "cannot write
    .../metadata.json" -- minutes of int8 calibration thrown away."""
    from core.export import builders, exporter

    out = tmp_path / "exp"
    out.mkdir()
    built = []
    monkeypatch.setattr(exporter, "parity_sample",
                        lambda *a, **k: built.append("parity") or (_ for _ in ()).throw(
                            AssertionError("the work started")))
    monkeypatch.setitem(builders.BUILDERS, "keras", lambda *a: built.append("keras"))
    calls = _refuse_new_entries(monkeypatch, out)
    with pytest.raises(UserError) as err:
        exporter.export_model(trained_run, ["keras"], out, ExportConfig(parity_images=4),
                              latency_runs=1)
    assert str(err.value) == (f"cannot write {out}: not permitted; make the folder writable, "
                              "or choose another folder")
    assert calls and built == []
    assert list(out.iterdir()) == []
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def _refused(src, dst):
    import os

    return PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(src), None, str(dst))


def test_a_file_that_cannot_be_replaced_is_named_before_anything_is_built(
        trained_run, tmp_path, monkeypatch):
    """An earlier export's model.keras that cannot be replaced (locked, another user's): found
    only when the new files were moved in, after every format was built; now at once, and
    the earlier export is left as it was."""
    import os

    from core.export import builders, exporter
    from core.infer.loaders import load_predictor

    out = tmp_path / "exp"
    cfg = ExportConfig(parity_images=4)
    assert exporter.export_model(trained_run, ["keras"], out, cfg, latency_runs=1).ok
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    locked, real_replace = out / "model.keras", os.replace

    def replace(src, dst):
        if Path(src) == locked:
            raise _refused(src, dst)
        real_replace(src, dst)

    built = []
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setitem(builders.BUILDERS, "keras", lambda *a: built.append("keras"))
    with pytest.raises(UserError) as err:
        exporter.export_model(trained_run, ["keras"], out, cfg, latency_runs=1)
    assert str(err.value) == (f"cannot replace {locked}: not permitted; make it writable (or "
                              "choose another folder), then export again")
    assert built == []
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert load_predictor(out).kind == "keras"  # the earlier export still opens


def test_a_file_that_could_not_be_replaced_at_the_end_is_named_with_what_to_do(
        trained_run, tmp_path, monkeypatch):
    """The message named the hidden staging file, gone by then ("cannot use
    /.../.exp.1234.partial/model.keras: ...; give another path"), and the folder, marked
    unfinished, said "the app was closed or killed"."""
    import json

    from core.errors import ModelFileError
    from core.export import exporter, folder
    from core.infer.loaders import load_predictor

    out = tmp_path / "exp"
    cfg = ExportConfig(parity_images=4)
    assert exporter.export_model(trained_run, ["keras"], out, cfg, latency_runs=1).ok

    def move_into_place(src, dst):  # locked between the check and the move
        raise _refused(src, dst)

    monkeypatch.setattr(folder, "move_into_place", move_into_place)
    with pytest.raises(UserError) as err:
        exporter.export_model(trained_run, ["keras"], out, cfg, latency_runs=1)
    assert str(err.value) == (f"cannot replace {out / 'model.keras'}: not permitted; make it "
                              "writable (or choose another folder) and export again: until "
                              "then the folder's files are not used")
    note = json.loads((out / "metadata.json").read_text())["unfinished"]
    assert note == ("an export into this folder did not finish (stopped, or a file could not "
                    "be replaced); export again")
    with pytest.raises(ModelFileError, match=r"did not finish \(it was stopped, or a file in it "
                                             r"could not be replaced\); export again"):
        load_predictor(out)
