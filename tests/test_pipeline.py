"""The tf.data input pipeline and the decoded-image cache, on real files with real TensorFlow."""

import threading
import time

import numpy as np
import pytest

from core.data.augment import preset_config
from core.config import AugmentConfig, TransformConfig
from core.data.dataset_report import ImageRecord
from core.data.decoded_cache import DecodedCache
from core.errors import ConfigError
from core.events import FileSkipped
from core.data.imageio import load_rgb
from core.data.pipeline import BatchSource, make_dataset, steps_for
from core.data.sample_data import generate_sample_dataset

SIZE = 32


def _records(root, classes=("circle", "square", "triangle"), per_class=4, size=40, fmt="png"):
    generate_sample_dataset(root, classes=classes, per_class=per_class, size=size, fmt=fmt)
    out = []
    for label, name in enumerate(classes):
        for path in sorted((root / name).iterdir()):
            out.append(ImageRecord(str(path), label, name, size, size))
    return out


def _epoch(ds):
    xs, ys = [], []
    for x, y in ds:
        xs.append(x.numpy())
        ys.append(y.numpy())
    return xs, ys


def _identify(batch_images, plain):
    """Record indices of un-augmented images, by exact pixel match."""
    lookup = {p.tobytes(): i for i, p in enumerate(plain)}
    return [lookup[img.astype(np.uint8).tobytes()] for img in batch_images]


@pytest.fixture
def records(tmp_path):
    return _records(tmp_path / "data")


def test_steps_for():
    assert steps_for(10, 4) == 3 and steps_for(8, 4) == 2 and steps_for(0, 4) == 0
    with pytest.raises(ValueError):
        steps_for(5, 0)


def test_batches_have_the_model_layout(records):
    ds = make_dataset(records, 3, SIZE, 5, training=True, augment=preset_config("heavy", seed=1),
                      seed=3)
    assert ds.cardinality().numpy() == steps_for(len(records), 5)
    xs, ys = _epoch(ds)
    assert [x.shape for x in xs] == [(5, SIZE, SIZE, 3), (5, SIZE, SIZE, 3), (2, SIZE, SIZE, 3)]
    for x, y in zip(xs, ys):
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert x.min() >= 0.0 and x.max() <= 255.0
        assert x.max() > 1.0  # raw 0..255, not rescaled
        assert y.shape == (len(x), 3)
        assert np.all(y.sum(axis=1) == 1.0) and set(np.unique(y)) <= {0.0, 1.0}
    labels = np.concatenate([y.argmax(axis=1) for y in ys])
    assert sorted(labels.tolist()) == sorted(r.label for r in records)


def test_validation_is_not_augmented_and_is_deterministic(records):
    plain = [load_rgb(r.path, SIZE) for r in records]
    ds = make_dataset(records, 3, SIZE, 4, training=False, augment=preset_config("heavy", seed=1))
    first = _epoch(ds)
    second = _epoch(ds)
    images = np.concatenate(first[0])
    assert np.array_equal(images, np.stack(plain).astype(np.float32))  # file order, untouched
    assert np.array_equal(np.concatenate(first[1]).argmax(axis=1), [r.label for r in records])
    for a, b in zip(first[0] + first[1], second[0] + second[1]):
        assert np.array_equal(a, b)


def test_training_reshuffles_every_epoch_reproducibly(records):
    plain = [load_rgb(r.path, SIZE) for r in records]
    ds = make_dataset(records, 3, SIZE, 4, training=True, augment=None, seed=7)
    orders = [_identify(np.concatenate(_epoch(ds)[0]), plain) for _ in range(3)]
    assert all(sorted(o) == list(range(len(records))) for o in orders)
    assert orders[0] != orders[1] or orders[1] != orders[2]
    again = make_dataset(records, 3, SIZE, 4, training=True, augment=None, seed=7)
    assert _identify(np.concatenate(_epoch(again)[0]), plain) == orders[0]
    other_seed = make_dataset(records, 3, SIZE, 4, training=True, augment=None, seed=8)
    assert _identify(np.concatenate(_epoch(other_seed)[0]), plain) != orders[0]


def test_training_is_augmented_and_independent_of_thread_count(records):
    plain = {load_rgb(r.path, SIZE).tobytes() for r in records}
    aug = preset_config("heavy", seed=2)
    one = make_dataset(records, 3, SIZE, 4, training=True, augment=aug, seed=1, workers=1)
    many = make_dataset(records, 3, SIZE, 4, training=True, augment=aug, seed=1, workers=4)
    a, b = _epoch(one), _epoch(many)
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        assert np.array_equal(x, y)
    changed = [img.astype(np.uint8).tobytes() not in plain for img in np.concatenate(a[0])]
    assert sum(changed) >= len(records) // 2
    # A second epoch augments afresh.
    c = _epoch(one)
    assert any(not np.array_equal(x, y) for x, y in zip(a[0], c[0]))


def test_cache_hits_on_the_second_epoch(records):
    cache = DecodedCache(budget_mb=8)
    ds = make_dataset(records, 3, SIZE, 4, training=True, augment=preset_config("light"),
                      cache=cache, seed=0)
    _epoch(ds)
    s1 = cache.stats()
    assert (s1.hits, s1.misses, s1.items) == (0, len(records), len(records))
    assert s1.bytes == len(records) * SIZE * SIZE * 3
    _epoch(ds)
    s2 = cache.stats()
    assert (s2.hits, s2.misses) == (len(records), len(records))
    # Cached pixels are exactly what a fresh decode gives, and cannot be modified.
    stored = cache.get(records[0].path, SIZE)
    assert np.array_equal(stored, load_rgb(records[0].path, SIZE))
    with pytest.raises(ValueError):
        stored[0, 0, 0] = 1


def test_cache_stays_within_its_budget(records):
    cache = DecodedCache(budget_mb=1)
    big = 256  # 192 KiB per image: 5 fit in 1 MiB, the other 7 must be turned away
    ds = make_dataset(records, 3, big, 6, training=False, cache=cache)
    _epoch(ds)
    _epoch(ds)
    s = cache.stats()
    assert s.bytes <= 2**20 and s.items == 2**20 // (big * big * 3)
    assert s.rejected == 2 * (len(records) - s.items)
    assert s.hits == s.items and s.misses == 2 * len(records) - s.items
    assert DecodedCache(0).put("x", 1, np.zeros((2, 2, 3), np.uint8)) is False


def test_cache_is_thread_safe(records):
    cache = DecodedCache(budget_mb=4)
    paths = [r.path for r in records]

    def work():
        for p in paths * 3:
            cache.get_or_load(p, SIZE, lambda p=p: load_rgb(p, SIZE))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = cache.stats()
    assert s.items == len(paths) and s.bytes == len(paths) * SIZE * SIZE * 3
    assert s.hits + s.misses == 4 * 3 * len(paths)


def test_bad_files_are_skipped_and_reported_once(tmp_path, records):
    missing = tmp_path / "data" / "circle" / "gone.png"
    corrupt = tmp_path / "data" / "square" / "cut.jpg"
    good_jpeg = tmp_path / "good.jpg"
    from PIL import Image
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(good_jpeg)
    corrupt.write_bytes(good_jpeg.read_bytes()[:200])  # a JPEG cut off mid-stream
    bad = [ImageRecord(str(missing), 0, "circle", 40, 40),
           ImageRecord(str(corrupt), 1, "square", 40, 40)]
    all_records = records + bad
    events = []
    ds = make_dataset(all_records, 3, SIZE, 4, training=True, augment=preset_config("light"),
                      seed=0, listener=events.append, cache=DecodedCache(8))
    for _ in range(3):
        xs, _ = _epoch(ds)
        assert len(xs) == steps_for(len(all_records), 4)  # Keras' epoch length holds
        assert sum(len(x) for x in xs) == len(records)
    skipped = [e for e in events if isinstance(e, FileSkipped)]
    assert sorted(e.path for e in skipped) == sorted([str(missing), str(corrupt)])
    assert {e.stage for e in skipped} == {"training"}
    assert {p for p, _ in ds.batch_source.skipped} == {str(missing), str(corrupt)}


def test_a_batch_of_only_bad_files_keeps_the_epoch_length(tmp_path, records):
    bad = [ImageRecord(str(tmp_path / f"gone{i}.png"), 0, "circle", 40, 40) for i in range(2)]
    good = records[:3]
    ds = make_dataset(bad + good, 3, SIZE, 2, training=False)
    xs, ys = _epoch(ds)
    assert [len(x) for x in xs] == [2, 2, 1]  # the empty first batch is made up by a repeat
    assert np.array_equal(xs[0], xs[1])
    only_bad = make_dataset(bad, 3, SIZE, 2, training=False)
    with pytest.raises(Exception, match="none of the 2 images could be read"):
        _epoch(only_bad)


def test_producer_keeps_only_a_few_batches_in_flight(tmp_path):
    recs = _records(tmp_path / "many", per_class=40, size=16)
    source = BatchSource(recs, 3, 16, batch_size=2, training=False, workers=2)
    calls = []
    original = source._load
    source._load = lambda i, epoch: calls.append(i) or original(i, epoch)
    batches = source()
    next(batches)
    time.sleep(0.3)  # time enough to decode everything if nothing held the producer back
    batches.close()
    ahead = 3  # max(2, ceil(2 * workers / batch) + 1)
    assert len(calls) <= (ahead + 1) * 2 < len(recs)


def test_bad_augmentation_fails_before_training(records):
    cfg = AugmentConfig(preset="custom", transforms=[TransformConfig("Rotate", params={"lim": 3})])
    with pytest.raises(ConfigError, match=r"\(Rotate\): unknown parameter 'lim'"):
        make_dataset(records, 3, SIZE, 4, training=True, augment=cfg)


def test_feeds_keras_fit(records):
    import keras

    keras.utils.set_random_seed(0)
    train = make_dataset(records, 3, SIZE, 4, training=True, augment=preset_config("light"),
                         cache=DecodedCache(8), seed=0)
    val = make_dataset(records[::2], 3, SIZE, 4, training=False)
    model = keras.Sequential([
        keras.Input((SIZE, SIZE, 3)),
        keras.layers.Rescaling(1 / 255.0),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert all(np.isfinite(v) for v in history.history["loss"] + history.history["val_loss"])
    # Each Keras epoch was a new pass: the second one was served from the cache.
    assert train.batch_source.cache.stats().hits == len(records)


def test_repeat_gives_an_endless_dataset(records):
    ds = make_dataset(records, 3, SIZE, 5, training=True, seed=0, repeat=True)
    n = 0
    for x, _ in ds.take(7):  # more than the 3 batches of one epoch
        n += len(x)
    assert n == 5 + 5 + 2 + 5 + 5 + 2 + 5
