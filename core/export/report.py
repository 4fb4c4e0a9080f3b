"""What an export did, per format: the report the CLI prints and the Export page shows.

A format ends in one of four states (:data:`STATUS_TEXT`): ``ok`` (built, and its
own runtime answers like the app), ``parity_failed`` (built, but its answers
differ beyond its bound), ``not_checked`` (built, but its runtime could not be
run, so nobody knows) and ``failed`` (not built).  Only ``ok`` is trusted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import numpy as np

from core.shown import human_size, one_line
from core.typed_json import json_safe

#: How each status reads in the text report.
STATUS_TEXT = {"ok": "ok", "parity_failed": "FAILED parity", "not_checked": "not checked",
               "failed": "FAILED"}


@dataclass
class FormatResult:
    """What happened to one format; ``status`` is a key of :data:`STATUS_TEXT`."""

    format: str
    status: str = "failed"
    path: str = ""
    size_bytes: int = 0
    latency_ms: Optional[float] = None
    parity: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def written(self) -> bool:
        """True when the format's file is in the export folder (trusted or not)."""
        return self.status != "failed"


@dataclass
class ExportReport:
    source: str
    out_dir: str
    classes: list[str]
    image_size: int
    backbone: str
    parity_images: int = 0
    parity_source: str = ""
    results: list[FormatResult] = field(default_factory=list)
    written: bool = False
    # Formats of an earlier export of the same model left in the folder as they were.
    kept_formats: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    @property
    def failed(self) -> list[FormatResult]:
        return [r for r in self.results if not r.ok]

    def result(self, fmt: str) -> FormatResult:
        for r in self.results:
            if r.format == fmt:
                return r
        raise KeyError(fmt)

    def to_dict(self) -> dict:
        d = json_safe(asdict(self))
        d["ok"] = self.ok
        return d

    def to_text(self, shown: Callable[[str], str] = one_line) -> str:
        """The report for a terminal; the model's and the export folder's names go through
        ``shown`` (the command line passes its terminal escaping, ``core.cli.terminal.name``):
        a line break in a folder's name split its line, an escape sequence recoloured the
        terminal."""
        lines = [f"export of {shown(self.source)} ({self.backbone}, {self.image_size}x{self.image_size}, "
                 f"{len(self.classes)} classes)",
                 f"parity on up to {self.parity_images} {self.parity_source}", ""]
        lines.append(f"{'format':<12} {'status':<14} {'size':>9} {'latency':>10}  parity")
        for r in self.results:
            size = human_size(r.size_bytes) if r.size_bytes else "-"
            lat = f"{r.latency_ms:.2f} ms" if r.latency_ms is not None else "-"
            lines.append(f"{r.format:<12} {STATUS_TEXT[r.status]:<14} {size:>9} {lat:>10}  "
                         f"{parity_text(r)}")
        lines.extend(f"  {r.format}: {problem_text(r)}" for r in self.results if not r.ok)
        lines.extend(f"  {r.format}: {int8_text(r)}" for r in self.results
                     if int8_text(r))
        if self.kept_formats:
            lines.append(f"kept from the earlier export of this model: "
                         f"{', '.join(self.kept_formats)}")
        lines.append("")
        if self.written:
            lines.append(f"wrote {shown(self.out_dir)}")
        else:
            lines.append(f"nothing written to {shown(self.out_dir)}: every format failed")
        return "\n".join(lines)


def int8_text(r: FormatResult) -> str:
    """``3 layer(s) kept in float (a, b, c), +312 KB (+11%), ...; weights rounded for each
    layer's output (54 layers), biases corrected (51 layers)`` for an int8 file; "" for
    every other file."""
    sel = r.details.get("selective_quantization") if r.written else None
    if not isinstance(sel, dict):
        return ""
    edits = [f"{what} ({sel[key]['layers']} layers)" for key, what in (
        ("weight_rounding", "weights rounded for each layer's output"),
        ("bias_correction", "biases corrected")) if isinstance(sel.get(key), dict)
        and sel[key].get("applied")]
    names = sel.get("float_layers") or []
    if not names:
        return f"every layer int8; {', '.join(edits)}" if edits else ""
    extra = r.size_bytes - sel.get("fully_integer_size_bytes", r.size_bytes)
    return (f"{len(names)} layer(s) kept in float ({', '.join(names)}); "
            f"{human_size(abs(extra))} {'more' if extra >= 0 else 'less'} than all-int8, "
            f"latency {sel.get('fully_integer_latency_ms', 0):.1f} -> "
            f"{sel.get('latency_ms_in_export', 0):.1f} ms (1 thread, measured while exporting)"
            + "".join(f"; {e}" for e in edits))


def problem_text(r: FormatResult) -> str:
    """One line saying what went wrong with a format that is not ``ok``."""
    if r.status == "failed":
        return f"not exported: {r.error}"
    if r.status == "not_checked":
        return (f"written but not checked ({r.parity.get('reason', r.error)}); do not rely on "
                "it until a check passes")
    if r.status == "parity_failed":
        return (f"written but its answers differ from the app's ({r.parity.get('reason', '')}); "
                "do not trust it")
    return ""


def diff_text(p: dict) -> str:
    """``max |Δp| 0.0102 (bound 0.05)``, or "" when there is no difference to show."""
    diff = p.get("max_abs_diff")
    if diff is None or not np.isfinite(diff):
        return ""
    bound = p.get("max_diff_bound")
    return f"max |Δp| {diff:.3g}" + (f" (bound {bound:g})" if bound is not None else "")


def exact_agreement(p: dict) -> int:
    """Images whose top answer is the app's, near ties not forgiven (parity results written
    before ``top1_exact_count`` existed give it as the judged count less the forgiven flips)."""
    agree = int(p.get("top1_agree_count") or 0)
    exact = p.get("top1_exact_count")
    return int(exact) if exact is not None else agree - int(p.get("near_tie_flips") or 0)


def agreement_text(p: dict) -> str:
    """``31/32 (96.9%)``: how many images got the app's top answer, exactly; with
    ``; 2 near ties forgiven`` when the verdict did not count flips between two classes the
    app itself could hardly tell apart (quantized formats, :data:`core.export.parity.NEAR_TIE`)."""
    n, agree = p.get("n_images"), p.get("top1_agree_count")
    if n is None or agree is None:
        return ""
    if not n:
        return "0/0"
    forgiven = int(p.get("near_tie_flips") or 0)
    exact = exact_agreement(p)
    text = f"{exact}/{n} ({exact / n:.1%})"
    if forgiven:
        text += f"; {forgiven} near tie{'s' if forgiven != 1 else ''} forgiven"
    return text


def parity_text(r: FormatResult) -> str:
    """The parity figures on one line, e.g. ``max |Δp| 0.0102 (bound 0.05), top-1 31/32 ...``."""
    return parity_figures_text(r.parity)


def parity_figures_text(p: Optional[dict]) -> str:
    """:func:`parity_text` of a stored parity record (``metadata.json``, the run history)."""
    if not p:
        return "-"
    if not p.get("checked", True) or not diff_text(p) and not agreement_text(p):
        return p.get("reason", "not checked")
    parts = [t for t in (diff_text(p),) if t]
    if agreement_text(p):
        need = p.get("min_agreement")
        text = f"top-1 {agreement_text(p)}"
        if p.get("near_tie_flips") and p.get("n_images"):  # what the verdict counted, too
            n, agree, exact = p["n_images"], p.get("top1_agree_count"), exact_agreement(p)
            text = (f"top-1 {exact}/{n} ({exact / n:.1%}),"
                    f" {agree}/{n} with {p['near_tie_flips']} near tie(s) forgiven")
        parts.append(text + (f" (needs {need:.0%})" if need is not None and need < 1 else ""))
    if p.get("accuracy_export") is not None:
        parts.append(f"accuracy {p['accuracy_export']:.1%} (app {p['accuracy_app']:.1%})")
    u = p.get("unknown")
    if isinstance(u, dict):  # the bound on the line (a footnote had it); the flags "as the
        bound = u.get("max_diff_bound")  # app" ("'unknown' 24/24" read as 24 unknown)
        parts.append(f"unknown score max |Δ| {u.get('max_abs_diff', 0):.3g}"
                     + (f" (bound {bound:g} of the score above 1)" if bound is not None
                        else "") + f", 'unknown' or not as the app: "
                     f"{u.get('flag_agree_count')}/{u.get('n_images')}")
    return ", ".join(parts)
