"""The ``inspect-model`` table for the terminal (:meth:`ModelInspection.to_text`)."""

from __future__ import annotations

from typing import Any


def inspection_text(inspection: Any) -> str:
    """A fixed-width table of ``inspection``'s rows, then its totals."""
    header = ("layer", "type", "kernel/stride/pad", "in → out", "params", "RF", "FC-equiv.")
    lines = []
    for r in inspection.rows:
        lines.append((r.path, r.type, _kernel_cell(r),
                      f"{_shape_cell(r.input_shape)} → {_shape_cell(r.output_shape)}",
                      f"{r.params:,}", _field_cell(r),
                      "" if r.dense_equivalent_params is None else f"{r.dense_equivalent_params:,}"))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(header)]
    right = {4, 5, 6}

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
    """The receptive field: "all" past a global pooling of an any-size map."""
    if getattr(r, "receptive_whole", False):
        return "all"
    return "" if r.receptive_field is None else str(r.receptive_field)
