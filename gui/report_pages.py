"""Page breaks for the PDF report: a table shorter than a page is never cut by a page edge.

:class:`QTextDocument` splits a table wherever the page ends, line by line: a row of
mistake thumbnails printed its pictures at the foot of one page and their captions at the
top of the next (a review), and a short table (per-class scores, exports) could be split
the same way.  Qt's HTML has no ``page-break-inside: avoid``, so the laid-out document is
walked instead: a table that would cross a page edge starts a new page, together with the
heading (and the note under it) that introduces it.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtGui import QTextBlock, QTextCursor, QTextDocument, QTextFormat, QTextTable

#: Blocks before a moved table that go with it when one of them is a heading (a heading,
#: then its note, as "Confusion matrix" / "Rows: true class; …").
LEAD_BLOCKS = 2


def keep_tables_whole(doc: QTextDocument) -> int:
    """Give every top-level table of the paginated ``doc`` that is shorter than a page but
    crosses a page edge, or whose heading was left at the foot of the page before, a page
    break before it (before its heading when it has one); how many moved."""
    layout, page = doc.documentLayout(), doc.pageSize().height()
    moved = 0
    for frame in doc.rootFrame().childFrames():
        if not isinstance(frame, QTextTable):
            continue
        rect = layout.frameBoundingRect(frame)  # laid out again after each move
        if rect.height() >= page:
            continue
        heading = _heading_before(frame)
        first = layout.blockBoundingRect(heading).top() if heading is not None else rect.top()
        if int(first // page) == int((rect.bottom() - 1) // page):
            continue
        if heading is not None:
            fmt = heading.blockFormat()
            fmt.setPageBreakPolicy(QTextFormat.PageBreak_AlwaysBefore)
            QTextCursor(heading).setBlockFormat(fmt)
        else:
            fmt = frame.format()
            fmt.setPageBreakPolicy(QTextFormat.PageBreak_AlwaysBefore)
            frame.setFormat(fmt)
        moved += 1
    return moved


def _heading_before(table: QTextTable) -> Optional[QTextBlock]:
    """The heading among the :data:`LEAD_BLOCKS` blocks just before ``table``, if any."""
    doc = table.document()
    block = doc.findBlock(table.firstPosition()).previous()
    for _ in range(LEAD_BLOCKS):
        if not block.isValid() or not block.text() \
                or QTextCursor(block).currentFrame() is not doc.rootFrame():
            return None  # the empty line after another table, or a cell of one
        if block.blockFormat().headingLevel() > 0:
            return block
        block = block.previous()
    return None
