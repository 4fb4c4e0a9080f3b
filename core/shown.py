"""How file names and sizes read in a message: one line, any bytes, human units.

File names are the user's and may hold anything: line breaks (printed raw they
would forge a line of output) and bytes that are not UTF-8 (kept by Python as
lone surrogates, which UTF-8 output cannot carry).
"""

from __future__ import annotations


def one_line(path: str) -> str:
    """A file name on one line of a message: its line breaks shown as ``\\n`` (a name may
    hold one; printed raw it would forge a line of output).  The CLI escapes the rest."""
    return str(path).replace("\r", "\\r").replace("\n", "\\n")


def shown_text(text: str) -> str:
    """``text`` with the bytes of a name that is not UTF-8 (kept by Python as lone
    surrogates, which UTF-8 output cannot carry) shown as ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def text_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide (CJK, most emoji) characters two, combining
    marks none; ``len`` put the counts after a Japanese class name out of line."""
    import unicodedata

    return sum(0 if unicodedata.category(c) in ("Mn", "Me", "Cf") else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def padded(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (see :func:`text_width`);
    ``right``: the spaces go before it."""
    pad = " " * max(0, width - text_width(text))
    return pad + text if right else text + pad


def cut_middle(text: str, limit: int) -> str:
    """``text`` cut in the middle to ``limit`` characters ("Tomato___…Leaf_Curl"): names
    that share a long start are still told apart by their ends."""
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 2 + 1
    return text[:limit - 1 - tail] + "…" + text[-tail:]


def cut_distinct(texts: list[str], limit: int) -> list[str]:
    """Each of ``texts`` cut to ``limit`` characters as :func:`cut_middle` does, except
    where that makes different texts alike: those are cut around the part where they
    differ ("production_line_00_defect_category_long_name" and its 14 siblings all read
    "production_lin…egory_long_name").  Where even that cannot tell them apart, the texts
    are given whole."""
    import os

    cut = [cut_middle(t, limit) for t in texts]
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(cut):
        groups.setdefault(c, []).append(i)
    for idx in groups.values():
        group = [texts[i] for i in idx]
        if len(set(group)) < 2:
            continue
        start = len(os.path.commonprefix(group))
        same_end = len(os.path.commonprefix([g[::-1] for g in group]))
        for i in idx:
            end = max(start, len(texts[i]) - same_end)
            cut[i] = _cut_around(texts[i], start, end, limit)
    return cut if len(set(cut)) == len(set(texts)) else list(texts)


def _cut_around(text: str, a: int, b: int, limit: int) -> str:
    """``text`` cut to ``limit`` characters keeping ``text[a:b]`` (as much of it as fits,
    from its start) with a little of the text's start and end, "…" where cut."""
    n = len(text)
    if n <= limit:
        return text
    spare = max(0, limit - (b - a) - 2)
    head, tail = min(a, spare // 4), min(n - b, spare // 4)
    w = limit - head - tail - 2
    if w < 1:
        return cut_middle(text, limit)
    s = max(0, min(a - max(0, (w - (b - a)) // 2), n - w))
    e = s + w
    left = text[:s] if s <= head + 1 else text[:head] + "…"
    right = text[e:] if n - e <= tail + 1 else "…" + text[n - tail:]
    return left + text[s:e] + right


def fixed(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, never "-0.00" (a score of -0.001 read as a
    negative zero in the Predict table)."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def elided(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with "…" when longer."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def isolated(name: str) -> str:
    """``name`` between Unicode's first-strong isolate marks, for a class name set in a line
    with numbers: a right-to-left name took the percentage to its other side
    ("7.2 قطة%" for "قطة 7.2%")."""
    return f"\u2068{name}\u2069"


def human_size(n: float) -> str:
    """A byte count as people read it: "512 B", "8.6 MB", in SI units as file managers,
    README's tables and the export report count them (it divided by 1024 and said MB)."""
    for unit in ("B", "KB", "MB", "GB"):
        shown = f"{n:.0f}" if unit == "B" else f"{n:.1f}"
        if float(shown) < 1000 or unit == "GB":  # as rounded: 999,960 B is 1.0 MB, not 1000.0 KB
            return f"{shown} {unit}"
        n /= 1000
    return str(n)


def when_text(ts, missing: str = "–", fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A recorded time as local date and time; ``missing`` for none, or for a value no clock
    can show (a hand-edited 1e20 or NaN raised OverflowError and emptied the Runs list)."""
    import math
    import time

    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not ts \
            or not math.isfinite(ts):
        return missing
    try:
        return time.strftime(fmt, time.localtime(ts))
    except (OverflowError, OSError, ValueError):
        return missing


def metric_text(value: float) -> str:
    """A loss or accuracy in a log line: four decimals, or four significant digits once it
    is huge (a diverging run's loss of 8.9e+21 was printed with 22 digits)."""
    return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"


def plural(n: int, word: str) -> str:
    """"1 epoch", "3 epochs"."""
    return f"{n} {word}" + ("" if n == 1 else "s")


#: The verbs :func:`verb` agrees with a count: their form for one thing, and for others.
_VERBS = {"is": "are", "was": "were", "has": "have"}


def verb(n: int, word: str) -> str:
    """"is" for 1 thing, "are" for 3 (likewise "was"/"were", "has"/"have"): the verb after
    :func:`plural`'s "1 image", "3 images"."""
    return word if n == 1 else _VERBS[word]
