"""The window's Serve button (Export page) and Save report… (Evaluate and Runs pages).

A real server on 127.0.0.1 asked with a real HTTP client (urllib); real HTML and
PDF files written from a real trained run.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from core.runs.history import RunHistory
from gui.widgets.report_button import HTML_FILTER, PDF_FILTER


def page_of(window, key: str):
    i = next(i for i, p in enumerate(window.pages) if p.key == key)
    window.show_page(i)
    return window.pages[i]


def _get(url: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, json.loads(resp.read())


def test_serve_button_serves_the_model_and_stops(qtbot, window, trained_run):
    window.state.set_run(str(trained_run))
    page = page_of(window, "export")
    box = page.serve_box
    assert box.button.isEnabled() and box.button.text() == "Serve"
    assert not box.curl_edit.isVisible()
    box.port_spin.setValue(0)  # any free port
    assert box.port_spin.text() == "any free"  # not a bare 0 beside the real port
    with qtbot.waitSignal(box.started, timeout=120000) as sig:
        qtbot.mouseClick(box.button, Qt.LeftButton)
        assert not box.button.isEnabled()  # loading: one start at a time
    url = sig.args[0]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1/models/model")
    assert box.button.text() == "Stop serving" and not box.port_spin.isEnabled()
    assert url in box.status_label.text() and url in box.curl_edit.text()
    assert f"Serving {trained_run.name} (2 classes)" in box.status_label.text()  # which model
    assert "Serving at" in page.banner.text()
    note = window.serving.label  # the status bar says so on every page
    assert note.isVisibleTo(window) and note.text() == f"Serving {trained_run.name} at {url}"

    status, answer = _get(url)
    assert status == 200 and answer["model_version_status"][0]["state"] == "AVAILABLE"
    image = sorted((trained_run.parent / "data").rglob("*.png"))[0]
    b64 = base64.b64encode(image.read_bytes()).decode()
    status, answer = _get(url + ":predict", {"instances": [{"b64": b64}]})
    assert status == 200 and len(answer["predictions"]) == 1
    assert answer["predictions"][0]["label"] in ("bright", "dark", "unknown")

    with qtbot.waitSignal(box.stopped, timeout=60000):
        qtbot.mouseClick(box.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: box.button.isEnabled())
    assert box.button.text() == "Serve" and box.server is None
    assert not note.isVisibleTo(window)
    with pytest.raises(urllib.error.URLError):
        _get(url)  # the port is closed


def test_closing_the_window_while_serving_asks_first(qtbot, window, trained_run, monkeypatch):
    """A review: closing the window stopped a server that clients were calling without a
    word, while a running job got "Stop it and close the window?"."""
    from PySide6.QtWidgets import QMessageBox

    from gui import plain_text

    window.state.set_run(str(trained_run))
    box = page_of(window, "export").serve_box
    box.port_spin.setValue(0)
    with qtbot.waitSignal(box.started, timeout=120000) as sig:
        qtbot.mouseClick(box.button, Qt.LeftButton)
    url, server = sig.args[0], box.server
    page_of(window, "train")
    assert window.serving.label.isVisibleTo(window) and url in window.serving.label.text()
    window.state.mark_saved()
    asked, answer = [], QMessageBox.No

    def question(_parent, title, text, *args, **kwargs):
        asked.append((title, text))
        return answer

    monkeypatch.setattr(plain_text, "question", question)
    assert not window.close() and window.isVisible()
    assert asked == [("The server is running", f"The server at {url} is answering requests. "
                                                "Stop it and close the window?")]
    assert _get(url)[0] == 200 and box.server is server  # still serving
    answer = QMessageBox.Yes
    assert window.close() and not window.isVisible() and len(asked) == 2
    qtbot.waitUntil(lambda: not server.running, timeout=30000)
    with pytest.raises(urllib.error.URLError):
        _get(url)


def test_a_server_on_an_older_model_says_so_and_serves_the_new_one(qtbot, window, trained_run,
                                                                    tmp_path):
    """After Update the model (another current run) the server went on answering with the old
    run while Predict used the new one, and the page said nothing (a week-on-the-line
    review)."""
    import shutil

    window.state.set_run(str(trained_run))
    page = page_of(window, "export")
    box = page.serve_box
    box.port_spin.setValue(0)
    with qtbot.waitSignal(box.started, timeout=120000):
        box.button.click()
    newer = tmp_path / "newer-run"
    shutil.copytree(trained_run, newer)
    window.state.set_run(str(newer))
    assert box.outdated() and box.button.text() == "Stop serving"  # a plain stop stays
    assert "The page's model is now newer-run" in box.status_label.text()
    assert f"Serving {trained_run.name}" in box.status_label.text()
    port = box.server.url.rsplit(":", 1)[1]
    with qtbot.waitSignals([box.stopped, box.started], timeout=120000):
        box.status_label.linkActivated.emit("restart")  # "Serve it instead"
    assert "Serving newer-run" in box.status_label.text() and not box.outdated()
    assert box.server.url.endswith(f":{port}")  # the clients' URL still works
    assert box.button.text() == "Stop serving"
    with qtbot.waitSignal(box.stopped, timeout=60000):
        box.button.click()


def test_serve_button_names_a_port_in_use(qtbot, window, trained_run):
    import socket

    window.state.set_run(str(trained_run))
    box = page_of(window, "export").serve_box
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        box.port_spin.setValue(busy.getsockname()[1])
        with qtbot.waitSignal(box.failed, timeout=120000) as sig:
            box.start()
    assert "another server uses that port" in sig.args[0]
    qtbot.waitUntil(lambda: box.button.isEnabled())
    assert box.server is None and box.button.text() == "Serve"


def test_no_model_no_serving(window):
    box = page_of(window, "export").serve_box
    assert not box.button.isEnabled()
    assert "Train a model first" in box.button.toolTip()
    assert box.start() is None


def _pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type/Page\n")


def test_evaluate_page_saves_html_and_pdf_reports(qtbot, window, trained_run, tmp_path,
                                                   monkeypatch):
    page = page_of(window, "evaluate")
    button = page.report_button
    assert not button.isEnabled() and "run folder" in button.toolTip()
    window.state.set_run(str(trained_run))
    assert button.isEnabled()
    assert button.default_path() == str(trained_run.parent / f"{trained_run.name}-report.html")

    html_out = tmp_path / "out" / "report.html"
    html_out.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(html_out), HTML_FILTER))
    with qtbot.waitSignal(button.saved, timeout=120000) as sig:
        qtbot.mouseClick(button, Qt.LeftButton)
    assert sig.args[0] == str(html_out)
    text = html_out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "Confusion matrix" in text
    assert "src='http" not in text and 'src="http' not in text  # every picture is inside
    assert str(html_out) in page.banner.text()

    # The PDF filter with a name without a suffix: the filter decides the kind.
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "out" / "report"), PDF_FILTER))
    with qtbot.waitSignal(button.saved, timeout=120000) as sig:
        qtbot.mouseClick(button, Qt.LeftButton)
    pdf = Path(sig.args[0])
    assert pdf == tmp_path / "out" / "report.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and _pages(data) >= 2
    assert sorted(p.name for p in pdf.parent.iterdir()) == ["report.html", "report.pdf"]


def test_a_report_that_cannot_be_written_says_where(qtbot, window, trained_run, tmp_path):
    page = page_of(window, "evaluate")
    window.state.set_run(str(trained_run))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with qtbot.waitSignal(page.report_button.failed, timeout=120000) as sig:
        page.report_button.save_to(str(blocker / "report.pdf"))
    assert str(blocker / "report.pdf") in sig.args[0]
    qtbot.waitUntil(page.report_button.isEnabled)
    assert blocker.read_text() == "not a folder"


def test_save_report_never_replaces_a_runs_model_or_a_file_of_another_kind(
        qtbot, window, trained_run, tmp_path):
    """(a review) The Save dialog's answer was written as HTML whatever it named: a typed
    RUN/model.keras, or a picked notes.txt, was replaced; ``report --out`` refuses both."""
    page = page_of(window, "evaluate")
    window.state.set_run(str(trained_run))
    model = trained_run / "model.keras"
    before = model.read_bytes()
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for target in (model, notes):
        with qtbot.waitSignal(page.report_button.failed, timeout=120000) as sig:
            page.report_button.save_to(str(target))
        assert str(target) in sig.args[0] and ".html or .htm or .pdf" in sig.args[0]
        assert sig.args[0].count(str(target)) == 1  # named once, not before and in the reason
        qtbot.waitUntil(page.report_button.isEnabled)
    assert model.read_bytes() == before and notes.read_text() == "mine"


def test_a_name_of_another_kind_in_the_dialog_gets_the_filters_ending(
        qtbot, window, trained_run, tmp_path, monkeypatch):
    page = page_of(window, "evaluate")
    window.state.set_run(str(trained_run))
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "notes.txt"), HTML_FILTER))
    with qtbot.waitSignal(page.report_button.saved, timeout=120000) as sig:
        qtbot.mouseClick(page.report_button, Qt.LeftButton)
    assert sig.args[0] == str(tmp_path / "notes.txt.html")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_runs_page_saves_the_selected_runs_report(qtbot, window, trained_run, tmp_path):
    run_id = RunHistory().record_run(trained_run)
    page = page_of(window, "runs")
    assert not page.report_button.isEnabled()
    assert "Select one run" in page.report_button.toolTip()
    page.select_ids([run_id])
    assert page.report_button.isEnabled()
    out = tmp_path / "r.html"
    with qtbot.waitSignal(page.report_button.saved, timeout=120000):
        page.report_button.save_to(str(out))
    assert trained_run.name in out.read_text()


def test_a_thumbnail_whose_image_is_gone_keeps_its_note_and_the_grid_in_the_pdf(qapp):
    """The placeholder was a <div>, which ended the PDF's thumbnail-grid match early: the note
    vanished and the other mistakes were left as raw <figure> markup."""
    from core.report.html import thumbnail_figure as figure
    from gui.report_pdf import printable_html

    html = ("<style>x</style><div class='thumbs'>"
            + figure("/nonexistent/gone.png", "bright → dark 90%")
            + figure("/nonexistent/other.png", "dark → bright 80%") + "</div>")
    out = printable_html(html)
    assert "(image not available)" in out and "<figure>" not in out
    assert out.count("<td width='20%'") == 2


def test_changed_settings_are_bold_in_the_pdf_as_its_legend_says(qapp):
    """The PDF said "Bold: changed from the default" but QTextDocument ignores the HTML's
    ".changed td" rule: nothing was bold (a bug hunt)."""
    from PySide6.QtGui import QFont, QTextDocument

    from core.report.html import CSS
    from gui.report_pdf import printable_html

    html = (f"<style>{CSS}</style><table><tr class='changed'><td>Batch size</td><td>8</td></tr>"
            "<tr class=''><td>Dropout</td><td>0.2</td></tr></table>")
    doc = QTextDocument()
    doc.setHtml(printable_html(html))

    def weight(text):
        cursor = doc.find(text)
        assert not cursor.isNull(), text
        return cursor.charFormat().fontWeight()

    assert weight("Batch size") >= QFont.DemiBold and weight("8") >= QFont.DemiBold
    assert weight("Dropout") < QFont.DemiBold


def test_closing_the_window_while_a_client_holds_a_request_does_not_freeze_it(qtbot, window,
                                                                             trained_run):
    """shutdown() waited on the server: a client sending its body slowly froze the closing
    window for 5 s."""
    import socket
    import time

    window.state.set_run(str(trained_run))
    box = page_of(window, "export").serve_box
    box.port_spin.setValue(0)
    with qtbot.waitSignal(box.started, timeout=120000) as sig:
        qtbot.mouseClick(box.button, Qt.LeftButton)
    server = box.server
    host, port = sig.args[0].split("//")[1].split("/")[0].split(":")
    slow = socket.create_connection((host, int(port)), timeout=30)
    slow.sendall(b"POST /v1/models/model:predict HTTP/1.1\r\nHost: x\r\nContent-Length: "
                 b"1000\r\n\r\n{")
    qtbot.waitUntil(lambda: bool(server._server.server_state.connections), timeout=10000)
    started = time.monotonic()
    box.shutdown()
    assert time.monotonic() - started < 1.0
    qtbot.waitUntil(lambda: not server.running, timeout=30000)
    slow.close()


def test_a_typed_name_whose_ending_is_added_asks_before_replacing_that_file(
        qtbot, window, trained_run, tmp_path, monkeypatch):
    """(a review) The dialog asked about "mine" (no such file); the ".html" added after it
    named an existing mine.html, replaced without a word.  "dot." became "dot..html"."""
    from PySide6.QtWidgets import QMessageBox

    from gui import plain_text

    page = page_of(window, "evaluate")
    window.state.set_run(str(trained_run))
    mine = tmp_path / "mine.html"
    mine.write_text("my edited report")
    asked = []
    monkeypatch.setattr(plain_text, "question",
                        lambda _p, _t, text, *a, **k: asked.append(text) or QMessageBox.No)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "mine"), HTML_FILTER))
    assert page.report_button.choose_and_save() is None
    assert mine.read_text() == "my edited report" and str(mine) in asked[0]

    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "dot."), HTML_FILTER))
    with qtbot.waitSignal(page.report_button.saved, timeout=120000) as sig:
        page.report_button.choose_and_save()
    assert sig.args[0] == str(tmp_path / "dot.html") and len(asked) == 1


def test_a_refused_report_name_is_said_without_a_traceback_in_the_log(
        qtbot, tmp_path, caplog):
    """(a review) A name the app refuses (a .png, a folder) is the user's mistake: the
    page says so, and the log gets that line, not a Python traceback as for a bug."""
    from gui.widgets.report_button import ReportButton

    button = ReportButton()
    qtbot.addWidget(button)
    run = tmp_path / "run"
    run.mkdir()
    button.set_run(str(run))
    for target in (tmp_path / "shot.png", tmp_path):
        caplog.clear()
        with qtbot.waitSignal(button.failed, timeout=10000) as sig:
            button.save_to(str(target))
        qtbot.waitUntil(button.isEnabled)
        assert str(target) in sig.args[0]
        assert str(target) in caplog.text and "Traceback" not in caplog.text
        qtbot.waitUntil(lambda: button.job._thread is None)  # released before the button goes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
