"""The PDF report's pages (gui.report_pdf): what Qt's text layout does at a page edge."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QTextTable


def _tables_cut(doc) -> list[tuple[float, float]]:
    """(top, bottom) of each top-level table shorter than a page that a page edge cuts."""
    page = doc.pageSize().height()
    cut = []
    for frame in doc.rootFrame().childFrames():
        if isinstance(frame, QTextTable):
            r = doc.documentLayout().frameBoundingRect(frame)
            if r.height() < page and int(r.top() // page) != int((r.bottom() - 1) // page):
                cut.append((r.top(), r.bottom()))
    return cut


def test_no_thumbnail_row_or_short_table_is_cut_by_a_page_edge(qapp, tmp_path):
    """(a review) A row of mistake thumbnails printed its pictures at the foot of a page and
    their captions ("red round thing 34%", the file names) at the top of the next."""
    from core.report.html import CSS, thumbnail_figure
    from gui.report_pdf import _document, a4_writer

    pictures = []
    for n in range(7):
        path = tmp_path / f"img_{n}.png"
        Image.fromarray(np.full((64, 64, 3), 30 * n, np.uint8)).save(path)
        pictures.append(thumbnail_figure(str(path), "a long class name → <b>another long "
                                         "class name</b> 34%"))
    scores = "<table>" + "".join(f"<tr><td>class {n}</td><td>0.5</td></tr>"
                                 for n in range(12)) + "</table>"
    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    writer = a4_writer(buf)
    cut_before = 0
    for lines in range(0, 120, 3):  # every place on the page the rows can fall
        html = (f"<html><head><style>{CSS}</style></head><body>"
                + "<p>filler</p>" * lines + "<h3>Per-class scores</h3>" + scores
                + "<h3>Most confident mistakes</h3><div class='thumbs'>" + "".join(pictures)
                + "</div><p>after</p></body></html>")
        doc = _document(html, writer)
        assert _tables_cut(doc) == [], lines
        heading = doc.find("Most confident mistakes").block()
        first_row = next(f for f in doc.rootFrame().childFrames()
                         if isinstance(f, QTextTable) and f.firstPosition() > heading.position())
        page = doc.pageSize().height()
        top = doc.documentLayout().blockBoundingRect(heading).top()
        row = doc.documentLayout().frameBoundingRect(first_row).top()
        assert int(top // page) == int(row // page), lines  # the heading goes with it
        cut_before += 1
    assert cut_before == 40


def test_the_confusion_matrix_row_names_start_at_the_left_in_the_pdf(qapp):
    """(a review) QTextDocument centres a <th>: the matrix's row names ("1 cat", "2 a much
    longer class name") each started somewhere else; the HTML aligns them left."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QTextDocument

    from core.report.html import CSS, _confusion
    from gui.report_pdf import printable_html

    html = f"<style>{CSS}</style>" + _confusion(["cat", "a much longer class name"],
                                                [[3, 1], [0, 4]])
    doc = QTextDocument()
    doc.setHtml(printable_html(html))
    for name in ("1 cat", "2 a much longer class name"):
        cursor = doc.find(name)
        assert not cursor.isNull(), name
        assert cursor.block().blockFormat().alignment() & Qt.AlignLeft, name


def test_the_pdf_prints_its_text_at_the_size_its_style_asks(qapp):
    """(a review) The pages were measured at 150 dpi, the text laid out at the screen's 96:
    every font printed at 96/150 of its size (body text 5.8 pt instead of 9 pt)."""
    from core.report.html import CSS
    from gui.report_pdf import _document, a4_writer

    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    writer = a4_writer(buf)
    doc = _document(f"<style>{CSS}</style><p>Accuracy on 9 validation images</p>"
                    "<table><tr><td>Validation share</td></tr></table>", writer)
    for text in ("Accuracy", "Validation share"):
        block = doc.find(text).block()
        line = block.layout().lineAt(0)
        points = line.ascent() / writer.resolution() * 72  # the capitals' height and more
        assert 6.5 <= points <= 9, (text, points)  # 9 pt Sans: ascent about 8.4 pt
