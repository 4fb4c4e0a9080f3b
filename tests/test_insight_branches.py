"""Receptive fields where branches meet: what the Layers tab says a value sees is what its
gradient says it depends on."""

import numpy as np


def _support(model, at, size):
    """The image rows and columns (first, last) the value at ``at`` of ``model``'s output
    depends on, by its gradient."""
    import tensorflow as tf

    x = tf.Variable(tf.random.normal((1,) + size + (1,)))
    with tf.GradientTape() as tape:
        target = tf.reduce_sum(model(x)[(0,) + at])
    g = np.abs(tape.gradient(target, x).numpy()[0, :, :, 0]) > 0
    rows, cols = np.flatnonzero(g.any(axis=1)), np.flatnonzero(g.any(axis=0))
    return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


def test_branches_whose_windows_are_not_centred_alike_are_joined_by_their_union():
    """Xception's blocks add a 3×3 "same" pooling at stride 2 (no zero before the map, one
    after) to a 1×1 shortcut at stride 2: the widest window centred on the first said the
    corner value of ``add`` at 97 px saw pixels 0–12, where its gradient reaches 0–14, and
    the last value 82–96 where it sees 84–96 (a review)."""
    import keras

    from core.insight.layers import inspect_layers

    inp = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(2, 3, padding="same", name="c")(inp)
    pooled = keras.layers.AveragePooling2D(3, strides=2, padding="same", name="pool")(x)
    short = keras.layers.Conv2D(2, 1, strides=2, padding="same", name="short")(inp)
    model = keras.Model(inp, keras.layers.Add(name="add")([pooled, short]))
    rows = {r.path: r for r in inspect_layers(model).rows}
    add = rows["add"]
    assert add.seen_first == _support(model, (0, 0), (12, 12)) == ((0, 3), (0, 3))
    assert add.seen_last == _support(model, (5, 5), (12, 12)) == ((9, 11), (9, 11))
    assert add.receptive_size == rows["pool"].receptive_size == (5, 5)

    # Windows side by side: the union is wider than either branch's window.
    inp = keras.Input((13, 13, 1))
    left = keras.layers.Conv2D(2, 3, name="v")(inp)  # 11×11: value i sees pixels i..i+2
    far = keras.layers.Conv2D(2, 3, padding="same", name="far")(
        keras.layers.Cropping2D(((0, 2), (0, 2)))(inp))  # pixels i-1..i+1 of 0..10
    both = keras.Model(inp, keras.layers.Add(name="join")([left, far]))
    join = next(r for r in inspect_layers(both).rows if r.name == "join")
    assert join.seen_first == _support(both, (0, 0), (13, 13)) == ((0, 2), (0, 2))
    assert join.seen_last == _support(both, (10, 10), (13, 13)) == ((9, 12), (9, 12))
    assert join.receptive_size == (4, 4)  # i-1..i+2: neither branch alone is 4 wide
