"""Pictures for the report, drawn by hand so the file needs nothing to view: SVG and PNG data URIs.

matplotlib is not a dependency of the app; a line chart and a reliability
diagram are a few dozen SVG elements, which also print sharp at any size.
"""

from __future__ import annotations

import base64
import io
from html import escape
from typing import Optional, Sequence

import numpy as np

W, H = 520, 240
PAD_L, PAD_R, PAD_T, PAD_B = 48, 110, 14, 34
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def _num(v: float) -> str:
    return f"{v:.1f}"


def line_chart(title: str, xs: Sequence[float], series: dict[str, Sequence[Optional[float]]],
               y_range: Optional[tuple[float, float]] = None,
               markers: Sequence[tuple[float, str]] = ()) -> str:
    """An inline SVG line chart; ``series`` maps a legend name to y values (None: a gap)."""
    values = [v for ys in series.values() for v in ys if v is not None and np.isfinite(v)]
    if not xs or not values:
        return f"<p class='muted'>{escape(title)}: nothing recorded.</p>"
    lo, hi = y_range or (min(values), max(values))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1 = min(xs), max(xs)
    span = (x1 - x0) or 1.0
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def px(x):
        return PAD_L + (x - x0) / span * pw

    def py(y):
        return PAD_T + (1 - (y - lo) / (hi - lo)) * ph

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {H}' role='img' "
             f"aria-label='{escape(title)}' class='chart'>",
             f"<rect x='{PAD_L}' y='{PAD_T}' width='{pw}' height='{ph}' fill='none' "
             "stroke='#999'/>"]
    for i in range(5):
        y = lo + (hi - lo) * i / 4
        parts.append(f"<line x1='{PAD_L}' x2='{PAD_L + pw}' y1='{_num(py(y))}' "
                     f"y2='{_num(py(y))}' stroke='#eee'/>"
                     f"<text x='{PAD_L - 4}' y='{_num(py(y) + 4)}' text-anchor='end' "
                     f"font-size='10'>{y:.3g}</text>")
    for x in sorted(set(int(v) for v in xs))[:: max(1, len(set(xs)) // 10)]:
        parts.append(f"<text x='{_num(px(x))}' y='{H - PAD_B + 14}' text-anchor='middle' "
                     f"font-size='10'>{x}</text>")
    parts.append(f"<text x='{PAD_L + pw / 2}' y='{H - 4}' text-anchor='middle' "
                 "font-size='11'>epoch</text>")
    for x, label in markers:
        # in the right quarter the label goes left of its line: right of it, it ran into
        # the legend beside the plot (a report review)
        left = px(x) > PAD_L + 0.75 * pw
        at, anchor = (px(x) - 3, "end") if left else (px(x) + 3, "start")
        parts.append(f"<line x1='{_num(px(x))}' x2='{_num(px(x))}' y1='{PAD_T}' "
                     f"y2='{PAD_T + ph}' stroke='#888' stroke-dasharray='4 3'/>"
                     f"<text x='{_num(at)}' y='{PAD_T + 11}' font-size='10' "
                     f"text-anchor='{anchor}' fill='#555'>{escape(label)}</text>")
    for n, (name, ys) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        points = [(px(x), py(y)) for x, y in zip(xs, ys) if y is not None and np.isfinite(y)]
        if points:
            path = " ".join(f"{_num(a)},{_num(b)}" for a, b in points)
            parts.append(f"<polyline points='{path}' fill='none' stroke='{colour}' "
                         "stroke-width='2'/>")
            parts.extend(f"<circle cx='{_num(a)}' cy='{_num(b)}' r='2.5' fill='{colour}'/>"
                         for a, b in points)
        ly = PAD_T + 14 + 16 * n
        parts.append(f"<line x1='{W - PAD_R + 8}' x2='{W - PAD_R + 26}' y1='{ly - 4}' "
                     f"y2='{ly - 4}' stroke='{colour}' stroke-width='2'/>"
                     f"<text x='{W - PAD_R + 30}' y='{ly}' font-size='11'>{escape(name)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def reliability_chart(bins: Sequence[dict]) -> str:
    """Accuracy against confidence per bin (the diagonal is a perfectly calibrated model),
    as the window draws it: the gap between each bar and the diagonal at the bin's
    confidence in red, tick labels, and a strip of the images per bin with their counts.
    Printed, the bare bars said nothing: a bin of one wrong image was drawn as no bar at
    all, and the counts were only in hover text (a review)."""
    used = [b for b in bins if b.get("count")]
    if not used:
        return "<p class='muted'>No reliability bins recorded.</p>"
    left, top, inner, strip = 44, 10, 240, 34
    bottom = top + inner
    width, height = left + inner + 12, bottom + 22 + strip + 22
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
             "role='img' aria-label='reliability diagram' class='chart square'>",
             f"<rect x='{left}' y='{top}' width='{inner}' height='{inner}' fill='none' "
             "stroke='#999'/>"]
    for v in (0, 0.25, 0.5, 0.75, 1):  # ticks: accuracy up the side, confidence along
        y, x = _num(bottom - v * inner), _num(left + v * inner)
        parts.append(f"<line x1='{left - 3}' y1='{y}' x2='{left + inner}' y2='{y}' "
                     f"stroke='#eee'/><text x='{left - 5}' y='{_num(bottom - v * inner + 3)}' "
                     f"font-size='9' text-anchor='end'>{v:.0%}</text>"
                     f"<text x='{x}' y='{bottom + 12}' font-size='9' "
                     f"text-anchor='middle'>{v:.0%}</text>")
    most = max(int(b["count"]) for b in used)
    for b in used:
        lo, hi, n = float(b["low"]), float(b["high"]), int(b["count"])
        acc, conf = float(b["accuracy"]), float(b.get("confidence", (lo + hi) / 2))
        x, w = left + lo * inner, max(1.0, (hi - lo) * inner - 1)
        tip = f"<title>{lo:.2f}-{hi:.2f}: {n} images, accuracy {acc:.2f}</title>"
        parts.append(f"<rect x='{_num(x)}' y='{_num(bottom - acc * inner)}' width='{_num(w)}' "
                     f"height='{_num(acc * inner)}' fill='#1f77b4' fill-opacity='0.75'>"
                     f"{tip}</rect>")
        gap_top, gap_low = max(acc, conf), min(acc, conf)
        if gap_top - gap_low > 0.002:  # over- or under-confidence: the bin's gap, in red
            parts.append(f"<rect x='{_num(x)}' y='{_num(bottom - gap_top * inner)}' "
                         f"width='{_num(w)}' height='{_num((gap_top - gap_low) * inner)}' "
                         f"fill='#d62728' fill-opacity='0.35' stroke='#d62728' "
                         f"stroke-width='0.6'>{tip}</rect>")
        h = max(1.0, (strip - 12) * n / most)
        base = bottom + 22 + strip
        parts.append(f"<rect x='{_num(x)}' y='{_num(base - h)}' width='{_num(w)}' "
                     f"height='{_num(h)}' fill='#6f7f90'/><text x='{_num(x + w / 2)}' "
                     f"y='{_num(base - h - 2)}' font-size='8' text-anchor='middle'>{n}</text>")
    total = sum(int(b["count"]) for b in used)
    parts.append(f"<line x1='{left}' y1='{bottom}' x2='{left + inner}' y2='{top}' stroke='#555' "
                 "stroke-dasharray='4 3'/>"
                 f"<text x='{left + inner / 2}' y='{height - 6}' text-anchor='middle' "
                 "font-size='11'>confidence</text><text x='12' y='{0}' font-size='11' "
                 "transform='rotate(-90 12 {0})' text-anchor='middle'>accuracy</text>"
                 "</svg>".format(top + inner / 2))
    parts.append(f"<p class='muted'>Blue: how often the answers in each confidence bin were "
                 f"right; red: the gap to the dashed diagonal (a perfectly calibrated model); "
                 f"grey, under it: the images in each bin ({total} in all).</p>")
    return "".join(parts)


def png_data_uri(pixels: np.ndarray) -> str:
    """An RGB uint8 array as a ``data:image/png;base64,...`` URI."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def thumbnail_uri(path: str, max_side: int = 128) -> Optional[str]:
    """The file as a small embedded PNG (decoded like the app does), None when it cannot be read."""
    from core.data.imageio import ImageError, load_thumbnail

    try:
        return png_data_uri(load_thumbnail(path, max_side))
    except (ImageError, OSError, ValueError):
        return None
