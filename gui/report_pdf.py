"""A run's report as a PDF, with Qt's own PDF writer (no browser engine needed).

The HTML report (:mod:`core.report.html`) is the one to hand on; some people
need a PDF (to attach to a lab notebook, to file with a QA record).  Qt's
:class:`QTextDocument` lays out a subset of HTML and :class:`QPdfWriter`
prints it on A4, both in PySide6-Essentials, so no second rendering stack is
installed for it.  Two things the subset lacks are handled here: inline SVG
charts are drawn to PNG with :class:`QSvgRenderer` first, and the CSS is
replaced by a plain style sheet that :class:`QTextDocument` understands.  The
PDF is laid out more plainly than the HTML (no flex rows of thumbnails, for
one); every section, table and picture is in it.

Painting a :class:`QTextDocument` on a :class:`QPdfWriter` is allowed outside
the GUI thread (Qt supports QPainter on printers and images in threads), so
this runs as a worker job.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF, Qt
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument
from PySide6.QtSvg import QSvgRenderer

from core.fsutil import atomic_write_bytes
from gui.report_pages import keep_tables_whole

_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_STYLE = re.compile(r"<style>.*?</style>", re.S)
_THUMBS = re.compile(r"<div class='thumbs'>(.*?)</div>", re.S)
_FIGURE = re.compile(r"<figure>(.*?)</figure>", re.S)
_CHANGED = re.compile(r"<tr class='changed'>(.*?)</tr>", re.S)
_SHADED = re.compile(r"<td style='background:rgba\((\d+),(\d+),(\d+),([\d.]+)\)'>")
THUMBS_PER_ROW = 5
#: What QTextDocument's CSS subset can do of the HTML report's style.
PDF_CSS = """
body { font-family: sans-serif; font-size: 9pt; color: #222; }
h1 { font-size: 16pt; } h2 { font-size: 12pt; margin-top: 14px; } h3 { font-size: 10pt; }
th { background-color: #f3f3f3; text-align: left; } td.n { text-align: right; }
.muted { color: #666; } .bad { color: #b00020; } code { font-size: 8pt; }
"""


def layout_dpi() -> int:
    """The resolution QTextDocument lays text out at (Qt's default: the screen's logical DPI,
    100 without one), which the PDF's pages must be measured in: at 150 dpi every font of
    the PDF printed at 96/150 of its size, body text at 5.8 pt instead of 9 (a review).
    Charts are drawn at twice their size whatever this is (:func:`printable_html`)."""
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    return round(screen.logicalDotsPerInchY()) if screen is not None else 100


def svg_to_png_uri(svg: str, width_px: int) -> str:
    """One inline ``<svg>`` drawn to a ``data:image/png`` URI ``width_px`` wide."""
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    size = renderer.defaultSize()
    if not renderer.isValid() or size.width() <= 0:
        return ""
    height = max(1, round(width_px * size.height() / size.width()))
    image = QImage(width_px, height, QImage.Format_ARGB32)
    image.fill(Qt.white)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    image.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(bytes(buf.data())).decode("ascii")


def printable_html(html: str) -> str:
    """The report's HTML in the subset QTextDocument lays out: charts as PNG, a plain style."""
    def chart(match: re.Match) -> str:
        svg = match.group(0)
        square = "class='chart square'" in svg or 'class="chart square"' in svg
        width = 260 if square else 480  # the HTML's max widths, in CSS px
        uri = svg_to_png_uri(svg, width * 2)
        return f"<p><img src='{uri}' width='{width}'></p>" if uri else ""

    html = _STYLE.sub(f"<style>{PDF_CSS}</style>", html, count=1)
    html = _SVG.sub(chart, html)
    # Border-collapsed tables are CSS QTextDocument ignores; ask for cell borders plainly.
    html = html.replace("<table", "<table border='1' cellspacing='0' cellpadding='3'")
    html = _SHADED.sub(_cell_colour, html)  # a confusion matrix's shades, as cell colours
    # "Bold: changed from the default": QTextDocument ignores ".changed td", so the PDF's
    # changed settings were not bold; their cells are made bold one by one.
    html = _CHANGED.sub(lambda m: "<tr>" + m.group(1).replace(
        "<td>", "<td style='font-weight:600'>") + "</tr>", html)
    return _THUMBS.sub(_thumb_table, html)  # after the borders: thumbnails have none


def _cell_colour(match: re.Match) -> str:
    """``<td style='background:rgba(...)'>`` as the opaque ``bgcolor`` it looks like on white."""
    r, g, b, a = (float(v) for v in match.groups())
    mixed = [round(255 + (c - 255) * min(1.0, a)) for c in (r, g, b)]
    return "<td bgcolor='#{:02x}{:02x}{:02x}'>".format(*mixed)


def _thumb_table(match: re.Match) -> str:
    """A row of ``<figure>`` thumbnails (a CSS flex box) as a borderless table."""
    cells = [f"<td width='20%' valign='top'>{m.group(1).replace('figcaption', 'div')}</td>"
             for m in _FIGURE.finditer(match.group(1))]
    rows = ["".join(cells[i:i + THUMBS_PER_ROW]) for i in range(0, len(cells), THUMBS_PER_ROW)]
    # a table per row, so that a row moves whole to the next page (see keep_tables_whole)
    return "".join(f"<table class='thumbs'><tr>{r}</tr></table>" for r in rows)


def _document(html: str, writer: QPdfWriter) -> QTextDocument:
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setHtml(printable_html(html))
    rect = writer.pageLayout().paintRectPixels(writer.resolution())
    doc.setPageSize(QSizeF(rect.width(), rect.height()))
    keep_tables_whole(doc)
    return doc


def a4_writer(device: QIODevice) -> QPdfWriter:
    """A PDF writer of A4 pages with the report's margins, in :func:`layout_dpi` units."""
    writer = QPdfWriter(device)
    writer.setResolution(layout_dpi())
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.A4), QPageLayout.Portrait,
                                     QMarginsF(14, 16, 14, 16), QPageLayout.Millimeter))
    return writer


def write_pdf(html: str, out: str | os.PathLike, title: str = "Fine-Tune Studio report") -> Path:
    """Lay ``html`` (a report from :func:`core.report.html.render_report`) out on A4 into ``out``.

    The PDF is built in memory and written atomically: a failed or cancelled
    print never leaves half a file.
    """
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    writer = a4_writer(buf)
    writer.setTitle(title)
    writer.setCreator("Fine-Tune Studio")
    doc = _document(html, writer)
    doc.print_(writer)
    buf.close()
    atomic_write_bytes(Path(out), bytes(data))
    return Path(out)


REPORT_SUFFIXES = (".html", ".htm", ".pdf")


def report_job(run_dir: str, out: str, listener=None, cancel=None) -> str:
    """Worker side: write ``run_dir``'s report to ``out``, HTML or (by the suffix) PDF.

    ``out`` is checked as ``report --out`` checks it, before any work: it must end in
    .html, .htm or .pdf and must not be one of a run folder's own files (a name typed in
    the Save dialog replaced a run's model.keras, or any picked file, with HTML).
    """
    from core.cli.output_path import check_output_file
    from core.report.gather import gather
    from core.report.html import render_report, write_report

    check_output_file(out, "the report", REPORT_SUFFIXES)
    if Path(out).suffix.lower() != ".pdf":
        return str(write_report(run_dir, out, listener=listener, cancel=cancel))
    html = render_report(gather(run_dir))
    if cancel is not None:
        cancel.raise_if_cancelled()
    return str(write_pdf(html, out, title=f"{Path(run_dir).name} — report"))
