"""A new run keeps every near-copy group on one side of its split (data.keep_duplicates_together).

Real files with planted copies (flipped, re-encoded, brightened, one filed under
the other class); the run start finds them -- from pixels alone with random
weights, through the feature store with a weights file -- and the split, its
saved split.json and the log say how many groups it kept together.
"""

import io
import json

import numpy as np
from PIL import Image, ImageEnhance

from core.events import Log
from core.runs.lock import release
from core.train.engine import prepare_new_run
from weights_fixture import tiny_config


def _smooth(rng, base, size=64):
    small = rng.integers(0, 256, (6, 6, 3)).astype(np.uint8)
    arr = np.asarray(Image.fromarray(small).resize((size, size), Image.BICUBIC), np.float32)
    return Image.fromarray(np.clip(arr * 0.4 + base * 0.6, 0, 255).astype(np.uint8))


def _folder(root):
    """Two classes of 10 smooth pictures, plus four planted copies; returns the planted pairs."""
    rng = np.random.default_rng(1)
    for name, base in (("bright", 200), ("dark", 50)):
        (root / name).mkdir(parents=True)
        for i in range(10):
            _smooth(rng, base).save(root / name / f"{name}_{i}.png")
    b0 = Image.open(root / "bright/bright_0.png")
    b0.transpose(Image.FLIP_LEFT_RIGHT).save(root / "bright/flipped.png")
    buf = io.BytesIO()
    Image.open(root / "dark/dark_3.png").save(buf, "JPEG", quality=80)
    (root / "dark/resaved.jpg").write_bytes(buf.getvalue())
    ImageEnhance.Brightness(Image.open(root / "dark/dark_6.png")).enhance(1.2).save(
        root / "dark/brighter.png")
    Image.open(root / "bright/bright_7.png").save(root / "dark/filed wrong.jpg",
                                                  quality=90)  # across classes
    return [("bright/bright_0.png", "bright/flipped.png"), ("dark/dark_3.png", "dark/resaved.jpg"),
            ("dark/dark_6.png", "dark/brighter.png"),
            ("bright/bright_7.png", "dark/filed wrong.jpg")]


def _start(cfg, out):
    logs = []
    _, run, split, _ = prepare_new_run(cfg, out, None,
                                       lambda e: logs.append(e.message) if isinstance(e, Log)
                                       else None, None, None)
    release(run)  # prepare_new_run keeps the lock for a training that does not follow here
    return run, split, logs


def _side(split, root):
    val = {r.path for r in split.val}
    return lambda rel: str(root / rel) in val


def test_near_copies_land_on_one_side_and_the_log_says_so(tmp_path):
    data = tmp_path / "data"
    planted = _folder(data)
    cfg = tiny_config(data)  # random weights: the pixels alone decide, no backbone is built
    cfg.data.val_split = 0.5
    run, split, logs = _start(cfg, tmp_path / "run")
    in_val = _side(split, data)
    for a, b in planted:
        assert in_val(a) == in_val(b), (a, b)
    assert split.kept_together == len(planted)
    assert json.loads(run.split_path.read_text())["kept_together"] == len(planted)
    assert any("4 near-copy group(s) (8 images) found with exact copies and pixel" in m
               for m in logs), logs
    assert any("4 near-copy group(s) kept wholly on one side" in m for m in logs), logs

    cfg.data.keep_duplicates_together = False  # the plain split, and the log says why
    _, plain, logs = _start(cfg, tmp_path / "plain")
    assert plain.kept_together == 0
    assert any("not looked for" in m for m in logs)
    in_val = _side(plain, data)
    assert any(in_val(a) != in_val(b) for a, b in planted)  # seed 42 splits some pair


def test_with_a_weights_file_the_features_come_from_the_store(tmp_path, tiny_weights):
    data = tmp_path / "data"
    planted = _folder(data)
    cfg = tiny_config(data, tiny_weights)
    cfg.data.val_split = 0.5
    _, split, logs = _start(cfg, tmp_path / "run1")
    assert any("the backbone ran on 24 of 24 images" in m for m in logs), logs
    in_val = _side(split, data)
    for a, b in planted:
        assert in_val(a) == in_val(b), (a, b)
    _, again, logs = _start(cfg, tmp_path / "run2")  # the second start reuses the features
    assert any("the backbone ran on 0 of 24 images" in m for m in logs), logs
    assert [r.path for r in again.val] == [r.path for r in split.val]


def test_the_train_command_switches_it(tmp_path):
    from core.cli import build_parser
    from core.cli.commands.train import config_from_args

    parser = build_parser()
    base = ["train", str(tmp_path)]
    assert config_from_args(parser.parse_args(base)).data.keep_duplicates_together is True
    off = parser.parse_args(base + ["--no-keep-duplicates-together"])
    assert config_from_args(off).data.keep_duplicates_together is False
