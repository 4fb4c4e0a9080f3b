"""Export page: which model it offers, where the results it shows came from, and where the
export goes; export and serve refusals that keep the user's folders intact.  Found by review.
``export_job`` is replaced where the point is the page, not the converter."""

import socket
import threading
from pathlib import Path

import pytest
from PIL import Image

EXPORT_INDEX = 7


def _run(root: Path, name: str, with_model: bool = True) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "labels.json").write_text('["a", "b"]')
    if with_model:
        (run / "model.keras").write_bytes(b"a model")
    return run


def _report(src, out):
    from core.export.report import ExportReport, FormatResult

    report = ExportReport(str(src), str(out), ["a", "b"], 32, "x", 4, "validation images")
    report.results.append(FormatResult(
        "keras", status="ok", path=str(Path(out) / "model.keras"), size_bytes=10,
        latency_ms=1.0, parity={"checked": True, "passed": True, "max_abs_diff": 0.0,
                                "n_images": 4, "top1_agree_count": 4, "bound": "x"}))
    report.written = True
    return report


def test_a_result_is_shown_only_under_the_model_it_is_for(qtbot, window, tmp_path,
                                                          monkeypatch):
    """Exporting run A, then opening run B, showed A's PASS table under 'Model to export: B'."""
    import gui.pages.export.page as page_mod

    gate = threading.Event()

    def slow_export(source, formats, out_dir, cfg, listener=None, cancel=None):
        assert gate.wait(30)
        return _report(source, out_dir)

    monkeypatch.setattr(page_mod, "export_job", slow_export)
    a, b = _run(tmp_path, "runA"), _run(tmp_path, "runB")
    window.state.set_run(str(a))
    page = window.pages[EXPORT_INDEX]
    page.set_formats(["keras"])
    with qtbot.waitSignal(page.export_finished, timeout=30000):
        assert page.start_export()
        window.state.set_run(str(b))
        gate.set()
    assert "runB" in page.source_label.text()
    assert page.report_rows() == [] and page.report is None
    assert "runA" in page.banner.text() and "another one now" in page.banner.text()
    # A's own results stay until the model changes, then go
    window.state.set_run(str(a))
    with qtbot.waitSignal(page.export_finished, timeout=30000):
        assert page.start_export()
    assert page.report_rows()[0]["Result"] == "PASS" and page.open_button.isEnabled()
    window.state.set_run(str(b))
    assert page.report_rows() == [] and not page.open_button.isEnabled()


def test_a_model_chosen_here_is_forgotten_with_its_project(window, tmp_path):
    from core.project import Project

    keras = tmp_path / "elsewhere" / "old.keras"
    keras.parent.mkdir()
    keras.write_bytes(b"x")
    page = window.pages[EXPORT_INDEX]
    page.set_source(str(keras))
    assert "chosen here" in page.source_label.text()
    window.state.load_project(Project(), None)
    assert page.source_path() is None and "No model yet" in page.source_label.text()
    assert not page.export_button.isEnabled() and not page.serve_box.button.isEnabled()


def test_a_run_without_its_model_is_not_offered(window, tmp_path):
    """Runs → Open on a stopped run: Export and Serve were enabled and failed later."""
    run = _run(tmp_path, "stopped-run", with_model=False)
    window.state.set_run(str(run))
    window.state.set_model(None)
    page = window.pages[EXPORT_INDEX]
    assert page.source_path() is None
    assert not page.export_button.isEnabled() and not page.serve_box.button.isEnabled()


def test_a_typed_relative_folder_is_stored_absolute(window, tmp_path, monkeypatch):
    """'exports' meant the working folder now and the project's folder after reopening."""
    monkeypatch.chdir(tmp_path)
    page = window.pages[EXPORT_INDEX]
    page.out_edit.setText("exports")
    page.out_edit.editingFinished.emit()
    assert window.state.config.export.out_dir == str(tmp_path / "exports")
    window.state.set_project_path(str(tmp_path / "proj" / "p.ftsproj"))
    page.out_edit.setText("out")
    page.out_edit.editingFinished.emit()
    assert window.state.config.export.out_dir == str(tmp_path / "proj" / "out")


def test_the_default_folder_of_a_model_inside_a_run_is_beside_the_run(window, tmp_path):
    run = _run(tmp_path, "run-1")
    page = window.pages[EXPORT_INDEX]
    page.set_source(str(run / "model.keras"))
    assert page.default_out_dir() == str(tmp_path / "run-1-export")


def test_an_export_folder_inside_the_run_s_data_folder_is_refused(tmp_path):
    """It made a train/val data folder unscannable ('... and also model-export/')."""
    from types import SimpleNamespace

    from core.errors import UserError
    from core.export.folder import check_out_dir

    data = tmp_path / "data"
    for sub in ("train", "val"):
        (data / sub / "a").mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(data / sub / "a" / "0.png")
    run = _run(tmp_path, "run")
    src = SimpleNamespace(model_path=run / "model.keras", run_dir=run, data_dir=str(data))
    with pytest.raises(UserError, match="inside the run's data folder"):
        check_out_dir(data / "model-export", src)
    assert check_out_dir(tmp_path / "exports", src) is None
    assert not (data / "model-export").exists()


def test_a_port_in_use_leaves_no_thread_holding_the_model():
    """Each Serve click on a busy port kept one more batcher thread (and model) alive."""
    from core.errors import UserError
    from core.serve.server import RunningServer, ServeOptions

    class Model:
        classes = ["a", "b"]
        image_size = 32

        def predict_scored(self, x):
            return x

    def threads():
        return sum(1 for t in threading.enumerate() if t.name == "serve-model")

    before = threads()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        for _ in range(3):
            with pytest.raises(UserError):
                RunningServer(Model(), ServeOptions(port=busy.getsockname()[1]))
    assert threads() == before


def test_a_source_that_cannot_be_exported_is_refused_when_chosen(window, tmp_path):
    """A folder of images chosen as the model was accepted, then "Replace another model's
    export?" was asked, and only after Yes was it refused (a window-messages review)."""
    data = tmp_path / "data"
    for cls in ("a", "b"):
        (data / cls).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(data / cls / "0.png")
    page = window.pages[EXPORT_INDEX]
    before = page.source_path()
    page.set_source(str(data))
    assert page.source_path() == before and "chosen here" not in page.source_label.text()
    assert "not a run folder" in page.banner.text()
    assert "it looks like a folder of images, not a model" in page.banner.text()


def test_the_earlier_formats_kept_in_the_folder_are_named(qtbot, window, tmp_path, monkeypatch):
    """Exporting keras alone into a folder holding this model's keras + tflite export keeps
    model.tflite (metadata and README list it); `main.py export` said so, the page named keras
    only (a review)."""
    import gui.pages.export.page as page_mod

    def export_keeping_tflite(source, formats, out_dir, cfg, listener=None, cancel=None):
        report = _report(source, out_dir)
        report.kept_formats = ["tflite"]
        return report

    monkeypatch.setattr(page_mod, "export_job", export_keeping_tflite)
    window.state.set_run(str(_run(tmp_path, "runA")))
    page = window.pages[EXPORT_INDEX]
    page.set_formats(["keras"])
    with qtbot.waitSignal(page.export_finished, timeout=30000):
        assert page.start_export()
    status = page.status_label.text()
    assert "1 of 1 formats passed" in status
    assert "kept from the earlier export of this model: tflite" in status


class _FakeServer:
    url = "http://127.0.0.1:8501"
    model_url = url + "/v1/models/model"

    class predictor:  # noqa: N801 (as RunningServer's attribute)
        classes = ["a", "b"]

    def curl_example(self):
        return "curl " + self.model_url

    def stop(self, timeout=None):
        pass


def test_choosing_the_served_run_s_own_model_file_is_not_another_model(qtbot, window,
                                                                       tmp_path, monkeypatch):
    """Serving a run, then choosing its model.keras (served as that same run) said "The page's
    model is now model.keras: clients still get the served one's answers" (a review)."""
    import gui.pages.export.serve_box as serve_mod

    monkeypatch.setattr(serve_mod, "start_job", lambda model, port, listener=None,
                        cancel=None: _FakeServer())
    run = _run(tmp_path, "runA")
    window.state.set_run(str(run))
    page = window.pages[EXPORT_INDEX]
    box = page.serve_box
    with qtbot.waitSignal(box.started, timeout=30000):
        box.button.click()
    page.set_source(str(run / "model.keras"))
    assert "chosen here" in page.source_label.text()
    assert not box.outdated() and "is now" not in box.status_label.text()
    other = _run(tmp_path, "runB")  # another run's model file still is another model
    page.set_source(str(other / "model.keras"))
    assert box.outdated() and "The page's model is now model.keras" in box.status_label.text()
    box.server = None  # nothing to stop: the fake serves nothing
