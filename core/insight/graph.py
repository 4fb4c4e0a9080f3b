"""Walking a Keras model's symbolic graph, nested models included.

The app's classifier wraps a ``keras.applications`` model in a layer named
``backbone``; the inspection pages list its layers under a ``backbone/``
path, find a layer by that path or by its plain name, and read the shapes of
the tensors between layers from the graph (no image is run).  Keras is never
imported at module level.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence, Union

from core.errors import ConfigError, ModelFileError

Shape = tuple  # (None, H, W, C): the batch axis stays None, like Keras prints it.


def is_container(layer: Any) -> bool:
    """True for a model used as a layer (the app's ``backbone``): we walk into those."""
    import keras

    return isinstance(layer, keras.Model)


def child_layers(model: Any) -> list:
    """The layers one level down (a plain layer has none)."""
    return list(getattr(model, "layers", []))


def iter_layers(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(path, layer)`` for every non-container layer, walking into nested models.

    Paths are ``name`` at the top and ``backbone/name`` inside a nested model,
    so they are unique even if an inner name repeats an outer one.
    """
    for layer in child_layers(model):
        path = f"{prefix}{layer.name}"
        if is_container(layer):
            yield from iter_layers(layer, prefix=f"{path}/")
        else:
            yield path, layer


def find_layer(model: Any, name: str) -> tuple[list, Any, str]:
    """Find a layer by path (``backbone/Conv1``) or plain name (``Conv1``).

    Returns ``(containers, layer, path)`` where ``containers`` is the chain of
    nested models from the top model down to the one holding the layer.  A
    plain name that occurs twice is ambiguous and rejected with both paths.
    """
    if not name:
        raise ConfigError("layer name is empty; pick one of the model's layers")
    matches = []

    def visit(container, chain, prefix):
        for layer in child_layers(container):
            path = f"{prefix}{layer.name}"
            if path == name or (layer.name == name and "/" not in name):
                matches.append((chain, layer, path))
            if is_container(layer):
                visit(layer, chain + [layer], f"{path}/")

    visit(model, [], "")
    exact = [m for m in matches if m[2] == name]
    if exact:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(f"layer {name!r} is ambiguous: it is "
                          + " and ".join(m[2] for m in matches) + "; give the full path")
    some = [p for p, _ in iter_layers(model)]
    hint = ", ".join(some if len(some) <= 6 else some[:3] + ["…"] + some[-3:])
    raise ConfigError(f"model has no layer {name!r} (its layers include {hint})")


def graph_nodes(model: Any) -> set:
    """The keys (Keras' ``make_node_key``) of the calls that make up ``model``'s graph and
    its nested models' graphs: a loaded Sequential model is rebuilt several times, so its
    layers carry calls of graphs that no longer exist."""
    keys: set = set()

    def visit(container):
        graph = getattr(container, "_functional", None) or container  # Sequential's own
        keys.update(getattr(graph, "_nodes", ()) or ())
        for layer in child_layers(container):
            if is_container(layer):
                visit(layer)

    visit(model)
    return keys


def output_shapes(model: Any) -> Iterator[tuple[str, Any, Shape]]:
    """``(path, layer, output shape)`` of every layer :func:`iter_layers` gives, in the
    model's own graph; a layer with no recorded call there is left out."""
    graph = graph_nodes(model)
    for path, layer in iter_layers(model):
        try:
            shape = shape_of(node_of(layer, graph=graph).output_tensors[0])
        except Exception:  # never called: not part of the forward pass, nothing to tap
            continue
        yield path, layer, shape


def node_of(layer: Any, known: Optional[set] = None, graph: Optional[set] = None):
    """The call of ``layer`` that belongs to the graph being walked.

    ``graph`` (:func:`graph_nodes` of the model walked) leaves out the calls of other
    graphs: the first call of a Sequential model's layer was a stale one, which gave wrong
    receptive fields and broke Grad-CAM and the feature maps.  Of the rest, a layer called
    more than once prefers the call whose inputs were already seen on this walk.
    """
    nodes = list(getattr(layer, "_inbound_nodes", []) or [])
    if not nodes:
        raise ModelFileError(f"layer {layer.name!r} was never called, so its shapes are unknown; "
                             "build the model on an input (keras.Input) before inspecting it")
    if graph:
        own = [n for i, n in enumerate(nodes) if f"{id(layer)}_ib-{i}" in graph]
        nodes = own or nodes
    if known is not None and len(nodes) > 1:
        for node in nodes:
            if all(id(t) in known for t in node.input_tensors):
                return node
    return nodes[0]


def shape_of(tensor: Any) -> Shape:
    """A tensor's shape as a plain tuple (None for unknown axes)."""
    return tuple(None if d is None else int(d) for d in tensor.shape)


def shapes_of(tensors: Sequence[Any]) -> Union[Shape, list]:
    """One shape for one tensor, a list of shapes for several."""
    shapes = [shape_of(t) for t in tensors]
    return shapes[0] if len(shapes) == 1 else shapes


def spatial(shape: Shape, data_format: str = "channels_last") -> Optional[tuple]:
    """The spatial axes of a (None, H, W, C) shape, or None for a vector."""
    if shape is None or len(shape) < 3:
        return None
    return tuple(shape[2:]) if data_format == "channels_first" else tuple(shape[1:-1])


def channels(shape: Shape, data_format: str = "channels_last") -> Optional[int]:
    """The channel count of a shape, or None when it has none."""
    if not shape or len(shape) < 2:
        return None
    return shape[1] if data_format == "channels_first" else shape[-1]
