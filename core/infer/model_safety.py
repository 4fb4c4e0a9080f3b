"""Look inside a SavedModel, TFLite or ONNX file before any runtime opens it.

A model file is a program.  A SavedModel's graph may hold any TensorFlow op:
``ReadFile``/``WriteFile`` read and write files, ``PrintV2`` appends to a file,
``PyFunc`` runs Python; a .tflite may carry "Flex" custom ops that run the same
TensorFlow ops; an ONNX file may name operators of a custom domain.  An image
classifier needs none of that, so each file is read as data first (its
protobuf or flatbuffer) and refused with :class:`ModelFileError` when it holds
anything outside :data:`CLASSIFIER_OPS` -- before TensorFlow, the TFLite
interpreter or onnxruntime has seen it.

:data:`CLASSIFIER_OPS` started from the op types in the app's own SavedModel
exports of every backbone family it offers, plus the usual convolution,
pooling, activation, arithmetic and shape ops of other classifiers.  A
SavedModel also holds a saver (``SaveV2``/``RestoreV2`` and string helpers for
its file names); those ops are allowed only in the parts of the graph that
belong to the saver and nothing else uses (TensorFlow 2 restores variables
with its own code and never runs them; a TensorFlow 1 loader runs the restore
part only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from core.errors import ModelFileError

def unopenable(path, kind: str, exc: BaseException, detail: str = "") -> ModelFileError:
    """A model file its library cannot open: the library's first line, and what to do (its
    own words said nothing a user could act on).  ``kind``: "a TFLite model", ...;
    ``detail``: put before the library's line (the error's type, say)."""
    first = str(exc).splitlines()[0][:200] if str(exc) else repr(exc)
    return ModelFileError(f"{path}: cannot be opened as {kind} ({detail}{first}); it is "
                          "damaged or not such a model: export it again (or copy it again)")

CLASSIFIER_OPS = frozenset("""
Const Placeholder PlaceholderWithDefault Identity IdentityN NoOp Snapshot StopGradient
PreventGradient EnsureShape CheckNumerics Assert
StatefulPartitionedCall PartitionedCall If StatelessIf While StatelessWhile Case StatelessCase
VarHandleOp ReadVariableOp AssignVariableOp AssignAddVariableOp AssignSubVariableOp
VarIsInitializedOp DisableCopyOnRead ResourceGather ResourceGatherNd DestroyResourceOp
Add AddV2 AddN Sub Mul MulNoNan Div DivNoNan RealDiv FloorDiv FloorMod TruncateDiv Mod Neg
Abs Sign Square SquaredDifference Sqrt Rsqrt Reciprocal Inv Exp Expm1 Log Log1p Pow Maximum
Minimum Erf Erfc Tanh Sigmoid Softplus Softsign Relu Relu6 Elu Selu LeakyRelu Round Floor Ceil
Rint ClipByValue Sin Cos Greater GreaterEqual Less LessEqual Equal NotEqual LogicalAnd LogicalOr
LogicalNot Select SelectV2 Where IsNan IsFinite IsInf
MatMul BatchMatMul BatchMatMulV2 BatchMatMulV3 Einsum Conv2D Conv3D DepthwiseConv2dNative
Conv2DBackpropInput BiasAdd FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3 LRN
MaxPool MaxPoolV2 MaxPool3D AvgPool AvgPool3D Mean Sum Max Min Prod All Any ArgMax ArgMin
Softmax LogSoftmax TopKV2 Cumsum
Shape ShapeN Size Rank Reshape Squeeze ExpandDims Transpose ConcatV2 Concat Pack Unpack Split
SplitV Slice StridedSlice Pad PadV2 MirrorPad Tile BroadcastTo BroadcastArgs
BroadcastGradientArgs GatherV2 Gather GatherNd Cast Fill ZerosLike OnesLike Range LinSpace
ReverseV2 OneHot ScatterNd TensorScatterUpdate MatrixBandPart DepthToSpace SpaceToDepth
ResizeBilinear ResizeNearestNeighbor ResizeBicubic ResizeArea AdjustContrastv2
RandomUniform RandomUniformInt RandomStandardNormal TruncatedNormal StatelessRandomUniformV2
StatelessRandomNormalV2 StatelessRandomUniformIntV2 StatelessTruncatedNormalV2
StatelessRandomGetKeyCounter StatelessRandomGetKeyCounterAlg StatelessRandomGetAlg
""".split())

#: Ops only a SavedModel's saver may use: writing a checkpoint (and naming its files) ...
SAVE_OPS = frozenset({"SaveV2", "MergeV2Checkpoints", "ShardedFilename", "ShardedFilespec",
                      "StringJoin", "StaticRegexFullMatch"})
#: ... and reading the SavedModel's own variables back.
RESTORE_OPS = frozenset({"RestoreV2"})

#: ONNX operator domains of the standard (every runtime has them; nothing custom).
ONNX_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})


def _refuse(path: Path, kind: str, bad: Iterable[str], why: str) -> None:
    names = sorted(set(bad))
    if names:
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        raise ModelFileError(f"{path}: the {kind} contains operations a classifier does not "
                             f"need ({shown}): {why}; not opened")


# -- SavedModel -------------------------------------------------------------------


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _calls(node, library: set[str]) -> set[str]:
    """Functions a node calls: by op name, or through any function-valued attribute."""
    out = {node.op} if node.op in library else set()
    for value in node.attr.values():
        kind = value.WhichOneof("value")
        if kind == "func":
            out.add(value.func.name)
        elif kind == "list":
            out.update(f.name for f in value.list.func)
    return out & library


def _closure(roots: set[str], calls: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(calls.get(name, ()))
    return seen


def _ancestors(roots: Iterable[str], nodes: dict) -> set[str]:
    seen: set[str] = set()
    stack = [r for r in roots if r in nodes]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(i for i in map(_node_name, nodes[name].input) if i in nodes)
    return seen


def _saver_parts(mg) -> tuple[set[str], set[str], set[str]]:
    """(graph nodes only the saver's save part needs, ... only its restore part, the rest)."""
    nodes = {n.name: n for n in mg.graph_def.node}
    saver = mg.saver_def
    save = _ancestors([_node_name(saver.save_tensor_name)], nodes) \
        if saver.save_tensor_name else set()
    restore = _ancestors([_node_name(saver.restore_op_name)], nodes) \
        if saver.restore_op_name else set()
    rest = _ancestors([n for n in nodes if n not in save | restore], nodes)
    return save - rest, restore - rest, rest


def _refused_in_meta_graph(mg) -> set[str]:
    library = {f.signature.name: f for f in mg.graph_def.library.function}
    names = set(library)
    calls = {name: set().union(*(_calls(n, names) for n in f.node_def))
             for name, f in library.items()}
    save, restore, rest = _saver_parts(mg)
    nodes = {n.name: n for n in mg.graph_def.node}

    def called_by(group: set[str]) -> set[str]:
        return _closure(set().union(*(_calls(nodes[n], names) for n in group)), calls)

    save_fns, restore_fns = called_by(save), called_by(restore)
    roots = (names - save_fns - restore_fns) | set(mg.object_graph_def.concrete_functions)
    other_fns = _closure(roots & names, calls) | called_by(rest)
    refused: set[str] = set()

    def check(node, extra: frozenset) -> None:
        if node.op not in names and node.op not in CLASSIFIER_OPS | extra:
            refused.add(node.op)

    for name, node in nodes.items():
        check(node, (SAVE_OPS if name in save else frozenset()) |
              (RESTORE_OPS if name in restore else frozenset()))
    for name, f in library.items():
        extra = frozenset()
        if name not in other_fns:
            extra = (SAVE_OPS if name in save_fns else frozenset()) | \
                (RESTORE_OPS if name in restore_fns else frozenset())
        for node in f.node_def:
            check(node, extra)
    return refused


def check_savedmodel(path: Path) -> None:
    """Refuse a SavedModel folder whose graph or functions hold ops a classifier does not need."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    pb = Path(path) / "saved_model.pb"
    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString(pb.read_bytes())
    except (OSError, DecodeError) as exc:
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{path}: cannot be read as a SavedModel ({pb.name}: {why})") \
            from None
    refused: set[str] = set()
    for mg in proto.meta_graphs:
        refused |= _refused_in_meta_graph(mg)
    _refuse(path, "SavedModel", refused, "it could read or write files on this computer")


# -- TFLite ---------------------------------------------------------------------------


def check_tflite(path: Path) -> None:
    """Refuse a .tflite model with custom operators (e.g. "Flex" ops that run TensorFlow ops)."""
    from tensorflow.lite.python import schema_py_generated as schema

    try:
        buf = Path(path).read_bytes()
        if buf[4:8] != b"TFL3":
            raise ValueError("not a TFLite flatbuffer")
        model = schema.Model.GetRootAs(buf, 0)
        custom = set()
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            if builtin == schema.BuiltinOperator.CUSTOM:
                name = code.CustomCode()
                custom.add(name.decode("utf-8", "replace") if name else "CUSTOM")
    except ModelFileError:
        raise
    except Exception as exc:  # a malformed flatbuffer fails in many ways
        raise unopenable(path, "a TFLite model", exc) from None
    _refuse(path, "TFLite model", custom, "custom operators can run code outside the standard "
            "TFLite set, such as reading or writing files")


# -- ONNX ---------------------------------------------------------------------------------


def _onnx_refused(nodes, functions: dict, seen: set) -> set[str]:
    bad: set[str] = set()
    for node in nodes:
        key = (node.domain, node.op_type)
        if key in functions:  # a model-local function: check what it is made of
            if key not in seen:
                seen.add(key)
                bad |= _onnx_refused(functions[key].node, functions, seen)
        elif node.domain not in ONNX_DOMAINS:
            bad.add(f"{node.domain}.{node.op_type}")
        for attr in node.attribute:  # If/Loop/Scan bodies
            graphs = ([attr.g] if attr.HasField("g") else []) + list(attr.graphs)
            for g in graphs:
                bad |= _onnx_refused(g.node, functions, seen)
    return bad


def check_onnx(path: Path) -> None:
    """Refuse an .onnx model whose operators are not all from the standard ONNX domains."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # DecodeError, ValueError, OSError ...
        raise unopenable(path, "an ONNX model", exc) from None
    functions = {(f.domain, f.name): f for f in model.functions}
    bad = _onnx_refused(model.graph.node, functions, set())
    for f in model.functions:
        bad |= _onnx_refused(f.node, functions, set())
    _refuse(path, "ONNX model", bad, "operators outside the ONNX standard run code this app "
            "cannot check")
