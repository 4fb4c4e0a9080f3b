"""The export README's decoding recipe gives the app's own pixels: a user who follows it
gets the app's answers.  It dropped transparency (a cut-out on white turned black: the top
class flipped) and clipped 16-bit and float images; it turned an EXIF-rotated photo
before resizing it, the app after (a grey level off, |dp| up to 0.008); and a picture
above 16.7 MP, which libvips decodes in the app, came out up to 10 grey levels off."""

from pathlib import Path

import numpy as np
import pytest
import pyvips
from PIL import Image

from core.data import huge, imageio
from core.data.imageio import load_rgb
from core.export.readme import readme

SIZE = 24


def _recipe(size: int = SIZE) -> str:
    text = readme("MobileNetV2", ["a", "b"], size, ["model.keras"], "2026-12-04")
    block = text[text.index("Common decoding"):text.index("TIFFs Pillow cannot open")]
    code = [ln[4:] for ln in block.splitlines() if ln.startswith("    ")]
    return "\n".join(code).replace('open("labels.txt", encoding="utf-8").read().splitlines()',
                                   '["a", "b"]')


def _cutout(path):
    rgba = np.zeros((40, 30, 4), np.uint8)  # transparent black around an opaque square
    rgba[10:30, 5:25] = (200, 60, 60, 255)
    Image.fromarray(rgba, "RGBA").save(path)


def _make(kind, path):
    if kind in ("rgba_png", "rgba_webp"):
        _cutout(path)
    elif kind == "grey16":
        Image.fromarray(np.full((30, 40), 30000, np.uint16)).save(path)
    elif kind == "float_tiff":
        Image.fromarray(np.linspace(0, 1, 1200, dtype=np.float32).reshape(30, 40)).save(path)
    elif kind == "float_wide":
        Image.fromarray(np.linspace(-5, 300, 1200, dtype=np.float32).reshape(30, 40)).save(path)
    elif kind == "int32":
        Image.fromarray(np.linspace(0, 70000, 1200).astype(np.int32).reshape(30, 40)).save(path)
    elif kind.startswith("exif"):  # a photo stored on its side: resized, then turned
        exif = Image.Exif()
        exif[0x0112] = int(kind[4])
        options = {"quality": 95} if path.suffix in (".jpg", ".webp") else {}
        Image.fromarray(_scene(90, 130)).save(path, exif=exif, **options)
    elif kind == "big_jpeg":  # the app reads it at 1/8 scale (draft): up to 3 grey levels
        rng = np.random.default_rng(0)  # apart from a full-size decode
        Image.fromarray(rng.integers(0, 255, (60, 80, 3), np.uint8)).resize(
            (1600, 1200), Image.BICUBIC).save(path, quality=90)
    elif kind == "palette_trns":
        img = Image.new("P", (40, 30), 0)
        img.putpalette([0, 0, 0, 200, 60, 60] + [0] * 762)
        img.paste(1, (5, 5, 25, 25))
        img.save(path, transparency=0)


def _scene(h: int, w: int) -> np.ndarray:
    """Smooth structure at several scales, so rounding-order differences show."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.stack([127 + 120 * np.sin(x / 3.1 + y / 7.3), x * 255 / w,
                     127 + 120 * np.cos(y / 2.3)], -1).astype(np.uint8)


def _run_recipe(path, size: int = SIZE) -> np.ndarray:
    scope = {}
    exec(_recipe(size).replace('"photo.jpg"', repr(str(path))), scope)  # noqa: S102 - our text
    assert scope["x"].shape == (1, size, size, 3)
    return scope["x"][0]


ROTATED = [("exif6", "e6.jpg"), ("exif8", "e8.jpg"), ("exif6", "e6.png"), ("exif8", "e8.webp"),
           ("exif3", "e3.png"), ("exif5", "e5.png"), ("exif6", "e6.tif"), ("exif7", "e7.tif")]


@pytest.mark.parametrize("kind, name", [("rgba_png", "a.png"), ("rgba_webp", "a.webp"),
                                        ("grey16", "g.png"), ("float_tiff", "f.tif"),
                                        ("float_wide", "w.tif"), ("int32", "i.tif"),
                                        ("palette_trns", "p.png"), ("big_jpeg", "b.jpg")]
                         + ROTATED)
def test_the_readme_recipe_decodes_as_the_app_does(tmp_path, kind, name):
    path = tmp_path / name
    _make(kind, path)
    ours = load_rgb(str(path), SIZE).astype(np.float32)
    theirs = _run_recipe(path)
    if kind.startswith("exif"):  # resized as stored, then turned: the very same pixels
        assert np.array_equal(theirs, ours), (kind, np.abs(theirs - ours).max())
    assert np.abs(theirs - ours).max() <= 1.0, kind


def test_a_picture_above_16_megapixels_decodes_as_the_recipe_says(tmp_path, monkeypatch):
    """libvips shrank it by whole factors rounded down, then resized the rounded width
    (294 columns for 5000/17 = 294.12): up to 10 grey levels off the recipe."""
    w, h = 5000, 4000  # 20 MP, above imageio.STREAM_ABOVE_PIXELS; bands of repeated rows
    xy = pyvips.Image.xyz(w, h)
    x, y = xy[0], xy[1]
    waves = ((x * 3.7).sin() * 110 + 128).bandjoin([(y / 37).floor() * 53 % 256,
                                                     x * (255 / w)])
    path = tmp_path / "poster.png"
    waves.cast("uchar").copy(interpretation="srgb").pngsave(str(path), compression=1)
    assert w * h > imageio.STREAM_ABOVE_PIXELS
    calls = []
    real = huge.decode_shrunk
    monkeypatch.setattr(huge, "decode_shrunk", lambda *a: calls.append(a) or real(*a))
    for size in (SIZE, 96):
        ours = load_rgb(str(path), size).astype(np.float32)
        assert np.abs(_run_recipe(path, size) - ours).max() <= 1.0, size
    assert len(calls) == 2  # the app really streamed it through libvips


def test_the_readme_names_the_tiffs_only_libvips_reads(tmp_path):
    """The recipe raises UnidentifiedImageError on them; the app trains on them."""
    from PIL import UnidentifiedImageError

    pixels = _scene(40, 50)
    grey = pixels[..., 0].astype(np.uint16) * 257
    kinds = {"float_rgb.tif": pyvips.Image.new_from_array(pixels.astype(np.float32) / 255),
             "grey16_alpha.tif": pyvips.Image.new_from_array(np.dstack(
                 [grey, np.full_like(grey, 65535)])).copy(interpretation="grey16"),
             "cielab.tif": pyvips.Image.new_from_array(pixels).copy(
                 interpretation="srgb").colourspace("lab")}
    text = " ".join(readme("MobileNetV2", ["a", "b"], SIZE, ["model.keras"], "x").split())
    assert "such as float colour, 16-bit grey with alpha or CIELab" in text
    assert 'pyvips.Image.new_from_file(path); CIELab: v = v.colourspace("srgb")' in text
    for name, image in kinds.items():
        image.tiffsave(str(tmp_path / name))
        with pytest.raises(UnidentifiedImageError):
            _run_recipe(tmp_path / name)
        # What the README says to do instead, done: the app's pixels.
        v = pyvips.Image.new_from_file(str(tmp_path / name))
        if v.interpretation == "lab":
            v = v.colourspace("srgb")
        if v.hasalpha():
            v = v.flatten(background=[65535], max_alpha=65535)
        a = v.numpy().astype(np.float64)
        a = a / 257 if v.format == "ushort" else a * 255 if v.format == "float" else a
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        rgb = Image.fromarray(np.repeat(a[..., None], 3, 2) if a.ndim == 2 else a)
        theirs = np.asarray(rgb.resize((SIZE, SIZE), Image.BILINEAR, reducing_gap=3.0))
        assert np.abs(theirs.astype(int) - load_rgb(tmp_path / name, SIZE)).max() <= 1, name


def test_serve_sees_a_jpeg_as_the_recipe_decodes_it_not_as_a_full_size_decode(tmp_path):
    """README.md: send JPEGs as b64 or decode them as README.txt shows (with draft); a
    client's full-size decode posted as pixels answers slightly differently."""
    import base64

    from PIL import ImageOps

    from core.serve.instances import instance_to_array

    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_scene(90, 120)).resize((1600, 1200), Image.BICUBIC).save(
        path, exif=exif, quality=90)
    sent = instance_to_array({"b64": base64.b64encode(path.read_bytes()).decode()}, SIZE, 0)
    recipe = _run_recipe(path)
    assert np.array_equal(instance_to_array(recipe.astype(np.uint8).tolist(), SIZE, 0), sent)
    full = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    assert np.abs(instance_to_array(full.tolist(), SIZE, 0) - sent).max() >= 1  # as documented
    readme_md = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert readme_md.count("decode JPEGs as `README.txt` shows (with `draft`") == 1
    assert "Send JPEGs as b64, or decode them as the export's `README.txt` shows" in readme_md


def test_the_readme_shows_how_to_run_only_the_formats_exported():
    """An export of .keras and TFLite alone had the SavedModel and ONNX snippets in its
    README.txt, for files that are not there (a review)."""
    from core.trust.unknown import TrustModel

    for trust in (None, TrustModel(threshold=1.5)):
        text = readme("MobileNetV2", ["a", "b"], SIZE, ["model.keras", "model.tflite"], "x",
                      trust)
        assert "Keras (model.keras):" in text and "TFLite (model.tflite: float32 input):" in text
        assert "savedmodel" not in text.split("Files:")[1] and "onnx" not in text
        assert text.endswith("p.max())\n")
    text = readme("MobileNetV2", ["a", "b"], SIZE, ["model_int8.tflite"], "x")
    assert "TFLite (model_int8.tflite: uint8):" in text and "Keras (model.keras)" not in text
    assert 'Interpreter(model_path="model_int8.tflite")' in text


def test_readme_of_an_export_made_with_say_unknown_off_says_no_answer_is_unknown():
    """It said 'above THRESHOLD (None) the answer is "unknown"' (a review)."""
    from types import SimpleNamespace

    off = SimpleNamespace(threshold=None, temperature=1.5)
    text = " ".join(readme("MobileNetV2", ["a", "b"], 32, ["model.onnx"], "x", off).split())
    assert 'THRESHOLD is None: "Say unknown" was switched off on the run when this was ' \
           'exported, so no answer is "unknown".' in text
    assert "above THRESHOLD (None)" not in text
    on = SimpleNamespace(threshold=2.5, temperature=1.5)
    text = " ".join(readme("MobileNetV2", ["a", "b"], 32, ["model.onnx"], "x", on).split())
    assert 'above THRESHOLD (2.5) the answer is "unknown"' in text
