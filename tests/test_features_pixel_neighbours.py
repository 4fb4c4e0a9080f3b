"""core.features.pixel_neighbours: a kept pixel search gives a full search's answer for less.

A second data check or training start of the same 20,000 images redid the
all-pairs pixel search from scratch (a minute of CPU, 6 minutes on a busy
machine, a review); it is now kept by content and only changes are searched.
"""

import hashlib

import numpy as np
import pytest

from core.features import pixels
from core.features.pixel_neighbours import NeighbourCache, cached_pixel_candidates


def _images(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 255, (n, 32, 32), dtype=np.uint8)
    digests = [hashlib.blake2b(s.tobytes(), digest_size=16).hexdigest() for s in sigs]
    return sigs, digests


def _as_sets(idx: np.ndarray, digests: list[str]) -> list[set]:
    return [{digests[j] for j in row} for row in idx]


@pytest.mark.parametrize("windows", [False, True])
def test_an_updated_search_equals_a_full_one_and_searches_only_the_changes(tmp_path, windows,
                                                                           monkeypatch):
    sigs, digests = _images(80, 0)
    extra, extra_digests = _images(12, 1)
    cache = NeighbourCache(tmp_path)
    first, _ = cached_pixel_candidates(sigs[:60], digests[:60], 5, windows, cache)
    full, _ = pixels.pixel_candidates(sigs[:60], 5, windows)
    assert _as_sets(first, digests) == _as_sets(full, digests)

    searched = []
    real = pixels.nearest_views

    def counting(desc, queries, targets, k, **kw):
        searched.append(len(queries) * len(targets))
        return real(desc, queries, targets, k, **kw)

    monkeypatch.setattr("core.features.pixel_neighbours.nearest_views", counting)
    all_sigs, all_digests = np.concatenate([sigs, extra]), digests + extra_digests
    shuffle = np.random.default_rng(2).permutation
    # New images come in (order shuffled): only they are searched, and the old ones
    # against them.
    for order in (shuffle(np.arange(72)),
                  # then two images go and more come in
                  shuffle(np.r_[np.arange(2, 60), np.arange(72, 92)])):
        now_sigs, now_digests = all_sigs[order], [all_digests[i] for i in order]
        searched.clear()
        got, got_sims = cached_pixel_candidates(now_sigs, now_digests, 5, windows, cache)
        want, want_sims = pixels.pixel_candidates(now_sigs, 5, windows)
        assert _as_sets(got, now_digests) == _as_sets(want, now_digests)
        np.testing.assert_allclose(got_sims, want_sims, rtol=1e-5, atol=1e-6)
        if len(order) == 72:
            assert sum(searched) == 12 * 72 + 60 * 12
        assert sum(searched) < len(order) ** 2

    # Nothing changed: nothing is searched, and the answer is the same.
    searched.clear()
    again, _ = cached_pixel_candidates(now_sigs, now_digests, 5, windows, cache)
    assert sum(searched) == 0 and _as_sets(again, now_digests) == _as_sets(want, now_digests)


def test_a_damaged_or_foreign_kept_search_is_searched_again(tmp_path):
    sigs, digests = _images(30, 3)
    cache = NeighbourCache(tmp_path)
    cached_pixel_candidates(sigs, digests, 4, False, cache)
    [kept] = list(tmp_path.glob("pixel-neighbours-*.npz"))
    want, _ = pixels.pixel_candidates(sigs, 4, False)
    kept.write_bytes(kept.read_bytes()[:200])  # cut off
    got, _ = cached_pixel_candidates(sigs, digests, 4, False, cache)
    assert _as_sets(got, digests) == _as_sets(want, digests)
    # Another k or view set is not this search.
    assert cache.best(np.zeros((0, 16), np.uint8), 5, False) is None
    got3, _ = cached_pixel_candidates(sigs, digests, 3, False, cache)
    assert got3.shape == (30, 3)


def test_a_few_folders_are_kept_so_switching_back_costs_nothing(tmp_path, monkeypatch):
    cache = NeighbourCache(tmp_path)
    sets = [_images(20, 10 + s) for s in range(5)]
    for sigs, digests in sets:
        cached_pixel_candidates(sigs, digests, 3, False, cache)
    assert len(list(tmp_path.glob("pixel-neighbours-*.npz"))) == 4  # the oldest went
    searched = []
    real = pixels.nearest_views
    monkeypatch.setattr("core.features.pixel_neighbours.nearest_views",
                        lambda desc, q, t, k, **kw: searched.append(len(q) * len(t))
                        or real(desc, q, t, k, **kw))
    for sigs, digests in sets[1:]:  # back to each kept folder in turn
        got, _ = cached_pixel_candidates(sigs, digests, 3, False, cache)
        want, _ = pixels.pixel_candidates(sigs, 3, False)
        assert _as_sets(got, digests) == _as_sets(want, digests)
    assert sum(searched) == 0
    sigs, digests = sets[0]  # the one that was let go is searched again
    cached_pixel_candidates(sigs, digests, 3, False, cache)
    assert sum(searched) == 20 * 20


def test_a_read_only_cache_folder_still_answers(tmp_path):
    sigs, digests = _images(20, 4)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    got, _ = cached_pixel_candidates(sigs, digests, 3, False, NeighbourCache(blocked / "sub"))
    want, _ = pixels.pixel_candidates(sigs, 3, False)
    assert _as_sets(got, digests) == _as_sets(want, digests)
