"""The ``inspect-model`` table for the terminal (:meth:`ModelInspection.to_text`)."""

from __future__ import annotations

from typing import Any


def inspection_text(inspection: Any) -> str:
    """A fixed-width table of ``inspection``'s rows, then its totals.  The README promised
    shapes by the formula, how the parameters are counted and what trains; the table had
    none of them (a review)."""
    header = ("layer", "type", "kernel/stride/pad", "in → out", "by formula", "params",
              "trainable", "RF", "FC-equiv.", "counted as")
    lines = []
    for r in inspection.rows:
        lines.append((r.path, r.type, _kernel_cell(r),
                      f"{_shape_cell(r.input_shape)} → {_shape_cell(r.output_shape)}",
                      _formula_cell(r), f"{r.params:,}",
                      f"{r.trainable_params:,}" if r.params else "", _field_cell(r),
                      "" if r.dense_equivalent_params is None else f"{r.dense_equivalent_params:,}",
                      r.params_formula if r.params and "=" in r.params_formula else ""))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(header)]
    right = {5, 6, 7, 8}

    def fmt(cells):
        return "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                         for i, c in enumerate(cells)).rstrip()

    out = [f"Model: {inspection.model_name}   input {_shape_cell(inspection.input_shape)}",
           fmt(header), fmt(["-" * w for w in widths])]
    out += [fmt(line) for line in lines]
    mismatched = [r.path for r in inspection.rows if r.formula_matches is False]
    out += ["",
            f"Total params:         {inspection.total_params:,}",
            f"Trainable params:     {inspection.trainable_params:,}",
            f"Non-trainable params: {inspection.non_trainable_params:,}"]
    if mismatched:
        out.append("Formula differs from Keras for: " + ", ".join(mismatched))
    out.append("by formula: the output size O = ⌊(W − K + 2P)/S⌋ + 1 gives, ✓ where it is "
               "Keras' (--json: the formula written out); RF: the receptive field in pixels, "
               "H×W when they differ")
    return "\n".join(out)


def _kernel_cell(r: Any) -> str:
    if r.kernel_size is None:
        return ""
    k = "×".join(map(str, r.kernel_size))
    s = "×".join(map(str, r.strides or ()))
    cell = f"{k} /{s} {r.padding or ''}".rstrip()
    if r.dilation and any(d != 1 for d in r.dilation):
        cell += f" d{'×'.join(map(str, r.dilation))}"
    return cell


def _shape_cell(shape: Any) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_cell(s) for s in shape) + "]"
    return "×".join("?" if d is None else str(d) for d in shape[1:]) or "scalar"


def _field_cell(r: Any) -> str:
    """The receptive field: "all" past a global pooling of an any-size map, H×W when the
    axes differ (a 1×7 kernel's "7" had read as 7×7)."""
    if getattr(r, "receptive_whole", False):
        return "all"
    if r.receptive_field is None:
        return ""
    size = tuple(r.receptive_size or ())
    return "×".join(map(str, size)) if len(set(size)) > 1 else str(r.receptive_field)


def _formula_cell(r: Any) -> str:
    """The formula's output size and whether it is Keras' ("49×49 ✓")."""
    if not r.formula_shape:
        return ""
    mark = {True: " ✓", False: " ✗"}.get(r.formula_matches, "")
    return "×".join(map(str, r.formula_shape)) + mark
