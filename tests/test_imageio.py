"""core.data.imageio: every odd image decodes to upright opaque RGB, every bad one is an ImageError."""

import io
import os
import resource
import struct
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from core.data import image_open, imageio, regular_file
from core.data.imageio import ImageError, ImageInfo, load_rgb, load_thumbnail
from core.data.probe import probe_image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _noise(h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _kind(path, **kwargs):
    with pytest.raises(ImageError) as info:
        load_rgb(path, **kwargs)
    err = info.value
    assert err.path == str(path)
    assert str(err) == f"{path}: {err.reason}"
    assert err.reason
    return err.kind


# ----------------------------------------------------------------- failures


def test_zero_bytes_is_empty(tmp_path):
    path = tmp_path / "zero.jpg"
    path.write_bytes(b"")
    assert _kind(path) == "empty"
    with pytest.raises(ImageError) as info:
        probe_image(path)
    assert info.value.kind == "empty"


def test_text_file_named_jpg_is_not_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n" * 10)
    assert _kind(path) == "not_image"
    with pytest.raises(ImageError) as info:
        probe_image(path)
    assert info.value.kind == "not_image"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF"])
def test_truncated_file_is_corrupt_not_half_grey(tmp_path, fmt):
    buf = io.BytesIO()
    Image.fromarray(_noise(64, 64)).save(buf, fmt)
    data = buf.getvalue()
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    # The header is intact, but the missing end marker is caught by the scan's probe (a
    # cut-off JPEG used to pass it, counted "usable" by the Data page and inspect).
    with pytest.raises(ImageError) as info:
        probe_image(path)
    assert info.value.kind == "corrupt" and "cut off" in info.value.reason
    # Decoding refuses instead of filling the rest with grey.
    assert _kind(path) == "corrupt"
    assert _kind(path, size=16) == "corrupt"
    from PIL import ImageFile
    assert not ImageFile.LOAD_TRUNCATED_IMAGES


def test_a_jpeg_with_data_after_its_end_marker_is_fine(tmp_path):
    """Motion photos carry megabytes (a video) after the JPEG's end: not "cut off"."""
    buf = io.BytesIO()
    Image.fromarray(_noise(64, 48)).save(buf, "JPEG")
    path = tmp_path / "motion.jpg"
    path.write_bytes(buf.getvalue() + bytes(np.random.default_rng(0).integers(0, 255, 300_000,
                                                                              np.uint8)))
    info = probe_image(path)
    assert load_rgb(path).shape == (info.height, info.width, 3) == (64, 48, 3)


def test_header_only_garbage_after_signature_is_corrupt(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert _kind(path) == "corrupt"


def test_missing_file_and_folder_are_unreadable(tmp_path):
    assert _kind(tmp_path / "gone.png") == "unreadable"
    folder = tmp_path / "looks_like.png"
    folder.mkdir()
    assert _kind(folder) == "unreadable"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root (and Windows) can read files without read permission")
def test_permission_denied_is_unreadable(tmp_path):
    path = tmp_path / "secret.png"
    Image.new("RGB", (4, 4)).save(path)
    path.chmod(0)
    try:
        assert _kind(path) == "unreadable"
    finally:
        path.chmod(0o644)


def test_permission_error_is_unreadable_even_as_root(tmp_path, monkeypatch):
    path = tmp_path / "secret.png"
    Image.new("RGB", (4, 4)).save(path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(regular_file, "open", denied, raising=False)
    assert _kind(path) == "unreadable"
    with pytest.raises(ImageError) as info:
        probe_image(path)
    assert "permission" in info.value.reason


def test_header_claiming_100000_squared_is_oversized(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path = tmp_path / "bomb.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError) as info:
        probe_image(path)
    assert info.value.kind == "oversized"
    assert _kind(path, size=32) == "oversized"
    assert "megapixels" in info.value.reason


def _write_solid_png(path, side):
    """A real side x side 1-bit PNG written row by row: tiny file, tiny memory."""
    row_bytes = (side + 7) // 8
    row = b"\x00" + b"\xff" * row_bytes
    comp = zlib.compressobj(9)
    parts = []
    block = row * 1000
    for _ in range(side // 1000):
        parts.append(comp.compress(block))
    parts.append(comp.compress(row * (side % 1000)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
                     + _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b""))


def test_real_20000_squared_png_decodes_shrunk_without_using_memory(tmp_path):
    # 400 megapixels: Pillow would need 400 MB for the pixels; libvips streams it.
    path = tmp_path / "huge.png"
    _write_solid_png(path, 20_000)
    assert path.stat().st_size < 1_000_000
    with Image.open(path) as img:  # it really is a valid 400-megapixel PNG
        assert img.size == (20_000, 20_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    info = probe_image(path)
    assert (info.width, info.height) == (20_000, 20_000)
    thumb = load_thumbnail(path, 128)
    assert thumb.shape == (128, 128, 3) and (thumb == 255).all()  # the 1-bit PNG is all white
    with pytest.raises(ImageError) as err:
        load_rgb(path)  # full size would be 1.2 GB
    assert err.value.kind == "oversized" and "20000x20000" in err.value.reason
    assert "at full size" in err.value.reason
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100, f"peak memory grew by {grown_mib:.0f} MiB"


def test_big_images_decode_shrunk_only_in_formats_that_can(tmp_path, monkeypatch):
    # Same rules as for a 200-megapixel image, at a size a test can afford.
    monkeypatch.setattr(imageio, "MAX_DECODE_PIXELS", 100 * 100)
    monkeypatch.setattr(image_open, "MAX_DECODE_PIXELS", 100 * 100)
    for name in ("big.jpg", "big.png", "big.tif", "big.webp", "big.bmp", "big.gif"):
        Image.fromarray(_noise(400, 400)).save(tmp_path / name)
    assert probe_image(tmp_path / "big.jpg").width == 400  # 1/8 scale fits the limit
    for name in ("big.jpg", "big.png", "big.tif", "big.webp"):
        assert probe_image(tmp_path / name).width == 400
        assert load_rgb(tmp_path / name, size=32).shape == (32, 32, 3)
        assert load_thumbnail(tmp_path / name, 40).shape == (40, 40, 3)
        assert _kind(tmp_path / name) == "oversized"  # full size would not fit
        assert _kind(tmp_path / name, size=200) == "oversized"  # nor would 200x200
    for name in ("big.bmp", "big.gif"):  # Pillow decodes these whole, libvips is not asked
        assert _kind(tmp_path / name, size=32) == "oversized"
        with pytest.raises(ImageError) as info:
            probe_image(tmp_path / name)
        assert info.value.kind == "oversized"
        assert "only JPEG, PNG, TIFF and WebP" in info.value.reason


def test_only_image_error_escapes_for_random_bytes(tmp_path):
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(_noise(32, 32)).save(buf, "PNG")
    good = buf.getvalue()
    for i in range(40):
        data = bytearray(good)
        for pos in rng.integers(8, len(data), size=6):  # flip bytes after the signature
            data[pos] = int(rng.integers(0, 256))
        path = tmp_path / f"fuzz{i}.png"
        path.write_bytes(bytes(data))
        try:
            arr = load_rgb(path, size=16)
        except ImageError as exc:
            assert exc.kind in ImageError.KINDS
        else:
            assert arr.shape == (16, 16, 3) and arr.dtype == np.uint8


# ----------------------------------------------------------------- modes and formats


def test_rgb_jpeg_roundtrip_and_size(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (64, 48), (200, 30, 40)).save(path, quality=95)
    info = probe_image(path)
    assert info == ImageInfo(width=64, height=48, format="JPEG", mode="RGB", frames=1)
    arr = load_rgb(path)
    assert arr.shape == (48, 64, 3) and arr.dtype == np.uint8
    assert np.abs(arr.astype(int) - [200, 30, 40]).max() <= 4
    assert load_rgb(path, size=32).shape == (32, 32, 3)
    assert load_rgb(path, size=(40, 20)).shape == (20, 40, 3)  # (width, height)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)  # pure red in CMYK
    assert probe_image(path).mode == "CMYK"
    arr = load_rgb(path)
    assert arr.shape == (16, 16, 3)
    r, g, b = arr[8, 8].astype(int)
    assert r > 230 and g < 30 and b < 30


def test_16bit_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 1000, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "depth.png"
    Image.fromarray(values).save(path)
    assert probe_image(path).mode.startswith("I")
    arr = load_rgb(path)
    assert arr.shape == (1, 4, 3)
    gray = arr[0, :, 0].tolist()
    assert gray == [0, 4, 128, 255]  # clipping would give [0, 255, 255, 255]
    assert (arr[..., 0] == arr[..., 2]).all()


def test_float_and_int32_tiff_are_scaled(tmp_path):
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32)).save(tmp_path / "f.tif")
    assert load_rgb(tmp_path / "f.tif")[0, :, 0].tolist() == [0, 128, 255]
    Image.fromarray(np.array([[-100, 0, 100]], dtype=np.int32)).save(tmp_path / "i.tif")
    low, mid, high = load_rgb(tmp_path / "i.tif")[0, :, 0].tolist()
    assert (low, high) == (0, 255) and mid in (127, 128)


def test_palette_png_transparency_composited_over_white(tmp_path):
    img = Image.new("P", (8, 8), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    img.paste(1, (0, 0, 4, 8))  # left half red, right half index 0 (transparent black)
    path = tmp_path / "sticker.png"
    img.save(path, transparency=0)
    assert probe_image(path).mode == "P"
    arr = load_rgb(path)
    assert arr[0, 0].tolist() == [255, 0, 0]
    assert arr[0, 7].tolist() == [255, 255, 255]  # white, not black


def test_la_and_rgba_transparency_over_white(tmp_path):
    la = Image.new("LA", (4, 4), (0, 0))  # black, fully transparent
    la.save(tmp_path / "la.png")
    assert load_rgb(tmp_path / "la.png")[0, 0].tolist() == [255, 255, 255]
    rgba = Image.new("RGBA", (4, 4), (0, 0, 255, 128))  # half-transparent blue
    rgba.save(tmp_path / "half.png")
    r, g, b = load_rgb(tmp_path / "half.png")[0, 0].astype(int)
    assert b == 255 and 120 <= r <= 135 and 120 <= g <= 135


def test_other_modes_become_rgb(tmp_path):
    Image.new("1", (8, 8), 1).save(tmp_path / "bw.bmp")
    Image.new("L", (8, 8), 77).save(tmp_path / "gray.webp", lossless=True)
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "x.tiff")
    assert load_rgb(tmp_path / "bw.bmp")[0, 0].tolist() == [255, 255, 255]
    assert load_rgb(tmp_path / "gray.webp")[0, 0].tolist() == [77, 77, 77]
    assert load_rgb(tmp_path / "x.tiff")[0, 0].tolist() == [1, 2, 3]


@pytest.mark.parametrize("name", ["anim.gif", "anim.webp", "pages.tiff"])
def test_animated_gif_gives_first_frame(tmp_path, name):
    """As README says: an animated GIF or WebP gives its first frame, a multi-page TIFF its
    first page (a review found only GIF's said)."""
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    path = tmp_path / name
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0,
                   **({"lossless": True} if name.endswith("webp") else {}))
    assert probe_image(path).frames == 3
    arr = load_rgb(path)
    assert arr.shape == (8, 8, 3)
    assert arr[4, 4].tolist() == [255, 0, 0]


def test_exif_orientation_6_swaps_shape(tmp_path):
    img = Image.new("RGB", (60, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red strip at the stored left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "phone.jpg"
    img.save(path, exif=exif, quality=95)
    info = probe_image(path)
    assert (info.width, info.height) == (20, 60)
    arr = load_rgb(path)
    assert arr.shape == (60, 20, 3)
    assert arr[2, 10, 0] > 200 and arr[2, 10, 2] < 60  # the red strip is now on top
    assert load_rgb(path, size=(10, 30)).shape == (30, 10, 3)
    assert load_thumbnail(path, 30).shape == (30, 10, 3)


@pytest.mark.parametrize("turn", [2, 3, 6, 8])
def test_tiff_orientation_is_applied_once_like_exif(tmp_path, turn):
    # Pillow turns TIFFs upright itself on load; turning them again gave TIFFs
    # with an orientation tag the wrong way round (and a landscape probe for a portrait).
    stored = _noise(20, 60, seed=turn)
    stored[:, :10] = (255, 0, 0)  # a red strip at the stored left edge
    exif = Image.Exif()
    exif[0x0112] = turn
    Image.fromarray(stored).save(tmp_path / "scan.tif", exif=exif)
    Image.fromarray(stored).save(tmp_path / "same.png", exif=exif)
    for kwargs in ({}, {"size": (12, 30)}):
        want = load_rgb(tmp_path / "same.png", **kwargs)
        assert np.array_equal(load_rgb(tmp_path / "scan.tif", **kwargs), want)
    tif, png = probe_image(tmp_path / "scan.tif"), probe_image(tmp_path / "same.png")
    assert (tif.width, tif.height) == (png.width, png.height)
    assert load_thumbnail(tmp_path / "scan.tif", 30).shape == load_thumbnail(
        tmp_path / "same.png", 30).shape


def test_unicode_and_spaces_in_names(tmp_path):
    path = tmp_path / "Ünïcødé folder" / "my photo – 猫.png"
    path.parent.mkdir()
    Image.new("RGB", (10, 6), (9, 8, 7)).save(path)
    assert probe_image(path).width == 10
    assert load_rgb(str(path))[0, 0].tolist() == [9, 8, 7]


def test_thumbnail_keeps_aspect_and_never_enlarges(tmp_path):
    path = tmp_path / "wide.png"
    Image.fromarray(_noise(50, 200)).save(path)
    assert load_thumbnail(path, 100).shape == (25, 100, 3)
    assert load_thumbnail(path, 1000).shape == (50, 200, 3)
    assert imageio.thumbnail_size(3, 1000, 10) == (1, 10)


def test_bad_size_argument_is_a_programming_error(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(path)
    with pytest.raises(ValueError):
        load_rgb(path, size=0)


def test_image_error_pickles_with_its_fields():
    import pickle

    err = pickle.loads(pickle.dumps(ImageError("/x/y.png", "corrupt", "broken")))
    assert (err.path, err.kind, err.reason, str(err)) == ("/x/y.png", "corrupt", "broken",
                                                          "/x/y.png: broken")


def test_extensions():
    assert {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif",
            ".tiff"} == set(imageio.IMAGE_EXTENSIONS)
    assert all(e == e.lower() and e.startswith(".") for e in imageio.IMAGE_EXTENSIONS)


def test_an_rgb_png_with_a_transparent_colour_is_composited_like_a_streamed_one(tmp_path):
    """Its tRNS colour stayed red when small and turned white when streamed by libvips."""
    arr = np.full((6, 6, 3), (220, 30, 30), np.uint8)
    arr[0, 0] = (1, 2, 3)
    Image.fromarray(arr).save(tmp_path / "t.png", transparency=(220, 30, 30))
    out = load_rgb(tmp_path / "t.png")
    assert out[3, 3].tolist() == [255, 255, 255] and out[0, 0].tolist() == [1, 2, 3]


def test_the_orientation_of_an_exif_chunk_after_a_pngs_pixels_is_read_without_them(tmp_path):
    """A PNG too big for Pillow is streamed by libvips; its late eXIf was missed (sideways)."""
    import struct

    from core.data.pixels import png_late_orientation

    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(_noise(8, 6)).save(buf, "PNG", exif=exif.tobytes())
    data, pos, chunks = buf.getvalue(), 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append(data[pos:pos + 12 + n])
        pos += 12 + n
    late = [c for c in chunks if c[4:8] != b"eXIf"]
    late.insert(-1, next(c for c in chunks if c[4:8] == b"eXIf"))  # just before IEND
    path = tmp_path / "late.png"
    path.write_bytes(data[:8] + b"".join(late))
    with open(path, "rb") as fh:
        assert png_late_orientation(fh) == 6
    (tmp_path / "plain.png").write_bytes(data[:8] + b"".join(
        c for c in chunks if c[4:8] != b"eXIf"))
    with open(tmp_path / "plain.png", "rb") as fh:
        assert png_late_orientation(fh) == 1


@pytest.mark.parametrize("fmt, options", [("BMP", {}), ("TIFF", {}),
                                          ("TIFF", {"compression": "tiff_lzw"})])
def test_a_bmp_or_tiff_cut_short_is_refused_by_the_scan_as_by_the_decode(tmp_path, fmt,
                                                                          options):
    """It passed the scan, then every decode failed ('corrupt') after 'Ready to train'."""
    import io

    from core.data.probe import probe_image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50, 3), np.uint8)).save(
        buf, fmt, **options)
    whole = tmp_path / f"whole.{fmt.lower()}"
    whole.write_bytes(buf.getvalue())
    assert probe_image(whole).width == 50
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(buf.getvalue()[:int(len(buf.getvalue()) * 0.95)])
    with pytest.raises(ImageError) as probed:
        probe_image(cut)
    with pytest.raises(ImageError) as decoded:
        load_rgb(str(cut), 16)
    assert probed.value.kind == decoded.value.kind == "corrupt"
    assert "cut off" in probed.value.reason


def test_a_bmp_without_its_last_padding_or_a_tiff_with_a_wrong_count_still_scans(tmp_path):
    """Both decode; the first end-of-data check refused them as cut off."""
    from core.data.probe import probe_image

    arr = np.random.default_rng(1).integers(0, 255, (20, 41, 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "BMP")  # 41 px x 3 bytes = 123, rows padded to 124
    bmp = tmp_path / "nolastpad.bmp"
    bmp.write_bytes(buf.getvalue()[:-1])
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "TIFF")
    raw = bytearray(buf.getvalue())
    ifd = struct.unpack_from("<I", raw, 4)[0]
    for i in range(struct.unpack_from("<H", raw, ifd)[0]):
        entry = ifd + 2 + 12 * i
        tag, kind, count = struct.unpack_from("<HHI", raw, entry)
        if tag == 279 and count == 1:  # StripByteCounts, over-reported by 500
            fmt = "<I" if kind == 4 else "<H"
            struct.pack_into(fmt, raw, entry + 8, struct.unpack_from(fmt, raw, entry + 8)[0] + 500)
    tif = tmp_path / "bogus_count.tif"
    tif.write_bytes(bytes(raw))
    for path in (bmp, tif):
        assert probe_image(path).width == 41
        assert load_rgb(str(path)).shape == (20, 41, 3)


def test_valid_files_the_scan_called_cut_off_are_read(tmp_path):
    """A 1-bit TIFF without BitsPerSample (TIFF's default is 1; 8 was assumed), an
    uncompressed TIFF in several strips turned 90° by its orientation tag (rows measured
    upright), and a PNG padded after its end marker were refused as "cut off" by the
    scan, though every decode reads them (a bug hunt).  A cut-off PNG is still refused."""
    import pyvips

    one_bit = tmp_path / "scan.tif"
    Image.fromarray(np.random.default_rng(0).integers(0, 2, (60, 40)).astype(bool)).save(
        one_bit)
    assert Image.open(one_bit).tag_v2.get(258) is None  # as Pillow writes a 1-bit TIFF
    rgb = np.random.default_rng(1).integers(0, 255, (300, 400, 3)).astype(np.uint8)
    turned = tmp_path / "turned.tif"
    v = pyvips.Image.new_from_array(rgb, interpretation="srgb").copy()
    v.set_type(pyvips.GValue.gint_type, "orientation", 6)
    v.tiffsave(str(turned))  # uncompressed, 128 rows per strip
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    padded = tmp_path / "padded.png"
    padded.write_bytes(buf.getvalue() + bytes(8000))
    gif = io.BytesIO()
    Image.fromarray(rgb).save(gif, "GIF")
    padded_gif = tmp_path / "padded.gif"  # a GIF without its trailer as the last byte
    padded_gif.write_bytes(gif.getvalue() + bytes(100))
    for path, width in ((one_bit, 40), (turned, 300), (padded, 400), (padded_gif, 400)):
        assert probe_image(path).width == width, path
        assert load_rgb(str(path), 32).shape == (32, 32, 3)
    cut = tmp_path / "cut.png"
    cut.write_bytes(buf.getvalue()[:len(buf.getvalue()) // 2] + bytes(8000))
    with pytest.raises(ImageError, match="cut off"):
        probe_image(cut)


def test_a_valid_variant_pillow_cannot_read_is_not_called_damaged(tmp_path):
    """A 2-bit BMP was "damaged image header ...; re-export" on every path (a bug hunt)."""
    header = struct.pack("<2sIHHI", b"BM", 62 + 8, 0, 0, 62) + struct.pack(
        "<IiiHHIIiiII", 40, 4, 2, 1, 2, 0, 8, 2835, 2835, 4, 4)
    path = tmp_path / "two_bit.bmp"
    path.write_bytes(header + bytes(16) + bytes(8))
    with pytest.raises(ImageError) as err:
        probe_image(path)
    assert "cannot read" in err.value.reason and "convert it" in err.value.reason
    assert "damaged" not in err.value.reason
