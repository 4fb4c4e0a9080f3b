"""core.features.near_duplicates: planted copies are grouped, different objects on white are not."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from core.data.imageio import load_rgb
from core.features.extract import signature
from core.features.hashing import hash_file
from core.features.near_duplicates import RULED_OUT, find_near_duplicates
from core.features.store import Embeddings


def _object_on_white(rng, size=200) -> Image.Image:
    """A product shot: one textured object on a white background, each one different."""
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 4))):
        x0, y0 = rng.integers(10, size // 2, 2)
        w, h = rng.integers(40, size // 2, 2)
        colour = tuple(int(c) for c in rng.integers(0, 200, 3))
        shape = [draw.ellipse, draw.rectangle][int(rng.integers(2))]
        shape([int(x0), int(y0), int(x0 + w), int(y0 + h)], fill=colour)
    arr = np.asarray(img).astype(np.float32)
    arr += rng.normal(0, 3, arr.shape) * (arr < 250)  # texture on the object only
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _copies(src: Image.Image) -> dict[str, Image.Image]:
    w, h = src.size
    buf = io.BytesIO()
    src.save(buf, "JPEG", quality=60)
    return {"jpeg": Image.open(io.BytesIO(buf.getvalue())).convert("RGB"),
            "resized": src.resize((w * 2 // 3, h * 2 // 3), Image.BICUBIC),
            "cropped": src.crop((6, 4, w - 4, h - 8)),
            "brighter": ImageEnhance.Brightness(src).enhance(1.2),
            "flipped": src.transpose(Image.FLIP_LEFT_RIGHT)}


def _embeddings(paths: list[str]) -> Embeddings:
    """What the store would return, minus the backbone: random features, real pixels."""
    rng = np.random.default_rng(1)
    sigs = np.stack([signature(load_rgb(p, 64)) for p in paths])
    return Embeddings(list(paths), [hash_file(p) for p in paths],
                      rng.normal(size=(len(paths), 16)).astype(np.float16), sigs)


@pytest.fixture
def folder(tmp_path) -> tuple[list[str], dict[str, str]]:
    """12 different objects on white, plus copies of objects 0-4 (one each, by kind)."""
    rng = np.random.default_rng(0)
    originals = []
    for i in range(12):
        p = tmp_path / f"a/object{i:02d}.png"
        p.parent.mkdir(exist_ok=True)
        _object_on_white(rng).save(p)
        originals.append(str(p))
    planted = {}
    for i, kind in enumerate(("jpeg", "resized", "cropped", "brighter", "flipped")):
        img = _copies(Image.open(originals[i]))[kind]
        p = tmp_path / ("b" if i % 2 else "a") / f"copy_{kind}.png"  # some in another class
        p.parent.mkdir(exist_ok=True)
        img.save(p)
        planted[str(p)] = originals[i]
    exact = tmp_path / "b" / "exact.png"
    exact.write_bytes(Path(originals[5]).read_bytes())
    planted[str(exact)] = originals[5]
    return originals + sorted(planted), planted


def test_planted_copies_are_grouped_and_distinct_objects_are_not(folder):
    paths, planted = folder
    found = find_near_duplicates(_embeddings(paths))
    groups = found.path_groups(paths)
    for copy, original in planted.items():
        assert any(copy in g and original in g for g in groups), Path(copy).name
    for g in groups:  # never two different originals in one group
        assert sum(1 for p in g if "object" in p) == 1, g
    assert {p.kind for p in found.pairs} >= {"exact", "pixels", "detail"}


def test_a_single_image_or_none_gives_no_groups(folder):
    paths, _ = folder
    assert find_near_duplicates(_embeddings(paths[:1])).groups == []


def test_the_reduction_runs_blas_on_one_thread(monkeypatch):
    """With TensorFlow loaded, BLAS threads fought OpenMP's over two cores: reducing 200
    feature rows took 14-19 s instead of 0.3 s.  The reduction now runs BLAS on one thread."""
    from threadpoolctl import threadpool_info

    from core.features import vectors

    seen = []
    qr = np.linalg.qr

    def spy(a, *args, **kwargs):
        seen.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        return qr(a, *args, **kwargs)

    monkeypatch.setattr(np.linalg, "qr", spy)
    x = np.random.default_rng(0).standard_normal((200, 300)).astype(np.float16)
    z = vectors.reduced(x, dims=32)
    assert z.shape == (200, 32) and seen and set(seen) == {1}


def test_a_cancelled_fine_check_caches_nothing_it_did_not_check(folder, tmp_path):
    """Cancelling during 'checking fine detail' stored -1 for every pair not yet checked,
    so every later audit and split missed those near-copies until the cache was deleted."""
    from core.events import Cancelled, CancelToken, Progress
    from core.features.fine_check import PairCache

    paths, planted = folder
    emb = _embeddings(paths)
    cache_file = tmp_path / "pair-checks.bin"
    cancel = CancelToken()

    def cancel_at_the_fine_check(event):
        if isinstance(event, Progress) and event.message == "checking fine detail":
            cancel.cancel()

    with pytest.raises(Cancelled):
        find_near_duplicates(emb, pair_cache=PairCache(cache_file), cancel=cancel,
                             listener=cancel_at_the_fine_check)
    assert cache_file.exists()
    assert all(score >= 0 or score == RULED_OUT for score in PairCache(cache_file).scores.values())
    again = find_near_duplicates(emb, pair_cache=PairCache(cache_file)).path_groups(paths)
    for copy, original in planted.items():
        assert any(copy in g and original in g for g in again), Path(copy).name


def test_the_all_pairs_searches_stop_between_chunks_when_cancelled():
    """At 20,000 images the near-copy search, the neighbour votes and the outlier scores
    each take a minute of CPU, and Cancel waited for all of them (113 s on a busy machine)
    with an unmoving progress bar (a review)."""
    import numpy as np

    from core.audit.labels import neighbour_votes
    from core.audit.outliers import outlier_scores
    from core.events import CancelToken, Cancelled
    from core.features.pixels import pixel_candidates
    from core.features.vectors import top_k

    rng = np.random.default_rng(0)
    signatures = rng.integers(0, 255, (64, 32, 32), dtype=np.uint8)
    seen = []
    token = CancelToken()

    def progress(done, total):
        seen.append((done, total))
        token.cancel()  # Cancel pressed while the first chunk runs

    with pytest.raises(Cancelled):
        pixel_candidates(signatures, 3, windows=False, chunk=16, cancel=token, progress=progress)
    assert seen == [(0, 64)]  # one chunk, not the whole search
    x = rng.normal(size=(64, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    groups, labels = np.arange(64), np.arange(64) % 2
    for search in (lambda: top_k(x, x, 3, cancel=token),
                   lambda: neighbour_votes(x, labels, groups, 2, cancel=token),
                   lambda: outlier_scores(x, groups, cancel=token)):
        with pytest.raises(Cancelled):
            search()
