"""Lay out a run's report as one HTML file: no scripts, no links out, pictures embedded.

The file opens in any browser without network (every picture a ``data:`` URI
or inline SVG), prints on A4 (print CSS: margins, no split tables or figures,
sections on fresh pages where it helps), and is written atomically, so a
report being replaced is never seen half-written.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from html import escape
from pathlib import Path
from typing import Any, Iterable, Optional

from core.events import Log, emit
from core.fsutil import atomic_write_text
from core.infer.metrics import NO_MISTAKES, Metrics, confused_pairs
from core.infer.uncertainty import cautions  # the Evaluate page's warnings
from core.export.report import parity_figures_text
from core.shown import human_size, shown_text, when_text
from core.report.calibration_rows import calibration_rows
from core.report.charts import line_chart, reliability_chart, thumbnail_uri
from core.report.gather import ReportData, gather
from core.report.staleness import STALE
from core.runs.unfinished import UNFINISHED
from core.trust.calibration import ece_rose_note
from core.trust.store import NOT_YET_TEXT, RECALIBRATED, figures_calibration, since_text

#: Classes up to which the report prints the confusion matrix (the most confused pairs,
#: up to MOST_CONFUSED of them, above it).
MATRIX_CLASSES = 15
MOST_CONFUSED = 20

CSS = """
body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
  max-width:60em;margin:1.5em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.1em} h2{font-size:1.25em;border-bottom:1px solid #ccc;
  padding-bottom:.15em;margin-top:1.6em} h3{font-size:1.05em}
table{border-collapse:collapse;margin:.4em 0 1em} th,td{border:1px solid #ccc;padding:.2em .5em;
  text-align:left;vertical-align:top;overflow-wrap:break-word} th{background:#f3f3f3}
td.n{text-align:right;white-space:nowrap} td.w,figcaption{overflow-wrap:anywhere}
.muted{color:#666} .changed td{font-weight:600} .bad{color:#b00020}
.cm{font-size:.9em} .cm td,.cm th{padding:.15em .25em} .cm td{text-align:center;
  min-width:1.6em} .cm th:first-child{min-width:10em} .thumbs{display:flex;flex-wrap:wrap;gap:.6em}
figure{margin:0;width:150px;font-size:11px;break-inside:avoid} figure img{max-width:140px;
  max-height:140px;border:1px solid #ccc;image-rendering:auto}
svg.chart{width:100%;max-width:520px;height:auto} svg.square{max-width:300px}
code{font-size:12px} figcaption code{word-break:break-all}
@page{size:A4;margin:16mm 14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10.5pt}
  h2,h3,h2+p,h3+p{break-after:avoid} table,figure,svg{break-inside:avoid} a{color:inherit}}
"""


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]], cls: str = "") -> str:
    header = list(header)
    # A key/value table has no header (an all-empty one printed as a blank bar).
    head = ("<tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in header) + "</tr>"
            if any(str(h) for h in header) else "")
    body = []
    for row in rows:
        # a yes/no is a word, not a number: "passed" stood right-aligned under its heading
        cells = "".join(f"<td class='n'>{escape(_fmt(v))}</td>"
                        if isinstance(v, (int, float)) and not isinstance(v, bool)
                        else _text_cell(_fmt(v)) for v in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table class='{cls}'>{head}{''.join(body)}</table>"


#: A word longer than this (a path, a file name) may break anywhere in its table cell.
LONG_WORD = 24


def _text_cell(text: str) -> str:
    """A text cell.  Only one holding a word too long for a column (class "w") may break
    anywhere: "anywhere" on every cell let a cell's narrowest width fall to one letter, and
    the table printed "for/ma/t", "ker/as" and a latency of "9.03" over "1" (a review)."""
    long = any(len(word) > LONG_WORD for word in text.split())
    return f"<td class='w'>{escape(text)}</td>" if long else f"<td>{escape(text)}</td>"


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return {True: "yes", False: "no", None: "—"}[v]
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _when(ts: Optional[float]) -> str:
    return when_text(ts, "—")


def _overview(d: ReportData) -> str:
    i = d.info
    acc = (d.metrics or {}).get("accuracy")
    # "Started" is the run's first start, as the Runs page and 'runs' say: a resume sets
    # "started" again, and the report gave the resume's time (a review)
    first, last = i.get("created") or i.get("started"), i.get("started")
    later = isinstance(first, (int, float)) and isinstance(last, (int, float)) \
        and last - first > 60
    rows = [("Run folder", d.run_dir), ("Status", i.get("status") or "—"),
            ("Started", _when(first))]
    rows += [("Last session began", _when(last))] if later else []
    # a stopped run's stop time had stood under "Finished" (a review)
    ended = {"stopped": "Stopped", "failed": "Failed"}.get(str(i.get("status")), "Finished")
    rows += [(ended, _when(i.get("finished"))),
             ("Training time" + (" (all sessions)" if later else ""),
              f"{i['seconds']:.0f} s" if i.get("seconds") else "—"),
             ("Device", (i.get("device") or {}).get("kind", "—")),
             ("Best epoch", i.get("best_epoch") or "—"),
             ("Validation accuracy", f"{acc:.2%}" if isinstance(acc, (int, float)) else "—")]
    return "<h2>Overview</h2>" + _table(("", ""), rows)


def _data_section(d: ReportData) -> str:
    s = d.data
    out = ["<h2>Data</h2>", f"<p class='muted'>From {escape(s.source or 'nothing')}.</p>"]
    subsets = list(s.counts)
    classes = sorted({c for per in s.counts.values() for c in per},
                     key=lambda c: list(next(iter(s.counts.values()), {})).index(c)
                     if c in next(iter(s.counts.values()), {}) else 1 << 30)
    if subsets:
        rows = [[c] + [s.counts[k].get(c, 0) for k in subsets] for c in classes]
        rows.append(["total"] + [sum(s.counts[k].values()) for k in subsets])
        out.append(_table(["class"] + subsets, rows))
    if s.examples:
        out.append("<h3>One image per class</h3><div class='thumbs'>")
        for cls, path in s.examples.items():
            out.append(thumbnail_figure(path, escape(cls)))
        out.append("</div>")
    out += [f"<p class='bad'>{escape(w)}</p>" for w in s.warnings]
    if s.problems:
        out.append(f"<h3>Problems ({len(s.problems)} files left out)</h3>")
        out.append(_table(("file", "kind", "reason"),
                          [(p["path"], p["kind"], p["reason"]) for p in s.problems[:200]]))
        if len(s.problems) > 200:
            out.append(f"<p class='muted'>… and {len(s.problems) - 200} more.</p>")
    elif s.source.startswith("scan"):
        out.append("<p>No problem files.</p>")
    return "".join(out)


def thumbnail_figure(path: str, caption: str) -> str:
    """A thumbnail with its caption (a placeholder line when the image is gone: a <span>,
    since the PDF finds a row of thumbnails by its closing </div>)."""
    uri = thumbnail_uri(path)
    img = (f"<img src='{uri}' alt='{escape(os.path.basename(path))}'>" if uri
           else "<span class='muted'>(image not available)</span><br>")
    return f"<figure>{img}<figcaption>{caption}<br><code>{escape(os.path.basename(path))}" \
           "</code></figcaption></figure>"


def _settings_section(d: ReportData) -> str:
    if not d.settings:
        return ("<h2>Settings</h2><p class='muted'>Not known: the run's config.json could not "
                "be read (see the note at the top).</p>")
    rows = "".join(f"<tr class='{'changed' if changed else ''}'><td>{escape(label)}</td>"
                   f"<td>{escape(value)}</td><td class='muted'><code>{escape(path)}</code></td></tr>"
                   for path, label, value, changed in d.settings)
    return ("<h2>Settings</h2><p class='muted'>Bold: changed from the default.</p>"
            f"<table><tr><th>setting</th><th>value</th><th>name</th></tr>{rows}</table>")


def _curves_section(d: ReportData) -> str:
    h = d.history
    if not h:
        return "<h2>Training curves</h2><p class='muted'>No epochs recorded.</p>"
    xs = [r.get("global_epoch") or n + 1 for n, r in enumerate(h)]
    markers = [(xs[n], str(r.get("phase"))) for n, r in enumerate(h)
               if n and r.get("phase") != h[n - 1].get("phase")]
    acc = line_chart("accuracy", xs, {"train": [r.get("accuracy") for r in h],
                                      "validation": [r.get("val_accuracy") for r in h]},
                     (0.0, 1.0), markers)
    loss = line_chart("loss", xs, {"train": [r.get("loss") for r in h],
                                   "validation": [r.get("val_loss") for r in h]}, None, markers)
    return f"<h2>Training curves</h2><h3>Accuracy</h3>{acc}<h3>Loss</h3>{loss}"


def _scores_section(d: ReportData, max_mistakes: int) -> str:
    m = d.metrics
    if not m and d.no_scores:
        return f"<h2>Scores</h2><p class='muted'>No scores: {escape(d.no_scores)}.</p>"
    if not m:  # "see the note at the top" only when there is one to see
        told = any(n.startswith("metrics.json") for n in d.notes)
        return ("<h2>Scores</h2><p class='muted'>No scores: " + (
            "its metrics.json could not be read (see the note at the top).</p>" if told else
            "the run has not finished.</p>"))
    shown = Metrics.from_dict(m)  # gather checked it
    out = ["<h2>Scores</h2>",
           f"<p>Accuracy <b>{m['accuracy']:.2%}</b> on {m['n_images']} validation images; "
           f"macro F1 {m.get('macro_f1', 0):.3f} ({escape(shown.macro_f1_words())}).</p>",
           *(f"<p class='bad'>⚠ {escape(note)}</p>"
             for note in cautions(shown.confusion, shown.classes)),
           _table(("class", "precision", "recall", "F1", "images"),
                  [(c.name, *shown.score_texts(i), c.support)
                   for i, c in enumerate(shown.per_class)]),
           _confusion(m.get("classes", []), m.get("confusion", []))]
    mistakes = m.get("mistakes", [])[:max(0, max_mistakes)]
    out.append("<h3>Most confident mistakes</h3>")
    if max_mistakes <= 0:
        out.append("<p class='muted'>Not shown: the report was asked for none.</p>")
    elif not mistakes and float(m.get("accuracy", 1.0)) < 1.0:
        out.append("<p class='muted'>The run recorded no mistakes to show.</p>")
    elif mistakes:
        out.append("<div class='thumbs'>")
        out += [thumbnail_figure(x["path"], f"{escape(x['true_label'])} → <b>"
                        f"{escape(x['predicted_label'])}</b> {x['confidence']:.0%}")
                for x in mistakes]
        out.append("</div>")
    else:
        out.append(f"<p>{NO_MISTAKES}</p>")
    return "".join(out)


def _confusion(classes: list[str], cm: list[list[int]]) -> str:
    """The matrix, or above :data:`MATRIX_CLASSES` classes the most confused pairs: 60
    columns ran over eight A4 pages, cut off at the right edge (a scale review)."""
    if len(classes) > MATRIX_CLASSES:
        pairs = confused_pairs(classes, cm)
        rows = pairs[:MOST_CONFUSED]
        more = len(pairs) - len(rows)
        return ("<h3>Most confused classes</h3><p class='muted'>The largest cells of the "
                f"{len(classes)}×{len(classes)} confusion matrix outside its diagonal"
                + (f" ({more} smaller ones not listed)" if more > 0 else "")
                + "; the whole matrix is in the run's metrics.json.</p>"
                + (_table(("images", "true class", "taken for"), rows) if rows else
                   "<p>None: no image was taken for another class.</p>"))
    top = max([v for row in cm for v in row] + [1])
    # Columns by number, as the Evaluate page: 15 names of 30 letters across printed 2 of
    # the 15 columns on A4 (a report review); each row names its number.
    head = "".join(f"<th title='{escape(c)}'>{i}</th>" for i, c in enumerate(classes, 1))
    rows = []
    for i, (name, row) in enumerate(zip(classes, cm), 1):
        cells = "".join(f"<td style='background:rgba(31,119,180,{0.08 + 0.6 * v / top:.2f})'>"
                        f"{v}</td>" for v in row)
        rows.append(f"<tr><th>{i} {escape(name)}</th>{cells}</tr>")
    return ("<h3>Confusion matrix</h3><p class='muted'>Rows: true class; columns: predicted, "
            "numbered as the rows.</p>"
            f"<table class='cm'><tr><th>true \\ predicted</th>{head}</tr>{''.join(rows)}</table>")


def _calibration_section(d: ReportData) -> str:
    m, cal = d.metrics or {}, d.calibration
    why = f"<p class='bad'>Not calibrated: {escape(d.not_calibrated)}.</p>" \
        if d.not_calibrated else ""
    if not cal and not m.get("reliability"):
        return "<h2>Calibration</h2>" + (why or "<p class='muted'>Not calibrated.</p>")
    out = ["<h2>Calibration</h2>", why]
    pair = figures_calibration(m) or {}
    since = pair.pop(RECALIBRATED, None)  # calibrated again on changed images: the figures
    shown = pair if since else (cal or {})  # keep the calibration they were scored with
    before, after = shown.get("ece_before"), shown.get("ece_after")
    if isinstance(before, (int, float)) and isinstance(after, (int, float)):
        out.append(f"<p>Expected calibration error on validation: {after:.3f} after "
                   f"calibration ({before:.3f} before). {escape(ece_rose_note(shown))}</p>")
    elif isinstance(m.get("ece"), (int, float)):
        out.append(f"<p>Expected calibration error on validation: {m['ece']:.3f}.</p>")
    if not cal and not since and d.info.get("status") in UNFINISHED:
        out.append(f"<p>{NOT_YET_TEXT} (resume it: 'python main.py train --resume "
                   f"{escape(d.run_dir)}').</p>")
    if since:
        out.append(f"<p class='bad'>{escape(since_text(since, pair or None))} The table "
                   "below is the calibration in use now.</p>")
    if cal and cal.get("unknown_threshold") is None:  # only "unknown_threshold —" said it
        out.append("<p>“Say unknown” is switched off for this run: predict, serve and its "
                   "exports made since never answer “unknown”. Switch it on on the Predict "
                   "page (or run 'python main.py calibrate' on the run) to have it again.</p>")
    if cal:
        out.append(_table(("", ""), calibration_rows(cal)))
    out.append(reliability_chart(m.get("reliability", [])))
    return "".join(out)


def _exports_section(d: ReportData) -> str:
    if not d.exports:
        return "<h2>Exports</h2><p class='muted'>No exports recorded in the run history.</p>"
    rows = []
    for e in d.exports:
        det = e.get("details") or {}
        parity = det.get("parity") or {}
        size = e.get("size_bytes")
        # the size as the Runs page shows it, the parity check as the export's report words
        # it (it was a byte count and a dump of the record's keys)
        stale = e.get(STALE)  # calibrated again since: "passed" no longer holds
        rows.append((e.get("format"), e.get("path"),
                     human_size(size).replace(" ", "\u00a0")  # "9.6 MB" on one line
                     if isinstance(size, (int, float)) else None,
                     f"out of date: {stale}" if stale else det.get("status"),
                     "no" if stale else det.get("trusted"), det.get("latency_ms"),
                     parity_figures_text(parity) if isinstance(parity, dict) else None,
                     _when(e.get("created"))))
    return "<h2>Exports</h2>" + _table(("format", "file", "size", "status", "passed",
                                        "latency ms", "parity", "when"), rows)


def render_report(d: ReportData, max_mistakes: int = 12) -> str:
    """The whole HTML document for ``d``."""
    notes = "".join(f"<li>{escape(n)}</li>" for n in d.notes)
    body = [f"<h1>{escape(d.title)}</h1>",
            f"<p class='muted'>Fine-Tune Studio run report, written "
            f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}.</p>",
            f"<ul class='bad'>{notes}</ul>" if notes else "",
            _overview(d), _data_section(d), _settings_section(d), _curves_section(d),
            _scores_section(d, max_mistakes), _calibration_section(d), _exports_section(d)]
    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(d.title)} — report</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")
    # A file name that is not UTF-8 (Python keeps its bytes as lone surrogates) is shown
    # as \xNN escapes: written raw, it stopped the report with a UnicodeEncodeError.
    # Control characters of a name (ESC) are not allowed in HTML: shown as \xNN, as the
    # terminal shows them.
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", shown_text(page))


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def write_report(run_dir: str | os.PathLike, out: str | os.PathLike, max_mistakes: int = 12,
                 listener=None, cancel=None) -> Path:
    """Write ``run_dir``'s report to ``out`` (atomically); returns the path written.

    ``listener``/``cancel`` are the ones every gui.jobs function gets; a cancel
    before the write leaves ``out`` untouched.
    """
    path = Path(out)
    data = gather(run_dir)
    html = render_report(data, max_mistakes)
    if cancel is not None:
        cancel.raise_if_cancelled()
    atomic_write_text(path, html)
    for note in data.notes:  # the command line said only "wrote" (a message review)
        emit(listener, Log(note, "warning"))
    return path
