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
