"""core.features.store: computed once per content, reused, rebuilt when damaged, never trusted.

The backbone is replaced by a counting stand-in (the store's contract is about
which images reach it, not about Keras); tests/test_audit_cli.py runs the real
tiny MobileNetV3Small through the same store.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.events import CancelToken, Cancelled, FileSkipped, Log
from core.features import extract
from core.features.extract import FeatureModel
from core.features.store import FeatureStore


class CountingExtractor:
    """Features = mean colour of each image, tiled; counts the images it sees."""

    image_size = 32
    dim = 6
    seen = 0

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, images):
        CountingExtractor.seen += len(images)
        means = images.reshape(len(images), -1, 3).mean(axis=1) / 255.0
        return np.tile(means, 2).astype(np.float32)


@pytest.fixture
def fake_backbone(monkeypatch):
    CountingExtractor.seen = 0
    monkeypatch.setattr(extract, "build_extractor", CountingExtractor)
    return CountingExtractor


@pytest.fixture
def model(tmp_path):
    weights = tmp_path / "w.weights.h5"
    weights.write_bytes(b"any bytes: only their hash matters to the store")
    return FeatureModel("MobileNetV3Small", str(weights), 32)


def _images(folder: Path, n: int = 6) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"img{i}.png"
        Image.fromarray(np.full((20, 20, 3), 20 * i + 10, dtype=np.uint8)).save(p)
        out.append(str(p))
    return out


def test_second_call_computes_nothing_and_renames_are_free(tmp_path, fake_backbone, model):
    paths = _images(tmp_path / "data")
    store = FeatureStore(tmp_path / "store")
    first = store.embed(paths, model)
    assert first.computed == 6 and fake_backbone.seen == 6
    assert first.vectors.dtype == np.float16 and first.vectors.shape == (6, 6)
    assert first.signatures.shape == (6, 32, 32)

    def no_backbone(*a, **k):
        raise AssertionError("the backbone must not be built when the store holds everything")

    extract.build_extractor, saved = no_backbone, extract.build_extractor
    try:
        again = FeatureStore(tmp_path / "store").embed(paths, model)  # a "restart": new object
        moved = tmp_path / "data" / "renamed.png"
        os.rename(paths[0], moved)
        renamed = store.embed([str(moved)] + paths[1:], model)
    finally:
        extract.build_extractor = saved
    assert again.computed == 0 and renamed.computed == 0
    np.testing.assert_array_equal(again.vectors, first.vectors)
    np.testing.assert_array_equal(renamed.vectors, first.vectors)


def test_only_a_changed_file_is_computed_again(tmp_path, fake_backbone, model):
    paths = _images(tmp_path / "data")
    store = FeatureStore(tmp_path / "store")
    store.embed(paths, model)
    Image.fromarray(np.full((20, 20, 3), 250, dtype=np.uint8)).save(paths[2])
    again = store.embed(paths, model)
    assert again.computed == 1 and fake_backbone.seen == 7
    assert float(again.vectors[2, 0]) == pytest.approx(250 / 255, abs=1e-3)


def test_other_weights_or_size_get_their_own_rows(tmp_path, fake_backbone, model):
    paths = _images(tmp_path / "data", 3)
    store = FeatureStore(tmp_path / "store")
    store.embed(paths, model)
    other = Path(model.weights).with_name("other.weights.h5")
    other.write_bytes(b"different weights")
    assert store.embed(paths, FeatureModel(model.backbone, str(other), 32)).computed == 3
    assert store.embed(paths, FeatureModel(model.backbone, model.weights, 48)).computed == 3
    assert store.model_id(FeatureModel(model.backbone, "none", 32)) is None


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "garbage"])
def test_damaged_store_is_rebuilt_never_trusted(tmp_path, fake_backbone, model, damage):
    paths = _images(tmp_path / "data")
    store = FeatureStore(tmp_path / "store")
    good = store.embed(paths, model)
    shard = next((tmp_path / "store").rglob("*.shard"))
    data = bytearray(shard.read_bytes())
    if damage == "flip_byte":
        data[-40] ^= 0xFF  # inside the feature rows: only the checksum notices
    elif damage == "truncate":
        data = data[:len(data) // 2]
    else:
        data = bytearray(b"not a shard at all")
    shard.write_bytes(bytes(data))
    (tmp_path / "store" / "file-hashes.json").write_text("{broken json")
    events = []
    again = store.embed(paths, model, listener=events.append)
    assert again.computed == 6
    np.testing.assert_array_equal(again.vectors, good.vectors)
    assert any(isinstance(e, Log) and e.level == "warning" and "removed" in e.message
               for e in events)
    assert store.embed(paths, model).computed == 0  # the rebuilt rows are kept


def test_unreadable_file_is_skipped_once_and_the_rest_kept(tmp_path, fake_backbone, model):
    paths = _images(tmp_path / "data", 3)
    broken = tmp_path / "data" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    events = []
    result = FeatureStore(tmp_path / "store").embed(paths + [str(broken)], model,
                                                    listener=events.append)
    assert result.paths == paths
    skipped = [e for e in events if isinstance(e, FileSkipped)]
    assert [e.path for e in skipped] == [str(broken)] and skipped[0].stage == "features"
    assert result.skipped[0][0] == str(broken)


def test_cancel_stops_and_keeps_what_was_computed(tmp_path, fake_backbone, model, monkeypatch):
    import core.features.store as store_module

    monkeypatch.setattr(store_module, "FLUSH_ROWS", 2)
    paths = _images(tmp_path / "data", 8)
    cancel = CancelToken()

    def listener(event):
        if getattr(event, "message", "") == "computing features" and event.done >= 4:
            cancel.cancel()

    store = FeatureStore(tmp_path / "store")
    with pytest.raises(Cancelled):
        store.embed(paths, model, listener=listener, cancel=cancel, batch_size=2)
    assert store.embed(paths, model).computed < 8


def test_a_file_changed_between_hash_and_decode_keeps_no_features(tmp_path, fake_backbone,
                                                                 model, monkeypatch):
    """A copy over the file while the audit ran filed the new image's features under the old
    content's hash, for good: the file's real near-copy was missed in every later audit."""
    from core.features import store as store_module

    paths = _images(tmp_path / "imgs", 3)
    original = Path(paths[0]).read_bytes()
    real_batches = store_module.decoded_batches

    def replaced_after_hashing(files, *args, **kwargs):
        Image.fromarray(np.full((20, 20, 3), 250, dtype=np.uint8)).save(paths[0])
        yield from real_batches(files, *args, **kwargs)

    monkeypatch.setattr(store_module, "decoded_batches", replaced_after_hashing)
    store = FeatureStore(tmp_path / "store")
    first = store.embed(paths, model)
    assert paths[0] not in first.paths and len(first.paths) == 2
    assert any(p == paths[0] and "changed while it was being read" in why
               for p, why in first.skipped)

    monkeypatch.setattr(store_module, "decoded_batches", real_batches)
    Path(paths[0]).write_bytes(original)  # the old content back: computed, not a stale row
    again = FeatureStore(tmp_path / "store").embed(paths, model)
    assert again.computed == 1
    row = again.paths.index(paths[0])
    assert np.allclose(again.vectors[row][:3].astype(np.float32), 10 / 255, atol=1e-2)


def test_a_read_only_store_is_read_and_not_written(tmp_path, fake_backbone, model, monkeypatch):
    """On a read-only (or full) disk the store's files are a cache: audit and suggest failed
    with 'cannot write …/file-hashes.json; choose another folder' although every feature
    was stored already."""
    import errno

    from core.features.fine_check import PairCache
    from core import fsutil

    paths = _images(tmp_path / "data", 4)
    FeatureStore(tmp_path / "store").embed(paths[:3], model)
    Path(paths[0]).touch()  # the hash index has something new to remember

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(fsutil.tempfile, "mkstemp", read_only)
    logs = []
    store = FeatureStore(tmp_path / "store")
    got = store.embed(paths, model, listener=logs.append)  # one new image: computed, not kept
    assert got.paths == paths and got.computed == 1
    assert any(isinstance(e, Log) and "cannot save features" in e.message for e in logs)
    cache = PairCache(tmp_path / "store" / "pairs.bin")
    cache.put("00" * 16, "11" * 16, 0.5)
    cache.save()  # not kept, and no error
    assert not (tmp_path / "store" / "pairs.bin").exists()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see maps")
def test_compaction_deletes_the_old_shards_where_mapped_files_cannot_be_deleted(
        tmp_path, fake_backbone, model, monkeypatch):
    """Windows deletes no memory-mapped file: embed compacted while its own table still mapped
    every shard, so each compaction added a full copy of the store and deleted nothing (a
    portability review).  Here unlink refuses a file this process maps, as Windows does."""
    from core.features import store as store_module

    real_unlink = Path.unlink
    refused = []

    def windows_unlink(self, missing_ok=False):
        with open("/proc/self/maps", encoding="utf-8") as maps:
            mapped = {line.split(None, 5)[5].strip() for line in maps
                      if len(line.split(None, 5)) == 6}
        if os.path.abspath(self) in mapped:
            refused.append(self.name)
            raise PermissionError(13, "being used by another process (WinError 32)", str(self))
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", windows_unlink)
    monkeypatch.setattr(store_module, "MAX_SHARDS", 3)
    store = FeatureStore(tmp_path / "store")
    paths = _images(tmp_path / "data", 8)
    for n in range(1, len(paths) + 1):  # one new image a call: one new shard a call
        assert store.embed(paths[:n], model).computed == 1
    shards = list((tmp_path / "store").rglob("*.shard"))
    assert len(shards) <= 3 and refused == []  # one row view of a map had kept one back
    assert store.embed(paths, model).computed == 0
