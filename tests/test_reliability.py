"""Reliability: bad data, kills, full disks and out-of-memory never cost the user their work.

One corpus holds every kind of bad input the app must survive (built here,
reusing the generators of tests/test_imageio.py).  Training, evaluation and
prediction must complete on it and name every file they skip exactly once.
Interruptions are real ``kill -9`` of a child process; a full disk and an
exhausted GPU are injected where the operating system would report them.
"""

import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_imageio import _write_solid_png  # the shared 20000 x 20000 PNG generator
from weights_fixture import eager_functions, tiny_config

from core.errors import DiskFullError

ROOT = Path(__file__).resolve().parent.parent

VALID_PER_CLASS = 10
ZERO_BYTE_FILES = 10_000


def _noise(level, seed, size=32):
    rng = np.random.default_rng(seed)
    return np.clip(level + rng.normal(0, 30, (size, size, 3)), 0, 255).astype(np.uint8)


def _png_claiming(side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = side.to_bytes(4, "big") * 2
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def build_bad_corpus(root: Path) -> dict:
    """Two trainable classes full of hostile files; returns {kind: path} of the odd ones."""
    bright, dark = root / "bright", root / "dark"
    bright.mkdir(parents=True)
    dark.mkdir()
    (root / "empty class").mkdir()
    for i in range(VALID_PER_CLASS):
        Image.fromarray(_noise(190, i)).save(bright / f"b{i}.png")
        Image.fromarray(_noise(60, 100 + i)).save(dark / f"d{i}.png")
    kinds: dict[str, Path] = {}

    def put(kind, path, writer):
        writer(path)
        kinds[kind] = path

    def encoded(fmt, img, **kw):
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()

    jpeg = encoded("JPEG", Image.fromarray(_noise(190, 50)), quality=90)
    big_jpeg = encoded("JPEG", Image.fromarray(_noise(190, 52, size=128)), quality=95)
    png = encoded("PNG", Image.fromarray(_noise(190, 51)))
    # Cut in the header (the scan catches it) and cut in the pixels (only decoding does).
    put("truncated_jpeg_header", bright / "cut_head.jpg", lambda p: p.write_bytes(jpeg[:300]))
    put("truncated_jpeg", bright / "cut.jpg",
        lambda p: p.write_bytes(big_jpeg[:len(big_jpeg) * 2 // 3]))
    put("truncated_png", bright / "cut.png", lambda p: p.write_bytes(png[:len(png) // 2]))
    put("zero_bytes", bright / "zero.jpg", lambda p: p.write_bytes(b""))
    put("text_as_jpg", dark / "notes.jpg", lambda p: p.write_text("not a picture\n" * 20))
    put("cmyk_jpeg", bright / "print.jpg",
        lambda p: Image.new("CMYK", (32, 32), (0, 0, 0, 40)).save(p, quality=95))
    put("png_16bit", dark / "depth.png",
        lambda p: Image.fromarray((np.arange(32 * 32).reshape(32, 32) * 20).astype(np.uint16))
        .save(p))

    def palette(p):
        img = Image.new("P", (32, 32), 0)
        img.putpalette([0, 0, 0, 250, 250, 250] + [0] * (254 * 3))
        img.paste(1, (0, 0, 16, 32))
        img.save(p, transparency=0)

    put("palette_transparent", bright / "sticker.png", palette)
    put("la", bright / "la.png", lambda p: Image.new("LA", (32, 32), (200, 128)).save(p))

    def gif(p):
        frames = [Image.fromarray(_noise(60, 200 + k)) for k in range(3)]
        frames[0].save(p, save_all=True, append_images=frames[1:], duration=50, loop=0)

    put("animated_gif", dark / "anim.gif", gif)
    put("huge_20000_png", dark / "huge.png", lambda p: _write_solid_png(p, 20_000))
    put("header_100000_png", dark / "bomb.png", lambda p: p.write_bytes(_png_claiming(100_000)))

    def exif_rotated(p):
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(_noise(60, 300, size=40)[:, :20]).save(p, exif=exif, quality=95)

    put("exif_rotated", dark / "phone.jpg", exif_rotated)
    put("one_by_one", bright / "dot.png", lambda p: Image.new("RGB", (1, 1), (200, 200, 200)).save(p))
    put("strip_30000x10", dark / "strip.png",
        lambda p: Image.new("RGB", (30_000, 10), (50, 50, 50)).save(p))
    put("jpeg_trailing_garbage", bright / "trailer.jpg",
        lambda p: p.write_bytes(jpeg + b"\x00GARBAGE" * 1000))
    scripts = {"unicode_cjk": "猫 の 写真.png", "unicode_cyrillic": "кошка фото.png",
               "unicode_arabic": "قطة.png", "unicode_emoji": "🐱 cat.png",
               "space_name": " leading and trailing .png", "newline_name": "two\nlines.png"}
    for k, (kind, name) in enumerate(scripts.items()):
        put(kind, bright / "Ünïcødé sub folder" / name,
            lambda p, k=k: (p.parent.mkdir(exist_ok=True),
                            Image.fromarray(_noise(190, 400 + k)).save(p, format="PNG")))
    hidden = bright / ".hidden"
    hidden.mkdir()
    Image.fromarray(_noise(190, 500)).save(hidden / "secret.png")
    zeros = dark / "zeros"
    zeros.mkdir()
    for i in range(ZERO_BYTE_FILES):
        (zeros / f"z{i:05d}.jpg").touch()
    kinds["zero_byte_folder"] = zeros
    (bright / "loop").symlink_to(bright, target_is_directory=True)  # into its own class
    (bright / "Ünïcødé sub folder" / "up").symlink_to("..", target_is_directory=True)
    put("dangling_link", dark / "dangling.png",
        lambda p: p.symlink_to(root / "nowhere" / "gone.png"))
    put("permission_denied", dark / "secret.png",
        lambda p: Image.fromarray(_noise(60, 600)).save(p))
    put("vanishes", bright / "vanishes.png", lambda p: Image.fromarray(_noise(190, 700)).save(p))
    return kinds


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition`` until it is true (its value is returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def deny(monkeypatch, path: Path) -> None:
    """Root reads everything: make ``open`` of one file fail the way chmod 000 would."""
    import builtins

    from core.data import regular_file

    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(regular_file, "open", guarded, raising=False)


def skip_counts(events, paths) -> dict:
    """How many FileSkipped events name each path."""
    from core.events import FileSkipped

    out = {str(p): 0 for p in paths}
    for e in events:
        if isinstance(e, FileSkipped) and e.path in out:
            out[e.path] += 1
    return out


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, tiny_weights):
    """Scan the corpus, delete one file, train on it (1+1 epochs); share everything."""
    from _pytest.monkeypatch import MonkeyPatch

    from core.data.dataset import scan_dataset
    from core.train.engine import train

    base = tmp_path_factory.mktemp("corpus")
    root = base / "data"
    kinds = build_bad_corpus(root)
    mp = MonkeyPatch()
    deny(mp, kinds["permission_denied"])
    try:
        report = scan_dataset(root)
        kinds["vanishes"].unlink()  # between the scan and training
        events = []
        t0 = time.time()
        with eager_functions():
            result = train(tiny_config(root, tiny_weights, epochs=1, fine_tune_epochs=1),
                           base / "run", listener=events.append, report=report)
        seconds = time.time() - t0
    finally:
        mp.undo()
    return {"root": root, "kinds": kinds, "report": report, "events": events,
            "result": result, "seconds": seconds, "base": base}


@pytest.fixture(scope="module")
def keras_export(corpus_run):
    """One Keras export of the corpus run: the previous export that the interrupted exports
    below must keep (made once; each test works on its own copy)."""
    from core.config import ExportConfig
    from core.export.exporter import export_model

    out = corpus_run["base"] / "keras-export"
    assert export_model(corpus_run["result"].run_dir, ["keras"], out,
                        ExportConfig(parity_images=4), latency_runs=1).ok
    return out


def test_scan_reports_each_bad_file_once_with_a_reason(corpus_run):
    report, kinds = corpus_run["report"], corpus_run["kinds"]
    paths = [p.path for p in report.problems]
    assert len(paths) == len(set(paths)), "a file is reported twice"
    by_path = {p.path: p for p in report.problems}
    expected = {"truncated_png": "corrupt", "truncated_jpeg_header": "corrupt",
                "truncated_jpeg": "corrupt", "zero_bytes": "empty", "text_as_jpg": "not_image",
                "header_100000_png": "oversized",
                "dangling_link": "unreadable", "permission_denied": "unreadable"}
    for kind, problem_kind in expected.items():
        problem = by_path[str(kinds[kind])]
        assert problem.kind == problem_kind and problem.reason, kind
    zeros = [p for p in report.problems if p.path.startswith(str(kinds["zero_byte_folder"]))]
    assert len(zeros) == ZERO_BYTE_FILES and all(p.kind == "empty" for p in zeros)
    usable = {r.path for r in report.records}
    for kind in ("cmyk_jpeg", "png_16bit", "palette_transparent", "la", "animated_gif",
                 "exif_rotated", "one_by_one", "strip_30000x10", "jpeg_trailing_garbage",
                 "unicode_cjk", "unicode_cyrillic", "unicode_arabic", "unicode_emoji",
                 "space_name", "newline_name", "vanishes", "huge_20000_png"):
        assert str(kinds[kind]) in usable, kind
    assert not any(".hidden" in p for p in usable | set(paths))
    assert not any("/loop/" in p or "/up/" in p for p in usable)  # links followed once only
    assert report.classes == ["bright", "dark"]
    assert any("empty class" in w for w in report.warnings)


def test_training_completes_and_names_every_skipped_file_once(corpus_run):
    result, events, kinds, report = (corpus_run[k] for k in ("result", "events", "kinds",
                                                             "report"))
    assert result.status == "completed" and result.metrics is not None
    assert (Path(result.run_dir) / "model.keras").exists()
    skipped = [p.path for p in report.error_problems]
    counts = skip_counts(events, skipped + [str(kinds["vanishes"])])
    assert {p: n for p, n in counts.items() if n != 1} == {str(kinds["vanishes"]): 0}, \
        "skipped files not named once"
    # deleted after the window's scan: the folder is scanned again, the run never lists it
    from core.runs.folder import RunFolder

    assert any("1 gone" in getattr(e, "message", "") for e in events)
    assert str(kinds["vanishes"]) not in RunFolder(result.run_dir).split_path.read_text()
    print(f"\ncorpus training: {result.seconds:.1f} s, {len(report.records)} usable, "
          f"{len(report.error_problems)} left out by the scan")


def test_evaluation_and_prediction_complete_on_the_corpus(corpus_run, monkeypatch):
    from core.infer.evaluation import evaluate_folder
    from core.infer.loaders import load_predictor
    from core.infer.predictor import expand_image_paths

    kinds, root = corpus_run["kinds"], corpus_run["root"]
    deny(monkeypatch, kinds["permission_denied"])
    predictor = load_predictor(corpus_run["result"].run_dir)

    events = []
    metrics = evaluate_folder(predictor, str(root), listener=events.append)
    skipped = [s["path"] for s in metrics.skipped]
    assert len(skipped) == len(set(skipped))
    assert str(kinds["truncated_jpeg"]) in skipped and str(kinds["zero_bytes"]) in skipped
    assert metrics.n_images >= 2 * VALID_PER_CLASS
    counts = skip_counts(events, skipped)
    assert all(n <= 1 for n in counts.values())

    events = []
    paths = expand_image_paths([str(root)])
    assert len(paths) > ZERO_BYTE_FILES
    rows = predictor.predict_paths(paths, listener=events.append)
    assert [r.path for r in rows] == paths  # one row per file, in order
    failed = [r.path for r in rows if r.error]
    ok = [r for r in rows if not r.error]
    assert len(ok) >= 2 * VALID_PER_CLASS and all(0 <= r.confidence <= 1 for r in ok)
    for kind in ("truncated_jpeg", "zero_bytes", "text_as_jpg",
                 "header_100000_png", "permission_denied"):
        assert str(kinds[kind]) in failed, kind
    counts = skip_counts(events, failed)
    assert {p: n for p, n in counts.items() if n != 1} == {}
    assert not any(".hidden" in p for p in paths)


# ------------------------------------------------------------------------ out of memory


def _oom(*args, **kwargs):
    import tensorflow as tf

    raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor "
                                           "with shape[8,576,2,2]")


def test_out_of_memory_suggests_a_batch_size_that_fits(tmp_path, tiny_weights, monkeypatch,
                                                       capsys):
    import keras
    from weights_fixture import make_bright_dark

    from core.cli import main
    from core.runs.folder import RunFolder

    data = make_bright_dark(tmp_path / "data", per_class=8, size=32)
    monkeypatch.setattr(keras.Model, "fit", _oom)
    code = main(["train", str(data), "--backbone", "MobileNetV3Small", "--weights", tiny_weights,
                 "--image-size", "32", "--epochs", "1", "--fine-tune-epochs", "1",
                 "--batch-size", "8", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert "out of memory at batch size 8; try --batch-size 4" in err
    assert "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.startswith("error:")]) == 1
    assert RunFolder(tmp_path / "run").run_info().status == "failed"


def test_out_of_memory_at_batch_size_one_suggests_smaller_images():
    from core.train.finish import out_of_memory_error

    assert "smaller image size (--image-size)" in str(out_of_memory_error(1))
    assert "--batch-size 16" in str(out_of_memory_error(32))


# ------------------------------------------------------------------------ full disk


def _disk_full_on_write(monkeypatch):
    """Every file core.fsutil opens for writing fails like a full disk does."""
    from core import fsutil

    real_fdopen = fsutil.os.fdopen

    class Full(io.RawIOBase):
        def __init__(self, fd):
            self.fh = real_fdopen(fd, "wb")

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.fh.close()
            super().close()

        def fileno(self):
            return self.fh.fileno()

    monkeypatch.setattr(fsutil.os, "fdopen", lambda fd, mode="r", *a, **k: Full(fd))


def test_disk_full_while_saving_keeps_the_old_files(tmp_path, monkeypatch):
    from core.config import StudioConfig
    from core.project import Project, load_project, save_project
    from core.runs.folder import RunFolder

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    run.update_run_info(status="completed", best_epoch=3)
    project_path = save_project(Project(runs=[str(run.path)]), tmp_path / "work.ftsproj")
    config_path = tmp_path / "config.json"
    StudioConfig().save(config_path)
    before = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    _disk_full_on_write(monkeypatch)
    cfg = StudioConfig()
    cfg.data.seed = 99
    attempts = [lambda: run.update_run_info(status="running"),
                lambda: run.write_json("metrics.json", {"accuracy": 1.0}),
                lambda: save_project(Project(config=cfg), project_path),
                lambda: cfg.save(config_path)]
    for n, attempt in enumerate(attempts):
        with pytest.raises(DiskFullError) as info:
            attempt()
        message = str(info.value)
        assert "disk is full" in message and "\n" not in message
        # metrics.json was not there yet: no "previous version" of it to keep
        assert ("the previous version, if any, is unchanged" in message) == (n != 1)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # old versions intact, no temp files left behind
    assert load_project(project_path).runs == [str(run.path)]


def test_a_full_disk_writing_a_new_file_says_no_previous_version(tmp_path, monkeypatch):
    """A label's copy, a first journal or a new CSV that did not fit said "the previous
    version, if any, is unchanged" of a file that never had one (a review)."""
    from core.audit import journal_records
    from core.fsutil import atomic_write_text
    from core.label.apply import apply_labels

    old = tmp_path / "old.csv"
    old.write_text("kept")
    data = tmp_path / "data"
    (data / "cat").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(data / "cat" / "a.png")
    image = tmp_path / "new" / "b.png"
    image.parent.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), np.uint8)).save(image)
    _disk_full_on_write(monkeypatch)
    said = {}
    for name in ("new.csv", "old.csv"):
        with pytest.raises(DiskFullError) as info:
            atomic_write_text(tmp_path / name, "x")
        said[name] = str(info.value)
    assert said["new.csv"] == (f"{tmp_path / 'new.csv'}: the disk is full (no space left to "
                               "write it); free some disk space and try again")
    assert said["old.csv"].endswith("- the previous version, if any, is unchanged")
    (_src, why), = apply_labels([(str(image), "cat")], data).refused  # a label's copy
    assert why.startswith(f"{data / 'cat' / 'b.png'}: the disk is full")
    assert "previous version" not in why and old.read_text() == "kept"

    class Full(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_records, "open",
                        lambda path, mode, buffering=-1: Full(path, mode.replace("b", "")),
                        raising=False)
    for journal in (tmp_path / "first.jsonl", data / ".fts-journal.jsonl"):
        with pytest.raises(DiskFullError) as info:
            journal_records.append_entry(journal, {"type": "undo", "batch": "x"})
        assert ("previous version" in str(info.value)) == (journal.name != "first.jsonl")


def test_a_full_disk_in_one_export_format_names_the_export_folder(tmp_path, monkeypatch):
    """It named the folder above the export folder, where the hidden stage is (a review)."""
    from core.export import exporter
    from core.export.builders import Build

    out, stage = tmp_path / "exports" / "phone", tmp_path / "exports" / ".phone.stage.partial"
    stage.mkdir(parents=True)

    def builder_full(build, work):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setitem(exporter.BUILDERS, "keras", builder_full)
    build = Build(None, None, stage, None, None, np.zeros((0, 8, 8, 3)), out)
    result = exporter._export_one("keras", build, None)
    assert result.status == "failed" and result.error == (
        f"{out}: the disk is full (no space left to write it); free some disk space and try "
        "again")  # a new export folder: it had no earlier version


def test_disk_full_during_export_keeps_the_previous_export(corpus_run, keras_export, tmp_path,
                                                          monkeypatch):
    from core.export import exporter

    out = tmp_path / "export"
    shutil.copytree(keras_export, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_write_text = Path.write_text

    def full(self, *args, **kwargs):
        if self.name == "labels.txt" and self.parent.name.endswith(".partial"):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(DiskFullError, match="disk is full"):
        exporter.export_model(corpus_run["result"].run_dir, ["keras"], out, latency_runs=1)
    monkeypatch.undo()
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # stage removed

    def builder_full(build, work):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setitem(exporter.BUILDERS, "keras", builder_full)
    report = exporter.export_model(corpus_run["result"].run_dir, ["keras"], out, latency_runs=1)
    assert not report.written and "disk is full" in report.results[0].error
    monkeypatch.undo()
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


# ------------------------------------------------------------------------ kill -9


SAVE_LOOP = r"""
import sys
sys.path.insert(0, sys.argv[1])
from core.project import Project, save_project
big = [f"runs/run-{i:06d}-" + "x" * 40 for i in range(60000)]
for n in range(100000):
    save_project(Project(runs=big[: 30000 + (n % 2) * 30000]), sys.argv[2])
    if n == 0:
        print("saved", flush=True)
"""


def test_kill_9_during_project_save_leaves_a_whole_project(tmp_path):
    from core.project import load_project

    path = tmp_path / "work.ftsproj"
    for attempt in range(3):
        before = {p.name for p in tmp_path.iterdir()}
        seen: set[str] = set()

        def inside_a_later_write() -> bool:
            """A temp file of a new save is there now: a multi-MB write is in flight.

            Each attempt waits for one more save than the last, so the kills land
            in different writes.
            """
            now = {p.name for p in tmp_path.iterdir()
                   if p.name.startswith(f".{path.name}.") and p.name not in before}
            seen.update(now)
            return bool(now) and len(seen) > attempt

        proc = subprocess.Popen([sys.executable, "-c", SAVE_LOOP, str(ROOT), str(path)],
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "saved"
            wait_until(inside_a_later_write, 60, "a later save to be in flight", interval=0.002)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        project = load_project(path)  # whole: one version or the other, never a mixture
        assert len(project.runs) in (30000, 60000)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "work.ftsproj"]
    assert all(name.startswith(".") for name in leftovers)  # a killed temp file stays hidden


SWAP_THEN_DIE = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from core.fsutil import atomic_dir
with atomic_dir(sys.argv[2]) as d:
    (d / "version.txt").write_text("1")
calls = []
def replace_then_die(src, dst):  # the process dies on the second rename, wherever it is
    calls.append(src)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    os.rename(src, dst)
os.replace = replace_then_die
with atomic_dir(sys.argv[2]) as d:
    (d / "version.txt").write_text("2")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="atomic swap is Linux-only")
def test_kill_between_renames_never_leaves_the_folder_missing(tmp_path):
    target = tmp_path / "export"
    subprocess.run([sys.executable, "-c", SWAP_THEN_DIE, str(ROOT), str(target)], timeout=60,
                   check=False)
    assert (target / "version.txt").read_text() in ("1", "2")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["export"]


def test_kill_9_during_export_keeps_the_previous_export(corpus_run, keras_export, tmp_path):
    from core.config import ExportConfig
    from core.export.exporter import export_model

    out = tmp_path / "export"
    shutil.copytree(keras_export, out)
    cmd = [sys.executable, str(ROOT / "main.py"), "export", corpus_run["result"].run_dir,
           "--out", str(out), "--latency-runs", "1", "--parity-images", "4"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    # Its own process group, so the kill also takes the parity probe it may have started.
    proc = subprocess.Popen(cmd + ["--format", "all"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)

    def half_built():
        """The stage once the new model.keras is in it and the SavedModel is half-built."""
        if proc.poll() is not None:
            return "ended"
        stages = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
        try:
            building = stages and any(c.name.startswith((".savedmodel.", "savedmodel"))
                                      for c in stages[0].iterdir())
        except FileNotFoundError:  # the stage was just renamed into place
            building = False
        return stages[0] if building else None

    try:
        stage = wait_until(half_built, 240, "the export to half-build its SavedModel")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # it had already ended
            pass
        proc.wait()
    assert stage != "ended", "the export finished before it could be killed"
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    visible = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert visible == ["export"]  # the half-written stage is hidden ...
    assert not (stage / "metadata.json").exists()  # ... and does not look like an export
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert list(meta["formats"]) == ["keras"]
    # The next export to the same place sweeps the dead process's leftover away.
    again = export_model(corpus_run["result"].run_dir, ["keras"], out,
                         ExportConfig(parity_images=4), latency_runs=1)
    assert again.ok, again.to_text()
    assert not stage.exists()
