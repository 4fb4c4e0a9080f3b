"""Interlaced PNGs and progressive JPEGs are decoded whole whatever size is asked for (a
review: 460-500 MB for 144 megapixels, 10x the same pixels saved plainly), so past a limit
they are "oversized" with how to save them, and big ones are decoded one at a time.

The limits are lowered here so tiny images stand for huge ones; what the decoders hold at
real sizes is measured in core/data/whole_decode.py's docstring."""

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data import whole_decode
from core.data.dataset import scan_dataset
from core.data.imageio import ImageError, load_rgb
from core.data.probe import probe_image


def _photo(w=64, h=48) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def _files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    files = {"interlaced": folder / "interlaced.png", "plain_png": folder / "plain.png",
             "progressive": folder / "progressive.jpg", "baseline": folder / "baseline.jpg"}
    _photo().save(files["plain_png"])
    _photo().save(files["baseline"], quality=90)
    _photo().save(files["progressive"], quality=90, progressive=True)
    # Pillow writes no interlaced PNG: libvips does
    import pyvips
    pyvips.Image.new_from_file(str(files["plain_png"])).pngsave(str(files["interlaced"]),
                                                                 interlace=True)
    return files


@pytest.fixture
def tiny_limits(monkeypatch):
    """64 x 48 pixels count as huge: above the full-size limit, and too big whole."""
    monkeypatch.setattr(whole_decode, "MAX_DECODE_PIXELS", 1000)
    monkeypatch.setattr(whole_decode, "WHOLE_LIMIT_BYTES", 5000)


def test_interlaced_png_and_progressive_jpeg_past_the_limit_say_how_to_save_them(
        tmp_path, tiny_limits):
    files = _files(tmp_path / "data" / "a")
    for key, words in (("interlaced", "save it without interlacing"),
                       ("progressive", "save it as a baseline (not progressive) JPEG")):
        for read in (probe_image, lambda p: load_rgb(p, 32)):
            with pytest.raises(ImageError) as err:
                read(files[key])
            assert err.value.kind == "oversized"
            assert "is too big to decode whole" in err.value.reason
            assert words in err.value.reason, err.value.reason
            assert "limit 0 MB" in err.value.reason  # 5000 bytes
    for key in ("plain_png", "baseline"):  # the same pixels saved plainly stream
        assert probe_image(files[key]).width == 64
        assert load_rgb(files[key], 32).shape == (32, 32, 3)
    (tmp_path / "data" / "b").mkdir()
    _photo(40, 40).save(tmp_path / "data" / "b" / "x.png")
    report = scan_dataset(tmp_path / "data")  # the Data page and inspect name them too
    assert {Path(p.path).name: p.kind for p in report.problems} == {
        "interlaced.png": "oversized", "progressive.jpg": "oversized"}


def test_under_the_full_size_limit_nothing_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(whole_decode, "WHOLE_LIMIT_BYTES", 5000)  # pixels under the limit
    files = _files(tmp_path)
    for key in ("interlaced", "progressive"):
        assert whole_decode.whole_bytes(Image.open(files[key])) > 5000
        assert load_rgb(files[key], 32).shape == (32, 32, 3)


def test_what_the_decoders_hold_whole(tmp_path):
    files = _files(tmp_path)
    assert whole_decode.whole_bytes(Image.open(files["interlaced"])) == 64 * 48 * 3
    # libjpeg's coefficients, 4:2:0: 8 x 6 blocks of luma, 4 x 3 of each chroma, 128 B each
    assert whole_decode.whole_bytes(Image.open(files["progressive"])) == (48 + 12 + 12) * 128
    for key in ("plain_png", "baseline"):  # streamed a strip at a time, or decoded shrunk
        assert whole_decode.whole_bytes(Image.open(files[key])) == 0


def test_big_ones_are_decoded_one_at_a_time(tmp_path, monkeypatch):
    files = _files(tmp_path)
    monkeypatch.setattr(whole_decode, "ONE_AT_A_TIME_BYTES", 5000)
    held = []

    class Recording:
        def __enter__(self):
            held.append(threading.current_thread().name)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(whole_decode, "_ONE_WHOLE", Recording())
    for key in ("plain_png", "baseline"):
        load_rgb(files[key], 32)
    assert held == []
    for key in ("interlaced", "progressive"):
        load_rgb(files[key], 32)
    assert len(held) == 2
