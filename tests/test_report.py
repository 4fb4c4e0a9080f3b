"""The run report: one self-contained HTML file (pictures embedded, nothing fetched)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}
SVG_LEAVES = {"rect", "line", "circle", "polyline", "path", "text", "title"}


class Checker(HTMLParser):
    """Collects headings and image sources and checks that every tag is closed in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.h2, self.imgs, self.refs = [], [], [], [], []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href", "xlink:href", "action"):
            if key in attrs:
                self.refs.append(attrs[key])
        if tag == "img":
            self.imgs.append(attrs.get("src", ""))
        if tag not in VOID:
            self.stack.append(tag)
        self._in_h2 = tag == "h2"

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data.strip())
            self._in_h2 = False


def _check(html: str) -> Checker:
    c = Checker()
    c.feed(html)
    c.close()
    assert not c.errors, c.errors[:5]
    assert c.stack == [], c.stack
    return c


def test_report_of_a_trained_run(trained_run, tmp_path):
    from core.report.html import write_report

    out = write_report(trained_run, tmp_path / "report.html")
    html = out.read_text(encoding="utf-8")
    c = _check(html)
    assert c.h2 == ["Overview", "Data", "Settings", "Training curves", "Scores", "Calibration",
                    "Exports"]
    assert c.imgs and all(src.startswith("data:image/png;base64,") for src in c.imgs)
    assert all(ref.startswith("data:") for ref in c.refs), c.refs
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", html, re.I)
    assert "<script" not in html.lower() and "@import" not in html
    assert "<svg" in html and "@page" in html  # curves drawn inline; A4 print rules
    assert "Learning rate" in html or "learning rate" in html.lower()  # readable labels
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert f"{metrics['accuracy']:.2%}" in html
    for name in metrics["classes"]:
        assert name in html
    # key/value tables (Overview, Calibration) have no blank header bar
    assert "<tr><th></th><th></th></tr>" not in html


def test_the_exports_table_keeps_words_and_numbers_whole(trained_run):
    """(a review) Every cell could break anywhere, so the auto table layout gave the wide
    parity column everything: "for/ma/t", "ker/as", "9./6/M/B", latency "9.03" over "1";
    and a heading was left alone at the foot of a printed page."""
    from core.report.gather import gather
    from core.report.html import CSS, render_report

    data = gather(trained_run)
    path = "/home/someone/projects/solar-cells/exports/run-2026-12-06/model.keras"
    data.exports = [{"format": "keras", "path": path, "size_bytes": 9_600_000,
                     "created": 1796000000.0,
                     "details": {"status": "ok", "trusted": True, "latency_ms": 9.031,
                                 "parity": {"max_abs_diff": 1.86e-05, "top1_agreement": 1.0,
                                            "n_images": 24}}}]
    html = render_report(data)
    section = html[html.index("<h2>Exports</h2>"):]
    assert "<td>keras</td>" in section and "<td>ok</td>" in section  # never split
    assert "<td>yes</td>" in section  # "passed" is a word, left-aligned as its heading
    assert "<td class='n'>9.031</td>" in section
    assert f"<td class='w'>{path}</td>" in section  # a path may still break anywhere
    assert "<td>9.2\u00a0MB</td>" in section or "<td>9.6\u00a0MB</td>" in section
    cells = re.search(r"th,td\{[^}]*\}", CSS).group(0)
    assert "anywhere" not in cells and "td.n{text-align:right;white-space:nowrap}" in CSS
    # a heading's note goes with it too: "Settings" and "Bold: changed from the default."
    # stayed at the foot of page 1, the table on page 2 (a review)
    assert "h2,h3,h2+p,h3+p{break-after:avoid}" in CSS


def test_a_resumed_runs_report_starts_when_the_runs_page_says(trained_run, tmp_path):
    """(a review) The report's "Started" was the resume's time (00:38) while the Runs page
    said 00:36, and "Training time 28 s" sat between a start and finish both at 00:38."""
    import shutil

    from core.report.gather import gather
    from core.report.html import render_report
    from core.runs.folder import RunFolder
    from core.shown import when_text

    run = RunFolder(shutil.copytree(trained_run, tmp_path / "run"))
    info = run.run_info()
    created = info.created
    run.update_run_info(started=created + 85, finished=created + 99)  # as a resume leaves it
    html = render_report(gather(run.path))
    assert f"<td>Started</td><td>{when_text(created, '—')}</td>" in html
    assert f"<td>Last session began</td><td>{when_text(created + 85, '—')}</td>" in html
    assert "<td>Training time (all sessions)</td>" in html
    run.update_run_info(started=created + 2)  # a run that was never resumed: one start
    html = render_report(gather(run.path))
    assert "Last session began" not in html and "<td>Training time</td>" in html


def test_the_reliability_diagram_prints_its_scale_counts_and_an_all_wrong_bin():
    """(a review) Printed, the report's diagram had no numbers on its axes, its counts only
    in hover text, and a bin whose one image was wrong was a bar of height 0 ("no images")."""
    from core.report.charts import reliability_chart

    bins = [{"low": 0.6, "high": 0.667, "count": 1, "confidence": 0.63, "accuracy": 0.0},
            {"low": 0.933, "high": 1.0, "count": 5, "confidence": 0.97, "accuracy": 1.0}]
    svg = reliability_chart(bins)
    assert all(f">{t}</text>" in svg for t in ("0%", "50%", "100%"))  # both axes
    assert ">1</text>" in svg and ">5</text>" in svg  # the images per bin, printed
    inner = 240
    gaps = re.findall(r"<rect [^>]*height='([0-9.]+)' fill='#d62728'", svg)
    assert len(gaps) == 2 and float(gaps[0]) == pytest.approx(0.63 * inner, abs=0.1)
    assert "6 in all" in svg


def test_report_without_the_data_folder_uses_the_split(trained_run, tmp_path):
    """The data moved away: counts come from split.json and thumbnails say so."""
    from core.report.html import write_report

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["data"]["data_dir"] = str(tmp_path / "gone")
    (run / "config.json").write_text(json.dumps(cfg))
    info = json.loads((run / "run.json").read_text())
    info["data_dir"] = str(tmp_path / "gone")
    (run / "run.json").write_text(json.dumps(info))
    (run / "calibration.json").write_text(json.dumps({"temperature": 1.7, "ece_after": 0.02}))
    html = write_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    _check(html)
    assert "split.json" in html and "Temperature" in html and "1.7" in html
    # (a review) said at the top, not only in grey under "Data"
    top = html.split("<h2>Overview</h2>")[0]
    assert f"The data folder {tmp_path / 'gone'} is not available" in top


def test_cli_report_and_not_a_run(trained_run, tmp_path):
    out = tmp_path / "sub" / "r.html"
    out.parent.mkdir()
    proc = subprocess.run([sys.executable, "main.py", "report", str(trained_run), "--out",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    proc = subprocess.run([sys.executable, "main.py", "report", str(tmp_path), "--out",
                           str(tmp_path / "x.html")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and "run folder" in proc.stderr
    assert not (tmp_path / "x.html").exists()


def test_thumbnail_of_a_missing_file_is_a_placeholder(tmp_path):
    from core.report.charts import thumbnail_uri

    assert thumbnail_uri(str(tmp_path / "nope.png")) is None


def test_hand_edited_files_become_notes_not_a_failure(trained_run, tmp_path):
    """A wrong type in metrics.json or calibration.json, or a time no clock can show, stopped
    'report' with a bare ValueError/KeyError/OverflowError naming no file."""
    from core.report.html import write_report

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["calibration"] = {"temperature": "warm"}
    info = json.loads((run / "run.json").read_text())
    info["started"] = 1e20
    (run / "run.json").write_text(json.dumps(info))
    (run / "calibration.json").write_text(json.dumps(["not", "a", "record"]))
    cases = {"macro_f1": "high", "per_class": [{"name": "a"}],
             "mistakes": [{"path": 3, "true_label": "a", "predicted_label": "b",
                           "confidence": 0.9}],
             "reliability": [{"low": 0, "high": 0.1, "count": 1, "confidence": 0.05}]}
    for field, value in cases.items():
        (run / "metrics.json").write_text(json.dumps({**metrics, field: value}))
        html = write_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
        _check(html)
        assert "is not the scores as the app writes them" in html, field
        assert "calibration.json: " in html and "expected a JSON object" in html
        assert "No scores" in html and "warm" not in html
        assert "<td>—</td>" in html  # the start time
    (run / "calibration.json").unlink()
    (run / "metrics.json").write_text(json.dumps(metrics))
    html = write_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "is not the scores" not in html and "warm" not in html  # the summary is left out
    assert f"{metrics['accuracy']:.2%}" in html


def test_many_classes_list_the_most_confused_pairs_not_a_matrix(trained_run, tmp_path):
    """A 60-class matrix ran over eight A4 pages of the PDF and lost its right-hand columns
    (a scale review): above 15 classes the report lists the largest mistaken cells."""
    import numpy as np

    from core.infer.metrics import compute_metrics
    from core.report.html import write_report

    run = Path(shutil.copytree(trained_run, tmp_path / "run"))
    classes = [f"class_{i:02d}" for i in range(60)]
    y = np.arange(300) % 60
    probs = np.eye(60)[y]
    probs[7] = np.eye(60)[9]  # class_07 taken for class_09, twice
    probs[67] = np.eye(60)[9]
    (run / "metrics.json").write_text(json.dumps(compute_metrics(y, probs, classes).to_dict()))
    html = write_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    _check(html)
    assert "class='cm'" not in html and "Most confused classes" in html
    assert "<td class='n'>2</td><td>class_07</td><td>class_09</td>" in html
    small = compute_metrics([0, 1], np.eye(2), ["bright", "dark"]).to_dict()
    (run / "metrics.json").write_text(json.dumps(small))
    html = write_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "class='cm'" in html and "Most confused" not in html


def test_a_finished_run_without_its_scores_says_so_in_the_report_and_the_terminal(
        tmp_path, trained_run, capsys):
    """metrics.json deleted: the report said "see the note at the top" with no note there,
    and the command line said only "wrote" (a message review)."""
    import shutil

    from core.cli import main

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / "metrics.json").unlink()
    assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "metrics.json is missing from the finished run" in html
    err = capsys.readouterr().err
    assert "warning: metrics.json:" in err and "is missing from the finished run" in err


def test_a_run_trained_without_validation_images_is_not_called_damaged(tmp_path, tiny_weights,
                                                                         capsys):
    """(a review) A --val-split 0 run's report warned "metrics.json is missing from the
    finished run; put it back from a copy of the run": it never had one."""
    from core.cli import main
    from core.train.engine import train
    from weights_fixture import make_bright_dark, tiny_config

    cfg = tiny_config(make_bright_dark(tmp_path / "data", per_class=8), tiny_weights,
                      epochs=1, fine_tune_epochs=0)
    cfg.data.val_split = 0.0
    result = train(cfg, tmp_path / "run")
    assert result.status == "completed" and not (tmp_path / "run" / "metrics.json").exists()
    capsys.readouterr()
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "missing" not in html and "put it back" not in html
    assert "No scores: the run was trained without validation images" in html
    assert "warning" not in capsys.readouterr().err


def test_report_prints_long_names_on_a4_and_says_which_ece(trained_run, tmp_path):
    """15 class names of 30 letters across printed 2 of the matrix's 15 columns on A4; an ESC
    in a class name went raw into the HTML; the calibration error shown was the one after
    calibration, unsaid, where calibration had made it worse (a report review)."""
    from core.report.html import render_report
    from core.report.gather import gather

    data = gather(trained_run)
    names = [f"surface_defect_scratch_left_{i:02d}" for i in range(2)]
    data.metrics = {**data.metrics, "classes": [names[0], "esc\x1b[31mred"]}
    data.calibration = {**(data.calibration or {}), "ece_before": 0.178, "ece_after": 0.228}
    html = render_report(data)
    assert "\x1b" not in html and "esc\\x1b[31mred" in html
    assert "<th title='surface_defect_scratch_left_00'>1</th>" in html  # numbered columns
    assert "<tr><th>1 surface_defect_scratch_left_00</th>" in html
    assert "overflow-wrap:anywhere" in html
    assert "0.228 after calibration (0.178 before)" in html


def test_a_phase_marker_at_the_chart_s_right_end_keeps_off_the_legend():
    """The "fine_tune" label of a phase that began at the last epoch was drawn over the
    legend's "train" beside the plot (a report review)."""
    from core.report.charts import line_chart

    late = line_chart("Loss", [1, 2], {"train": [1.0, 0.5]}, markers=[(2, "fine_tune")])
    early = line_chart("Loss", [1, 2, 3, 4, 5], {"train": [1.0, 0.5, 0.4, 0.3, 0.2]},
                       markers=[(2, "fine_tune")])
    assert "text-anchor='end' fill='#555'>fine_tune" in late
    assert "text-anchor='start' fill='#555'>fine_tune" in early


def test_a_stopped_or_failed_runs_report_says_so_at_the_top(trained_run, tmp_path):
    """(a review) Only the Overview's "Status" cell said a run was stopped: its scores read
    as a finished run's, and a failed run's report said no more than "not finished"."""
    from core.report.gather import gather
    from core.report.html import render_report
    from core.runs.folder import RunFolder

    run = RunFolder(shutil.copytree(trained_run, tmp_path / "run"))
    epochs = len(run.history())
    assert "before it completed" not in render_report(gather(run.path))  # a completed run
    run.update_run_info(status="stopped")
    top = render_report(gather(run.path)).split("<h2>Overview</h2>")[0]
    assert (f"This run was stopped before it completed, after {epochs} epochs: what this "
            "report shows is of its best epoch so far.") in top
    assert f"python main.py train --resume {run.path.resolve()}" in top
    run.update_run_info(status="running")
    from core.runs.lock import holding_lock

    with holding_lock(run):  # training now (without its trainer it is "interrupted")
        top = render_report(gather(run.path)).split("<h2>Overview</h2>")[0]
    assert f"This run is still training ({epochs} epochs so far)" in top
    run.update_run_info(status="failed")
    run.history_path.unlink()
    top = render_report(gather(run.path)).split("<h2>Overview</h2>")[0]
    assert "This run failed before its first epoch ended, so it has no results." in top


def test_a_completed_run_without_calibration_says_why_in_the_report(trained_run, tmp_path):
    """(a review) A run with 9 validation images (calibration needs 10) showed an ECE and a
    reliability chart, and nothing said it was not calibrated and cannot say "unknown"."""
    from core.report.gather import gather
    from core.report.html import render_report
    from core.runs.folder import RunFolder
    from html import unescape

    run = RunFolder(shutil.copytree(trained_run, tmp_path / "run"))
    assert "Not calibrated:" not in render_report(gather(run.path))  # calibrated
    run.calibration_path.unlink()
    metrics = json.loads(run.metrics_path.read_text())
    metrics.pop("calibration", None)
    run.metrics_path.write_text(json.dumps(metrics))
    section = unescape(render_report(gather(run.path)).split("<h2>Calibration</h2>")[1])
    assert "Not calibrated: this run's calibration files are missing" in section
    assert f"python main.py calibrate {run.path}" in section
    split = json.loads(run.split_path.read_text())
    split["val"] = split["val"][:9]
    run.split_path.write_text(json.dumps(split))
    section = render_report(gather(run.path)).split("<h2>Calibration</h2>")[1]
    assert "Not calibrated: this run has 9 validation images and calibration needs at " \
           "least 10" in section
    assert "<svg" in section.split("<h2>")[0]  # the run's own reliability is still shown


def test_setting_names_are_never_broken_mid_word_when_printed():
    """(a review) ``code{word-break:break-all}`` let the long "Augmentation steps" value
    squeeze the Settings table's name column: a printed report read "data.data_d|ir",
    "model.weigh|ts" on two lines each. Only a thumbnail's file name may break anywhere."""
    from core.report.html import CSS

    rules = dict(re.findall(r"([^{}]+)\{([^}]*)\}", CSS))
    breaking = [sel.strip() for sel, body in rules.items() if "break-all" in body]
    assert breaking == ["figcaption code"], breaking


def test_one_epoch_is_one_epoch_in_the_settings():
    """(a review) "Phase 1 (head): 1 epochs"; a time budget of 1 s keeps its unit."""
    from core.config import StudioConfig
    from core.report.gather import settings_rows

    cfg = StudioConfig()
    cfg.train.epochs, cfg.train.fine_tune_epochs, cfg.train.batch_size = 1, 2, 1
    cfg.train.head_solver = "adam"  # phase 1 by epochs, not an exact fit
    shown = {path: value for path, _, value, _ in settings_rows(cfg)}
    assert shown["train.epochs"] == "1 epoch" and shown["train.fine_tune_epochs"] == "2 epochs"
    assert shown["train.batch_size"] == "1 image"


def test_head_settings_a_run_could_not_use_are_shown_as_it_trained():
    """(a report review) A run from random weights was reported with "Head training:
    logistic" and "Fast head: on" while its head trained with Adam on the images; a head
    with hidden units, or without the fast head, cannot be fitted exactly either.  The
    report and the Runs page's comparison show what each run really did."""
    from core.config import StudioConfig
    from core.report.gather import settings_rows
    from core.runs.compare import FAST_HEAD_UNUSED, effective_settings

    def shown(cfg):
        return {path: (value, bold) for path, _, value, bold in settings_rows(cfg)}

    default = effective_settings(StudioConfig().to_dict())
    assert default["train.head_solver"] == "logistic" and default["train.fast_head"] is True
    scratch = StudioConfig()
    scratch.model.weights = "none"
    rows = shown(scratch)
    assert rows["train.head_solver"][0].startswith("adam (from random weights")
    assert rows["train.fast_head"] == (FAST_HEAD_UNUSED, True)
    hidden = StudioConfig()
    hidden.model.dense_units = 64
    assert shown(hidden)["train.head_solver"][0] == \
        "adam (a head with hidden units trains with adam)"
    slow = StudioConfig()
    slow.train.fast_head = False
    assert shown(slow)["train.head_solver"][0].startswith("adam (the exact fit needs")
    chosen = StudioConfig()
    chosen.train.head_solver = "adam"  # the user's own choice is shown as it is
    assert shown(chosen)["train.head_solver"][0] == "adam"


def test_the_report_warns_as_the_evaluate_page_does_beside_the_scores(trained_run, tmp_path):
    """The Evaluate page warns when a model answers one class for every image and when the
    figures rest on few images; the report printed the bare accuracy (a review)."""
    import numpy as np

    from core.infer.metrics import compute_metrics
    from core.report.html import write_report

    run = Path(shutil.copytree(trained_run, tmp_path / "run"))
    y = np.array([0] * 6 + [1] * 6)
    one = compute_metrics(y, np.tile([0.7, 0.3], (12, 1)), ["bright", "dark"]).to_dict()
    (run / "metrics.json").write_text(json.dumps(one))
    html = write_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    _check(html)
    assert ("<p class='bad'>⚠ The model answers ‘bright’ for every image: its 50% right is "
            "just that class&#x27;s share of the images.") in html
    assert "<p class='bad'>⚠ Only 12 images" in html
    many = compute_metrics(np.arange(400) % 2, np.eye(2)[np.arange(400) % 2],
                           ["bright", "dark"]).to_dict()
    (run / "metrics.json").write_text(json.dumps(many))
    assert "⚠" not in write_report(run, tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_stopped_runs_overview_says_when_it_stopped_not_finished(trained_run, tmp_path):
    """A stopped run's Overview put its stop time under "Finished" (a review)."""
    from core.report.gather import gather
    from core.report.html import render_report
    from core.runs.folder import RunFolder

    run = RunFolder(shutil.copytree(trained_run, tmp_path / "run"))

    def overview() -> str:
        return render_report(gather(run.path)).split("<h2>Overview</h2>")[1].split("<h2>")[0]

    assert ">Finished<" in overview() and ">Stopped<" not in overview()  # completed
    run.update_run_info(status="stopped")
    assert ">Stopped<" in overview() and ">Finished<" not in overview()
    run.update_run_info(status="failed")
    assert ">Failed<" in overview() and ">Finished<" not in overview()


def test_a_run_with_say_unknown_switched_off_says_so_in_the_report(trained_run, tmp_path):
    """Only "unknown_threshold —" in the calibration table said that the run no longer
    answers "unknown" (a review)."""
    from html import unescape

    from core.report.gather import gather
    from core.report.html import render_report
    from core.runs.folder import RunFolder
    from core.trust.store import set_threshold

    run = RunFolder(shutil.copytree(trained_run, tmp_path / "run"))
    said = "“Say unknown” is switched off for this run"
    assert said not in unescape(render_report(gather(run.path)))
    set_threshold(run, None)
    section = unescape(render_report(gather(run.path)).split("<h2>Calibration</h2>")[1])
    assert f"{said}: predict, serve and its exports made since never answer “unknown”" in section


def test_the_calibration_table_is_in_words_and_gives_the_share_the_threshold_keeps(
        trained_run, tmp_path):
    """The table listed calibration.json's field names ("unknown_keep 0.95", "embedding_layer
    avg_pool", "version 1") and the share asked for where the threshold kept another (a trust
    review).  A field it does not know, or a hand-edited value, still shows by its name."""
    from html import escape

    from core.report.calibration_rows import calibration_rows
    from core.report.html import write_report
    from core.trust.unknown import kept_share

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    cal = json.loads((run / "calibration.json").read_text())
    html = write_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    _check(html)
    section = html.split("<h2>Calibration</h2>")[1].split("<h2>")[0]
    for raw in ("unknown_keep", "embedding_layer", "n_reference", "nll_after", ">version<"):
        assert raw not in section
    shown = dict(calibration_rows(cal))
    for label, value in shown.items():
        assert escape(label) in section and escape(str(value)) in section
    kept = kept_share(cal["unknown_threshold"], cal["score_quantiles"])
    assert shown["Validation images it keeps (not “unknown”)"].startswith(f"{kept:.1%}")
    assert "Temperature (the logits are divided by it)" in shown
    rows = dict(calibration_rows({"unknown_threshold": 2.0, "unknown_keep": 0.95,
                                  "score_quantiles": [0.0] * 50 + [1.0] * 51}))
    assert rows["Validation images it keeps (not “unknown”)"] == "100.0% (asked for 95%)"
    rows = dict(calibration_rows({"temperature": "warm", "extra": 3, "unknown_threshold": None}))
    assert rows["temperature"] == "warm" and rows["extra"] == 3
    assert rows["“Unknown” threshold"].startswith("switched off")
