"""Data folders someone else made: pipes, devices and links never hang or widen a scan.

Each case is a real special file (``os.mkfifo``, a link to ``/dev/zero``, a
link to ``/``) in a temp folder.  Work that could block runs in a thread that
the test waits on with a deadline; a pipe's reader that did block is released
by opening the pipe for writing, so a failing test cannot hang the suite.
"""

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.dataset import scan_dataset
from core.data.imageio import ImageError, load_rgb, load_thumbnail
from core.data.probe import probe_image
from core.events import CancelToken

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")


def _png(path: Path, value: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(path)
    return path


def _classes(root: Path, per_class: int = 3) -> None:
    for c, name in enumerate(("a", "b")):
        for i in range(per_class):
            _png(root / name / f"{name}{i}.png", 100 * c + i)


def _finishes(fn, seconds: float, release=None):
    """``fn()``'s result or exception, asserting it returned within ``seconds``."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the test below
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    hung = worker.is_alive()
    if hung and release is not None:
        release()
        worker.join(10)
    assert not hung, f"{getattr(fn, '__name__', fn)} did not finish within {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _release_pipe(path: Path):
    """Open the pipe for writing and close it: a reader blocked in open() then sees EOF."""
    def release():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return
        os.close(fd)
    return release


@needs_fifo
@pytest.mark.parametrize("read", [probe_image, load_rgb, lambda p: load_thumbnail(p, 8)],
                         ids=["probe", "decode", "thumbnail"])
def test_a_pipe_named_like_an_image_is_unreadable_at_once(tmp_path, read):
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError) as info:
        _finishes(lambda: read(fifo), 20, release=_release_pipe(fifo))
    assert info.value.kind == "unreadable"
    assert info.value.reason.startswith("not a regular file (a pipe)")
    assert str(fifo) in str(info.value)


@needs_dev_zero
def test_a_link_to_a_device_is_unreadable_not_empty(tmp_path):
    link = tmp_path / "zero.png"
    os.symlink("/dev/zero", link)
    with pytest.raises(ImageError) as info:
        _finishes(lambda: load_rgb(link, 8), 20)
    assert info.value.kind == "unreadable"
    assert info.value.reason.startswith("not a regular file (a device)")


def test_a_folder_is_still_called_a_folder(tmp_path):
    folder = tmp_path / "photos.png"
    folder.mkdir()
    with pytest.raises(ImageError) as info:
        probe_image(folder)
    assert info.value.kind == "unreadable" and "folder" in info.value.reason


@needs_fifo
@needs_dev_zero
def test_scan_reports_pipes_and_devices_and_does_not_hang(tmp_path):
    root = tmp_path / "data"
    _classes(root)
    os.mkfifo(root / "a" / "x.png")
    os.symlink("/dev/zero", root / "b" / "zero.png")
    report = _finishes(lambda: scan_dataset(root), 60, release=_release_pipe(root / "a" / "x.png"))
    problems = {os.path.relpath(p.path, root): (p.kind, p.reason) for p in report.problems}
    assert problems[os.path.join("a", "x.png")] == ("unreadable",
                                                     "not a regular file (a pipe); remove it")
    assert problems[os.path.join("b", "zero.png")] == ("unreadable",
                                                        "not a regular file (a device); remove it")
    assert report.counts == {"a": 3, "b": 3}


def test_scan_does_not_follow_a_link_to_the_root_of_the_disk(tmp_path):
    root = tmp_path / "data"
    _classes(root)
    elsewhere = tmp_path / "elsewhere"
    _png(elsewhere / "stray.png", 7)
    os.symlink("/", root / "a" / "everything")
    os.symlink(elsewhere, root / "b" / "outside")
    _png(root / "a" / "sub" / "s.png", 50)
    os.symlink(root / "a" / "sub", root / "b" / "inside")  # inside the data folder: followed
    cancel = CancelToken()
    try:
        report = _finishes(lambda: scan_dataset(root, cancel=cancel), 60, release=cancel.cancel)
    finally:
        cancel.cancel()
    links = [p for p in report.problems if "link to a folder" in p.reason]
    by_path = {os.path.relpath(p.path, root): p.reason for p in links}
    assert by_path == {
        os.path.join("a", "everything"):
            "link to a folder outside the data folder (/); not followed",
        os.path.join("b", "outside"):
            f"link to a folder outside the data folder ({os.path.realpath(elsewhere)}); "
            "not followed",
    }
    assert all(p.kind == "unreadable" for p in links)
    assert not any("stray" in r.path for r in report.records)
    # b/inside -> a/sub is followed, so its image shows up under both classes
    assert sorted(os.path.relpath(p.path, root) for p in report.problems
                  if p.kind == "cross_class_duplicate") == [os.path.join("a", "sub", "s.png"),
                                                            os.path.join("b", "inside", "s.png")]


def test_a_class_folder_linked_to_a_folder_holding_the_data_is_not_walked(tmp_path):
    root = tmp_path / "data"
    _classes(root)
    _png(tmp_path / "big" / "secret.png", 9)
    os.symlink(tmp_path, root / "c")  # tmp_path holds the data folder and much else
    report = _finishes(lambda: scan_dataset(root), 60)
    reasons = [p.reason for p in report.problems if p.path == str(root / "c")]
    assert reasons == [f"link to a folder that holds the data folder "
                       f"({os.path.realpath(tmp_path)}); not followed"]
    assert not any("secret" in r.path for r in report.records)
    assert report.counts == {"a": 3, "b": 3}


@needs_fifo
def test_predict_lists_no_pipes_from_folders_but_keeps_a_named_one(tmp_path):
    from core.infer.predictor import expand_image_paths

    folder = tmp_path / "photos"
    good = _png(folder / "good.png")
    os.mkfifo(folder / "x.png")
    assert expand_image_paths([str(folder)]) == [str(good)]
    named = str(folder / "x.png")
    assert expand_image_paths([named]) == [named]  # reaches the decoder, which says why


@needs_fifo
def test_predicting_a_named_pipe_reports_it_instead_of_hanging(tmp_path):
    from core.infer.predictor import Predictor

    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    good = _png(tmp_path / "good.png")
    predictor = Predictor(["a", "b"], 8, "test")
    arr, ok, errors = _finishes(lambda: predictor.load_images([str(fifo), str(good)]), 20,
                                release=_release_pipe(fifo))
    assert ok == [1] and arr.shape == (1, 8, 8, 3)
    assert errors[0].startswith("not a regular file (a pipe)")


def test_a_file_given_twice_or_also_inside_a_folder_given_is_predicted_once(tmp_path,
                                                                            monkeypatch):
    """(a review) predict wrote a file named twice, or named and inside a folder named, twice
    to its CSV; the Predict page listed it once."""
    from core.infer.predictor import expand_image_paths

    folder = tmp_path / "new"
    a, b = _png(folder / "a.png"), _png(folder / "b.png")
    monkeypatch.chdir(tmp_path)
    found = expand_image_paths(["new/a.png", "./new/a.png", str(folder), "new/b.png"])
    assert found == ["new/a.png", str(b)]  # each once, as first given
    assert os.path.abspath(found[0]) == str(a)
