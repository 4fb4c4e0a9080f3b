"""Look inside a convolutional network: shapes by formula, parameters, receptive field.

The "see inside the network" page teaches a handful of ideas on the user's own
model rather than on a textbook figure:

* the output size of a convolution or pooling layer is
  ``O = ⌊(W − K + 2P)/S⌋ + 1`` — every row shows the formula with the layer's
  numbers filled in (:mod:`core.insight.formulas`), and whether it agrees with
  the shape Keras computed;
* a convolution needs far fewer parameters than a fully connected layer
  joining the same input and output, because its weights are local and
  shared — every row shows both counts (:mod:`core.insight.layer_params`);
* each output position "sees" a window of the input image, the receptive
  field, which grows layer by layer (the walk below).

Nothing here runs the model: it reads the symbolic graph (layer configs and
the shapes of the tensors between layers, :mod:`core.insight.graph`), so it is
instant even for a ResNet.  Nested models — the app's classifier wraps a
``keras.applications`` model in a layer named ``backbone`` — are walked into
and their layers listed under a ``backbone/`` path.  Keras is never imported
at module level.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Sequence, Union

from core.errors import ModelFileError
from core.insight.formulas import (CONV_TYPES, CROPPING_TYPES, GLOBAL_POOL_PREFIXES,
                                   PADDING_TYPES, POOL_TYPES, conv_output_size, effective_kernel,
                                   formula_text, same_padding_pixels)
from core.insight.graph import (child_layers, graph_nodes, is_container, node_of, shape_of,
                                shapes_of, spatial)
from core.insight.receptive import (Field, image_field, merge_fields, padded, pooled_whole,
                                    seen_by, slid, spatial_inputs, trace_field)
from core.insight.layer_params import (activation_name, dense_equivalent, params_formula,
                                       params_note, weights_size)


# ---------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------

@dataclass
class LayerInfo:
    """One layer of the table.

    Shapes include the batch axis as None.  ``formula_*`` are None for layers
    whose output size has no formula (activations, BN, dense ...).
    ``receptive_field`` and ``jump`` are in input-image pixels along the
    largest axis (equal for square kernels): how wide a window of the image one
    output position depends on, and how far apart neighbouring positions are.
    ``dense_equivalent_params`` is what a fully connected layer joining the same
    input and output sizes would need (None where that comparison means nothing).
    """

    name: str
    path: str
    type: str
    kernel_size: Optional[tuple] = None
    strides: Optional[tuple] = None
    padding: Optional[str] = None
    dilation: Optional[tuple] = None
    input_shape: Any = None
    output_shape: Any = None
    formula_shape: Optional[tuple] = None
    formula_text: Optional[str] = None
    formula_matches: Optional[bool] = None
    params: int = 0
    trainable_params: int = 0
    params_formula: str = "0"
    params_note: str = ""
    dense_equivalent_params: Optional[int] = None
    receptive_field: Optional[int] = None  # the widest axis of receptive_size
    #: Per spatial axis (H, W): a 1×7 kernel sees 1×7 pixels, not the 7×7 the widest says.
    receptive_size: Optional[tuple] = None
    jump: Optional[Union[int, float]] = None
    #: Per spatial axis (H, W): strides 1×2 put neighbours 1 pixel apart down, 2 across.
    jump_size: Optional[tuple] = None
    #: The image pixels, per axis (first, last), that the top-left / bottom-right value and
    #: any value at all depend on (None: sizes not known).  A window wider than the image
    #: does not mean a value sees all of it: a corner value's window hangs half outside.
    seen_first: Optional[tuple] = None
    seen_last: Optional[tuple] = None
    seen_any: Optional[tuple] = None
    #: Every value depends on the whole image, whatever its size (a global pooling of a map
    #: of unknown size); receptive_field is then None.
    receptive_whole: bool = False
    trainable: bool = True
    activation: Optional[str] = None
    #: The field follows the spatial path past a squeeze-and-excitation gate (here or in a
    #: block before), which depends on the whole image (core.insight.receptive).
    gate_left_out: bool = False

    def to_dict(self) -> dict:
        return _jsonable(asdict(self))


@dataclass
class ModelInspection:
    """All rows plus totals; the totals are Keras' own count_params figures."""

    model_name: str
    input_shape: Any
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0

    def row(self, name: str) -> LayerInfo:
        for r in self.rows:
            if r.path == name or r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {
            "model_name": self.model_name,
            "input_shape": _jsonable(self.input_shape),
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "layers": [r.to_dict() for r in self.rows],
        }

    def to_text(self) -> str:
        """A fixed-width table for the terminal (:mod:`core.insight.layer_text`)."""
        from core.insight.layer_text import inspection_text

        return inspection_text(self)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value



def _as_tuple(v: Any, rank: int) -> Optional[tuple]:
    if v is None:
        return None
    if isinstance(v, int):
        return (v,) * rank
    return tuple(int(x) for x in v)


# ---------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------

def _num(x: float) -> Union[int, float]:
    return int(x) if float(x).is_integer() else float(x)


class _Walker:
    def __init__(self, model: Any) -> None:
        self.graph = graph_nodes(model)
        self.fields: dict[int, Field] = {}
        self.rows: list[LayerInfo] = []

    def walk(self, model: Any, prefix: str, parent_trainable: bool, top: bool) -> None:
        for layer in child_layers(model):
            kind = type(layer).__name__
            path = f"{prefix}{layer.name}"
            if kind == "InputLayer":
                outs = node_of(layer, graph=self.graph).output_tensors
                for t in outs:
                    if id(t) not in self.fields:
                        self.fields[id(t)] = image_field(tuple(t.shape)[1:-1])
                if top:
                    self.rows.append(LayerInfo(name=layer.name, path=path, type=kind,
                                               input_shape=shapes_of(outs), output_shape=shapes_of(outs),
                                               receptive_field=1, jump=1,
                                               trainable=parent_trainable))
                continue
            node = node_of(layer, set(self.fields), self.graph)
            ins, outs = list(node.input_tensors), list(node.output_tensors)
            for t in ins:
                trace_field(t, self.fields)
            if is_container(layer):
                for inner, outer in zip(layer.inputs, ins):
                    self.fields[id(inner)] = self.fields.get(id(outer))
                self.walk(layer, f"{path}/", parent_trainable and bool(layer.trainable), top=False)
                for inner, outer in zip(layer.outputs, outs):
                    self.fields[id(outer)] = self.fields.get(id(inner))
                continue
            self.rows.append(self._row(layer, kind, path, ins, outs, parent_trainable))

    def _row(self, layer, kind, path, ins, outs, parent_trainable) -> LayerInfo:
        in_shape, out_shape = shapes_of(ins), shapes_of(outs)
        df = getattr(layer, "data_format", "channels_last") or "channels_last"
        first_in = shape_of(ins[0]) if ins else None
        rank = len(spatial(first_in, df) or ())
        row = LayerInfo(name=layer.name, path=path, type=kind, input_shape=in_shape,
                        output_shape=out_shape,
                        params=weights_size(layer.weights),
                        trainable_params=weights_size(layer.trainable_weights),
                        params_formula=params_formula(layer),
                        trainable=parent_trainable and bool(layer.trainable),
                        activation=activation_name(layer))
        row.params_note = params_note(kind, layer, first_in, out_shape)
        row.dense_equivalent_params = dense_equivalent(kind, in_shape, out_shape)

        field_in = merge_fields(spatial_inputs(ins, df, self.fields), rank)
        r, j = list(field_in.r), list(field_in.j)
        in_sp = spatial(first_in, df)
        out_sp = spatial(shape_of(outs[0]), df) if outs else None

        base = field_in  # c, lo, hi of the output (core.insight.receptive)
        windowed = kind in CONV_TYPES or kind in POOL_TYPES
        if windowed and in_sp and rank:
            base = _windowed(row, layer, kind, rank, field_in, r, j, in_sp, out_sp)
        elif kind in PADDING_TYPES or kind in CROPPING_TYPES:
            base = _padding_row(row, layer, kind, rank, field_in, in_sp, out_sp)
        elif kind.startswith(GLOBAL_POOL_PREFIXES) or (kind == "Flatten" and in_sp):
            # Every output now depends on every input position: the window spans the map.
            # The jump stays: there is one position left, so it no longer matters.
            base = pooled_whole(field_in, in_sp)
            if in_sp and all(w is not None for w in in_sp):
                for i in range(len(r)):
                    r[i] = r[i] + (in_sp[i] - 1) * j[i]
            else:  # a map of any size: "sees 5×5 pixels" had kept the layer before's window
                base = base.but(whole=True)
        elif kind.endswith("Transpose") and in_sp and rank:
            _transposed_field(layer, rank, r, j)
        elif kind.startswith("UpSampling") and rank:  # sizes may be unknown: its factor
            for i, f in enumerate(_as_tuple(layer.size, rank)):
                j[i] = j[i] / f
        elif in_sp and out_sp and len(in_sp) == len(out_sp) and in_sp != out_sp \
                and all(in_sp) and all(out_sp):
            # Up-sampling / resizing: positions move closer (or further) apart in the image.
            for i in range(len(j)):
                j[i] = j[i] * in_sp[i] / out_sp[i]
        # past a global pooling the window is the whole map: the gate adds nothing unsaid
        whole = kind.startswith(GLOBAL_POOL_PREFIXES)
        field_out = base.but(r=tuple(r), j=tuple(j), gated=field_in.gated and not whole)
        row.gate_left_out = field_out.gated
        for t in outs:
            self.fields[id(t)] = field_out
        row.receptive_whole = field_out.whole
        if r and not field_out.whole:
            row.receptive_field = int(max(r))
            row.receptive_size = tuple(int(round(v)) for v in r)
            row.jump = _num(max(j))
            row.jump_size = tuple(_num(v) for v in j)
            _seen(row, field_out, out_sp)
        return row


def _windowed(row: LayerInfo, layer: Any, kind: str, rank: int, field_in: Field, r: list,
              j: list, in_sp: Any, out_sp: Any) -> Field:
    """A convolution's or pooling's row: kernel, formula; ``r`` and ``j`` grow in place.
    Returns the field's c, lo, hi (core.insight.receptive.slid)."""
    if kind in CONV_TYPES:
        k = _as_tuple(layer.kernel_size, rank)
        d = _as_tuple(getattr(layer, "dilation_rate", 1), rank)
    else:
        k = _as_tuple(layer.pool_size, rank)
        d = (1,) * rank
    s = _as_tuple(layer.strides, rank) or k
    pad = str(layer.padding).lower()
    row.kernel_size, row.strides, row.padding, row.dilation = k, s, pad, d
    base = slid(field_in, [effective_kernel(k[i], d[i]) for i in range(rank)], s,
                _pad_before(pad, in_sp, k, s, d), in_sp, out_sp)
    if pad in ("same", "valid") and all(w is not None for w in in_sp):
        row.formula_shape = tuple(conv_output_size(in_sp[i], k[i], s[i], pad, d[i])
                                  for i in range(rank))
        texts = [formula_text(in_sp[i], k[i], s[i], pad, d[i]) for i in range(rank)]
        row.formula_text = _axis_texts(texts, rank)
        row.formula_matches = out_sp is not None and tuple(out_sp) == row.formula_shape
    for i in range(len(r)):
        r[i] = r[i] + (effective_kernel(k[i], d[i]) - 1) * j[i]
        j[i] = j[i] * s[i]
    return base


def _padding_row(row: LayerInfo, layer: Any, kind: str, rank: int, field_in: Field,
                 in_sp: Any, out_sp: Any) -> Field:
    """A padding or cropping layer's row: its formula; returns the field's c, lo, hi."""
    base = field_in
    amounts = layer.padding if kind in PADDING_TYPES else layer.cropping
    amounts = _pairs(amounts, rank)
    if in_sp and amounts and all(w is not None for w in in_sp):
        sign = "+" if kind in PADDING_TYPES else "−"
        shape = tuple(in_sp[i] + (1 if sign == "+" else -1) * sum(amounts[i])
                      for i in range(rank))
        row.formula_shape = shape
        row.formula_text = _axis_texts(
            [f"{in_sp[i]} {sign} {amounts[i][0]} {sign} {amounts[i][1]} = {shape[i]}"
             for i in range(rank)], rank)
        row.formula_matches = out_sp is not None and tuple(out_sp) == shape
    if amounts:
        base = padded(field_in, [a[0] for a in amounts], [a[1] for a in amounts],
                      in_sp, kind in CROPPING_TYPES)
    return base


def _pad_before(pad: str, in_sp: Any, k: tuple, s: tuple, d: tuple) -> Optional[tuple]:
    """The zeros a window layer puts before the map, per axis (None: not known)."""
    if pad == "valid":
        return (0,) * len(k)
    if pad != "same" or not in_sp or any(w is None for w in in_sp):
        return None
    return tuple(same_padding_pixels(in_sp[i], k[i], s[i], d[i])[0] for i in range(len(k)))


def _seen(row: LayerInfo, f: Field, out_sp: Any) -> None:
    """The row's seen_* pixel spans (a map's last value is at its far corner)."""
    rank = len(f.r)
    row.seen_first = seen_by(f, (0,) * rank)
    last = (tuple(n - 1 for n in out_sp) if out_sp and len(out_sp) == rank
            and all(isinstance(n, int) for n in out_sp) else (0,) * rank)
    row.seen_last = seen_by(f, last)
    if f.lo is not None:
        row.seen_any = tuple((int(round(a)), int(round(b))) for a, b in zip(f.lo, f.hi))


def _transposed_field(layer: Any, rank: int, r: list, j: list) -> None:
    """A transposed convolution spreads each input over K outputs S apart, so an output
    depends on up to ceil(K/S) inputs: the kernel widens the field, then the positions
    come S times closer (it was taken for a plain resize).  ``r`` and ``j`` change in place."""
    k = _as_tuple(layer.kernel_size, rank)
    s = _as_tuple(layer.strides, rank)
    d = _as_tuple(getattr(layer, "dilation_rate", 1), rank)
    for i in range(len(r)):
        r[i] = r[i] + (-(-effective_kernel(k[i], d[i]) // s[i]) - 1) * j[i]
        j[i] = j[i] / s[i]


def _pairs(amounts: Any, rank: int) -> Optional[list]:
    if isinstance(amounts, int):
        return [(amounts, amounts)] * rank
    out = []
    for a in amounts:
        out.append((a, a) if isinstance(a, int) else (int(a[0]), int(a[1])))
    return out if len(out) == rank else None


def _axis_texts(texts: list, rank: int) -> str:
    if len(set(texts)) == 1:
        return texts[0]
    names = {1: ["W"], 2: ["H", "W"], 3: ["D", "H", "W"]}.get(rank, [str(i) for i in range(rank)])
    return "; ".join(f"{n}: {t}" for n, t in zip(names, texts))


def inspect_layers(model: Any) -> ModelInspection:
    """Describe every layer of ``model`` (walking into nested models) with totals.

    Totals are computed from the model's own weight lists, so they equal
    ``model.count_params()`` and Keras' trainable split exactly.
    """
    if not getattr(model, "inputs", None):
        raise ModelFileError("the model has no defined input yet; build it on keras.Input "
                             "(or load a saved model) before inspecting it")
    walker = _Walker(model)
    for t in model.inputs:
        walker.fields[id(t)] = image_field(tuple(t.shape)[1:-1])
    walker.walk(model, "", bool(model.trainable), top=True)
    if not any(r.type == "InputLayer" for r in walker.rows):  # Sequential hides its InputLayer
        shapes = shapes_of(model.inputs)
        walker.rows.insert(0, LayerInfo(name="input", path="input", type="InputLayer",
                                        input_shape=shapes, output_shape=shapes,
                                        receptive_field=1, jump=1))
    weights = _unique(model.weights)
    trainable = _unique(model.trainable_weights)
    total = weights_size(weights)
    n_train = weights_size(trainable)
    return ModelInspection(model_name=model.name, input_shape=shapes_of(model.inputs),
                           rows=walker.rows, total_params=total, trainable_params=n_train,
                           non_trainable_params=total - n_train)


def _unique(weights: Sequence[Any]) -> list:
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out
