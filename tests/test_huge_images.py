"""Huge images are images: PNG/TIFF/WebP far above Pillow's whole-image limit
decode shrunk, streaming, in bounded memory, and look like what Pillow gives."""

import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import pyvips
from PIL import Image

from core.data import huge, image_open, imageio
from core.data.dataset import scan_dataset
from core.data.imageio import ImageError, load_rgb, load_thumbnail
from core.data.probe import probe_image

ROOT = Path(__file__).resolve().parents[1]

#: 9000 x 8000 = 72 megapixels, above the old 8192 x 8192 limit of the one decoder.
W, H = 9000, 8000
QUADRANTS = np.array([[[200, 30, 30], [30, 200, 30]],
                      [[30, 30, 200], [240, 240, 40]]], dtype=np.uint8)


def _write_quadrants(path: Path, **options) -> Path:
    """A real W x H image of four flat colours, written by libvips a strip at a time."""
    tile = pyvips.Image.new_from_array(QUADRANTS).copy(interpretation="srgb")
    tile.zoom(W // 2, H // 2).write_to_file(str(path), **options)
    return path


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory) -> Path:
    return _write_quadrants(tmp_path_factory.mktemp("huge") / "poster.png")


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height``."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


# ------------------------------------------------------------ the 72-megapixel image

_MEASURE = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    from core.data import huge, imageio, probe

    def peak_mib():
        # VmHWM: ru_maxrss would carry the parent's peak over fork and exec on Linux.
        try:
            with open("/proc/self/status") as f:
                return next(int(ln.split()[1]) / 1024 for ln in f if ln.startswith("VmHWM:"))
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    paths = sys.argv[1:]
    # Warm up: libvips, Pillow's plugins and numpy loaded before the baseline.
    assert huge.can_stream("PNG")
    probe.probe_image(paths[0])
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # peak RSS := current RSS
    except OSError:
        pass
    base = peak_mib()
    out = []
    for p in paths:
        t0 = time.perf_counter()
        info = probe.probe_image(p)
        arr = imageio.load_rgb(p, 224)
        thumb = imageio.load_thumbnail(p, 300).shape if p == paths[0] else None
        out.append({"size": [info.width, info.height], "shape": list(arr.shape),
                    "thumb": thumb and list(thumb), "seconds": time.perf_counter() - t0,
                    "centres": [arr[y, x].tolist() for y in (56, 168) for x in (56, 168)]})
    print(json.dumps({"images": out, "grown_mib": peak_mib() - base}))
""")


def test_72_megapixel_png_and_tiff_decode_at_224_in_bounded_memory(huge_png, tmp_path):
    tiff = _write_quadrants(tmp_path / "scan.tif", compression="deflate", tile=True)
    # Pillow would hold 216 MB of RGB pixels for either (and copies while converting);
    # measured in a fresh process so nothing else in the test session counts.
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(huge_png), str(tiff)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    want = [QUADRANTS[r, c].tolist() for r in (0, 1) for c in (0, 1)]
    for image in report["images"]:
        assert image["size"] == [W, H]
        assert image["shape"] == [224, 224, 3]
        assert image["centres"] == want  # each quadrant keeps its colour
    assert report["images"][0]["thumb"] == [267, 300, 3]  # aspect kept: 8000/9000 * 300
    assert report["grown_mib"] < 160, f"peak memory grew by {report['grown_mib']:.0f} MiB"


def test_scan_lists_a_72_megapixel_png_as_an_image(huge_png, tmp_path):
    for cls in ("posters", "photos"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (40, 30), (i * 60, 100, 200 if cls == "photos" else 0)).save(
                tmp_path / cls / f"{cls}_{i}.png")
    shutil.copy(huge_png, tmp_path / "posters" / "poster.png")
    report = scan_dataset(tmp_path)
    assert not any(p.path.endswith("poster.png") for p in report.problems)
    assert str(tmp_path / "posters" / "poster.png") in {r.path for r in report.records}
    assert report.counts["posters"] == 4


def test_cut_off_huge_png_is_corrupt(huge_png, tmp_path):
    data = huge_png.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as info:
        probe_image(cut)  # the header is fine; the missing end marker gives it away
    assert info.value.kind == "corrupt"
    # Cut in the pixels but with an end marker glued on: only decoding can tell.
    patched = tmp_path / "patched.png"
    patched.write_bytes(data[: len(data) // 2] + data[-12:])
    assert probe_image(patched).width == W
    for path in (cut, patched):
        with pytest.raises(ImageError) as info:
            load_rgb(path, 224)
        assert info.value.kind == "corrupt", info.value.reason
        assert "re-export or remove it" in info.value.reason


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [70_000, 100_000])
def test_header_claiming_gigapixels_is_oversized_at_once(tmp_path, side):
    # 4.9 GP is past this app's own limit; 10 GP past Pillow's bomb guard too.
    path = tmp_path / "claims.png"
    path.write_bytes(_png_claiming(side, side))
    t0 = time.perf_counter()
    for call in (lambda: probe_image(path), lambda: load_rgb(path, 224),
                 lambda: load_thumbnail(path, 128)):
        with pytest.raises(ImageError) as info:
            call()
        assert info.value.kind == "oversized"
        assert "megapixels" in info.value.reason and "resize it" in info.value.reason
    assert time.perf_counter() - t0 < 2.0


# ------------------------------------------------------------ same pixels as Pillow


def _scene(h: int, w: int) -> np.ndarray:
    """Structure at several scales (gradients, a checkerboard, a disc), not noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    disc = ((x - w / 2) ** 2 + (y - h / 2) ** 2) < (min(h, w) / 3) ** 2
    check = ((x // (w / 16) + y // (h / 12)) % 2) * 120
    return np.stack([x * 255 / w, np.where(disc, 230, y * 255 / h), 40 + check],
                    -1).astype(np.uint8)


def _with_exif(turn):
    exif = Image.Exif()
    exif[0x0112] = turn
    return exif


def _hot(plane: np.ndarray, value: float) -> np.ndarray:
    """``plane`` (float32) with 50 scattered pixels set to ``value``."""
    out = plane.astype(np.float32).copy()
    rng = np.random.default_rng(5)
    out[rng.integers(0, out.shape[0], 50), rng.integers(0, out.shape[1], 50)] = value
    return out


SCENE = _scene(480, 640)
ALPHA = (np.arange(640)[None, :].repeat(480, 0) * 255 // 640).astype(np.uint8)
CASES = {
    "rgb.png": lambda p: Image.fromarray(SCENE).save(p),
    "rgba.png": lambda p: Image.fromarray(np.dstack([SCENE, ALPHA])).save(p),
    "la.png": lambda p: Image.merge("LA", [Image.fromarray(SCENE[..., 0]),
                                           Image.fromarray(ALPHA)]).save(p),
    "palette_trns.png": lambda p: Image.fromarray(SCENE).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=64).save(p, transparency=3),
    "grey16.png": lambda p: Image.fromarray(SCENE[..., 0].astype(np.uint16) * 250).save(p),
    "exif6.png": lambda p: Image.fromarray(SCENE).save(p, exif=_with_exif(6)),
    "rgb.tif": lambda p: Image.fromarray(SCENE).save(p, compression="tiff_lzw"),
    "cmyk.tif": lambda p: Image.fromarray(SCENE).convert("CMYK").save(p),
    "float.tif": lambda p: Image.fromarray(SCENE[..., 1].astype(np.float32) / 255 * 3 - 1).save(p),
    "exif8.tif": lambda p: Image.fromarray(SCENE).save(p, exif=_with_exif(8)),
    # a few pixels outside 0..1 (or 0..255) set the scaling: a shrunk copy averaged them
    # away, so the streamed image came out 80 grey levels brighter (a review)
    "float_hot.tif": lambda p: Image.fromarray(_hot(SCENE[..., 1] / 255 * 0.78, 5.0)).save(p),
    "int32_hot.tif": lambda p: Image.fromarray(
        _hot(SCENE[..., 1] * 200 // 255, 300).astype(np.int32)).save(p),
    "rgb.webp": lambda p: Image.fromarray(SCENE).save(p, quality=95),
    "rgba.webp": lambda p: Image.fromarray(np.dstack([SCENE, ALPHA])).save(p, lossless=True),
    "exif3.webp": lambda p: Image.fromarray(SCENE).save(p, quality=95, exif=_with_exif(3)),
}


def _both_paths(monkeypatch, path, decode):
    """(libvips result, Pillow result) of ``decode(path)``."""
    monkeypatch.setattr(imageio, "STREAM_ABOVE_PIXELS", 0)
    streamed = decode(path)
    monkeypatch.setattr(imageio, "STREAM_ABOVE_PIXELS", 10**12)
    whole = decode(path)
    return streamed, whole


@pytest.mark.parametrize("name", sorted(CASES))
def test_streamed_decode_matches_pillow(tmp_path, monkeypatch, name):
    path = tmp_path / name
    CASES[name](path)
    calls = []
    real = huge.decode_shrunk
    monkeypatch.setattr(huge, "decode_shrunk", lambda *a: calls.append(a) or real(*a))
    for decode in (lambda p: load_rgb(p, 224), lambda p: load_rgb(p, (100, 180)),
                   lambda p: load_thumbnail(p, 150)):
        streamed, whole = _both_paths(monkeypatch, path, decode)
        assert streamed.shape == whole.shape and streamed.dtype == np.uint8
        diff = np.abs(streamed.astype(int) - whole.astype(int))
        assert diff.mean() < 2, f"{name}: mean abs difference {diff.mean():.2f}"
        if name not in ("rgb.webp", "exif3.webp"):  # libwebp decodes those two scaled
            assert diff.max() <= 1, f"{name}: {diff.max()} grey levels apart"  # was 4
    assert len(calls) == 3  # the first of each pair really went through libvips


@pytest.mark.parametrize("turn", [3, 6])
def test_a_turned_tiff_is_shrunk_upright_as_pillow_does(tmp_path, monkeypatch, turn):
    """Pillow turns a TIFF while loading it, so README.txt's recipe shrinks it upright: the
    streamed one was 5 grey levels off, then failed ("out of order read") when its first
    rows were the partial block."""
    path = tmp_path / "scan.tif"
    image = pyvips.Image.new_from_array(_scene(1501, 2000)).copy(interpretation="srgb")
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", turn)
    image.tiffsave(str(path))
    with Image.open(path) as img:
        img.load()
        want = np.asarray(img.convert("RGB").resize((96, 96), Image.BILINEAR, reducing_gap=3.0))
    monkeypatch.setattr(imageio, "STREAM_ABOVE_PIXELS", 0)
    assert np.abs(load_rgb(path, 96).astype(int) - want).max() <= 1


def test_mid_size_photo_through_both_paths(tmp_path, monkeypatch):
    # 3 megapixels, a camera photo's size: what Pillow handles, through both decoders.
    path = tmp_path / "mid.png"
    Image.fromarray(_scene(1500, 2000)).save(path, compress_level=1)
    for decode in (lambda p: load_rgb(p, 224), lambda p: load_thumbnail(p, 512)):
        streamed, whole = _both_paths(monkeypatch, path, decode)
        assert streamed.shape == whole.shape
        assert np.abs(streamed.astype(int) - whole.astype(int)).mean() < 2


def test_threads_decode_streamed_images_consistently(tmp_path, monkeypatch):
    # The training pipeline decodes in a thread pool; libvips must give each
    # thread its own image, the same as a decode on its own.
    monkeypatch.setattr(imageio, "STREAM_ABOVE_PIXELS", 0)
    paths = []
    for i in range(6):
        path = tmp_path / f"img{i}.{('png', 'tif', 'webp')[i % 3]}"
        Image.fromarray(np.roll(SCENE, 37 * i, axis=1)).save(path, **(
            {"lossless": True} if path.suffix == ".webp" else {}))
        paths.append(path)
    alone = [load_rgb(p, 96) for p in paths]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda p: load_rgb(p, 96), paths * 4))
    for k, arr in enumerate(together):
        assert np.array_equal(arr, alone[k % len(paths)])


def test_without_libvips_big_images_are_oversized_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(huge, "_load_vips", lambda: (None, "libvips is not available "
                                                     "(ImportError: no module named pyvips)"))
    monkeypatch.setattr(imageio, "MAX_DECODE_PIXELS", 100 * 100)
    monkeypatch.setattr(image_open, "MAX_DECODE_PIXELS", 100 * 100)
    big = tmp_path / "big.png"
    Image.fromarray(SCENE).save(big)
    with pytest.raises(ImageError) as info:
        probe_image(big)
    assert info.value.kind == "oversized"
    assert 'pip install "pyvips[binary]"' in info.value.reason
    with pytest.raises(ImageError) as info:
        load_rgb(big, 64)
    assert info.value.kind == "oversized"
    small = tmp_path / "small.png"
    Image.fromarray(SCENE[:50, :50]).save(small)
    monkeypatch.setattr(imageio, "STREAM_ABOVE_PIXELS", 0)
    assert load_rgb(small, 32).shape == (32, 32, 3)  # Pillow still does the rest


def test_libvips_reads_the_checked_file_and_lets_it_go(huge_png):
    # It reads the descriptor imageio opened (a regular file), not the name again,
    # and keeps nothing open afterwards (its operation cache is off).
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    for _ in range(2):
        load_rgb(huge_png, 32)
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before


def test_a_libvips_error_names_this_files_loader_not_another_threads():
    """libvips keeps one error log per process: a TIFF's reason quoted a PNG's error."""
    from core.data.huge import _error_text

    log = RuntimeError("unable to call tiffload_source\ntiff2vips: Not enough data\n"
                       "vipspng: libpng read error")
    assert _error_text(log, "TIFF") == "tiff2vips: Not enough data"
    assert _error_text(log, "PNG") == "vipspng: libpng read error"
    assert _error_text(RuntimeError("unable to call x\nsomething odd"), "WEBP") == "something odd"


# ---------------------------------------------- TIFFs only libvips reads are images too

_PIXELS = np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)


def _tiffs_pillow_cannot_read(folder: Path, pixels: np.ndarray = _PIXELS) -> dict[str, Path]:
    """Real TIFFs from microscopes and scientific software that Pillow refuses."""
    grey16 = pixels[..., 0].astype(np.uint16) * 257
    images = {
        "float_rgb.tif": pyvips.Image.new_from_array(pixels.astype(np.float32) / 255.0),
        "grey16_alpha.tif": pyvips.Image.new_from_array(
            np.dstack([grey16, np.full_like(grey16, 65535)])).copy(interpretation="grey16"),
        "cielab.tif": pyvips.Image.new_from_array(pixels).copy(
            interpretation="srgb").colourspace("lab"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        image.tiffsave(str(folder / name))
    return {name: folder / name for name in images}


def test_tiffs_pillow_cannot_read_are_decoded_by_libvips(tmp_path):
    """They were 'corrupt' (header cannot be read) though libtiff reads them fine."""
    for name, path in _tiffs_pillow_cannot_read(tmp_path).items():
        with pytest.raises(Exception):  # the premise: Pillow itself cannot
            with Image.open(path) as img:
                img.load()
        info = probe_image(path)
        assert (info.width, info.height, info.format) == (50, 40, "TIFF"), name
        full = load_rgb(path)
        want = _PIXELS if name != "grey16_alpha.tif" else np.repeat(_PIXELS[..., :1], 3, 2)
        assert full.shape == (40, 50, 3)
        assert np.abs(full.astype(int) - want).max() <= 2, name
        assert load_rgb(path, 32).shape == (32, 32, 3)
        assert load_thumbnail(path, 25).shape == (20, 25, 3)

    counts = scan_dataset(_two_classes(tmp_path / "data")).counts
    assert counts == {"a": 3, "b": 3}


def _two_classes(root: Path) -> Path:
    for cls in ("a", "b"):
        _tiffs_pillow_cannot_read(root / cls, _PIXELS if cls == "a" else 255 - _PIXELS)
    return root


def test_a_damaged_tiff_pillow_cannot_read_is_still_corrupt(tmp_path, monkeypatch):
    path = _tiffs_pillow_cannot_read(tmp_path)["float_rgb.tif"]
    cut = tmp_path / "cut.tif"
    cut.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    for kind_of in (probe_image, load_rgb):
        with pytest.raises(ImageError) as info:
            kind_of(cut) if kind_of is probe_image else load_rgb(cut)
        assert info.value.kind == "corrupt" and str(cut) in str(info.value)
    # Without libvips such a file stays what Pillow says: a header it cannot read.
    monkeypatch.setattr(huge, "_load_vips", lambda: (None, "libvips is not available"))
    with pytest.raises(ImageError) as info:
        probe_image(path)
    assert info.value.kind == "corrupt" and "header cannot be read" in info.value.reason


def test_a_big_webp_with_transparency_is_laid_over_white_before_it_shrinks(tmp_path,
                                                                           monkeypatch):
    """libwebp shrank it first: the colour hidden under the transparent stripes leaked in
    (mean 182 against 212 for the same file read whole)."""
    import core.data.imageio as io

    rgba = np.zeros((400, 420, 4), np.uint8)
    rgba[..., 0] = 200  # red, hidden under the transparent stripes
    stripes = (np.arange(420) // 20) % 2 == 0
    rgba[:, stripes, :3] = 170
    rgba[:, stripes, 3] = 255
    path = tmp_path / "cut.webp"
    Image.fromarray(rgba, "RGBA").save(path, quality=90, method=0)
    whole = io.load_rgb(str(path), 32).astype(int)
    monkeypatch.setattr(io, "STREAM_ABOVE_PIXELS", 100 * 100)  # as a 17 MP file is read
    streamed = io.load_rgb(str(path), 32).astype(int)
    assert np.abs(streamed - whole).max() <= 4  # 11 when shrunk first (44 at 17 MP)
    assert np.abs(streamed.mean(axis=(0, 1)) - whole.mean(axis=(0, 1))).max() < 1
