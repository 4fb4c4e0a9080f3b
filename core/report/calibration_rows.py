"""The report's calibration table, in words.

It listed ``calibration.json``'s own field names and values ("unknown_keep 0.95",
"embedding_layer avg_pool", "version 1"), and gave the share of validation images the
threshold was asked to keep where it kept another (18 of 18: 100 %), which the Predict
page shows (a trust review).  A field this table does not know, or a value of the wrong
kind (a hand-edited file), is still shown, under its own name.
"""

from __future__ import annotations

from typing import Any

#: Fields said elsewhere (ECE: the paragraph above the table) or of no use to a reader.
_NOT_SHOWN = {"version", "ece_before", "ece_after"}
#: The unknown score's parts, as calibration.json's "unknown_method" names them.
_PARTS = {"knn": "distance to the {k} nearest training images' features",
          "msp": "the top probability"}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _threshold_rows(cal: dict, used: set) -> list[tuple[str, Any]]:
    from core.trust.unknown import kept_share

    if "unknown_threshold" not in cal:
        return []
    threshold, keep = cal["unknown_threshold"], cal.get("unknown_keep")
    if threshold is None:
        used.update({"unknown_threshold", "unknown_keep"})
        return [("“Unknown” threshold", "switched off: the run never answers “unknown”")]
    if not _number(threshold):
        return []
    used.add("unknown_threshold")
    rows: list[tuple[str, Any]] = [("“Unknown” threshold (score above it: “unknown”)",
                                    f"{threshold:.3g}")]
    quantiles = cal.get("score_quantiles")
    if isinstance(quantiles, list) and len(quantiles) > 1 and all(map(_number, quantiles)):
        kept = kept_share(threshold, quantiles)
        asked = f" (asked for {keep:.0%})" if _number(keep) and abs(kept - keep) > 0.005 \
            else ""
        rows.append(("Validation images it keeps (not “unknown”)", f"{kept:.1%}{asked}"))
        used.add("unknown_keep")
    elif _number(keep):
        rows.append(("Validation images it was set to keep (not “unknown”)", f"{keep:.1%}"))
        used.add("unknown_keep")
    return rows


def calibration_rows(cal: dict) -> list[tuple[str, Any]]:
    """(what, value) rows of a calibration record or its summary in metrics.json."""
    used: set = set()
    rows: list[tuple[str, Any]] = []

    def take(keys: tuple, label: str, text: str) -> None:
        rows.append((label, text))
        used.update(keys)

    t, n, bins = cal.get("temperature"), cal.get("n_images"), cal.get("bins")
    if _number(t):
        take(("temperature",), "Temperature (the logits are divided by it)", f"{t:.3g}")
    if _number(n):
        take(("n_images",), "Validation images it was fitted on", f"{n:g}")
    before, after = cal.get("nll_before"), cal.get("nll_after")
    if _number(before) and _number(after):
        take(("nll_before", "nll_after"), "Log loss (NLL) on them",
             f"{after:.3f} after ({before:.3f} before)")
    if _number(bins):
        take(("bins",), "Confidence bins of the ECE", f"{bins:g}")
    method, k = cal.get("unknown_method"), cal.get("unknown_k")
    if isinstance(method, str) and method:
        parts = [_PARTS.get(p, p).format(k=k if _number(k) else "?") for p in method.split("+")]
        layer = cal.get("embedding_layer")
        where = f" (features of the layer {layer})" if isinstance(layer, str) and layer else ""
        take(("unknown_method", "unknown_k", "embedding_layer"), "“Unknown” score",
             " and ".join(parts) + where)
    if _number(cal.get("n_reference")):
        take(("n_reference",), "Training images it compares with", f"{cal['n_reference']:g}")
    rows += _threshold_rows(cal, used)
    rows += [(key, value) for key, value in cal.items()
             if key not in used and key not in _NOT_SHOWN and not isinstance(value, (list, dict))]
    return rows
